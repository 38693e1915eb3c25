package harness

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
)

// VaultClient returns a client of the Vault at address with the client's
// own retries off, so a fixture step fails at once with Vault's error.
func VaultClient(address, token string) (*api.Client, error) {
	cfg := api.DefaultConfig()
	cfg.Address = address
	cfg.MaxRetries = 0
	cfg.HttpClient.Timeout = 30 * time.Second
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	c.SetToken(token)
	return c, nil
}

// InitVault initializes the Vault at address as its operator would, and
// returns the root token for the rest of the fixture. With the awskms seal,
// Vault then unseals itself through the KMS stand-in.
func InitVault(ctx context.Context, address string) (rootToken string, err error) {
	c, err := VaultClient(address, "")
	if err != nil {
		return "", err
	}
	resp, err := c.Sys().InitWithContext(ctx, &api.InitRequest{RecoveryShares: 1, RecoveryThreshold: 1})
	if err != nil {
		return "", fmt.Errorf("vault operator init %s: %w", address, err)
	}
	return resp.RootToken, nil
}

// Secrets describes the operator's Vault setup for one namespace's nodes.
type Secrets struct {
	Namespace string
	// GossipKey is written to KV v2 at secret/<namespace>/consul/gossip and
	// secret/<namespace>/nomad/gossip, field key.
	GossipKey string
	// ServerID is the value the aws auth method requires in
	// X-Vault-AWS-IAM-Server-ID; empty requires none.
	ServerID string
	// STSEndpoint is the STS stand-in that Vault sends the login to.
	STSEndpoint string
	// ConsulAddress and ConsulToken configure the Consul secrets engine;
	// empty leaves it unconfigured. ConsulPolicy is the Consul ACL policy
	// of the tokens it mints.
	ConsulAddress, ConsulToken, ConsulPolicy string
}

// SetUp enables and configures, as an operator does: the aws auth method
// (IAM login through the STS stand-in, a role named after the namespace
// for nodes of NodeRoleARN), KV v2 with the gossip keys, a PKI engine with
// a root CA and roles <namespace>-consul and <namespace>-nomad, and the
// Consul secrets engine with role <namespace>-consul-agent.
func SetUp(ctx context.Context, c *api.Client, s Secrets) error {
	steps := []struct {
		what string
		fn   func() error
	}{
		{"aws auth", func() error { return setUpAWSAuth(ctx, c, s) }},
		{"kv", func() error { return setUpKV(ctx, c, s) }},
		{"pki", func() error { return setUpPKI(ctx, c, s) }},
		{"consul engine", func() error { return SetUpConsulEngine(ctx, c, s) }},
		{"nomad token role", func() error { return setUpNomad(ctx, c, s) }},
	}
	for _, step := range steps {
		if err := step.fn(); err != nil {
			return fmt.Errorf("vault fixture %s: %w", step.what, err)
		}
	}
	return nil
}

func write(ctx context.Context, c *api.Client, path string, data map[string]any) error {
	if _, err := c.Logical().WriteWithContext(ctx, path, data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// setUpAWSAuth enables the aws auth method with the namespace's policy.
//
// NOTE: the policy grants sudo on auth/token/create because the secrets
// stage creates the Nomad server's periodic token there, and Vault v1.13.2
// rejects it with "root or sudo privileges required to create periodic token"
// without it. A token role with token_period would need no sudo.
func setUpAWSAuth(ctx context.Context, c *api.Client, s Secrets) error {
	if err := c.Sys().EnableAuthWithOptionsWithContext(ctx, "aws",
		&api.EnableAuthOptions{Type: "aws"}); err != nil {
		return err
	}
	policy := fmt.Sprintf(`
path "secret/data/%[1]s/*" { capabilities = ["read"] }
path "pki/issue/%[1]s-*" { capabilities = ["create", "update"] }
path "consul/creds/%[1]s-*" { capabilities = ["read"] }
path "auth/token/create" { capabilities = ["update", "sudo"] }
`, s.Namespace)
	if err := c.Sys().PutPolicyWithContext(ctx, s.Namespace, policy); err != nil {
		return err
	}
	client := map[string]any{"sts_endpoint": s.STSEndpoint, "sts_region": Region,
		"iam_endpoint": s.STSEndpoint, "access_key": Creds.AccessKeyID,
		"secret_key": Creds.SecretAccessKey}
	if s.ServerID != "" {
		client["iam_server_id_header_value"] = s.ServerID
	}
	if err := write(ctx, c, "auth/aws/config/client", client); err != nil {
		return err
	}
	// resolve_aws_unique_ids would ask IAM for the role's unique id, which
	// no stand-in serves.
	return write(ctx, c, "auth/aws/role/"+s.Namespace, map[string]any{
		"auth_type": "iam", "bound_iam_principal_arn": NodeRoleARN,
		"resolve_aws_unique_ids": false, "token_ttl": "1h",
		"token_policies": []string{s.Namespace, s.Namespace + "-nomad-server"},
	})
}

func setUpKV(ctx context.Context, c *api.Client, s Secrets) error {
	mounts, err := c.Sys().ListMountsWithContext(ctx)
	if err != nil {
		return err
	}
	// A dev-mode Vault already has KV v2 at secret/.
	if m, ok := mounts["secret/"]; !ok || m.Options["version"] != "2" {
		if err := c.Sys().MountWithContext(ctx, "secret", &api.MountInput{Type: "kv",
			Options: map[string]string{"version": "2"}}); err != nil {
			return err
		}
	}
	for _, svc := range []string{"consul", "nomad"} {
		path := "secret/data/" + s.Namespace + "/" + svc + "/gossip"
		if err := write(ctx, c, path, map[string]any{"data": map[string]any{"key": s.GossipKey}}); err != nil {
			return err
		}
	}
	return nil
}

func setUpPKI(ctx context.Context, c *api.Client, s Secrets) error {
	if err := c.Sys().MountWithContext(ctx, "pki", &api.MountInput{Type: "pki",
		Config: api.MountConfigInput{MaxLeaseTTL: "87600h"}}); err != nil {
		return err
	}
	if err := write(ctx, c, "pki/root/generate/internal", map[string]any{
		"common_name": "bootstrap test root", "ttl": "87600h", "key_type": "ec"}); err != nil {
		return err
	}
	for _, svc := range []string{"consul", "nomad"} {
		if err := write(ctx, c, "pki/roles/"+s.Namespace+"-"+svc, map[string]any{
			"allow_any_name": true, "allow_ip_sans": true, "allow_localhost": true,
			"enforce_hostnames": false, "key_type": "ec", "max_ttl": "72h",
			"server_flag": true, "client_flag": true,
		}); err != nil {
			return err
		}
	}
	return nil
}

// SetUpConsulEngine mounts the Consul secrets engine at consul/ and writes
// the role <namespace>-consul-agent, when s names a Consul. It is also
// called on its own once the Consul cluster it points at exists.
func SetUpConsulEngine(ctx context.Context, c *api.Client, s Secrets) error {
	if s.ConsulAddress == "" {
		return nil
	}
	if err := c.Sys().MountWithContext(ctx, "consul", &api.MountInput{Type: "consul"}); err != nil {
		return err
	}
	if err := write(ctx, c, "consul/config/access", map[string]any{
		"address": s.ConsulAddress, "scheme": "http", "token": s.ConsulToken}); err != nil {
		return err
	}
	// The node identity gives the agent token node:write on its own node,
	// which the agent needs to register itself; Consul 1.14 accepts it.
	return write(ctx, c, "consul/roles/"+s.Namespace+"-consul-agent", map[string]any{
		"consul_policies": []string{s.ConsulPolicy}, "ttl": "1h"})
}

// setUpNomad writes the policy of a Nomad 1.6 server's token and the token
// role named after the namespace that its create_from_role names, with
// the capabilities Nomad's documentation lists for the legacy integration.
func setUpNomad(ctx context.Context, c *api.Client, s Secrets) error {
	policy := fmt.Sprintf(`
path "auth/token/create/%[1]s" { capabilities = ["update"] }
path "auth/token/roles/%[1]s" { capabilities = ["read"] }
path "auth/token/lookup-self" { capabilities = ["read"] }
path "auth/token/lookup" { capabilities = ["update"] }
path "auth/token/revoke-accessor" { capabilities = ["update"] }
path "sys/capabilities-self" { capabilities = ["update"] }
path "auth/token/renew-self" { capabilities = ["update"] }
`, s.Namespace)
	if err := c.Sys().PutPolicyWithContext(ctx, s.Namespace+"-nomad-server", policy); err != nil {
		return err
	}
	return write(ctx, c, "auth/token/roles/"+s.Namespace, map[string]any{
		"allowed_policies": s.Namespace, "orphan": true, "token_period": "72h", "renewable": true})
}

// WaitVaultStatus polls Vault's /v1/sys/health at address until it returns
// want or ctx ends, and returns the last status code.
func WaitVaultStatus(ctx context.Context, address string, want int) (int, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	last, wait := 0, 10*time.Millisecond
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, address+"/v1/sys/health", nil)
		if resp, err := client.Do(req); err == nil {
			_ = resp.Body.Close()
			last = resp.StatusCode
			if last == want {
				return last, nil
			}
		}
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("vault %s health: %d, want %d: %w", address, last, want, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 250*time.Millisecond)
	}
}

// DevVaultToken is the root token of the Vault that StartDevVault starts.
const DevVaultToken = "root-token-for-tests"

// StartDevVault starts a Vault in dev mode (in memory, unsealed, with a
// known root token) listening on addr:8200, for tests in which Vault only
// serves secrets to the nodes under test. It returns its address once it
// is active.
func StartDevVault(t testing.TB, bin, addr string) string {
	t.Helper()
	cmd := exec.Command(bin, "server", "-dev", "-dev-root-token-id="+DevVaultToken,
		"-dev-listen-address="+net.JoinHostPort(addr, "8200"), "-dev-no-store-token")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "CHECKPOINT_DISABLE=1", "HOME=" + t.TempDir(),
		"AWS_EC2_METADATA_DISABLED=true"}
	p := StartProcess(t, cmd)
	address := "http://" + net.JoinHostPort(addr, "8200")
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, err := WaitVaultStatus(ctx, address, http.StatusOK); err != nil {
		t.Fatalf("dev vault: %v\n%s", err, p.Output())
	}
	return address
}
