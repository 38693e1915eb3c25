package diagnose

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hashistack/bootstrap/internal/diagnose/diagtest"
)

// vaultNode writes a legacy-mode Nomad server whose Vault token is on
// tmpfs and a Vault stand-in that knows it with ttl, recorded as
// vault.address.
func vaultNode(t *testing.T, ttl time.Duration) (Options, string) {
	t.Helper()
	return vaultNodeAt(t, ttl, func(standIn string) string { return standIn })
}

// vaultNodeAt is vaultNode with vault.address set to address(standIn), where
// standIn is the URL of the Vault stand-in that knows the token.
func vaultNodeAt(t *testing.T, ttl time.Duration, address func(standIn string) string) (Options, string) {
	t.Helper()
	const token = "hvs.CAESIDiagnoseTestTokenNeverPrinted"
	vault, err := diagtest.Vault(token, ttl)
	check(t, err)
	t.Cleanup(vault.Close)
	f := healthy(t)
	f.node.Role, f.node.VaultMode, f.node.VaultAddr = "nomad-server", "legacy-token", address(vault.URL)
	opts := f.write(t)
	writeFile(t, f.root, "/run/bootstrap/nomad/secrets.hcl",
		"# Written by bootstrap\nserver {\n  encrypt = \"c2VjcmV0\"\n}\nvault {\n  token = \""+token+"\"\n}\n")
	return opts, token
}

func TestVaultToken(t *testing.T) {
	tests := []struct {
		name   string
		ttl    time.Duration
		status Status
		value  string
	}{
		{"long", 72 * time.Hour, OK, "expires in 72h0m0s"},
		{"short", 10 * time.Minute, Warn, "expires in 10m0s"},
		{"periodic_root", 0, OK, "does not expire"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts, token := vaultNode(t, tc.ttl)
			rep := Run(t.Context(), opts)
			c := find(t, rep, "vault-token")
			if c.Status != tc.status || len(c.Lines) != 1 || c.Lines[0].Value != tc.value {
				t.Errorf("vault-token = %s %+v; want %s %q", c.Status, c.Lines, tc.status, tc.value)
			}
			assertNoSecret(t, rep, token)
		})
	}
}

func TestVaultTokenMissing(t *testing.T) {
	opts, _ := vaultNode(t, time.Hour)
	removeFile(t, opts.Root, "/run/bootstrap/nomad/secrets.hcl")
	c := find(t, Run(t.Context(), opts), "vault-token")
	if c.Status != Fail || !strings.Contains(c.Summary, "secrets.hcl does not exist") {
		t.Errorf("vault-token = %s %q; want fail, does not exist", c.Status, c.Summary)
	}
}

// assertNoSecret fails when the text or JSON output contains secret.
func assertNoSecret(t *testing.T, rep Report, secret string) {
	t.Helper()
	var js strings.Builder
	check(t, WriteJSON(&js, rep))
	for _, out := range []string{text(t, rep), js.String()} {
		if strings.Contains(out, secret) {
			t.Errorf("output contains the token:\n%s", out)
		}
	}
}

func TestUnits(t *testing.T) {
	tests := []struct {
		name   string
		state  units
		status Status
		value  string
	}{
		{"active", units{"consul.service": {"active", "running"}}, OK, "active/running"},
		{"starting", units{"consul.service": {"activating", "start"}}, Warn, "activating/start"},
		{"failed", units{"consul.service": {"failed", "failed"}}, Fail,
			"failed/failed (Result=exit-code, main process exited with status 1)"},
		{"not_found", units{}, Fail, "not found: no unit file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := healthy(t)
			opts := f.write(t)
			opts.Systemd = func(context.Context) (UnitConn, error) { return tc.state, nil }
			c := find(t, Run(t.Context(), opts), "units")
			l := c.Lines[0]
			if c.Status != tc.status || l.Name != "consul.service" || l.Value != tc.value {
				t.Errorf("units = %s %+v; want %s %q", c.Status, l, tc.status, tc.value)
			}
		})
	}
}

func TestUnitsNoManager(t *testing.T) {
	f := healthy(t)
	opts := f.write(t)
	opts.Systemd = func(context.Context) (UnitConn, error) {
		return nil, errors.New("connect to systemd at /run/systemd/private: permission denied (run as root)")
	}
	c := find(t, Run(t.Context(), opts), "units")
	if c.Status != Fail || c.Fix == "" {
		t.Errorf("units = %s fix %q; want fail with a fix", c.Status, c.Fix)
	}
}

func TestHealthAgentDown(t *testing.T) {
	f := healthy(t)
	f.node.Addr = "127.0.0.1"
	// Nothing listens on 127.0.0.1:8500 in these tests unless another
	// package's test runs a Consul there; refuse to guess.
	if ln, err := net.Listen("tcp", "127.0.0.1:8500"); err != nil {
		t.Skip("127.0.0.1:8500 is in use")
	} else {
		_ = ln.Close()
	}
	c := find(t, Run(t.Context(), f.write(t)), "health")
	if c.Status != Fail || len(c.Lines) != 2 || !strings.Contains(c.Lines[0].Value, "connection refused") {
		t.Errorf("health = %s %+v; want fail, connection refused", c.Status, c.Lines)
	}
}

func TestExplain(t *testing.T) {
	f := healthy(t)
	opts := f.write(t)
	opts.Explain = true
	c := find(t, Run(t.Context(), opts), "role")
	got := map[string]string{}
	for _, l := range c.Lines {
		got[l.Name] = l.Value
	}
	want := map[string]string{
		"role":            `"consul-server"  (tag hashistack:role)`,
		"namespace":       `"payments"  (user-data line 2)`,
		"join.consul":     `["consul.payments.internal"]  (user-data line 6)`,
		"network.client":  fmt.Sprintf("%q  (/etc/bootstrap/bootstrap.toml line 5)", f.node.Addr),
		"seal.kms_key_id": `""  (not recorded)`,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("explain %s = %q; want %q", k, got[k], v)
		}
	}
}

func TestLifecycleHook(t *testing.T) {
	tests := []struct {
		name, detail string
		status       Status
	}{
		{"continue", "", OK},
		{"abandon", "ABANDON sent for hook launch of group g (unhealthy)", Fail},
		{"hold", "hold: hook launch of group g left open for an operator", Warn},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := healthy(t)
			f.node.SignalDetail = tc.detail
			c := find(t, Run(t.Context(), f.write(t)), "lifecycle")
			if c.Status != tc.status || c.Lines[0].Value != "InService" {
				t.Errorf("lifecycle = %s %+v; want %s", c.Status, c.Lines, tc.status)
			}
		})
	}
}

// TestBoundedWhenHung points every client at a server that accepts and
// never answers: each check must end at its timeout with a failure that
// says so, and Run must return.
func TestBoundedWhenHung(t *testing.T) {
	f := healthy(t)
	hung, err := diagtest.Hang("127.0.0.1:0")
	check(t, err)
	t.Cleanup(hung.Close)
	opts := f.write(t)
	opts.IMDS = newIMDS(hung.URL)
	opts.ClockURL = hung.URL
	opts.Systemd = func(ctx context.Context) (UnitConn, error) {
		<-ctx.Done() // a manager that never answers, ignoring nothing
		return nil, ctx.Err()
	}
	opts.Timeout = 300 * time.Millisecond
	rep := Run(t.Context(), opts)
	for _, name := range []string{"imds", "units"} {
		if c := find(t, rep, name); c.Status != Fail {
			t.Errorf("%s = %s %q; want fail", name, c.Status, c.Summary)
		}
	}
	if c := find(t, rep, "clock"); c.Status != Warn {
		t.Errorf("clock = %s %q; want warn", c.Status, c.Summary)
	}
}

func TestCheckIgnoringContext(t *testing.T) {
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	o := Options{Timeout: 50 * time.Millisecond}.withDefaults()
	r := runCheck(t.Context(), o, Check{Name: "stuck", Run: func(context.Context) Result {
		<-block
		return Result{}
	}})
	if r.Status != Fail || !strings.HasPrefix(r.Summary, "did not finish within 50ms") {
		t.Errorf("result = %s %q; want fail, did not finish", r.Status, r.Summary)
	}
}

// TestReadOnly runs every check over a complete tree, the lock file and a
// secret included, and proves that nothing below the root changed.
func TestReadOnly(t *testing.T) {
	opts, _ := vaultNode(t, time.Hour)
	writeFile(t, opts.Root, "/var/lib/bootstrap/lock", "")
	before := treeDigest(t, opts.Root)
	opts.Explain = true
	Run(t.Context(), opts)
	if diff := cmp.Diff(before, treeDigest(t, opts.Root)); diff != "" {
		t.Errorf("tree changed (-before +after):\n%s", diff)
	}
}

// treeDigest maps every path below root to its type, mode, size,
// modification time and content digest.
func treeDigest(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		entry := fmt.Sprintf("%s %d %s", info.Mode(), info.Size(), info.ModTime().Format(time.RFC3339Nano))
		if info.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			entry += " " + hex.EncodeToString(sum[:])
		}
		out[p] = entry
		return nil
	})
	check(t, err)
	return out
}

func TestLockListed(t *testing.T) {
	const locks = "1: FLOCK  ADVISORY  WRITE 2950 fe:00:9989751 0 EOF\n" +
		"2: POSIX  ADVISORY  WRITE 77 08:01:42 0 EOF\n"
	tests := []struct {
		name string
		dev  uint64
		ino  uint64
		want bool
	}{
		{"flock", 0xfe00, 9989751, true},
		{"posix_only", 0x801, 42, false},
		{"other_inode", 0xfe00, 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := lockListed(locks, tc.dev, tc.ino); got != tc.want {
				t.Errorf("lockListed = %v; want %v", got, tc.want)
			}
		})
	}
}

func TestSTSEndpoint(t *testing.T) {
	tests := []struct {
		name, region string
		env          map[string]string
		want         string
	}{
		{"regional", "eu-west-1", nil, "https://sts.eu-west-1.amazonaws.com"},
		{"china", "cn-north-1", nil, "https://sts.cn-north-1.amazonaws.com.cn"},
		{"no_region", "", nil, "https://sts.amazonaws.com"},
		{"service_override", "eu-west-1", map[string]string{
			"AWS_ENDPOINT_URL_STS": "http://127.0.0.1:1", "AWS_ENDPOINT_URL": "http://127.0.0.1:2"},
			"http://127.0.0.1:1"},
		{"global_override", "eu-west-1", map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:2"},
			"http://127.0.0.1:2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string { return tc.env[k] }
			if got := STSEndpoint(getenv, tc.region); got != tc.want {
				t.Errorf("STSEndpoint = %q; want %q", got, tc.want)
			}
		})
	}
}
