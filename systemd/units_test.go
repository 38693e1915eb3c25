package systemd

import (
	"bufio"
	"bytes"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func unitNames(t *testing.T) []string {
	t.Helper()
	names, err := fs.Glob(Files, "*.service")
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestEmbeddedUnits(t *testing.T) {
	want := []string{"bootstrap.service", "consul.service", "nomad.service", "vault.service"}
	if diff := cmp.Diff(want, unitNames(t)); diff != "" {
		t.Errorf("embedded units (-want +got):\n%s", diff)
	}
}

var execStart = regexp.MustCompile(`(?m)^ExecStart=.*$`)

// TestVerify runs systemd-analyze verify on every unit. The binaries the
// units run (/usr/bin/consul and the others) do not exist on a build
// machine, and verify fails on a missing ExecStart binary, so each unit is
// verified as a copy whose ExecStart runs /bin/true instead. verify exits 0
// on unknown keys and invalid values and only warns on stderr, so any
// stderr output fails the test.
func TestVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skipf("skip: systemd-analyze not installed: %v", err)
	}
	for _, name := range unitNames(t) {
		t.Run(name, func(t *testing.T) {
			data, err := fs.ReadFile(Files, name)
			if err != nil {
				t.Fatal(err)
			}
			if !execStart.Match(data) {
				t.Fatalf("%s has no ExecStart line", name)
			}
			path := filepath.Join(t.TempDir(), name)
			copied := execStart.ReplaceAll(data, []byte("ExecStart=/bin/true"))
			if err := os.WriteFile(path, copied, 0o644); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			cmd := exec.CommandContext(t.Context(), analyze, "verify", "--man=no", "--generators=no", path)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Errorf("systemd-analyze verify %s: %v\nstdout: %s\nstderr: %s", name, err, &stdout, &stderr)
			}
			if stderr.Len() > 0 {
				t.Errorf("systemd-analyze verify %s warned:\n%s", name, &stderr)
			}
		})
	}
}

// settings parses a unit file into "Section.Key" to every value set for it,
// in order.
func settings(t *testing.T, name string) map[string][]string {
	t.Helper()
	data, err := fs.ReadFile(Files, name)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	section := ""
	scanner := bufio.NewScanner(bytes.NewReader(data))
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			key, value, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: line %q is not key=value", name, line)
			}
			out[section+"."+key] = append(out[section+"."+key], value)
		}
	}
	return out
}

func TestUnitSettings(t *testing.T) {
	tests := []struct {
		unit string
		want map[string]string // "Section.Key" to its last value
	}{
		{"bootstrap.service", map[string]string{
			"Service.Type":            "oneshot",
			"Service.ExecStart":       "/usr/bin/bootstrap run",
			"Service.RemainAfterExit": "yes",
			"Service.TimeoutStartSec": "18min",
			"Service.StandardOutput":  "journal",
			"Unit.After":              "network-online.target",
			"Unit.Wants":              "network-online.target",
			"Install.WantedBy":        "multi-user.target",
		}},
		{"consul.service", map[string]string{
			"Service.User":                  "consul",
			"Service.ExecStart":             "/usr/bin/consul agent -config-dir=/etc/consul.d -config-file=/run/bootstrap/consul/secrets.hcl",
			"Service.ProtectSystem":         "strict",
			"Service.NoNewPrivileges":       "yes",
			"Service.CapabilityBoundingSet": "",
			"Service.StateDirectory":        "consul",
		}},
		{"vault.service", map[string]string{
			"Service.User":                  "vault",
			"Service.ExecStart":             "/usr/bin/vault server -config=/etc/vault.d",
			"Service.ProtectSystem":         "strict",
			"Service.NoNewPrivileges":       "yes",
			"Service.CapabilityBoundingSet": "CAP_IPC_LOCK",
			"Service.AmbientCapabilities":   "CAP_IPC_LOCK",
			"Service.StateDirectory":        "vault",
		}},
		{"nomad.service", map[string]string{
			"Service.User":           "root",
			"Service.ExecStart":      "/usr/bin/nomad agent -config=/etc/nomad.d -config=/run/bootstrap/nomad/secrets.hcl",
			"Service.StateDirectory": "nomad",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.unit, func(t *testing.T) {
			got := settings(t, tc.unit)
			for key, want := range tc.want {
				values, ok := got[key]
				if !ok {
					t.Errorf("%s: %s is not set, want %q", tc.unit, key, want)
					continue
				}
				if last := values[len(values)-1]; last != want {
					t.Errorf("%s: %s = %q, want %q", tc.unit, key, last, want)
				}
			}
			if tc.unit != "bootstrap.service" {
				installed := slices.ContainsFunc(slices.Collect(maps.Keys(got)), func(k string) bool {
					return strings.HasPrefix(k, "Install.")
				})
				if installed {
					t.Errorf("%s has an [Install] section, but it must not be enabled because bootstrap starts it", tc.unit)
				}
			}
		})
	}
}

// TestNoOrderingWithBootstrap guards against a deadlock: the agent starts
// the role's units from inside bootstrap.service and waits for their jobs,
// so an ordering between them and bootstrap.service would make those jobs
// wait for bootstrap.service, which waits for them.
func TestNoOrderingWithBootstrap(t *testing.T) {
	for _, unit := range []string{"bootstrap.service", "consul.service", "nomad.service", "vault.service"} {
		got := settings(t, unit)
		for _, key := range []string{"Unit.Before", "Unit.After"} {
			for _, v := range got[key] {
				for _, dep := range strings.Fields(v) {
					other := dep != unit && slices.Contains(
						[]string{"bootstrap.service", "consul.service", "nomad.service", "vault.service"}, dep)
					if other && (unit == "bootstrap.service" || dep == "bootstrap.service") {
						t.Errorf("%s: %s=%s orders it against %s", unit, key, v, dep)
					}
				}
			}
		}
	}
}
