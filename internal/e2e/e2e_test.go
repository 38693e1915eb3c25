// Package e2e runs whole first boots of the built agent: the real
// `bootstrap` binary against AWS's IMDS mock, a DNS server and a contained
// systemd user manager, all on loopback, into a scratch root per test. The
// rendered tree is compared with golden files under testdata/golden; run
// `go test ./internal/e2e -update` to rewrite them after a deliberate change.
package e2e

import (
	"bytes"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"

	"github.com/hashistack/bootstrap/internal/standin/awsapi"
	"github.com/hashistack/bootstrap/internal/standin/vault"
	"github.com/hashistack/bootstrap/internal/state"
	"github.com/hashistack/bootstrap/internal/testenv/dnsserver"
	"github.com/hashistack/bootstrap/internal/testenv/imdsmock"
	"github.com/hashistack/bootstrap/internal/testenv/scratch"
	"github.com/hashistack/bootstrap/internal/testenv/systemd"
)

var update = flag.Bool("update", false, "rewrite the golden trees under testdata/golden")

// bins holds the binaries built once for the whole package.
var bins struct {
	bootstrap string
	agent     string
}

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "bootstrap-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := 1
	if err := build(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func build(dir string) error {
	bins.bootstrap = filepath.Join(dir, "bootstrap")
	bins.agent = filepath.Join(dir, "standin-agent")
	for out, pkg := range map[string]string{
		bins.bootstrap: "../../cmd/bootstrap",
		bins.agent:     "../standin/agent",
	} {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	return nil
}

// requireSystemd skips the test when no contained manager can run here,
// unless CI demands one.
func requireSystemd(t *testing.T) {
	t.Helper()
	if err := systemd.Available(); err != nil {
		if os.Getenv("BOOTSTRAP_REQUIRE_SYSTEMD") != "" {
			t.Fatalf("contained systemd required but unavailable: %v", err)
		}
		t.Skipf("contained systemd unavailable: %v", err)
	}
}

// joinNames are the retry_join names every scratch node uses.
var joinNames = map[string][]string{
	"consul.e2e.internal": {"127.0.0.21", "127.0.0.22", "127.0.0.23"},
	"nomad.e2e.internal":  {"127.0.0.31"},
	"vault.e2e.internal":  {"127.0.0.41"},
}

// userData returns a plain TOML user-data document for role.
func userData(role string) string {
	doc := fmt.Sprintf(`role        = %q
namespace   = "payments"
datacenter  = "eu-west-1"
environment = "prod"

[join]
consul = ["consul.e2e.internal"]
nomad  = ["nomad.e2e.internal"]
vault  = ["vault.e2e.internal"]
`, role)
	doc += "\n[vault]\nserver_id = \"vault.e2e.internal\"\n"
	if role == "vault-server" {
		doc += "\n[seal]\nkms_key_id = \"alias/vault-unseal\"\n"
	}
	return doc
}

// amiSettings returns the part of bootstrap.toml that only the AMI may set
// for role: the stand-in agent serves plain HTTP on loopback, which the
// health check then uses too, and no KMS is reachable.
func amiSettings(role string) string {
	if role != "vault-server" {
		return ""
	}
	return "\n[vault]\ntls_disable = true\n\n[seal]\nendpoint = \"http://127.0.0.1:9\"\n"
}

// addrs gives each role its own loopback address.
var addrs = map[string]string{
	"consul-server": "127.0.0.11",
	"nomad-server":  "127.0.0.12",
	"nomad-client":  "127.0.0.13",
	"vault-server":  "127.0.0.14",
}

// env is one scratch node with its stand-ins running.
type env struct {
	t    *testing.T
	node scratch.Node
	mgr  *systemd.Manager
	imds string
	// as is the Auto Scaling stand-in; by default it holds the instance
	// InService in a group without lifecycle hooks.
	as *awsapi.AutoScaling
	// vault is the Vault stand-in the secrets stage logs in to.
	vault *vault.Server
	// extraMarkers are secrets the test planted, such as a baked key.
	extraMarkers []string
}

// e2eCredentials are the fake credentials every run signs with.
var e2eCredentials = aws.Credentials{AccessKeyID: "AKIDE2ETEST", SecretAccessKey: "e2e-secret-not-real"}

// Instance ids of the scratch nodes: the first boot, and an AMI baked from it.
const (
	instanceID      = "i-0e2e000000000001"
	bakedInstanceID = "i-0e2e0000000000b2"
)

// startAutoScaling starts an Auto Scaling stand-in with groups.
func startAutoScaling(t *testing.T, groups ...awsapi.Group) *awsapi.AutoScaling {
	t.Helper()
	return awsapi.NewAutoScaling(t, awsapi.Options{Region: "eu-west-1", Credentials: e2eCredentials},
		groups...)
}

func newEnv(t *testing.T, role string) *env {
	t.Helper()
	requireSystemd(t)
	dns := dnsserver.Start(t, joinNames)
	n := scratch.Node{
		Root:         t.TempDir(),
		Role:         role,
		Addr:         addrs[role],
		DNSServer:    dns.Addr,
		StandinAgent: bins.agent,
		Extra:        amiSettings(role),
	}
	if err := scratch.Prepare(n); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, node: n, vault: startVault(t)}
	e.mgr = systemd.Start(t, systemd.Options{ConfigHome: n.ConfigHome()})
	e.imds = startIMDS(t, instanceID, role, []byte(userData(role)))
	// AWS's IMDS mock serves the target lifecycle state InService, so the
	// instance is in a group: one without hooks, which has no action.
	e.as = startAutoScaling(t, awsapi.Group{Name: "e2e-asg"})
	e.as.Launch(instanceID, "e2e-asg", awsapi.Launch{})
	e.as.Launch(bakedInstanceID, "e2e-asg", awsapi.Launch{})
	return e
}

func startIMDS(t *testing.T, instanceID, role string, ud []byte) string {
	t.Helper()
	return imdsmock.Start(t, imdsmock.Config{
		InstanceID: instanceID,
		AccountID:  "123456789012",
		Region:     "eu-west-1",
		PrivateIP:  "10.1.2.3",
		Tags:       map[string]string{"Name": "e2e-" + role, "hashistack:role": role},
		UserData:   ud,
	})
}

// command builds `bootstrap run` for the env, with every endpoint on
// loopback. AWS_ENDPOINT_URL points at a closed port, so any AWS API call
// nobody expected fails here instead of leaving the machine.
func (e *env) command(args ...string) *exec.Cmd {
	args = append([]string{"run", "--root", e.node.Root, "--systemd-socket", e.mgr.Socket,
		"--timeout", "2m"}, args...)
	cmd := exec.Command(bins.bootstrap, args...)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + e.t.TempDir(),
		"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + e.imds,
		"AWS_ENDPOINT_URL=http://127.0.0.1:9",
		"AWS_ENDPOINT_URL_AUTO_SCALING=" + e.as.URL,
		"AWS_ACCESS_KEY_ID=" + e2eCredentials.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + e2eCredentials.SecretAccessKey,
		"AWS_REGION=eu-west-1",
		"VAULT_ADDR=" + e.vault.URL,
	}
	return cmd
}

func (e *env) run(args ...string) (stderr string, err error) {
	e.t.Helper()
	var buf bytes.Buffer
	cmd := e.command(args...)
	cmd.Stderr = &buf
	err = cmd.Run()
	return buf.String(), err
}

func (e *env) mustRun(args ...string) string {
	e.t.Helper()
	out, err := e.run(args...)
	if err != nil {
		e.t.Fatalf("bootstrap run: %v\n%s", err, out)
	}
	return out
}

func (e *env) state() *state.File {
	e.t.Helper()
	f, err := state.Load(e.node.Root)
	if err != nil || f == nil {
		e.t.Fatalf("load state: %v (file present: %v)", err, f != nil)
	}
	return f
}

// results maps each stage of the last run to its result.
func results(f *state.File) map[string]string {
	m := map[string]string{}
	for _, s := range f.Stages {
		m[s.Name] = s.Result
	}
	return m
}

// firstBootResults are the stage results of a first boot in a group
// without a launching hook.
var firstBootResults = map[string]string{
	"metadata": "ok", "config": "ok", "secrets": "ok", "render": "ok",
	"units": "ok", "health": "ok", "signal": "skipped",
}

// rendered returns the files the agent wrote below root (inputs and
// state excluded), with the root path replaced by $ROOT.
func rendered(t *testing.T, root string) map[string]string {
	t.Helper()
	inputs := map[string]bool{
		"etc/passwd": true, "etc/group": true, "etc/bootstrap/bootstrap.toml": true,
	}
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		// Secrets differ at every run; secrets_test.go checks them.
		if inputs[rel] || strings.HasPrefix(rel, "var/lib/bootstrap/") ||
			strings.HasPrefix(rel, "run/bootstrap/") || strings.HasPrefix(rel, "etc/vault.d/tls/") {
			return nil
		}
		if strings.HasPrefix(rel, "etc/systemd/user/") && !strings.Contains(rel, ".d/") {
			return nil // unit files the scratch tree supplies
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[rel] = fmt.Sprintf("mode %04o\n%s", info.Mode().Perm(),
			strings.ReplaceAll(string(b), root, "$ROOT"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkGolden compares the rendered tree with testdata/golden/NAME.
func checkGolden(t *testing.T, name string, got map[string]string) {
	t.Helper()
	dir := filepath.Join("testdata", "golden", name)
	if *update {
		os.RemoveAll(dir)
		for rel, content := range got {
			p := filepath.Join(dir, rel)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	want := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		want[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatalf("read golden tree (run with -update to create it): %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rendered tree differs from %s (-want +got):\n%s", dir, diff)
	}
}

func mtimes(t *testing.T, root string, files map[string]string) map[string]time.Time {
	t.Helper()
	m := map[string]time.Time{}
	for rel := range files {
		info, err := os.Stat(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		m[rel] = info.ModTime()
	}
	return m
}

func TestFirstBootEachRole(t *testing.T) {
	for _, role := range []string{"consul-server", "nomad-server", "nomad-client", "vault-server"} {
		t.Run(role, func(t *testing.T) {
			e := newEnv(t, role)
			e.mustRun()
			st := e.state()
			if diff := cmp.Diff(firstBootResults, results(st)); diff != "" {
				t.Errorf("stage results (-want +got):\n%s", diff)
			}
			if st.Result != state.OK {
				t.Errorf("run result = %q, want ok", st.Result)
			}
			tree := rendered(t, e.node.Root)
			checkGolden(t, role, tree)
			before := mtimes(t, e.node.Root, tree)

			// A second run in the same boot changes nothing on disk.
			e.mustRun()
			if got := results(e.state())["render"]; got != state.Unchanged {
				t.Errorf("second run render = %q, want unchanged", got)
			}
			if diff := cmp.Diff(before, mtimes(t, e.node.Root, tree)); diff != "" {
				t.Errorf("second run touched files (-first +second):\n%s", diff)
			}
			if diff := cmp.Diff(tree, rendered(t, e.node.Root)); diff != "" {
				t.Errorf("second run changed files (-first +second):\n%s", diff)
			}
		})
	}
}
