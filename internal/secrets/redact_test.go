package secrets_test

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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/hashistack/bootstrap/internal/secrets"
	"github.com/hashistack/bootstrap/internal/vaultauth"
	"github.com/hashistack/bootstrap/roles"
)

// Canaries of the echo tests: none may appear in an error or a log line.
const (
	echoToken   = "hvs.R2CANARYTOKEN0001"
	echoKeyID   = "AKIAR2CANARYKEY00001"
	echoSecret  = "R2CANARY-SECRET-ACCESS-KEY"
	echoSession = "R2CANARY-SESSION-TOKEN"
	echoGossip  = "R2CANARY-GOSSIP-VALUE"
)

type echoCreds struct{}

func (echoCreds) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: echoKeyID, SecretAccessKey: echoSecret,
		SessionToken: echoSession}, nil
}

// echoVault starts a Vault stand-in that repeats what it received in its
// errors. In mode "login" the login fails with status and quotes the
// signed headers. Otherwise the login succeeds with echoToken, the KV read
// of the gossip key returns echoGossip, and every other request fails with
// status, quoting the token and the gossip key.
func echoVault(t *testing.T, mode string, status int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/login") && mode == "login":
			w.WriteHeader(status)
			writeErrors(w, "error making upstream request: received error code 403 from STS: "+
				signedHeaders(r))
		case strings.HasSuffix(r.URL.Path, "/login"):
			fmt.Fprintf(w, `{"auth":{"client_token":%q,"accessor":"a-1","policies":["payments"],`+
				`"lease_duration":3600}}`, echoToken)
		case r.URL.Path == "/v1/secret/data/payments/consul/gossip":
			fmt.Fprintf(w, `{"data":{"data":{"key":%q}}}`, echoGossip)
		default:
			token := r.Header.Get("X-Vault-Token")
			w.WriteHeader(status)
			writeErrors(w, "permission denied for token "+token+` (headers {"X-Vault-Token":["`+
				token+`"]}), gossip `+echoGossip)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func writeErrors(w io.Writer, message string) {
	_ = json.NewEncoder(w).Encode(map[string][]string{"errors": {message}})
}

// signedHeaders returns the signed headers of a login request as JSON.
func signedHeaders(r *http.Request) string {
	var in struct {
		Headers string `json:"iam_request_headers"`
	}
	_ = json.NewDecoder(r.Body).Decode(&in)
	headers, _ := base64.StdEncoding.DecodeString(in.Headers)
	return string(headers)
}

func TestFetchRedactsEchoes(t *testing.T) {
	tests := []struct {
		name    string
		mode    string
		status  int
		class   error
		secrets []string // names that must each appear in the error
	}{
		{"denied_echo", "data", http.StatusForbidden, vaultauth.ErrPermissionDenied,
			[]string{"agent-token", "tls"}},
		{"server_error_echo_retried", "data", http.StatusInternalServerError, vaultauth.ErrServer,
			[]string{"agent-token", "tls"}},
		{"login_headers_echo", "login", http.StatusBadRequest, vaultauth.ErrRequest, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := echoVault(t, tc.mode, tc.status)
			log, buf := logs()
			role, err := roles.Load("consul-server")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			_, err = secrets.Fetch(ctx, secrets.Options{
				Root: newRoot(t), Role: role, Config: config("consul-server"),
				Vault:  vaultClient(t, srv.URL),
				Login:  vaultauth.Options{Credentials: echoCreds{}},
				Logger: log,
			})
			if !errors.Is(err, tc.class) {
				t.Fatalf("error = %v, want class %v", err, tc.class)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error has several lines:\n%s", err)
			}
			for _, name := range tc.secrets {
				if !strings.Contains(err.Error(), "secret "+name+": ") {
					t.Errorf("error %q does not name secret %s", err, name)
				}
			}
			for _, canary := range []string{echoToken, echoKeyID, echoSecret, echoSession} {
				if strings.Contains(err.Error(), canary) {
					t.Errorf("error contains %q: %s", canary, err)
				}
				if strings.Contains(buf.String(), canary) {
					t.Errorf("log contains %q:\n%s", canary, buf)
				}
			}
		})
	}
}

// logs returns a logger that writes both text and JSON to one buffer.
func logs() (*slog.Logger, *syncBuffer) {
	var buf syncBuffer
	opts := &slog.HandlerOptions{Level: slog.LevelDebug}
	return slog.New(fanout{slog.NewTextHandler(&buf, opts), slog.NewJSONHandler(&buf, opts)}), &buf
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

func (f fanout) Enabled(context.Context, slog.Level) bool { return true }

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
