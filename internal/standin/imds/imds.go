// Package imds is an IMDSv2 stand-in for tests, built on httptest. It speaks
// the token protocol of the real instance metadata service: a PUT to
// /latest/api/token with a TTL of 1 to 21600 seconds returns a token, and
// every GET without a valid token gets 401. Unlike AWS's
// amazon-ec2-metadata-mock (v1.13.0), it serves any number of instance tags
// and any Auto Scaling target lifecycle state, Warmed:* included, and it can
// be configured to fail the way a misconfigured or overloaded IMDS does.
//
// It listens on loopback only and never forwards a request anywhere.
package imds

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Header names and limits of the IMDSv2 token protocol.
const (
	TokenHeader    = "X-aws-ec2-metadata-token"
	TokenTTLHeader = "X-aws-ec2-metadata-token-ttl-seconds"
	maxTokenTTL    = 21600
)

// Identity is the part of the instance identity document that the stand-in
// serves. Empty fields are served as empty strings, so tests can check how
// a client handles a document with missing values.
type Identity struct {
	InstanceID       string `json:"instanceId"`
	AccountID        string `json:"accountId"`
	Region           string `json:"region"`
	AvailabilityZone string `json:"availabilityZone"`
	PrivateIP        string `json:"privateIp"`
	InstanceType     string `json:"instanceType"`
	ImageID          string `json:"imageId"`
}

// RoleCredentials are the temporary credentials served for the instance
// profile role at meta-data/iam/security-credentials/ROLE.
type RoleCredentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
}

// Config describes the instance the stand-in serves and how it misbehaves.
type Config struct {
	Identity Identity
	// UserData is served byte for byte; nil makes user-data return 404.
	UserData []byte
	// Tags are the instance tags under meta-data/tags/instance.
	Tags map[string]string
	// TagsDisabled makes meta-data/tags/instance return 404, as IMDS does
	// when instance metadata tags are not enabled.
	TagsDisabled bool
	// TargetLifecycleState is served at autoscaling/target-lifecycle-state;
	// empty makes that path return 404, as for an instance outside an
	// Auto Scaling group.
	TargetLifecycleState string
	// Role and Credentials, when Role is set, serve instance profile
	// credentials under meta-data/iam/security-credentials/.
	Role        string
	Credentials RoleCredentials
	// RefuseToken issues tokens but returns 401 to every GET, which is what
	// a client sees when its token is not accepted.
	RefuseToken bool
	// Latency is added before every response, token requests included.
	Latency time.Duration
	// FailFirst makes the first FailFirst GETs that carry a valid token
	// return 500.
	FailFirst int
}

// Server is a running stand-in.
type Server struct {
	// URL is the base URL, such as "http://127.0.0.1:41234".
	URL string

	cfg      Config
	srv      *httptest.Server
	mu       sync.Mutex
	tokens   map[string]time.Time
	failures int
	requests []string
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
// such as a script command; Close stops it.
func Launch(cfg Config) (*Server, error) {
	s := &Server{cfg: cfg, tokens: map[string]time.Time{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("imds stand-in: %w", err)
	}
	s.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(s.serveHTTP)}}
	s.srv.Start()
	s.URL = s.srv.URL
	return s, nil
}

// Close stops the stand-in.
func (s *Server) Close() { s.srv.Close() }

// Requests returns every request received so far as "METHOD PATH", in
// arrival order.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+r.URL.Path)
	s.mu.Unlock()

	if !s.wait(r) {
		return
	}
	switch r.Method {
	case http.MethodPut:
		s.serveToken(w, r)
	case http.MethodGet, http.MethodHead:
		s.serveGet(w, r)
	default:
		writeStatus(w, http.StatusMethodNotAllowed)
	}
}

// wait sleeps for the configured latency and reports false when the client
// went away first.
func (s *Server) wait(r *http.Request) bool {
	if s.cfg.Latency <= 0 {
		return true
	}
	timer := time.NewTimer(s.cfg.Latency)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/latest/api/token" {
		writeStatus(w, http.StatusMethodNotAllowed)
		return
	}
	// Real IMDS rejects token requests that went through a proxy.
	if r.Header.Get("X-Forwarded-For") != "" {
		writeStatus(w, http.StatusForbidden)
		return
	}
	ttl, err := strconv.Atoi(r.Header.Get(TokenTTLHeader))
	if err != nil || ttl < 1 || ttl > maxTokenTTL {
		writeStatus(w, http.StatusBadRequest)
		return
	}
	token := newToken()
	s.mu.Lock()
	s.tokens[token] = time.Now().Add(time.Duration(ttl) * time.Second)
	s.mu.Unlock()

	w.Header().Set(TokenTTLHeader, strconv.Itoa(ttl))
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write([]byte(token))
}

func (s *Server) serveGet(w http.ResponseWriter, r *http.Request) {
	if !s.validToken(r.Header.Get(TokenHeader)) || s.cfg.RefuseToken {
		writeStatus(w, http.StatusUnauthorized)
		return
	}
	if s.failNow() {
		writeStatus(w, http.StatusInternalServerError)
		return
	}
	body, ok := s.lookup(r.URL.Path)
	if !ok {
		writeStatus(w, http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = w.Write(body)
}

func (s *Server) validToken(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	expiry, ok := s.tokens[token]
	return ok && time.Now().Before(expiry)
}

func (s *Server) failNow() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failures >= s.cfg.FailFirst {
		return false
	}
	s.failures++
	return true
}

// lookup returns the body served at path, or false for 404.
func (s *Server) lookup(path string) ([]byte, bool) {
	const meta = "/latest/meta-data/"
	switch path {
	case "/latest/dynamic/instance-identity/document":
		return s.identityDocument(), true
	case "/latest/user-data":
		return s.cfg.UserData, s.cfg.UserData != nil
	}
	rest, ok := strings.CutPrefix(path, meta)
	if !ok {
		return nil, false
	}
	if value, ok := s.simpleValue(rest); ok {
		return []byte(value), value != ""
	}
	if tagPath, ok := strings.CutPrefix(rest, "tags/instance"); ok {
		return s.tags(tagPath)
	}
	if credPath, ok := strings.CutPrefix(rest, "iam/security-credentials"); ok {
		return s.credentials(credPath)
	}
	return nil, false
}

func (s *Server) simpleValue(rest string) (string, bool) {
	id := s.cfg.Identity
	values := map[string]string{
		"instance-id":                        id.InstanceID,
		"instance-type":                      id.InstanceType,
		"ami-id":                             id.ImageID,
		"local-ipv4":                         id.PrivateIP,
		"placement/availability-zone":        id.AvailabilityZone,
		"placement/region":                   id.Region,
		"autoscaling/target-lifecycle-state": s.cfg.TargetLifecycleState,
	}
	value, ok := values[rest]
	return value, ok
}

func (s *Server) tags(rest string) ([]byte, bool) {
	if s.cfg.TagsDisabled {
		return nil, false
	}
	if rest == "" || rest == "/" {
		keys := make([]string, 0, len(s.cfg.Tags))
		for key := range s.cfg.Tags {
			keys = append(keys, key)
		}
		slices.Sort(keys)
		return []byte(strings.Join(keys, "\n")), true
	}
	value, ok := s.cfg.Tags[strings.TrimPrefix(rest, "/")]
	return []byte(value), ok
}

func (s *Server) credentials(rest string) ([]byte, bool) {
	if s.cfg.Role == "" {
		return nil, false
	}
	switch strings.TrimPrefix(rest, "/") {
	case "":
		return []byte(s.cfg.Role), true
	case s.cfg.Role:
		c := s.cfg.Credentials
		doc, err := json.Marshal(map[string]string{
			"Code":            "Success",
			"LastUpdated":     time.Now().UTC().Format(time.RFC3339),
			"Type":            "AWS-HMAC",
			"AccessKeyId":     c.AccessKeyID,
			"SecretAccessKey": c.SecretAccessKey,
			"Token":           c.SessionToken,
			"Expiration":      c.Expiration.UTC().Format(time.RFC3339),
		})
		return doc, err == nil
	}
	return nil, false
}

func (s *Server) identityDocument() []byte {
	doc := struct {
		Identity
		Architecture string `json:"architecture"`
		Version      string `json:"version"`
		PendingTime  string `json:"pendingTime"`
	}{s.cfg.Identity, "x86_64", "2017-09-30", "2026-01-01T00:00:00Z"}
	body, _ := json.MarshalIndent(doc, "", "  ")
	return body
}

func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// writeStatus writes code with a small HTML page, the shape of the error
// bodies that IMDS returns.
func writeStatus(w http.ResponseWriter, code int) {
	text := strconv.Itoa(code) + " - " + http.StatusText(code)
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(code)
	_, _ = w.Write([]byte("<html><head><title>" + text + "</title></head><body><h1>" +
		text + "</h1></body></html>\n"))
}
