package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/hashicorp/hcl"

	"github.com/hashistack/bootstrap/internal/config"
	"github.com/hashistack/bootstrap/internal/node"
	"github.com/hashistack/bootstrap/internal/realservers"
	"github.com/hashistack/bootstrap/internal/realservers/harness"
	"github.com/hashistack/bootstrap/internal/render"
	"github.com/hashistack/bootstrap/internal/testenv/scratch"
	"github.com/hashistack/bootstrap/roles"
)

// validateCase is one set of inputs rendered for every role and checked by
// the real servers.
type validateCase struct {
	name string
	// file is appended to the AMI's bootstrap.toml, userData is the whole
	// user-data document without the role line.
	file, userData string
	// rootSuffix is appended to the scratch root's directory name, so the
	// rendered paths carry it.
	rootSuffix string
	// nomadVersion is nomad.version; empty means the real Nomad's.
	nomadVersion string
}

// baseUserData is the smallest user-data every role accepts.
const baseUserData = `namespace   = "payments"
datacenter  = "eu-west-1"
environment = "prod"

[join]
consul = ["consul.e2e.internal"]
nomad  = ["nomad.e2e.internal"]
vault  = ["vault.e2e.internal"]

[vault]
address = "https://vault.e2e.internal:8200"

[seal]
kms_key_id = "alias/vault-unseal"
`

// validateCases are accepted by the config stage, most of them with values
// a careless renderer would break: quotes, backslashes, dollar signs and
// spaces in paths, long labels, URLs with paths, and both Vault modes of
// Nomad 1.6.
var validateCases = []validateCase{
	{name: "base", userData: baseUserData},
	{name: "tls_disabled", userData: baseUserData, file: "[vault]\ntls_disable = true\n"},
	{name: "hostile_root", userData: baseUserData, rootSuffix: ` q"uote\back $dollar {{x}} %s`},
	{name: "long_labels", userData: strings.NewReplacer(
		`"payments"`, `"`+strings.Repeat("p", 40)+`"`,
		`"eu-west-1"`, `"`+strings.Repeat("d", 40)+`"`,
		`"consul.e2e.internal"`, `"`+strings.Repeat("c", 63)+`.e2e.internal", "second.e2e.internal"`,
	).Replace(baseUserData)},
	{name: "kms_arn_and_vault_path", userData: strings.NewReplacer(
		`"alias/vault-unseal"`, `"arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"`,
		`"https://vault.e2e.internal:8200"`, `"https://vault.e2e.internal:8200/"`,
	).Replace(baseUserData)},
	{name: "nomad_legacy_token", userData: baseUserData, file: "[nomad]\nvault_mode = \"legacy-token\"\n"},
	{name: "expect_one", userData: baseUserData,
		file: "[consul]\nbootstrap_expect = 1\n[nomad]\nbootstrap_expect = 1\n"},
}

// renderedNode is one role rendered into a scratch root.
type renderedNode struct {
	root   string
	role   roles.Role
	config node.Config
	files  []render.File
}

// renderRole runs the config and render stages in process for role with
// the inputs of tc, and writes the files below a new scratch root whose
// agents bind addr.
func renderRole(t *testing.T, tc validateCase, role, addr, extraFile string) renderedNode {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root"+tc.rootSuffix)
	n := scratch.Node{Root: root, Role: role, Addr: addr, DNSServer: "127.0.0.1:53",
		StandinAgent: "/nonexistent"}
	if err := scratch.Prepare(n); err != nil {
		t.Fatal(err)
	}
	version := tc.nomadVersion
	if version == "" {
		version = strings.TrimPrefix(realservers.NomadVersion, "v")
	}
	file := fmt.Sprintf("[network]\nbind = %q\nclient = %q\n[vault]\ntls_bundle = \"bootstrap/vault-tls\"\n"+
		"[nomad]\nversion = %q\n"+
		"fingerprint_denylist = [\"env_aws\", \"env_gce\", \"env_azure\", \"env_digitalocean\"]\n",
		addr, addr, version)
	file = mergeTOML(mergeTOML(file, tc.file), extraFile)
	cfg, _, err := config.Load(config.Sources{
		File: []byte(file), FilePath: "/etc/bootstrap/bootstrap.toml",
		UserData: []byte(fmt.Sprintf("role = %q\n%s", role, tc.userData)),
		Instance: node.Instance{InstanceID: "i-0e2e00000000000a1", AccountID: "123456789012",
			Region: "eu-west-1", PrivateIP: addr},
	})
	if err != nil {
		t.Fatalf("config stage rejected case %s: %v", tc.name, err)
	}
	r, err := roles.Load(role)
	if err != nil {
		t.Fatal(err)
	}
	files, err := render.Plan(render.Input{Root: root, Role: r, Config: cfg})
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	if err := render.WriteTree(root, files); err != nil {
		t.Fatal(err)
	}
	// The shipped units create the data directories (StateDirectory=).
	for _, s := range r.Services {
		if err := os.MkdirAll(filepath.Join(root, "var/lib", s.Name), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return renderedNode{root: root, role: r, config: cfg, files: files}
}

// mergeTOML appends extra to base, moving keys of a table that base already
// has into that table, because TOML forbids defining a table twice.
func mergeTOML(base, extra string) string {
	table := ""
	for line := range strings.Lines(extra) {
		if strings.HasPrefix(line, "[") {
			table = strings.TrimSpace(line)
			if strings.Contains(base, table+"\n") {
				continue
			}
			base += line
			continue
		}
		if i := strings.Index(base, table+"\n"); table != "" && i >= 0 {
			at := i + len(table) + 1
			base = base[:at] + line + base[at:]
			continue
		}
		base += line
	}
	return base
}

// writeSecrets writes what the secrets stage would put on tmpfs for the
// node's services: the include file and a certificate for each.
func writeSecrets(t *testing.T, n renderedNode, addr string) {
	t.Helper()
	include := map[string]string{
		"consul": "encrypt = \"" + gossipKey + "\"\nacl {\n  tokens {\n    agent = \"" +
			"00000000-0000-4000-8000-00000000a001\"\n  }\n}\n",
		"nomad": "server {\n  encrypt = \"" + gossipKey + "\"\n}\n",
		"vault": "",
	}
	if n.config.Nomad.VaultMode == "legacy-token" && n.role.Name == "nomad-server" {
		include["nomad"] += "vault {\n  token = \"hvs.not-a-real-token\"\n}\n"
	}
	for _, s := range n.role.Services {
		dir := filepath.Join(n.root, "run/bootstrap", s.Name)
		harness.WriteTLS(t, dir, []string{"server.eu-west-1.consul", "server.global.nomad",
			"localhost", "vault.e2e.internal"}, "127.0.0.1", addr)
		err := os.WriteFile(filepath.Join(dir, "secrets.hcl"), []byte(include[s.Name]), 0o600)
		if err != nil {
			t.Fatal(err)
		}
	}
}

// gossipKey is a valid 32-byte gossip key for Consul and Nomad, made up
// for these tests.
const gossipKey = "Tf7Ig2/ATXy1pL4b5ZmWU3vB1Qh3X0m0b8J5r6gXc1s="

// validateAddrs gives each role of a validation case its own address, so
// Vault's listener does not meet another test's.
var validateAddrs = map[string]string{
	"consul-server": "127.0.60.1", "nomad-server": "127.0.60.2",
	"nomad-client": "127.0.60.3", "vault-server": "127.0.60.4",
}

func TestRealServersAcceptRenderedConfigs(t *testing.T) {
	servers := harness.Binaries(t, realservers.Consul, realservers.Vault, realservers.Nomad)
	for _, tc := range validateCases {
		t.Run(tc.name, func(t *testing.T) {
			for _, role := range roles.Names() {
				t.Run(role, func(t *testing.T) {
					addr := validateAddrs[role]
					var kms *harness.KMS
					var extra string
					if role == "vault-server" {
						// The seal's endpoint goes through the config and the
						// template like any other value.
						kms = harness.StartKMS(t, "eu-west-1", "", validateCreds)
						extra = fmt.Sprintf("[seal]\nendpoint = %q\n", kms.URL)
					}
					n := renderRole(t, tc, role, addr, extra)
					writeSecrets(t, n, addr)
					switch role {
					case "consul-server":
						runValidate(t, servers[realservers.Consul], "validate",
							filepath.Join(n.root, "etc/consul.d"),
							filepath.Join(n.root, "run/bootstrap/consul/secrets.hcl"))
					case "nomad-server", "nomad-client":
						runValidate(t, servers[realservers.Nomad], "config", "validate",
							filepath.Join(n.root, "etc/nomad.d"),
							filepath.Join(n.root, "run/bootstrap/nomad/secrets.hcl"))
					case "vault-server":
						startVaultOn(t, servers[realservers.Vault], n, addr, kms)
					}
				})
			}
		})
	}
}

func runValidate(t *testing.T, bin string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, args...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "CHECKPOINT_DISABLE=1", "HOME=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("%s %s rejected the rendered config: %v\n%s", filepath.Base(bin),
			strings.Join(args, " "), err, out)
	}
}

// startVaultOn starts the real Vault on the node's rendered config, with
// its awskms seal pointed at a KMS stand-in, and waits until its API
// reports it uninitialized (501), which needs the config parsed, the seal
// configured and the listener up.
func startVaultOn(t *testing.T, bin string, n renderedNode, addr string, kms *harness.KMS) {
	t.Helper()
	id := "1234abcd-12ab-34cd-56ef-1234567890ab"
	if key := n.config.Seal.KMSKeyID; strings.HasPrefix(key, "arn:") {
		id = key[strings.LastIndex(key, "/")+1:]
	}
	kms.SetKey(id, n.config.Seal.KMSKeyID)
	cmd := exec.Command(bin, "server", "-config="+filepath.Join(n.root, "etc/vault.d"))
	cmd.Env = vaultEnv(validateCreds)
	proc := harness.StartProcess(t, cmd)
	client := vaultHTTPClient(t, n)
	url := fmt.Sprintf("%s://%s:8200/v1/sys/health", schemeOf(n), addr)
	code, err := pollStatus(t.Context(), client, url, proc.Done())
	if err != nil {
		t.Fatalf("vault on the rendered config: %v\n%s", err, proc.Output())
	}
	if code != http.StatusNotImplemented {
		t.Errorf("vault health = %d, want 501 (uninitialized)\n%s", code, proc.Output())
	}
	if calls := kms.Calls(); len(calls) == 0 || calls[0] != "DescribeKey" {
		t.Errorf("KMS calls = %q, want DescribeKey first", calls)
	}
}

// validateCreds sign the requests of Vault's awskms seal to the KMS
// stand-in.
var validateCreds = aws.Credentials{AccessKeyID: "AKIDVALIDATE",
	SecretAccessKey: "validate-secret-not-real"}

// vaultEnv is the environment of a real Vault in the tests: AWS
// credentials for the KMS stand-in only, and nothing that reaches IMDS.
func vaultEnv(creds aws.Credentials) []string {
	return []string{"PATH=/usr/bin:/bin", "CHECKPOINT_DISABLE=1", "HOME=/nonexistent",
		"AWS_ACCESS_KEY_ID=" + creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + creds.SecretAccessKey,
		"AWS_EC2_METADATA_DISABLED=true", "VAULT_LOG_LEVEL=info"}
}

func schemeOf(n renderedNode) string {
	if n.config.Vault.TLSDisable {
		return "http"
	}
	return "https"
}

// vaultHTTPClient trusts the node's CA from tmpfs.
func vaultHTTPClient(t *testing.T, n renderedNode) *http.Client {
	t.Helper()
	ca, err := os.ReadFile(filepath.Join(n.root, "run/bootstrap/vault/ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, Proxy: nil}}
}

// pollStatus gets url until it responds, the process exits or a minute
// passes, and returns the status code.
func pollStatus(ctx context.Context, c *http.Client, url string, exited <-chan struct{}) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	wait := 10 * time.Millisecond
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			return resp.StatusCode, nil
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("get %s: %w (last error: %v)", url, ctx.Err(), err)
		case <-exited:
			return 0, fmt.Errorf("exited before serving %s", url)
		case <-time.After(wait):
		}
		wait = min(2*wait, 500*time.Millisecond)
	}
}

// TestRealValidatorsRejectUnknownKey shows that the validators used above
// are strict: a config with one unknown key fails.
func TestRealValidatorsRejectUnknownKey(t *testing.T) {
	servers := harness.Binaries(t, realservers.Consul, realservers.Nomad)
	tests := []struct {
		name, role string
		args       func(root string) []string
		bin        string
	}{
		{"consul", "consul-server", func(root string) []string {
			return []string{"validate", filepath.Join(root, "etc/consul.d")}
		}, servers[realservers.Consul]},
		{"nomad", "nomad-client", func(root string) []string {
			return []string{"config", "validate", filepath.Join(root, "etc/nomad.d")}
		}, servers[realservers.Nomad]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := renderRole(t, validateCases[0], tc.role, validateAddrs[tc.role], "")
			dir := tc.args(n.root)[len(tc.args(n.root))-1]
			extra := filepath.Join(dir, "typo.hcl")
			if err := os.WriteFile(extra, []byte("datacentre = \"x\"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.CommandContext(t.Context(), tc.bin, tc.args(n.root)...)
			cmd.Env = []string{"PATH=/usr/bin:/bin", "CHECKPOINT_DISABLE=1"}
			if out, err := cmd.CombinedOutput(); err == nil {
				t.Errorf("%s accepted an unknown key:\n%s", tc.name, out)
			}
		})
	}
}

// nomadVaultKeys are the keys of a Nomad server's vault block, from the
// Nomad documentation of the agent's vault block for each form. Nomad 1.10
// removed the legacy token keys (token, create_from_role,
// allow_unauthenticated, task_token_ttl).
var nomadVaultKeys = map[string]map[string]bool{
	"legacy": {
		"enabled": true, "address": true, "token": true, "create_from_role": true,
		"allow_unauthenticated": true, "task_token_ttl": true, "ca_file": true, "ca_path": true,
		"cert_file": true, "key_file": true, "tls_server_name": true, "tls_skip_verify": true,
		"namespace": true,
	},
	"workload-identity": {
		"name": true, "enabled": true, "address": true, "jwt_auth_backend_path": true,
		"default_identity": true, "ca_file": true, "ca_path": true, "cert_file": true,
		"key_file": true, "tls_server_name": true, "tls_skip_verify": true, "namespace": true,
	},
}

// nomadIdentityKeys are the keys of vault.default_identity in Nomad 1.10.
var nomadIdentityKeys = map[string]bool{
	"aud": true, "env": true, "file": true, "ttl": true, "extra_claims": true,
}

// TestNomadVaultBlockKeys renders a Nomad server for each Nomad version
// and parses its vault block back with HCL v1 against the documented keys.
// For Nomad 1.7 and later no MPL-2.0 release can check the workload
// identity form. Nomad v1.6.2 checks the legacy form only in part: `nomad
// config validate` and the agent accept an unknown key inside vault.
func TestNomadVaultBlockKeys(t *testing.T) {
	tests := []struct {
		version, form string
	}{
		{"1.6.2", "legacy"},
		{"1.7.0", "workload-identity"},
		{"1.10.0", "workload-identity"},
	}
	for _, tc := range tests {
		t.Run(tc.version, func(t *testing.T) {
			vc := validateCase{name: "vault_block", userData: baseUserData, nomadVersion: tc.version}
			n := renderRole(t, vc, "nomad-server", validateAddrs["nomad-server"], "")
			src, err := os.ReadFile(filepath.Join(n.root, "etc/nomad.d/nomad.hcl"))
			if err != nil {
				t.Fatal(err)
			}
			vault := hclBlock(t, src, "vault")
			if diff := unknownKeys(vault, nomadVaultKeys[tc.form]); diff != "" {
				t.Errorf("vault block of Nomad %s: %s", tc.version, diff)
			}
			if tc.form == "legacy" {
				if _, ok := vault["create_from_role"]; !ok {
					t.Errorf("vault block of Nomad %s has no create_from_role", tc.version)
				}
				return
			}
			identity := hclBlock(t, src, "vault", "default_identity")
			if diff := unknownKeys(identity, nomadIdentityKeys); diff != "" {
				t.Errorf("vault.default_identity of Nomad %s: %s", tc.version, diff)
			}
			if _, ok := identity["aud"]; !ok {
				t.Errorf("vault.default_identity of Nomad %s has no aud", tc.version)
			}
		})
	}
}

// hclBlock parses src with HCL v1 and returns the single block at path.
func hclBlock(t *testing.T, src []byte, path ...string) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := hcl.Unmarshal(src, &doc); err != nil {
		t.Fatalf("parse rendered config: %v", err)
	}
	block := doc
	for _, name := range path {
		list, ok := block[name].([]map[string]any)
		if !ok || len(list) != 1 {
			t.Fatalf("rendered config has no single %s block: %#v", strings.Join(path, "."), block[name])
		}
		block = list[0]
	}
	return block
}

// unknownKeys lists the keys of block that known lacks, or "" for none.
func unknownKeys(block map[string]any, known map[string]bool) string {
	var extra []string
	for k := range block {
		if !known[k] {
			extra = append(extra, k)
		}
	}
	if len(extra) == 0 {
		return ""
	}
	slices.Sort(extra)
	return "undocumented keys " + strings.Join(extra, ", ")
}

// TestRealServersAcceptGoldenConfigs runs the real validators on the
// configs that TestFirstBootEachRole renders, from its golden trees.
func TestRealServersAcceptGoldenConfigs(t *testing.T) {
	servers := harness.Binaries(t, realservers.Consul, realservers.Nomad)
	tests := []struct {
		role, config string
		args         func(path string) []string
		bin          string
	}{
		{"consul-server", "etc/consul.d/consul.hcl",
			func(p string) []string { return []string{"validate", p} }, servers[realservers.Consul]},
		{"nomad-server", "etc/nomad.d/nomad.hcl",
			func(p string) []string { return []string{"config", "validate", p} }, servers[realservers.Nomad]},
		{"nomad-client", "etc/nomad.d/nomad.hcl",
			func(p string) []string { return []string{"config", "validate", p} }, servers[realservers.Nomad]},
	}
	for _, tc := range tests {
		t.Run(tc.role, func(t *testing.T) {
			golden, err := os.ReadFile(filepath.Join("testdata/golden", tc.role, tc.config))
			if err != nil {
				t.Fatal(err)
			}
			// The golden format starts with the file's mode, and writes the
			// scratch root as $ROOT.
			_, body, _ := strings.Cut(string(golden), "\n")
			root := t.TempDir()
			path := filepath.Join(root, tc.config)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			body = strings.ReplaceAll(body, "$ROOT", root)
			if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			runValidate(t, tc.bin, tc.args(filepath.Dir(path))...)
		})
	}
}
