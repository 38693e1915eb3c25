package vault

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"
)

// engine serves the secrets engines' paths for a token with policies.
func (s *Server) engine(r *http.Request, path string, policies []string) response {
	body := map[string]any{}
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			return errorResponse(http.StatusBadRequest, "failed to parse JSON input: "+err.Error())
		}
	}
	switch {
	case path == "auth/token/create" && r.Method != http.MethodGet:
		return s.createToken(body, policies)
	case slices.Contains(s.cfg.PKIRoles, path) && r.Method != http.MethodGet:
		return s.issue(body)
	case r.Method != http.MethodGet:
		return errorResponse(http.StatusMethodNotAllowed, "unsupported operation")
	}
	if data, ok := s.cfg.KV[path]; ok {
		return response{status: http.StatusOK, body: map[string]any{"data": map[string]any{
			"data":     data,
			"metadata": map[string]any{"version": 1, "destroyed": false},
		}}}
	}
	if token, ok := s.cfg.ConsulTokens[path]; ok {
		return response{status: http.StatusOK, body: map[string]any{
			"lease_id": path + "/" + randomString(8), "lease_duration": 3600, "renewable": true,
			"data": map[string]any{"token": token, "accessor": randomString(24)},
		}}
	}
	return errorResponse(http.StatusNotFound)
}

// createToken creates a child token; Vault requires a non-root parent's
// child policies to be a subset of its own.
func (s *Server) createToken(body map[string]any, parent []string) response {
	var policies []string
	list, _ := body["policies"].([]any)
	for _, p := range list {
		name, _ := p.(string)
		if !slices.Contains(parent, name) {
			return errorResponse(http.StatusBadRequest, "child policies must be subset of parent")
		}
		policies = append(policies, name)
	}
	if len(policies) == 0 {
		policies = parent
	}
	token, accessor := s.issueToken(policies)
	resp := authResponse(token, accessor, policies)
	resp.note["ttl"] = body["ttl"]
	return resp
}

func (s *Server) issue(body map[string]any) response {
	cn, _ := body["common_name"].(string)
	if cn == "" {
		return errorResponse(http.StatusBadRequest, "the common_name field is required")
	}
	alt, _ := body["alt_names"].(string)
	ips, _ := body["ip_sans"].(string)
	note := map[string]any{"common_name": cn, "alt_names": alt, "ip_sans": ips}
	cert, key, err := s.pki.issue(cn, splitComma(alt), splitComma(ips))
	if err != nil {
		return errorResponse(http.StatusBadRequest, err.Error())
	}
	return response{status: http.StatusOK, note: note, body: map[string]any{"data": map[string]any{
		"certificate": cert, "private_key": key, "private_key_type": "ec",
		"issuing_ca": s.pki.certPEM, "ca_chain": []string{s.pki.certPEM},
		"serial_number": "01", "expiration": time.Now().Add(time.Hour).Unix(),
	}}}
}

func splitComma(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// authority is the PKI engine's CA.
type authority struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM string
}

func newAuthority() (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "stand-in CA"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &authority{cert: cert, key: key, certPEM: encodePEM("CERTIFICATE", der)}, nil
}

func (a *authority) issue(cn string, names, ips []string) (string, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		DNSNames: append([]string{cn}, names...), NotBefore: time.Now().Add(-time.Minute),
		NotAfter:    time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, ip := range ips {
		parsed := net.ParseIP(ip)
		if parsed == nil {
			return "", "", fmt.Errorf("the value %q is not a valid IP address", ip)
		}
		tmpl.IPAddresses = append(tmpl.IPAddresses, parsed)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		return "", "", err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", "", err
	}
	return encodePEM("CERTIFICATE", der), encodePEM("EC PRIVATE KEY", keyDER), nil
}

func encodePEM(kind string, der []byte) string {
	return strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der})))
}

// IssueForTest issues a certificate and key for name from the stand-in's
// CA without a request, such as for a baked TLS directory.
func (s *Server) IssueForTest(name string) (cert, key string, err error) {
	return s.pki.issue(name, nil, []string{"127.0.0.1"})
}
