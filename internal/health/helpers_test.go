package health

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// seq hands out values in order and then repeats the last one, so a
// stand-in can step through states one request at a time.
type seq[T any] struct {
	mu     sync.Mutex
	values []T
	served int
}

func newSeq[T any](values ...T) *seq[T] {
	return &seq[T]{values: values}
}

func (s *seq[T]) next() T {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.values[min(s.served, len(s.values)-1)]
	s.served++
	return v
}

// count returns how many values were handed out.
func (s *seq[T]) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.served
}

// requestRecorder keeps the token header of each request by path, and fails
// the test when a token shows up in a URL.
type requestRecorder struct {
	t      *testing.T
	header string
	secret string

	mu     sync.Mutex
	tokens map[string][]string
}

func (rr *requestRecorder) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rr.secret != "" && strings.Contains(r.URL.String(), rr.secret) {
			rr.t.Errorf("token sent in the URL %s", r.URL.Path)
		}
		rr.mu.Lock()
		if rr.tokens == nil {
			rr.tokens = map[string][]string{}
		}
		rr.tokens[r.URL.Path] = append(rr.tokens[r.URL.Path], r.Header.Get(rr.header))
		rr.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// tokensSent returns the token header values sent to path, in order.
func (rr *requestRecorder) tokensSent(path string) []string {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	return append([]string(nil), rr.tokens[path]...)
}

// serve starts h on a loopback port for the test's lifetime.
func serve(t testing.TB, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func writeJSON(w http.ResponseWriter, code int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body) // a failed write means the client left
}

// writeText writes a plain-text error, as the agents do for most errors.
func writeText(w http.ResponseWriter, code int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(text))
}

// tokenFunc returns a Target.Token that yields token.
func tokenFunc(token string) func() (string, error) {
	return func() (string, error) { return token, nil }
}

// captureLog returns a JSON logger and the buffer it writes to.
func captureLog() (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
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

// checkStatus compares a status with the expected one.
func checkStatus(t *testing.T, want, got Status) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
}

// replaceBase replaces BASE in an expected string with the stand-in's URL.
func replaceBase(s, base string) string {
	return strings.ReplaceAll(s, "BASE", base)
}
