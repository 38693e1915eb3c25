package vaultauth_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"

	"github.com/hashistack/bootstrap/internal/vaultauth"
)

// Canaries: values that must never appear in an error or a log line.
const (
	canaryToken   = "hvs.R2CANARYTOKEN0001"
	canaryKeyID   = "AKIAR2CANARYKEY00001"
	canarySecret  = "R2CANARY-SECRET-ACCESS-KEY"
	canarySession = "R2CANARY-SESSION-TOKEN"
)

var canaryCreds = aws.Credentials{AccessKeyID: canaryKeyID, SecretAccessKey: canarySecret,
	SessionToken: canarySession}

// echoVault is a Vault stand-in whose every error repeats what it
// received: a login error quotes the signed headers, and any other
// request's error quotes the token. The signatures it saw are kept, so the
// tests can check that none is printed either.
type echoVault struct {
	*httptest.Server
	mu         sync.Mutex
	signatures []string
}

var signaturePattern = regexp.MustCompile(`Signature=([0-9a-f]+)`)

// newEchoVault starts an echoVault that responds with status and builds each
// message with wrap, which receives the echoed text.
func newEchoVault(t *testing.T, status int, wrap func(echo string) string) *echoVault {
	t.Helper()
	v := &echoVault{}
	v.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		echo := "token " + r.Header.Get("X-Vault-Token") + " (X-Vault-Token: " +
			r.Header.Get("X-Vault-Token") + ")"
		if strings.HasSuffix(r.URL.Path, "/login") {
			echo = v.loginEcho(r)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string][]string{"errors": {wrap(echo)}})
	}))
	t.Cleanup(v.Close)
	return v
}

// loginEcho returns the signed headers of a login request as JSON.
func (v *echoVault) loginEcho(r *http.Request) string {
	body, _ := io.ReadAll(r.Body)
	var in struct {
		Headers string `json:"iam_request_headers"`
	}
	_ = json.Unmarshal(body, &in)
	headers, _ := base64.StdEncoding.DecodeString(in.Headers)
	if m := signaturePattern.FindStringSubmatch(string(headers)); m != nil {
		v.mu.Lock()
		v.signatures = append(v.signatures, m[1])
		v.mu.Unlock()
	}
	return string(headers)
}

func (v *echoVault) secrets() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string{canaryToken, canaryKeyID, canarySecret, canarySession}, v.signatures...)
}

// stsXML returns Vault's message for a login that STS rejected with code
// and message, as Vault 1.13 quotes STS's XML body.
func stsXML(code, message string) string {
	return "error making upstream request: received error code 403 from STS: " +
		"<ErrorResponse><Error><Type>Sender</Type><Code>" + code + "</Code><Message>" +
		message + "</Message></Error><RequestId>r-1</RequestId></ErrorResponse>"
}

// logs returns a logger that writes both text and JSON to one buffer.
func logs() (*slog.Logger, *syncBuffer) {
	var buf syncBuffer
	opts := &slog.HandlerOptions{Level: slog.LevelDebug}
	text, js := slog.NewTextHandler(&buf, opts), slog.NewJSONHandler(&buf, opts)
	return slog.New(fanout{text, js}), &buf
}

func TestLoginErrorsRedactEchoes(t *testing.T) {
	tests := []struct {
		name   string
		status int
		wrap   func(echo string) string
		class  error
	}{
		{"headers_echoed_400", http.StatusBadRequest, func(echo string) string {
			return "SignatureDoesNotMatch canonical " + echo
		}, vaultauth.ErrRequest},
		{"upstream_echo_not_xml", http.StatusBadRequest, func(echo string) string {
			return "error making upstream request: received error code 403 from STS: " + echo
		}, vaultauth.ErrRequest},
		{"headers_echoed_500_retried", http.StatusInternalServerError, func(echo string) string {
			return "internal error: " + echo
		}, vaultauth.ErrServer},
		{"wrong_region_in_xml", http.StatusBadRequest, func(echo string) string {
			return stsXML("SignatureDoesNotMatch", "Credential should be scoped to a valid region. "+
				strings.ReplaceAll(echo, `"`, "&quot;"))
		}, vaultauth.ErrWrongRegion},
		{"server_id_header_named_only", http.StatusBadRequest, func(echo string) string {
			return "request rejected: " + echo + " server id " + vaultauth.ServerIDHeader
		}, vaultauth.ErrRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newEchoVault(t, tc.status, tc.wrap)
			log, buf := logs()
			o := options()
			o.Credentials = credsFunc(func(context.Context) (aws.Credentials, error) {
				return canaryCreds, nil
			})
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			_, err := vaultauth.Login(ctx, client(t, srv.URL), o, log)
			if !errors.Is(err, tc.class) {
				t.Fatalf("error = %v, want class %v", err, tc.class)
			}
			// The wrong-region message is cut before the echo starts.
			if tc.class != vaultauth.ErrWrongRegion && !strings.Contains(err.Error(), vaultauth.Redacted) {
				t.Errorf("error %q shows no redaction", err)
			}
			assertNoCanary(t, "error", err.Error(), srv.secrets())
			assertNoCanary(t, "log", buf.String(), srv.secrets())
			if tc.status >= 500 && !strings.Contains(buf.String(), "vault request failed, retrying") {
				t.Errorf("no retry was logged:\n%s", buf)
			}
		})
	}
}

func TestRequestErrorsRedactToken(t *testing.T) {
	tests := []struct {
		name   string
		status int
		class  error
	}{
		{"forbidden", http.StatusForbidden, vaultauth.ErrPermissionDenied},
		{"server_error_retried", http.StatusInternalServerError, vaultauth.ErrServer},
		// Words in the message do not change the class that the status sets.
		{"bad_request_saying_denied", http.StatusBadRequest, vaultauth.ErrRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newEchoVault(t, tc.status, func(echo string) string {
				return "permission denied for " + echo
			})
			c := client(t, srv.URL)
			c.SetToken(canaryToken)
			known := &vaultauth.Secrets{}
			known.Add(canaryToken)
			log, buf := logs()
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			err := vaultauth.Retry(ctx, log, "vault kv/data/x", func(ctx context.Context) error {
				_, err := c.Logical().ReadWithContext(ctx, "kv/data/x")
				return vaultauth.Classify(err, vaultauth.Request{Address: srv.URL,
					Path: "kv/data/x", Secrets: known})
			})
			if !errors.Is(err, tc.class) {
				t.Fatalf("error = %v, want class %v", err, tc.class)
			}
			assertNoCanary(t, "error", err.Error(), srv.secrets())
			assertNoCanary(t, "log", buf.String(), srv.secrets())
		})
	}
}

func TestRedact(t *testing.T) {
	const pem = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49\n-----END PRIVATE KEY-----"
	tests := []struct {
		name, message string
		known         []string
		want          string
	}{
		{"known_value", "bad value opaque-42 here", []string{"opaque-42"}, "bad value [redacted] here"},
		{"longest_known_first", "x secret-long y", []string{"secret", "secret-long"},
			"x [redacted] y"},
		{"vault_tokens", "hvs.AAA hvb.BBB hvr.CCC", nil, "[redacted] [redacted] [redacted]"},
		{"legacy_token", "token s.AbCdEfGhIjKlMnOpQrStUvWx end", nil, "token [redacted] end"},
		{"access_key_ids", "AKIAABCDEFGHIJKLMNOP ASIAABCDEFGHIJKLMNOP", nil,
			"[redacted] [redacted]"},
		{"json_header", `{"X-Amz-Security-Token":["abc/def+=="]}`, nil,
			`{"X-Amz-Security-Token":["[redacted]"]}`},
		{"colon_header", "X-Vault-Token: opaque-1 next", nil, "X-Vault-Token: [redacted] next"},
		{"authorization", `"Authorization":["AWS4-HMAC-SHA256 Credential=AKID/2026/eu-west-1/sts/aws4_request, ` +
			`SignedHeaders=host, Signature=0a1b2c"]`, nil,
			`"Authorization":["[redacted] Credential=[redacted]/2026/eu-west-1/sts/aws4_request, ` +
				`SignedHeaders=host, Signature=[redacted]"]`},
		{"pem_line_json_escaped", `key "` + strings.ReplaceAll(pem, "\n", `\n`) + `"`, []string{pem},
			`key "[redacted]"`},
		{"pem_single_line", "line MIGHAgEAMBMGByqGSM49AgEGCCqGSM49 seen", []string{pem},
			"line [redacted] seen"},
		{"authorization_known_key", `{"Authorization":["AWS4-HMAC-SHA256 Credential=` + canaryKeyID +
			`/20261204/eu-west-1/sts/aws4_request, Signature=0a1b"],"X-Amz-Security-Token":["` +
			canarySession + `"]}`, []string{canaryKeyID, canarySession},
			`{"Authorization":["[redacted] Credential=[redacted]/20261204/eu-west-1/sts/aws4_request, ` +
				`Signature=[redacted]"],"X-Amz-Security-Token":["[redacted]"]}`},
		{"one_line", "first\nsecond\r\nthird", nil, "first second third"},
		{"header_name_kept", "missing header X-Vault-AWS-IAM-Server-ID", nil,
			"missing header X-Vault-AWS-IAM-Server-ID"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := vaultauth.Redact(tc.message, tc.known...)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Redact(%q) (-want +got):\n%s", tc.message, diff)
			}
		})
	}
}

func TestRedactCutsLongMessage(t *testing.T) {
	got := vaultauth.Redact(strings.Repeat("é", 300))
	if len(got) > 220 {
		t.Errorf("len = %d, want about 200", len(got))
	}
	if !strings.HasSuffix(got, "... (truncated)") {
		t.Errorf("Redact = %q, want a truncation mark", got)
	}
}

func TestSecretsWrapKeepsChain(t *testing.T) {
	var known vaultauth.Secrets
	known.Add("opaque-99")
	cause := fmt.Errorf("api said opaque-99: %w", vaultauth.ErrServer)
	err := known.Wrap(cause)
	if strings.Contains(err.Error(), "opaque-99") {
		t.Errorf("Wrap = %q, contains the secret", err)
	}
	if !errors.Is(err, vaultauth.ErrServer) {
		t.Errorf("errors.Is(%v, ErrServer) = false", err)
	}
	if known.Wrap(nil) != nil {
		t.Error("Wrap(nil) != nil")
	}
}

func assertNoCanary(t *testing.T, where, text string, canaries []string) {
	t.Helper()
	for _, c := range canaries {
		if strings.Contains(text, c) {
			t.Errorf("%s contains %q:\n%s", where, c, text)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fanout sends each record to every handler.
type fanout []slog.Handler

func (f fanout) Enabled(ctx context.Context, l slog.Level) bool { return true }

func (f fanout) Handle(ctx context.Context, r slog.Record) error {
	var errs []error
	for _, h := range f {
		errs = append(errs, h.Handle(ctx, r.Clone()))
	}
	return errors.Join(errs...)
}

func (f fanout) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithAttrs(attrs)
	}
	return out
}

func (f fanout) WithGroup(name string) slog.Handler {
	out := make(fanout, len(f))
	for i, h := range f {
		out[i] = h.WithGroup(name)
	}
	return out
}
