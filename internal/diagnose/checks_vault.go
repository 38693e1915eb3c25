package diagnose

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strings"
	"time"

	"github.com/hashicorp/hcl"
	"github.com/hashicorp/vault/api"

	"github.com/hashistack/bootstrap/internal/vaultauth"
	"github.com/hashistack/bootstrap/roles"
)

// Where the secrets stage keeps each service's secrets on tmpfs, and the
// include file that carries the settings holding a secret.
const (
	secretsDir  = "/run/bootstrap"
	includeFile = "secrets.hcl"
)

// minTokenTTL is the remaining time to live below which the token check
// warns. The Nomad server renews its token; one this close to expiry
// means the renewal is failing.
const minTokenTTL = time.Hour

// vaultToken is the Vault token a role keeps on tmpfs: the setting and the
// file it is in.
type vaultToken struct {
	setting, file string
}

// roleVaultToken returns where the role keeps a Vault token, if it keeps
// one: the legacy Nomad server token, a vault-token secret, which only
// nomad.vault_mode = "legacy-token" fetches.
//
// NOTE: the agent's own Vault login token is not kept after the secrets
// stage, so no other role has a token on tmpfs to look up.
func (e *env) roleVaultToken() (vaultToken, bool) {
	if e.st.Config.Nomad.VaultMode != "legacy-token" {
		return vaultToken{}, false
	}
	for _, s := range e.role.Secrets {
		if s.Kind == roles.KindVaultToken {
			return vaultToken{setting: s.Setting, file: path.Join(secretsDir, s.Service, includeFile)}, true
		}
	}
	return vaultToken{}, false
}

func (e *env) checkVaultToken(ctx context.Context) Result {
	if r := e.needRole("vault-token"); r != nil {
		return *r
	}
	tok, ok := e.roleVaultToken()
	if !ok {
		return result("vault-token", Skip, "role %s keeps no Vault token on tmpfs (nomad.vault_mode %q)",
			e.role.Name, e.st.Config.Nomad.VaultMode)
	}
	token, err := readSetting(e.path(tok.file), tok.setting)
	if err != nil {
		r := result("vault-token", Fail, "%v", err)
		r.Fix = "the secrets stage writes it at every boot: see last-run; " + rerun
		return r
	}
	return e.lookupToken(ctx, token, tok.file)
}

// readSetting reads the dotted setting from an HCL v1 include file. Its
// errors never quote the file, which holds secrets.
func readSetting(p, setting string) (string, error) {
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("no Vault token: %s does not exist", p)
	}
	if err != nil {
		return "", fmt.Errorf("read the Vault token: %w", err)
	}
	var tree map[string]any
	if err := hcl.Decode(&tree, string(data)); err != nil {
		// The parser's message may quote a secret: only the file is named.
		return "", fmt.Errorf("%s is not valid HCL", p)
	}
	value := lookupSetting(tree, strings.Split(setting, "."))
	if value == "" {
		return "", fmt.Errorf("no Vault token: %s has no %s", p, setting)
	}
	return value, nil
}

// lookupSetting follows keys through decoded HCL v1, in which a block
// decodes to a list of maps.
func lookupSetting(tree map[string]any, keys []string) string {
	var v any = tree
	for _, k := range keys {
		switch m := v.(type) {
		case map[string]any:
			v = m[k]
		case []map[string]any:
			if len(m) == 0 {
				return ""
			}
			v = m[0][k]
		default:
			return ""
		}
	}
	if list, ok := v.([]map[string]any); ok && len(list) == 0 {
		return ""
	}
	s, _ := v.(string)
	return s
}

// lookupToken asks Vault for the token's remaining time to live with
// auth/token/lookup-self, which any valid token may call.
func (e *env) lookupToken(ctx context.Context, token, file string) Result {
	addr, source := e.vaultAddress()
	if addr == "" {
		r := result("vault-token", Fail, "no Vault address: vault.address is empty and VAULT_ADDR is unset")
		r.Fix = "set vault.address in /etc/bootstrap/bootstrap.toml or user-data"
		return r
	}
	client, err := e.vaultClient(addr)
	if err != nil {
		return result("vault-token", Fail, "vault client for %s (%s): %s", addr, source,
			vaultauth.Redact(err.Error(), token))
	}
	client.SetToken(token)
	secret, err := client.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil {
		r := result("vault-token", Fail, "lookup-self at %s (%s): %s", addr, source,
			vaultError(err, token))
		r.Fix = "a 403 means the token expired or was revoked: " + rerun + " to fetch a new one"
		return r
	}
	ttl, err := secret.TokenTTL()
	if err != nil {
		return result("vault-token", Fail, "lookup-self at %s (%s): invalid ttl: %s", addr, source,
			vaultauth.Redact(err.Error(), token))
	}
	r := tokenResult(ttl, file)
	r.Summary += " (Vault " + addr + ", " + source + ")"
	r.Lines[0].Attrs["vault_address"] = addr
	return r
}

// vaultAddress returns the Vault address to use and where it comes from.
// The address the last run recorded in the state file wins over
// VAULT_ADDR, which the operator's shell may set for another cluster.
func (e *env) vaultAddress() (addr, source string) {
	recorded, shell := e.st.Config.Vault.Address, e.o.VaultAddress
	switch {
	case recorded == "":
		return shell, "VAULT_ADDR, because vault.address of the state file is empty"
	case shell != "" && shell != recorded:
		return recorded, "vault.address of the state file; VAULT_ADDR " + shell + " differs and is not used"
	}
	return recorded, "vault.address of the state file"
}

func tokenResult(ttl time.Duration, file string) Result {
	l := Line{Status: OK, Name: file, Attrs: map[string]any{"ttl_seconds": ttl.Seconds()}}
	r := result("vault-token", OK, "")
	switch {
	case ttl == 0:
		l.Value = "does not expire"
	case ttl < minTokenTTL:
		l.Status, l.Value = Warn, "expires in "+ttl.Round(time.Second).String()
		l.Fix = "Nomad renews the token: journalctl -u nomad.service shows why it does not; " +
			rerun + " to fetch a new one"
	default:
		l.Value = "expires in " + ttl.Round(time.Second).String()
	}
	r.Summary = "token " + l.Value
	r.add(l)
	return r
}

// vaultClient returns a Vault client without retries that sends every
// request to addr with the options' transport.
func (e *env) vaultClient(addr string) (*api.Client, error) {
	cfg := &api.Config{
		Address:    addr,
		MaxRetries: 0,
		HttpClient: &http.Client{
			Transport: e.o.HTTP.Transport,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}
	return api.NewClient(cfg)
}

// vaultError shortens Vault's error to its status and messages, with the
// token and anything that looks like a credential redacted, because
// Vault's messages may repeat what the request carried.
func vaultError(err error, token string) string {
	var re *api.ResponseError
	if errors.As(err, &re) {
		return fmt.Sprintf("%d: %s", re.StatusCode, vaultauth.Redact(strings.Join(re.Errors, "; "), token))
	}
	return vaultauth.Redact(err.Error(), token)
}
