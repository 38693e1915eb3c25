package clean

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// bakedTree is a host after a run of each role: what clean must remove, and
// what the bake installed, which it must keep.
var (
	runLeftovers = map[string]string{
		"var/lib/bootstrap/state.json":                          `{"instance_id":"i-0abc"}`,
		"var/lib/bootstrap/lock":                                "",
		"run/bootstrap/consul/gossip.key":                       "canary-gossip-key",
		"run/bootstrap/consul/secrets.hcl":                      `encrypt = "canary"`,
		"run/bootstrap/nomad/tls.key":                           "canary-tls-key",
		"etc/consul.d/consul.hcl":                               "datacenter = \"eu-west-1\"\n",
		"etc/consul.d/.consul.hcl4242":                          "partial",
		"etc/nomad.d/nomad.hcl":                                 "datacenter = \"eu-west-1\"\n",
		"etc/vault.d/vault.hcl":                                 "ui = true\n",
		"etc/systemd/system/consul.service.d/50-bootstrap.conf": "[Unit]\n",
		"etc/systemd/system/nomad.service.d/50-bootstrap.conf":  "[Unit]\n",
		"var/lib/consul/node-id":                                "5b2c5d2e",
		"var/lib/consul/serf/local.keyring":                     `["canary-gossip-key"]`,
		"var/lib/nomad/server/raft/raft.db":                     "raft",
		"var/lib/vault/raft/vault.db":                           "raft",
		"root/.vault-token":                                     "canary-token",
	}
	bakedFiles = map[string]string{
		"etc/bootstrap/bootstrap.toml":                      "environment = \"prod\"\n",
		"etc/consul.d/extra.hcl":                            "log_level = \"INFO\"\n",
		"etc/systemd/system/nomad.service.d/10-limits.conf": "[Service]\n",
		"etc/vault.d/tls/ca.crt":                            "ca",
		"usr/bin/bootstrap":                                 "binary",
		"var/lib/other/keep":                                "other",
	}
)

func writeTree(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func paths(rs []Removed) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Path)
	}
	return out
}

// wantRemoved is what Clean reports for runLeftovers.
var wantRemoved = []string{
	"/etc/consul.d/consul.hcl",
	"/etc/consul.d/.consul.hcl4242",
	"/etc/nomad.d/nomad.hcl",
	"/etc/systemd/system/consul.service.d/50-bootstrap.conf",
	"/etc/systemd/system/nomad.service.d/50-bootstrap.conf",
	"/etc/vault.d/vault.hcl",
	"/root/.vault-token",
	"/run/bootstrap/consul",
	"/run/bootstrap/nomad",
	"/var/lib/bootstrap",
	"/var/lib/consul",
	"/var/lib/nomad",
	"/var/lib/vault",
}

func TestCleanRemovesRunLeftovers(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, runLeftovers)
	writeTree(t, root, bakedFiles)

	removed, err := Clean(t.Context(), Options{Root: root})
	if err != nil {
		t.Fatalf("Clean: %v", err)
	}
	if diff := cmp.Diff(wantRemoved, paths(removed)); diff != "" {
		t.Errorf("removed (-want +got):\n%s", diff)
	}
	for name := range runLeftovers {
		if _, err := os.Lstat(filepath.Join(root, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still present after clean (err %v)", name, err)
		}
	}
	for name, data := range bakedFiles {
		got, err := os.ReadFile(filepath.Join(root, name))
		if err != nil || string(got) != data {
			t.Errorf("baked file %s changed: %q, %v", name, got, err)
		}
	}
	assertDir(t, filepath.Join(root, "run/bootstrap"), true)
	assertDir(t, filepath.Join(root, "etc/systemd/system/consul.service.d"), false)
	assertDir(t, filepath.Join(root, "etc/systemd/system/nomad.service.d"), true)

	left, err := Check(Options{Root: root})
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if len(left) > 0 {
		t.Errorf("Check after Clean found %v", paths(left))
	}
}

func assertDir(t *testing.T, p string, want bool) {
	t.Helper()
	info, err := os.Stat(p)
	if got := err == nil && info.IsDir(); got != want {
		t.Errorf("directory %s exists = %v, want %v (err %v)", p, got, want, err)
	}
}

func TestCheckListsLeftovers(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, runLeftovers)

	left, err := Check(Options{Root: root})
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if diff := cmp.Diff(wantRemoved, paths(left)); diff != "" {
		t.Errorf("leftovers (-want +got):\n%s", diff)
	}
	for name := range runLeftovers {
		if _, err := os.Lstat(filepath.Join(root, name)); err != nil {
			t.Errorf("Check removed %s: %v", name, err)
		}
	}
}

func TestCleanDryRunRemovesNothing(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, runLeftovers)

	removed, err := Clean(t.Context(), Options{Root: root, DryRun: true})
	if err != nil {
		t.Fatalf("Clean: %v", err)
	}
	if diff := cmp.Diff(wantRemoved, paths(removed)); diff != "" {
		t.Errorf("would remove (-want +got):\n%s", diff)
	}
	for name := range runLeftovers {
		if _, err := os.Lstat(filepath.Join(root, name)); err != nil {
			t.Errorf("dry run removed %s: %v", name, err)
		}
	}
}

func TestCleanEmptyTree(t *testing.T) {
	removed, err := Clean(t.Context(), Options{Root: t.TempDir()})
	if err != nil {
		t.Fatalf("Clean: %v", err)
	}
	if len(removed) != 0 {
		t.Errorf("Clean of an empty tree removed %v", paths(removed))
	}
}

func TestCleanUnitDir(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"usr/lib/systemd/system/vault.service.d/50-bootstrap.conf": "[Unit]\n",
		"etc/systemd/system/vault.service.d/50-bootstrap.conf":     "[Unit]\n",
	})
	removed, err := Clean(t.Context(), Options{Root: root, UnitDir: "/usr/lib/systemd/system"})
	if err != nil {
		t.Fatalf("Clean: %v", err)
	}
	want := []string{"/usr/lib/systemd/system/vault.service.d/50-bootstrap.conf"}
	if diff := cmp.Diff(want, paths(removed)); diff != "" {
		t.Errorf("removed (-want +got):\n%s", diff)
	}
}

func TestTargetsRejectsUnitDir(t *testing.T) {
	for _, dir := range []string{"etc/systemd/system", "/etc/../tmp", "/etc/systemd/system/"} {
		t.Run(dir, func(t *testing.T) {
			if _, err := Targets(dir); err == nil || !strings.Contains(err.Error(), "not an absolute clean path") {
				t.Errorf("Targets(%q) error = %v, want not an absolute clean path", dir, err)
			}
		})
	}
}

func TestTargetsDropinName(t *testing.T) {
	targets, err := Targets("")
	if err != nil {
		t.Fatal(err)
	}
	var dropins int
	for _, tg := range targets {
		if strings.HasSuffix(tg.Path, ".service.d/50-bootstrap.conf") {
			dropins++
		}
	}
	// consul, nomad and vault units, each once across the four roles.
	if dropins != 3 {
		t.Errorf("drop-in targets = %d, want 3", dropins)
	}
}

// TestCleanKeepsSymlinkTargets proves clean removes a symlink and never
// what it points to, even outside the root.
func TestCleanKeepsSymlinkTargets(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	keep := filepath.Join(outside, "keep")
	writeTree(t, outside, map[string]string{"keep": "outside"})
	for _, link := range []string{"var/lib/consul", "run/bootstrap/escape"} {
		p := filepath.Join(root, link)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, p); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := Clean(t.Context(), Options{Root: root})
	if err != nil {
		t.Fatalf("Clean: %v", err)
	}
	want := []string{"/run/bootstrap/escape", "/var/lib/consul"}
	if diff := cmp.Diff(want, paths(removed)); diff != "" {
		t.Errorf("removed (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("file outside the root was removed: %v", err)
	}
}

func TestCleanRejectsFileAsDirectory(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{"run/bootstrap": "not a directory"})
	_, err := Clean(t.Context(), Options{Root: root})
	if err == nil || !strings.Contains(err.Error(), "/run/bootstrap is a") {
		t.Errorf("Clean error = %v, want /run/bootstrap is a ... not a directory", err)
	}
}

func TestCleanBusyWhileRunHoldsLock(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, runLeftovers)
	f, err := os.OpenFile(filepath.Join(root, "var/lib/bootstrap/lock"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}

	_, err = Clean(t.Context(), Options{Root: root})
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("Clean error = %v, want ErrBusy", err)
	}
	if _, err := os.Stat(filepath.Join(root, "var/lib/bootstrap/state.json")); err != nil {
		t.Errorf("Clean removed state while the lock was held: %v", err)
	}
}

func TestCleanCancelled(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, runLeftovers)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Clean(ctx, Options{Root: root}); !errors.Is(err, context.Canceled) {
		t.Errorf("Clean error = %v, want context.Canceled", err)
	}
}
