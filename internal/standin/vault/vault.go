// Package vault is a stand-in for the parts of Vault's HTTP API that the
// secrets stage uses, built on httptest, until tests run a real Vault. It
// checks what Vault 1.13 checks and fails with the same status codes and
// {"errors": [...]} bodies:
//
//   - auth/<mount>/login of the AWS auth method (IAM type): the role must
//     exist, the X-Vault-AWS-IAM-Server-ID header must be present, signed
//     and equal to the configured value, and the signed request is replayed
//     to an STS endpoint (the awsapi STS stand-in), whose caller ARN must
//     match the role's bound principal;
//   - KV v2 reads, Consul secrets engine creds, PKI issue and
//     auth/token/create, each allowed only by the policies of the token;
//   - a sealed mode that answers every request with 503.
//
// It listens on loopback only and records each request without its body.
package vault

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Role is one role of the AWS auth method.
type Role struct {
	// BoundARN is the IAM principal ARN that may log in; a trailing "*"
	// matches any suffix.
	BoundARN string
	Policies []string
}

// Config describes the Vault the stand-in plays.
type Config struct {
	// AuthMount is the AWS auth method's mount path; "" means "aws".
	AuthMount string
	// STSEndpoint is where login requests are replayed, as Vault's
	// sts_endpoint setting.
	STSEndpoint string
	// ServerID is iam_server_id_header_value; "" requires no header.
	ServerID string
	Roles    map[string]Role
	// Policies maps a policy name to the API paths it allows; a trailing
	// "*" matches any suffix.
	Policies map[string][]string
	// KV maps a KV v2 data path, such as "secret/data/payments/gossip", to
	// its key-value data.
	KV map[string]map[string]string
	// ConsulTokens maps a creds path, such as "consul/creds/payments", to
	// the token it returns.
	ConsulTokens map[string]string
	// PKIRoles lists the issue paths that exist, such as
	// "pki/issue/payments".
	PKIRoles []string
	// Sealed starts the stand-in sealed.
	Sealed bool
}

// Request is one request the stand-in received.
type Request struct {
	Method, Path string
	Status       int
	// Body holds the request's non-secret fields, such as a PKI request's
	// names or a token request's policies.
	Body map[string]any
}

// Server is a running stand-in.
type Server struct {
	URL string
	// CA is the PEM certificate of the PKI engine's CA.
	CA string

	cfg      Config
	srv      *httptest.Server
	pki      *authority
	mu       sync.Mutex
	sealed   bool
	tokens   map[string][]string // token -> policies
	requests []Request
}

// New starts a stand-in on 127.0.0.1 and stops it when the test ends.
func New(t testing.TB, cfg Config) *Server {
	t.Helper()
	s, err := Launch(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Launch starts a stand-in on 127.0.0.1 for a caller that is not a test,
// such as the demo; Close stops it.
func Launch(cfg Config) (*Server, error) {
	if cfg.AuthMount == "" {
		cfg.AuthMount = "aws"
	}
	ca, err := newAuthority()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, pki: ca, CA: ca.certPEM, sealed: cfg.Sealed,
		tokens: map[string][]string{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.srv.URL
	return s, nil
}

// Close stops the stand-in.
func (s *Server) Close() { s.srv.Close() }

// SetSealed seals or unseals the stand-in.
func (s *Server) SetSealed(sealed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sealed = sealed
}

// Requests returns every request received so far, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Tokens returns every token issued so far, for canary checks.
func (s *Server) Tokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for t := range s.tokens {
		out = append(out, t)
	}
	return out
}

type response struct {
	status int
	body   any
	// note holds the non-secret request fields to record.
	note map[string]any
}

func errorResponse(status int, messages ...string) response {
	if messages == nil {
		messages = []string{}
	}
	return response{status: status, body: map[string]any{"errors": messages}}
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/v1/")
	resp := s.route(r, path)
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: path,
		Status: resp.status, Body: resp.note})
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(resp.status)
	_ = json.NewEncoder(w).Encode(resp.body)
}

func (s *Server) route(r *http.Request, path string) response {
	s.mu.Lock()
	sealed := s.sealed
	s.mu.Unlock()
	if sealed {
		return errorResponse(http.StatusServiceUnavailable, "Vault is sealed")
	}
	if path == "auth/"+s.cfg.AuthMount+"/login" {
		if r.Method != http.MethodPut && r.Method != http.MethodPost {
			return errorResponse(http.StatusMethodNotAllowed, "unsupported operation")
		}
		return s.login(r)
	}
	policies, ok := s.tokenPolicies(r.Header.Get("X-Vault-Token"))
	if !ok || !allowed(s.cfg.Policies, policies, path) {
		return errorResponse(http.StatusForbidden, "permission denied")
	}
	return s.engine(r, path, policies)
}

func (s *Server) tokenPolicies(token string) ([]string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.tokens[token]
	return p, ok
}

// allowed reports whether any of the policies allows path.
func allowed(all map[string][]string, policies []string, path string) bool {
	for _, p := range policies {
		for _, pattern := range all[p] {
			if prefix, ok := strings.CutSuffix(pattern, "*"); ok && strings.HasPrefix(path, prefix) ||
				pattern == path {
				return true
			}
		}
	}
	return false
}

// issueToken registers a new token with policies and returns it.
func (s *Server) issueToken(policies []string) (token, accessor string) {
	token = "hvs." + randomString(24)
	accessor = randomString(24)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = policies
	return token, accessor
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

func authResponse(token, accessor string, policies []string) response {
	return response{status: http.StatusOK, body: map[string]any{
		"auth": map[string]any{
			"client_token": token, "accessor": accessor, "policies": policies,
			"token_policies": policies, "lease_duration": 3600, "renewable": true,
		},
	}, note: map[string]any{"policies": policies}}
}
