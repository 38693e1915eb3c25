package render

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hashistack/bootstrap/roles"
)

func TestPlanEveryRoleParsesBack(t *testing.T) {
	root := newScratchRoot(t, "")
	tests := []struct {
		role string
		want map[string]any
	}{
		{
			role: "consul-server",
			want: map[string]any{
				"datacenter":            "eu-west-1",
				"node_name":             "i-0abc123def4567890",
				"server":                true,
				"bootstrap_expect":      3,
				"data_dir":              root + "/var/lib/consul",
				"bind_addr":             "127.0.0.2",
				"advertise_addr":        "127.0.0.3",
				"client_addr":           "127.0.0.1",
				"retry_join":            stringList("consul-servers.ops.example.internal"),
				"leave_on_terminate":    true,
				"disable_update_check":  true,
				"node_meta.namespace":   "payments",
				"node_meta.environment": "prod",
				"acl.enabled":           true,
				"acl.default_policy":    "deny",
				"acl.down_policy":       "extend-cache",
				"encrypt":               nil,
				"ports":                 nil,
			},
		},
		{
			role: "nomad-server",
			want: map[string]any{
				"datacenter":                    "eu-west-1",
				"name":                          "i-0abc123def4567890",
				"data_dir":                      root + "/var/lib/nomad",
				"bind_addr":                     "127.0.0.2",
				"advertise.http":                "127.0.0.3",
				"advertise.rpc":                 "127.0.0.3",
				"advertise.serf":                "127.0.0.3",
				"leave_on_terminate":            true,
				"disable_update_check":          true,
				"server.enabled":                true,
				"server.bootstrap_expect":       5,
				"server.server_join.retry_join": stringList("nomad-servers.ops.example.internal", "nomad-b.ops.example.internal"),
				"vault.enabled":                 true,
				"vault.address":                 "https://vault.ops.example.internal:8200",
				"vault.default_identity.aud":    stringList("vault.io"),
				"vault.default_identity.ttl":    "1h",
				"vault.create_from_role":        nil,
				"client":                        nil,
			},
		},
		{
			role: "nomad-client",
			want: map[string]any{
				"datacenter":                    "eu-west-1",
				"name":                          "i-0abc123def4567890",
				"data_dir":                      root + "/var/lib/nomad",
				"bind_addr":                     "127.0.0.2",
				"advertise.rpc":                 "127.0.0.3",
				"client.enabled":                true,
				"client.node_class":             "payments",
				"client.meta.namespace":         "payments",
				"client.meta.environment":       "prod",
				"client.server_join.retry_join": stringList("nomad-servers.ops.example.internal", "nomad-b.ops.example.internal"),
				"vault.enabled":                 true,
				"vault.address":                 "https://vault.ops.example.internal:8200",
				"vault.default_identity":        nil,
				"server":                        nil,
			},
		},
		{
			role: "vault-server",
			want: map[string]any{
				"storage.raft.path":            root + "/var/lib/vault",
				"storage.raft.node_id":         "i-0abc123def4567890",
				"listener.tcp.address":         "127.0.0.2:8200",
				"listener.tcp.cluster_address": "127.0.0.2:8201",
				"listener.tcp.tls_cert_file":   root + "/run/bootstrap/vault/tls.crt",
				"listener.tcp.tls_key_file":    root + "/run/bootstrap/vault/tls.key",
				"listener.tcp.tls_disable":     nil,
				"seal.awskms.region":           "eu-west-1",
				"seal.awskms.kms_key_id":       "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
				"seal.awskms.endpoint":         nil,
				"api_addr":                     "https://127.0.0.3:8200",
				"cluster_addr":                 "https://127.0.0.3:8201",
				"disable_mlock":                true,
				"ui":                           false,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.role, func(t *testing.T) {
			got, _ := planRole(t, root, tc.role, testConfig(tc.role))
			if diff := cmp.Diff(tc.want, lookupAll(got, keysOf(tc.want))); diff != "" {
				t.Errorf("rendered values (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanVaultRetryJoinPerName(t *testing.T) {
	tests := []struct {
		name       string
		tlsDisable bool
		scheme     string
	}{
		{name: "tls", scheme: "https"},
		{name: "tls_disabled", tlsDisable: true, scheme: "http"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("vault-server")
			cfg.Vault.TLSDisable = tc.tlsDisable
			got, _ := planRole(t, newScratchRoot(t, ""), "vault-server", cfg)

			want := []map[string]any{
				{"leader_api_addr": tc.scheme + "://vault-a.ops.example.internal:8200"},
				{"leader_api_addr": tc.scheme + "://vault-b.ops.example.internal:8200"},
			}
			if diff := cmp.Diff(want, lookup(got, "storage.raft.retry_join")); diff != "" {
				t.Errorf("retry_join (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.scheme+"://127.0.0.3:8200", lookup(got, "api_addr")); diff != "" {
				t.Errorf("api_addr (-want +got):\n%s", diff)
			}
			wantDisable := any(nil)
			if tc.tlsDisable {
				wantDisable = true
			}
			if diff := cmp.Diff(wantDisable, lookup(got, "listener.tcp.tls_disable")); diff != "" {
				t.Errorf("tls_disable (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanVaultSealEndpointAndIPv6(t *testing.T) {
	cfg := testConfig("vault-server")
	cfg.Seal.Endpoint = "http://127.0.0.1:4599"
	cfg.Network.Bind, cfg.Network.Advertise = "::1", "fd00::5"

	got, _ := planRole(t, newScratchRoot(t, ""), "vault-server", cfg)

	want := map[string]any{
		"seal.awskms.endpoint": "http://127.0.0.1:4599",
		"listener.tcp.address": "[::1]:8200",
		"api_addr":             "https://[fd00::5]:8200",
		"cluster_addr":         "https://[fd00::5]:8201",
	}
	if diff := cmp.Diff(want, lookupAll(got, keysOf(want))); diff != "" {
		t.Errorf("rendered values (-want +got):\n%s", diff)
	}
}

func TestPlanNomadFingerprintDenylist(t *testing.T) {
	tests := []struct {
		name     string
		denylist []string
		want     any
	}{
		{name: "set", denylist: []string{"env_aws", "env_gce", "env_azure"}, want: "env_aws,env_gce,env_azure"},
		{name: "empty", denylist: nil, want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("nomad-client")
			cfg.Nomad.FingerprintDenylist = tc.denylist
			got, _ := planRole(t, newScratchRoot(t, ""), "nomad-client", cfg)

			var value any
			if options, ok := lookup(got, "client.options").([]map[string]any); ok {
				value = options[0]["fingerprint.denylist"]
			}
			if diff := cmp.Diff(tc.want, value); diff != "" {
				t.Errorf("client.options fingerprint.denylist (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanNomadVaultForms(t *testing.T) {
	tests := []struct {
		name    string
		role    string
		version string
		address string
		want    map[string]any
	}{
		{
			name: "server_newest", role: "nomad-server", version: "",
			address: "https://vault.example:8200",
			want: map[string]any{
				"vault.enabled": true, "vault.address": "https://vault.example:8200",
				"vault.default_identity.aud": stringList("vault.io"), "vault.default_identity.ttl": "1h",
				"vault.create_from_role": nil,
			},
		},
		{
			name: "server_1_7", role: "nomad-server", version: "1.7.0",
			address: "https://vault.example:8200",
			want: map[string]any{
				"vault.enabled": true, "vault.address": "https://vault.example:8200",
				"vault.default_identity.aud": stringList("vault.io"), "vault.default_identity.ttl": "1h",
				"vault.create_from_role": nil,
			},
		},
		{
			name: "server_1_6_legacy", role: "nomad-server", version: "1.6.2",
			address: "https://vault.example:8200",
			want: map[string]any{
				"vault.enabled": true, "vault.address": "https://vault.example:8200",
				"vault.default_identity": nil, "vault.create_from_role": "payments",
				"vault.token": nil,
			},
		},
		{
			name: "server_no_vault", role: "nomad-server", version: "1.10.0",
			want: map[string]any{"vault": nil},
		},
		{
			name: "client_1_6", role: "nomad-client", version: "1.6.2",
			address: "https://vault.example:8200",
			want: map[string]any{
				"vault.enabled": true, "vault.address": "https://vault.example:8200",
				"vault.default_identity": nil, "vault.create_from_role": nil,
			},
		},
		{
			name: "client_2_0", role: "nomad-client", version: "2.0.0-beta.1",
			address: "https://vault.example:8200",
			want: map[string]any{
				"vault.enabled": true, "vault.address": "https://vault.example:8200",
				"vault.default_identity": nil, "vault.create_from_role": nil,
			},
		},
		{
			name: "client_no_vault", role: "nomad-client", version: "1.6.2",
			want: map[string]any{"vault": nil},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(tc.role)
			cfg.Nomad.Version = tc.version
			cfg.Vault.Address = tc.address
			got, _ := planRole(t, newScratchRoot(t, ""), tc.role, cfg)
			if diff := cmp.Diff(tc.want, lookupAll(got, keysOf(tc.want))); diff != "" {
				t.Errorf("vault block (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanInvalidNomadVersion(t *testing.T) {
	cfg := testConfig("nomad-server")
	cfg.Nomad.Version = "1.7"

	_, err := Plan(Input{Root: newScratchRoot(t, ""), Role: loadRole(t, "nomad-server"), Config: cfg})

	if err == nil || !strings.Contains(err.Error(), `nomad.version "1.7"`) {
		t.Errorf("Plan error = %v, want one naming nomad.version \"1.7\"", err)
	}
}

func TestPlanOwnersAndModes(t *testing.T) {
	root := newScratchRoot(t, "")
	type owned struct {
		Path         string
		Mode         fs.FileMode
		Owner, Group string
		UID, GID     int
	}
	tests := []struct {
		role string
		want []owned
	}{
		{role: "consul-server", want: []owned{
			{"/etc/consul.d/consul.hcl", 0o640, "consul", "consul", 998, 997},
			{"/etc/systemd/system/consul.service.d/50-bootstrap.conf", 0o644, "root", "root", 0, 0},
		}},
		{role: "nomad-client", want: []owned{
			{"/etc/nomad.d/nomad.hcl", 0o640, "root", "nomad", 0, 996},
			{"/etc/systemd/system/nomad.service.d/50-bootstrap.conf", 0o644, "root", "root", 0, 0},
		}},
		{role: "vault-server", want: []owned{
			{"/etc/vault.d/vault.hcl", 0o640, "vault", "vault", 996, 995},
			{"/etc/systemd/system/vault.service.d/50-bootstrap.conf", 0o644, "root", "root", 0, 0},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.role, func(t *testing.T) {
			_, files := planRole(t, root, tc.role, testConfig(tc.role))
			var got []owned
			for _, f := range files {
				got = append(got, owned{f.Path, f.Mode, f.Owner, f.Group, f.UID, f.GID})
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("planned files (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanPrimaryGroupWhenRoleNamesNone(t *testing.T) {
	role := loadRole(t, "consul-server")
	role.Services[0].Group = ""

	files, err := Plan(Input{Root: newScratchRoot(t, ""), Role: role, Config: testConfig("consul-server")})
	if err != nil {
		t.Fatal(err)
	}

	if files[0].Group != "consul" || files[0].GID != 997 {
		t.Errorf("group = %s (%d), want consul (997), the user's primary group", files[0].Group, files[0].GID)
	}
}

func TestPlanMissingAccount(t *testing.T) {
	tests := []struct {
		name          string
		passwd, group string
		want          []string
	}{
		{
			name:   "user",
			passwd: "root:x:0:0::/root:/bin/sh\n", group: testGroup,
			want: []string{`user "consul" not found in `, "/etc/passwd", "install the package"},
		},
		{
			name:   "group",
			passwd: testPasswd, group: "root:x:0:\n",
			want: []string{`group "consul" not found in `, "/etc/group", "install the package"},
		},
		{
			name:   "malformed",
			passwd: "consul:x:abc:997::/:/bin/false\n", group: testGroup,
			want: []string{"/etc/passwd line 1", `uid "abc" is not a number`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeAccounts(t, root, tc.passwd, tc.group)

			_, err := Plan(Input{Root: root, Role: loadRole(t, "consul-server"), Config: testConfig("consul-server")})

			if err == nil {
				t.Fatal("Plan succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestPlanMissingPasswd(t *testing.T) {
	_, err := Plan(Input{Root: t.TempDir(), Role: loadRole(t, "consul-server"), Config: testConfig("consul-server")})

	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Plan error = %v, want fs.ErrNotExist", err)
	}
}

func TestPlanRejectsRelativeRoot(t *testing.T) {
	_, err := Plan(Input{Root: "scratch", Role: loadRole(t, "consul-server"), Config: testConfig("consul-server")})

	if err == nil || !strings.Contains(err.Error(), `root "scratch" is not an absolute path`) {
		t.Errorf("Plan error = %v, want the relative root named", err)
	}
}

func TestPlanRejectsBadUnitDir(t *testing.T) {
	cfg := testConfig("consul-server")
	cfg.Systemd.UnitDir = "etc/systemd/system"

	_, err := Plan(Input{Root: newScratchRoot(t, ""), Role: loadRole(t, "consul-server"), Config: cfg})

	if err == nil || !strings.Contains(err.Error(), "systemd.unit_dir") {
		t.Errorf("Plan error = %v, want one naming systemd.unit_dir", err)
	}
}

func TestPlanRealRootPaths(t *testing.T) {
	// Root "/" is the real system: paths are not prefixed. Only the accounts
	// are read from the host, so the service runs as root:root, which every
	// host has.
	role := loadRole(t, "nomad-client")
	role.Services[0].Group = "root"
	cfg := testConfig("nomad-client")
	for _, root := range []string{"", "/"} {
		files, err := Plan(Input{Root: root, Role: role, Config: cfg})
		if err != nil {
			t.Fatalf("Plan(root %q): %v", root, err)
		}
		m := decodeHCL(t, files[0].Data)
		if got := lookup(m, "data_dir"); got != "/var/lib/nomad" {
			t.Errorf("root %q: data_dir = %v, want /var/lib/nomad", root, got)
		}
	}
}

func TestPlanDropin(t *testing.T) {
	tests := []struct {
		name    string
		rootDir string
		want    string // the AssertPathExists value, after the root
	}{
		{name: "plain", rootDir: "scratch", want: "/etc/consul.d/consul.hcl"},
		{name: "space", rootDir: "scratch root", want: "/etc/consul.d/consul.hcl"},
		{name: "percent", rootDir: "50%off", want: "/etc/consul.d/consul.hcl"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := newScratchRoot(t, tc.rootDir)
			_, files := planRole(t, root, "consul-server", testConfig("consul-server"))
			dropin := files[len(files)-1]

			wantLine := "AssertPathExists=" + strings.ReplaceAll(root, "%", "%%") + tc.want
			if !strings.Contains(string(dropin.Data), "\n[Unit]\n"+wantLine+"\n") {
				t.Errorf("drop-in lacks [Unit] with %q:\n%s", wantLine, dropin.Data)
			}
			checkAssertWithSystemd(t, wantLine, root+tc.want)
		})
	}
}

// checkAssertWithSystemd asks systemd itself to evaluate the assert line,
// before and after the file exists, so the escaping is the one systemd reads.
func checkAssertWithSystemd(t *testing.T, line, file string) {
	t.Helper()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze not installed: assert line not checked by systemd")
		return
	}
	if err := exec.Command(analyze, "condition", line).Run(); err == nil {
		t.Errorf("systemd-analyze condition %q passed before %s exists", line, file)
	}
	mkfile(t, file)
	if out, err := exec.Command(analyze, "condition", line).CombinedOutput(); err != nil {
		t.Errorf("systemd-analyze condition %q failed with the file present: %v\n%s", line, err, out)
	}
}

func mkfile(t *testing.T, file string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, nil, 0o640); err != nil {
		t.Fatal(err)
	}
}

func TestPlanDropinPerServiceWithFiles(t *testing.T) {
	role := roles.Role{
		Name: "two",
		Services: []roles.Service{
			{Name: "consul", Unit: "consul.service", User: "consul", Group: "consul"},
			{Name: "vault", Unit: "vault.service", User: "vault", Group: "vault"},
		},
		Files: []roles.File{
			{Template: "consul-server.hcl", Path: "/etc/consul.d/consul.hcl", Service: "consul", Mode: "0640"},
		},
	}
	cfg := testConfig("consul-server")
	cfg.Systemd.UnitDir = "/usr/lib/systemd/system"

	files, err := Plan(Input{Root: newScratchRoot(t, ""), Role: role, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}

	var paths []string
	for _, f := range files {
		paths = append(paths, f.Path)
	}
	want := []string{"/etc/consul.d/consul.hcl", "/usr/lib/systemd/system/consul.service.d/50-bootstrap.conf"}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("planned paths (-want +got):\n%s", diff)
	}
}
