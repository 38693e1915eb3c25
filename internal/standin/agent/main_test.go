package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "agent.hcl")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestParseFlagsRejects(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"unknown_role", []string{"-role", "boundary", "-config", "c", "-listen", "127.0.0.1:1"}, `invalid -role "boundary"`},
		{"missing_config", []string{"-role", "consul", "-listen", "127.0.0.1:1"}, "missing -config"},
		{"any_address", []string{"-role", "consul", "-config", "c", "-listen", "0.0.0.0:8500"}, `invalid -listen "0.0.0.0:8500"`},
		{"host_name", []string{"-role", "consul", "-config", "c", "-listen", "localhost:8500"}, `invalid -listen "localhost:8500"`},
		{"no_port", []string{"-role", "consul", "-config", "c", "-listen", "127.0.0.1"}, `invalid -listen "127.0.0.1"`},
		{"extra_argument", []string{"-role", "vault", "-config", "c", "-listen", "[::1]:8200", "x"}, `unexpected argument "x"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseFlags(tc.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseFlags error = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}

func TestRunConfigFailures(t *testing.T) {
	tests := []struct {
		name    string
		config  string
		wantErr string
	}{
		{"missing_file", filepath.Join(t.TempDir(), "absent.hcl"), "read config: open"},
		{"unterminated_string", writeConfig(t, "datacenter = \"eu-west-1\n"), "parse config"},
		{"missing_key", writeConfig(t, "= 1\n"), "parse config"},
		{"unbalanced_brace", writeConfig(t, "client {\n  enabled = true\n"), "parse config"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			args := []string{"-role", "nomad", "-config", tc.config, "-listen", "127.0.0.1:0"}
			if code := run(t.Context(), args, &stderr); code != exitFailure {
				t.Errorf("run exit status = %d, want %d", code, exitFailure)
			}
			if !strings.Contains(stderr.String(), tc.wantErr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tc.wantErr)
			}
			if !strings.Contains(stderr.String(), "stand-in nomad") {
				t.Errorf("stderr = %q, want it to name the stand-in", stderr.String())
			}
		})
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	config := writeConfig(t, "datacenter = \"dc1\"\n")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var stderr bytes.Buffer
	args := []string{"-role", "consul", "-config", config, "-listen", "127.0.0.1:0"}
	if code := run(ctx, args, &stderr); code != exitOK {
		t.Errorf("run exit status = %d, want %d; stderr: %s", code, exitOK, stderr.String())
	}
	if !strings.Contains(stderr.String(), "stand-in agent stopping") {
		t.Errorf("stderr = %q, want the stopping line", stderr.String())
	}
}

// get requests path from a stand-in serving config and decodes the JSON body.
func get(t *testing.T, role, config, path string) (int, any) {
	t.Helper()
	cfg, err := loadConfig(writeConfig(t, config))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(routes[role](agentInfo{config: cfg}))
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body any
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("decode %s: %v", path, err)
		}
	}
	return resp.StatusCode, body
}

func TestEndpoints(t *testing.T) {
	const nomadClient = `
name = "client-1"
datacenter = "eu-west-1"
client {
  enabled    = true
  node_class = "payments"
}
`
	tests := []struct {
		name       string
		role       string
		config     string
		path       string
		wantStatus int
		want       any // a subset of the body: every key given must match
	}{
		{"consul_leader", "consul", "", "/v1/status/leader", 200, "127.0.0.1:8300"},
		{"consul_self", "consul", "server = true\ndatacenter = \"ops\"\nnode_name = \"c1\"\n", "/v1/agent/self", 200,
			map[string]any{"Config": map[string]any{"Datacenter": "ops", "NodeName": "c1", "Server": true, "Version": consulVersion}}},
		{"nomad_health_client", "nomad", nomadClient, "/v1/agent/health", 200,
			map[string]any{"client": map[string]any{"ok": true, "message": "ok"}}},
		{"nomad_leader", "nomad", "", "/v1/status/leader", 200, "127.0.0.1:4647"},
		{"nomad_self", "nomad", nomadClient, "/v1/agent/self", 200,
			map[string]any{"config": map[string]any{"Datacenter": "eu-west-1", "NodeName": "client-1",
				"Client": map[string]any{"Enabled": true, "NodeClass": "payments"}}}},
		{"vault_health", "vault", "", "/v1/sys/health", 200,
			map[string]any{"initialized": true, "sealed": false, "standby": false}},
		{"unknown_path", "vault", "", "/v1/sys/seal-status", 404, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(t, tc.role, tc.config, tc.path)
			if status != tc.wantStatus {
				t.Fatalf("GET %s status = %d, want %d", tc.path, status, tc.wantStatus)
			}
			if diff := cmp.Diff(tc.want, subset(tc.want, body)); diff != "" {
				t.Errorf("GET %s body (-want +got):\n%s", tc.path, diff)
			}
		})
	}
}

func TestNomadHealthServerOnly(t *testing.T) {
	_, body := get(t, "nomad", "server {\n  enabled = true\n}\n", "/v1/agent/health")
	want := map[string]any{"server": map[string]any{"ok": true, "message": "ok"}}
	if diff := cmp.Diff(want, body); diff != "" {
		t.Errorf("health body (-want +got):\n%s", diff)
	}
}

func TestWrongMethod(t *testing.T) {
	srv := httptest.NewServer(routes["vault"](agentInfo{}))
	t.Cleanup(srv.Close)
	resp, err := http.Post(srv.URL+"/v1/sys/health", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST status = %d, want %d", resp.StatusCode, http.StatusMethodNotAllowed)
	}
}

// subset keeps only the keys of got that want names, recursively, so a test
// can pin the fields it cares about.
func subset(want, got any) any {
	wantMap, ok := want.(map[string]any)
	gotMap, ok2 := got.(map[string]any)
	if !ok || !ok2 {
		return got
	}
	out := map[string]any{}
	for key, value := range wantMap {
		if g, present := gotMap[key]; present {
			out[key] = subset(value, g)
		}
	}
	return out
}
