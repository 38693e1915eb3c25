package render

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl"

	"github.com/hashistack/bootstrap/internal/node"
	"github.com/hashistack/bootstrap/roles"
)

const (
	testPasswd = `root:x:0:0:root:/root:/bin/bash
# service users, as the HashiCorp packages create them
consul:x:998:997::/opt/consul:/bin/false
nomad:x:997:996::/opt/nomad:/bin/false
vault:x:996:995::/opt/vault:/bin/false
`
	testGroup = `root:x:0:
consul:x:997:
nomad:x:996:
vault:x:995:
`
)

// newScratchRoot returns a root directory holding only etc/passwd and
// etc/group. dirName, when set, names the root inside the temp directory,
// so tests can put spaces or "%" into the root path.
func newScratchRoot(t *testing.T, dirName string) string {
	t.Helper()
	root := t.TempDir()
	if dirName != "" {
		root = filepath.Join(root, dirName)
	}
	writeAccounts(t, root, testPasswd, testGroup)
	return root
}

func writeAccounts(t *testing.T, root, passwd, group string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/passwd"), []byte(passwd), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/group"), []byte(group), 0o644); err != nil {
		t.Fatal(err)
	}
}

// testConfig returns a complete effective config as the config stage would
// produce it, with loopback addresses so no template depends on the host.
func testConfig(role string) node.Config {
	return node.Config{
		Role:        role,
		Namespace:   "payments",
		Datacenter:  "eu-west-1",
		Environment: "prod",
		Region:      "eu-west-1",
		NodeName:    "i-0abc123def4567890",
		NodeClass:   "payments",
		Join: node.JoinConfig{
			Consul: []string{"consul-servers.ops.example.internal"},
			Nomad:  []string{"nomad-servers.ops.example.internal", "nomad-b.ops.example.internal"},
			Vault:  []string{"vault-a.ops.example.internal", "vault-b.ops.example.internal"},
		},
		Network: node.NetworkConfig{Bind: "127.0.0.2", Advertise: "127.0.0.3", Client: "127.0.0.1"},
		Consul:  node.ConsulConfig{BootstrapExpect: 3},
		Vault: node.VaultConfig{
			Address:  "https://vault.ops.example.internal:8200",
			AuthPath: "aws",
			ServerID: "vault.ops.example.internal",
			Role:     "payments",
		},
		Seal: node.SealConfig{
			KMSKeyID: "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
			Region:   "eu-west-1",
		},
		Nomad: node.NomadConfig{
			Version:             "1.10.3",
			BootstrapExpect:     5,
			FingerprintDenylist: []string{"env_aws", "env_gce"},
		},
		Systemd: node.SystemdConfig{UnitDir: "/etc/systemd/system"},
	}
}

func loadRole(t *testing.T, name string) roles.Role {
	t.Helper()
	r, err := roles.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// planRole plans role with cfg under root and returns the rendered config
// of the role (its only HCL file) decoded back with HCL v1.
func planRole(t *testing.T, root, role string, cfg node.Config) (map[string]any, []File) {
	t.Helper()
	files, err := Plan(Input{Root: root, Role: loadRole(t, role), Config: cfg})
	if err != nil {
		t.Fatalf("Plan(%s): %v", role, err)
	}
	for _, f := range files {
		if strings.HasSuffix(f.Path, ".hcl") {
			return decodeHCL(t, f.Data), files
		}
	}
	t.Fatalf("Plan(%s) returned no .hcl file", role)
	return nil, nil
}

func decodeHCL(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := hcl.Unmarshal(data, &m); err != nil {
		t.Fatalf("decode rendered HCL: %v\n%s", err, data)
	}
	return m
}

// lookup walks a dotted key through decoded HCL. HCL v1 decodes every block
// as a list of objects; a list with one object is stepped through.
func lookup(m map[string]any, key string) any {
	var cur any = m
	for _, part := range strings.Split(key, ".") {
		if list, ok := cur.([]map[string]any); ok && len(list) == 1 {
			cur = list[0]
		}
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur, ok = obj[part]
		if !ok {
			return nil
		}
	}
	return cur
}

// lookupAll returns the values of keys as a map, for one cmp.Diff.
func lookupAll(m map[string]any, keys []string) map[string]any {
	got := map[string]any{}
	for _, k := range keys {
		got[k] = lookup(m, k)
	}
	return got
}

func keysOf(want map[string]any) []string {
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	return keys
}

func stringList(values ...string) []any {
	out := make([]any, 0, len(values))
	for _, v := range values {
		out = append(out, v)
	}
	return out
}
