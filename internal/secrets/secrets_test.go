package secrets_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/hashicorp/vault/api"

	"github.com/hashistack/bootstrap/internal/node"
	"github.com/hashistack/bootstrap/internal/secrets"
	"github.com/hashistack/bootstrap/internal/standin/awsapi"
	"github.com/hashistack/bootstrap/internal/standin/vault"
	"github.com/hashistack/bootstrap/internal/vaultauth"
	"github.com/hashistack/bootstrap/roles"
)

var testCreds = aws.Credentials{AccessKeyID: "AKIDSECRETSTEST", SecretAccessKey: "test-secret"}

type staticCreds struct{}

func (staticCreds) Retrieve(context.Context) (aws.Credentials, error) { return testCreds, nil }

// Canary markers: each secret value is unique, so a leak is found by
// searching for it.
const (
	consulGossip = "CANARY-consul-gossip-7f3a"
	nomadGossip  = "CANARY-nomad-gossip-91c2"
	agentToken   = "CANARY-consul-agent-token-55de"
)

func newVault(t *testing.T) *vault.Server {
	t.Helper()
	sts := awsapi.NewSTS(t, awsapi.Options{Region: "eu-west-1", Credentials: testCreds},
		awsapi.CallerIdentity{Arn: "arn:aws:sts::123456789012:assumed-role/payments/i-1",
			Account: "123456789012"})
	return vault.New(t, vault.Config{
		STSEndpoint: sts.URL, ServerID: "vault.example.internal",
		Roles: map[string]vault.Role{"payments": {BoundARN: "arn:aws:sts::123456789012:*",
			Policies: []string{"payments", "payments-nomad-server"}}},
		Policies: map[string][]string{"payments": {"secret/data/payments/*",
			"consul/creds/payments-*", "pki/issue/payments-*", "auth/token/create"}},
		KV: map[string]map[string]string{
			"secret/data/payments/consul/gossip": {"key": consulGossip},
			"secret/data/payments/nomad/gossip":  {"key": nomadGossip},
		},
		ConsulTokens: map[string]string{"consul/creds/payments-consul-agent": agentToken},
		PKIRoles:     []string{"pki/issue/payments-consul", "pki/issue/payments-nomad"},
	})
}

func newRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	uid, gid := os.Getuid(), os.Getgid()
	passwd, group := "", ""
	for _, u := range []string{"root", "consul", "nomad", "vault"} {
		passwd += u + ":x:" + itoa(uid) + ":" + itoa(gid) + "::/:/bin/false\n"
		group += u + ":x:" + itoa(gid) + ":\n"
	}
	mustWrite(t, filepath.Join(root, "etc/passwd"), passwd)
	mustWrite(t, filepath.Join(root, "etc/group"), group)
	return root
}

func itoa(n int) string { return strconv.Itoa(n) }

func mustWrite(t *testing.T, p, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func config(role string) node.Config {
	return node.Config{
		Role: role, Namespace: "payments", Datacenter: "eu-west-1", Region: "eu-west-1",
		NodeName: "i-1",
		Vault: node.VaultConfig{AuthPath: "aws", Role: "payments", STSRegion: "eu-west-1",
			ServerID: "vault.example.internal", TLSSource: "file", TLSDir: "/etc/vault.d/tls"},
		Secrets: node.SecretsConfig{KVMount: "secret", ConsulMount: "consul", PKIMount: "pki"},
		Nomad:   node.NomadConfig{VaultMode: "workload-identity"},
	}
}

func vaultClient(t *testing.T, addr string) *api.Client {
	t.Helper()
	cfg := api.DefaultConfig()
	cfg.Address, cfg.MaxRetries = addr, 0
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fetch(t *testing.T, srv *vault.Server, root string, cfg node.Config, log *slog.Logger) (secrets.Result, error) {
	t.Helper()
	role, err := roles.Load(cfg.Role)
	if err != nil {
		t.Fatal(err)
	}
	return secrets.Fetch(t.Context(), secrets.Options{
		Root: root, Role: role, Config: cfg,
		Instance: node.Instance{PrivateIP: "10.1.2.3"},
		Vault:    vaultClient(t, srv.URL),
		Login:    vaultauth.Options{Credentials: staticCreds{}},
		Logger:   log,
	})
}

func TestFetchEachRole(t *testing.T) {
	tests := []struct {
		role  string
		mode  string
		files []string
		want  map[string][]string // file -> substrings
	}{
		{role: "consul-server", files: []string{"/run/bootstrap/consul/ca.crt",
			"/run/bootstrap/consul/secrets.hcl", "/run/bootstrap/consul/tls.crt",
			"/run/bootstrap/consul/tls.key"},
			want: map[string][]string{"consul/secrets.hcl": {`encrypt = "` + consulGossip + `"`,
				"acl {", "tokens {", `agent = "` + agentToken + `"`}}},
		{role: "nomad-server", mode: "workload-identity", files: []string{
			"/run/bootstrap/nomad/ca.crt", "/run/bootstrap/nomad/secrets.hcl",
			"/run/bootstrap/nomad/tls.crt", "/run/bootstrap/nomad/tls.key"},
			want: map[string][]string{"nomad/secrets.hcl": {"server {",
				`encrypt = "` + nomadGossip + `"`}}},
		{role: "nomad-server", mode: "legacy-token", files: []string{
			"/run/bootstrap/nomad/ca.crt", "/run/bootstrap/nomad/secrets.hcl",
			"/run/bootstrap/nomad/tls.crt", "/run/bootstrap/nomad/tls.key"},
			want: map[string][]string{"nomad/secrets.hcl": {"vault {", `token = "hvs.`}}},
		{role: "nomad-client", files: []string{"/run/bootstrap/nomad/ca.crt",
			"/run/bootstrap/nomad/secrets.hcl", "/run/bootstrap/nomad/tls.crt",
			"/run/bootstrap/nomad/tls.key"}},
	}
	for _, tc := range tests {
		t.Run(tc.role+"_"+tc.mode, func(t *testing.T) {
			srv := newVault(t)
			root := newRoot(t)
			cfg := config(tc.role)
			if tc.mode != "" {
				cfg.Nomad.VaultMode = tc.mode
			}
			res, err := fetch(t, srv, root, cfg, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if strings.Join(res.Files, " ") != strings.Join(tc.files, " ") {
				t.Errorf("files = %v, want %v", res.Files, tc.files)
			}
			for _, f := range res.Files {
				checkMode(t, filepath.Join(root, f), 0o600)
				checkMode(t, filepath.Dir(filepath.Join(root, f)), fs.ModeDir|0o700)
			}
			for file, subs := range tc.want {
				b, _ := os.ReadFile(filepath.Join(root, "run/bootstrap", file))
				for _, s := range subs {
					if !strings.Contains(string(b), s) {
						t.Errorf("%s lacks %q:\n%s", file, s, b)
					}
				}
			}
		})
	}
}

func checkMode(t *testing.T, p string, want fs.FileMode) {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode() != want {
		t.Errorf("%s mode = %v, want %v", p, st.Mode(), want)
	}
}

func TestFetchPKINames(t *testing.T) {
	srv := newVault(t)
	if _, err := fetch(t, srv, newRoot(t), config("consul-server"), nil); err != nil {
		t.Fatal(err)
	}
	for _, r := range srv.Requests() {
		if r.Path != "pki/issue/payments-consul" {
			continue
		}
		if r.Body["common_name"] != "server.eu-west-1.consul" ||
			r.Body["ip_sans"] != "127.0.0.1,10.1.2.3" ||
			r.Body["alt_names"] != "i-1.server.eu-west-1.consul,localhost" {
			t.Errorf("PKI request = %v", r.Body)
		}
		return
	}
	t.Error("no PKI issue request")
}

// TestFetchCanary checks that no secret reaches a log line, in either
// format, or a file outside the secrets directory.
func TestFetchCanary(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			srv := newVault(t)
			root := newRoot(t)
			var logs bytes.Buffer
			h := slog.Handler(slog.NewTextHandler(&logs, nil))
			if format == "json" {
				h = slog.NewJSONHandler(&logs, nil)
			}
			cfg := config("consul-server")
			if _, err := fetch(t, srv, root, cfg, slog.New(h)); err != nil {
				t.Fatal(err)
			}
			cfg = config("nomad-server")
			cfg.Nomad.VaultMode = "legacy-token"
			if _, err := fetch(t, srv, root, cfg, slog.New(h)); err != nil {
				t.Fatal(err)
			}
			markers := append([]string{consulGossip, nomadGossip, agentToken}, srv.Tokens()...)
			for _, m := range markers {
				if strings.Contains(logs.String(), m) {
					t.Errorf("log contains secret %q", m)
				}
			}
			walkOutside(t, root, markers)
		})
	}
}

// walkOutside fails for every marker in a file outside run/bootstrap.
func walkOutside(t *testing.T, root string, markers []string) {
	t.Helper()
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(p, filepath.Join(root, "run/bootstrap")) {
			return err
		}
		b, _ := os.ReadFile(p)
		for _, m := range markers {
			if bytes.Contains(b, []byte(m)) {
				t.Errorf("%s contains secret %q", p, m)
			}
		}
		return nil
	})
}

func TestFetchRejectsOtherNamespace(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *node.Config, r *roles.Role)
	}{
		{"vault_role", func(c *node.Config, _ *roles.Role) { c.Vault.Role = "ledger" }},
		{"policy", func(_ *node.Config, r *roles.Role) {
			r.Secrets = append(r.Secrets, roles.Secret{Name: "t", Service: "nomad",
				Kind: roles.KindVaultToken, Setting: "vault.token", Policies: []string{"ledger"}})
		}},
		{"path", func(_ *node.Config, r *roles.Role) {
			r.Secrets = append(r.Secrets, roles.Secret{Name: "k", Service: "nomad",
				Kind: roles.KindKV, Path: "ledger/gossip", Field: "key", Setting: "x"})
		}},
		{"dot_segment", func(_ *node.Config, r *roles.Role) {
			r.Secrets = append(r.Secrets, roles.Secret{Name: "k", Service: "nomad",
				Kind: roles.KindKV, Path: "payments/../ledger", Field: "key", Setting: "x"})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newVault(t)
			cfg := config("nomad-server")
			cfg.Nomad.VaultMode = "legacy-token"
			role, _ := roles.Load("nomad-server")
			tc.edit(&cfg, &role)
			_, err := secrets.Fetch(t.Context(), secrets.Options{
				Root: newRoot(t), Role: role, Config: cfg, Vault: vaultClient(t, srv.URL),
				Login: vaultauth.Options{Credentials: staticCreds{}},
			})
			if !errors.Is(err, secrets.ErrNamespace) {
				t.Fatalf("error = %v, want ErrNamespace", err)
			}
			if n := len(srv.Requests()); n != 0 {
				t.Errorf("%d requests sent to Vault, want none", n)
			}
		})
	}
}

func TestFetchVaultTLSFromFile(t *testing.T) {
	srv := newVault(t)
	root := newRoot(t)
	// Borrow a real pair from the PKI stand-in for the baked directory.
	if _, err := fetch(t, srv, root, config("consul-server"), nil); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"tls.crt", "tls.key", "ca.crt"} {
		b, _ := os.ReadFile(filepath.Join(root, "run/bootstrap/consul", name))
		mustWrite(t, filepath.Join(root, "etc/vault.d/tls", name), string(b))
	}
	before := len(srv.Requests())
	res, err := fetch(t, srv, root, config("vault-server"), nil)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if res.Login != nil || len(srv.Requests()) != before {
		t.Error("vault-server asked Vault, want no request")
	}
	checkMode(t, filepath.Join(root, "run/bootstrap/vault/tls.key"), 0o600)
}
