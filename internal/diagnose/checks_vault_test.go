package diagnose

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
)

// echoVault starts a Vault stand-in that rejects every request with a 403
// whose message repeats the token the request carried, as a hostile or
// misconfigured proxy in front of Vault could.
func echoVault(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.Header.Get("X-Vault-Token")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_ = json.NewEncoder(w).Encode(map[string][]string{"errors": {
			"permission denied for token " + token + ` (headers {"X-Vault-Token":["` + token + `"]})`}})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestVaultTokenAddress(t *testing.T) {
	echo := echoVault(t)
	tests := []struct {
		name     string
		recorded func(standIn string) string // vault.address in the state file
		shell    func(standIn string) string // VAULT_ADDR
		status   Status
		contains []func(standIn string) string
	}{
		{name: "recorded_wins_over_shell",
			recorded: same, shell: constant(echo.URL), status: OK,
			contains: []func(string) string{same, constant("VAULT_ADDR " + echo.URL + " differs")}},
		{name: "shell_when_none_recorded",
			recorded: constant(""), shell: same, status: OK,
			contains: []func(string) string{same, constant("VAULT_ADDR, because vault.address of the state file is empty")}},
		{name: "echoed_token_redacted",
			recorded: constant(echo.URL), shell: constant(""), status: Fail,
			contains: []func(string) string{constant("403: permission denied for token [redacted]"),
				constant(echo.URL)}},
		{name: "echoed_token_shell_differs",
			recorded: constant(echo.URL), shell: same, status: Fail,
			contains: []func(string) string{constant("lookup-self at " + echo.URL),
				func(standIn string) string { return "VAULT_ADDR " + standIn + " differs" }}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var standIn string
			opts, token := vaultNodeAt(t, time.Hour, func(u string) string {
				standIn = u
				return tc.recorded(u)
			})
			opts.VaultAddress = tc.shell(standIn)
			rep := Run(t.Context(), opts)
			c := find(t, rep, "vault-token")
			if c.Status != tc.status {
				t.Errorf("status = %s, want %s (summary %q)", c.Status, tc.status, c.Summary)
			}
			for _, want := range tc.contains {
				if !strings.Contains(c.Summary, want(standIn)) {
					t.Errorf("summary %q does not contain %q", c.Summary, want(standIn))
				}
			}
			assertNoSecret(t, rep, token)
		})
	}
}

func same(s string) string { return s }

func constant(c string) func(string) string { return func(string) string { return c } }

func TestVaultErrorRedacts(t *testing.T) {
	const legacy = "s.AbCdEfGhIjKlMnOpQrStUvWx"
	tests := []struct {
		name, message, token string
	}{
		{"known_token", "bad token nomad-legacy-value-123", "nomad-legacy-value-123"},
		{"legacy_token_pattern", "bad token " + legacy, "unrelated"},
		{"header_echo", `headers {"X-Vault-Token":["opaque-value-77"]}`, "unrelated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := &api.ResponseError{StatusCode: http.StatusForbidden, Errors: []string{tc.message}}
			got := vaultError(err, tc.token)
			for _, secret := range []string{tc.token, legacy, "opaque-value-77"} {
				if strings.Contains(got, secret) {
					t.Errorf("vaultError = %q, contains %q", got, secret)
				}
			}
			if !strings.HasPrefix(got, "403: ") {
				t.Errorf("vaultError = %q, want the status first", got)
			}
		})
	}
}
