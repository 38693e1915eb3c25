package secrets

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"

	"github.com/hashistack/bootstrap/internal/vaultauth"
)

// TestRequestRedactsFetchedValues checks that a value fetched earlier is cut
// out of a later request's error. Fetch runs its requests concurrently, so
// this order is set up here rather than through Fetch.
func TestRequestRedactsFetchedValues(t *testing.T) {
	const fetched = "opaque fetched value 314"
	tests := []struct {
		name  string
		add   func(out *output)
		class error
	}{
		{"setting", func(out *output) { out.setting("consul", "encrypt", fetched) },
			vaultauth.ErrPermissionDenied},
		{"file", func(out *output) { out.file("vault", keyFile, fetched) },
			vaultauth.ErrPermissionDenied},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprintf(w, `{"errors":["permission denied; you had %s"]}`, fetched)
			}))
			t.Cleanup(srv.Close)
			cfg := api.DefaultConfig()
			cfg.Address, cfg.MaxRetries = srv.URL, 0
			client, err := api.NewClient(cfg)
			if err != nil {
				t.Fatal(err)
			}
			out := &output{settings: map[string]map[string]string{},
				files: map[string]map[string]string{}, known: &vaultauth.Secrets{}}
			tc.add(out)
			f := fetcher{o: Options{Logger: slog.New(slog.DiscardHandler)}, client: client, out: out}
			_, err = f.read(t.Context(), "secret/data/payments/x")
			if !errors.Is(err, tc.class) {
				t.Fatalf("error = %v, want class %v", err, tc.class)
			}
			if strings.Contains(err.Error(), fetched) {
				t.Errorf("error contains the fetched value: %s", err)
			}
		})
	}
}

func TestJoinLine(t *testing.T) {
	errA := errors.New("secret a: denied")
	errB := fmt.Errorf("secret b: %w", vaultauth.ErrServer)
	tests := []struct {
		name string
		errs []error
		want string
	}{
		{"none", []error{nil, nil}, ""},
		{"one", []error{nil, errA}, "secret a: denied"},
		{"two", []error{errA, nil, errB}, "secret a: denied; secret b: server error from Vault"},
		{"multi_line_cause", []error{errors.New("x\ny")}, "x y"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := joinLine(tc.errs)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("joinLine = %q, want %q", got, tc.want)
			}
			for _, e := range tc.errs {
				if e != nil && !errors.Is(err, e) {
					t.Errorf("errors.Is(joined, %v) = false", e)
				}
			}
		})
	}
}
