package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashistack/bootstrap/internal/standin/awsapi"
	"github.com/hashistack/bootstrap/internal/standin/vault"
	"github.com/hashistack/bootstrap/internal/state"
)

// Canary markers: every secret value in an end-to-end run is unique.
const (
	canaryConsulGossip = "CANARY-e2e-consul-gossip-3b8e"
	canaryNomadGossip  = "CANARY-e2e-nomad-gossip-c41d"
	canaryAgentToken   = "CANARY-e2e-consul-agent-a9f0"
)

// startVault starts the STS and Vault stand-ins for a node of the
// payments namespace and returns Vault.
func startVault(t *testing.T) *vault.Server {
	t.Helper()
	sts := awsapi.NewSTS(t, awsapi.Options{Region: "eu-west-1", Credentials: e2eCredentials},
		awsapi.CallerIdentity{Arn: "arn:aws:sts::123456789012:assumed-role/payments-node/i-0e2e",
			UserID: "AROAE2E:i-0e2e", Account: "123456789012"})
	return vault.New(t, vault.Config{
		STSEndpoint: sts.URL, ServerID: "vault.e2e.internal",
		Roles: map[string]vault.Role{"payments": {
			BoundARN: "arn:aws:sts::123456789012:assumed-role/payments-node/*",
			Policies: []string{"payments"}}},
		Policies: map[string][]string{"payments": {"secret/data/payments/*",
			"consul/creds/payments-*", "pki/issue/payments-*"}},
		KV: map[string]map[string]string{
			"secret/data/payments/consul/gossip": {"key": canaryConsulGossip},
			"secret/data/payments/nomad/gossip":  {"key": canaryNomadGossip},
		},
		ConsulTokens: map[string]string{"consul/creds/payments-consul-agent": canaryAgentToken},
		PKIRoles:     []string{"pki/issue/payments-consul", "pki/issue/payments-nomad"},
	})
}

// checkCanary fails for every secret found outside run/bootstrap, in the
// run's output or in the command lines of the started units.
func (e *env) checkCanary(output string) {
	e.t.Helper()
	markers := append([]string{canaryConsulGossip, canaryNomadGossip, canaryAgentToken},
		e.vault.Tokens()...)
	markers = append(markers, e.extraMarkers...)
	for _, m := range markers {
		if strings.Contains(output, m) {
			e.t.Errorf("run output contains secret %q", firstLine(m))
		}
	}
	_ = filepath.WalkDir(e.node.Root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(p, filepath.Join(e.node.Root, "run/bootstrap")) ||
			strings.HasPrefix(p, filepath.Join(e.node.Root, "etc/vault.d/tls")) {
			return err
		}
		b, _ := os.ReadFile(p)
		for _, m := range markers {
			if strings.Contains(string(b), m) {
				e.t.Errorf("%s contains secret %q", p, firstLine(m))
			}
		}
		return nil
	})
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, _ := os.ReadFile(p)
		for _, m := range markers {
			if strings.Contains(string(b), m) {
				e.t.Errorf("%s contains secret %q", p, firstLine(m))
			}
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func TestSecretsOnTmpfsEachRole(t *testing.T) {
	for _, role := range []string{"consul-server", "nomad-server", "nomad-client", "vault-server"} {
		t.Run(role, func(t *testing.T) {
			e := newEnv(t, role)
			for _, format := range []string{"text", "json"} {
				out := e.mustRun("--log-format", format)
				e.checkCanary(out)
			}
			svc := strings.SplitN(role, "-", 2)[0]
			names := []string{"secrets.hcl", "tls.crt", "tls.key", "ca.crt"}
			if role == "vault-server" {
				// The e2e Vault server runs with tls_disable: no TLS material.
				names = names[:1]
			}
			for _, name := range names {
				p := filepath.Join(e.node.Root, "run/bootstrap", svc, name)
				st, err := os.Stat(p)
				if err != nil {
					t.Errorf("secret file: %v", err)
					continue
				}
				if st.Mode().Perm() != 0o600 {
					t.Errorf("%s mode = %04o, want 0600", p, st.Mode().Perm())
				}
			}
			b, err := os.ReadFile(filepath.Join(e.node.Root, state.Path))
			if err != nil {
				t.Fatal(err)
			}
			e.checkCanary(string(b))
		})
	}
}
