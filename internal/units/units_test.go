package units_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/google/go-cmp/cmp"

	systemdtest "github.com/hashistack/bootstrap/internal/testenv/systemd"
	"github.com/hashistack/bootstrap/internal/units"
)

var buildDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "units-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// standinAgent builds the stand-in agent once per test binary, on first use.
var standinAgent = sync.OnceValues(func() (string, error) {
	path := filepath.Join(buildDir, "standin-agent")
	cmd := exec.Command("go", "build", "-o", path, "github.com/hashistack/bootstrap/internal/standin/agent")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build stand-in agent: %w\n%s", err, out)
	}
	return path, nil
})

// env is a contained manager with a connection to it.
type env struct {
	manager *systemdtest.Manager
	conn    *sddbus.Conn
	agent   string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	m := systemdtest.Start(t, systemdtest.Options{})
	agent, err := standinAgent()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := units.Dial(t.Context(), m.Socket)
	if err != nil {
		t.Fatalf("dial manager: %v", err)
	}
	t.Cleanup(conn.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("manager output:\n%s", m.Log())
		}
	})
	return &env{manager: m, conn: conn, agent: agent}
}

// writeUnit writes a unit file into the manager's unit directory.
func (e *env) writeUnit(t *testing.T, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(e.manager.UnitDir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// addAgent writes an HCL config and a Type=notify unit that runs the stand-in
// agent for role with it, and returns the address the agent listens on.
func (e *env) addAgent(t *testing.T, unit, role, config string) string {
	t.Helper()
	configPath := filepath.Join(t.TempDir(), role+".hcl")
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeLoopbackAddr(t)
	e.writeUnit(t, unit, fmt.Sprintf(`[Unit]
Description=stand-in %s agent for tests

[Service]
Type=notify
ExecStart=%s -role %s -config %s -listen %s
`, role, e.agent, role, configPath, addr))
	return addr
}

// freeLoopbackAddr returns a 127.0.0.1 address with a port that was free a
// moment ago.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func activeState(t *testing.T, conn *sddbus.Conn, unit string) string {
	t.Helper()
	props, err := conn.GetUnitPropertiesContext(t.Context(), unit)
	if err != nil {
		t.Fatalf("read %s properties: %v", unit, err)
	}
	state, _ := props["ActiveState"].(string)
	return state
}

// logRecord is one line of the JSON log, reduced to the fields checked.
type logRecord struct {
	Msg  string
	Unit string
}

func parseLog(t *testing.T, buf *bytes.Buffer) []logRecord {
	t.Helper()
	var records []logRecord
	for line := range strings.Lines(buf.String()) {
		var r struct {
			Msg      string `json:"msg"`
			Unit     string `json:"unit"`
			Duration *int64 `json:"duration"`
		}
		if err := jsonUnmarshal(line, &r); err != nil {
			t.Fatalf("parse log line %q: %v", line, err)
		}
		if r.Msg == "unit started" && r.Duration == nil {
			t.Errorf("log line %q has no duration", line)
		}
		records = append(records, logRecord{Msg: r.Msg, Unit: r.Unit})
	}
	return records
}

func TestStartInOrder(t *testing.T) {
	e := newEnv(t)
	consulAddr := e.addAgent(t, "consul.service", "consul", "server = true\n")
	e.addAgent(t, "nomad.service", "nomad", "client {\n  enabled = true\n}\n")
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))

	err := units.Start(t.Context(), e.conn, []string{"consul.service", "nomad.service"}, log)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}

	for _, unit := range []string{"consul.service", "nomad.service"} {
		if got := activeState(t, e.conn, unit); got != "active" {
			t.Errorf("%s ActiveState = %q, want active", unit, got)
		}
	}
	want := []logRecord{{"unit started", "consul.service"}, {"unit started", "nomad.service"}}
	if diff := cmp.Diff(want, parseLog(t, &logs)); diff != "" {
		t.Errorf("log lines (-want +got):\n%s", diff)
	}
	if leader := httpGet(t, "http://"+consulAddr+"/v1/status/leader"); leader != "\"127.0.0.1:8300\"\n" {
		t.Errorf("consul stand-in leader = %q, want the leader address", leader)
	}
}

func TestStartInvalidConfig(t *testing.T) {
	e := newEnv(t)
	e.addAgent(t, "consul.service", "consul", "server = true\n")
	e.addAgent(t, "nomad.service", "nomad", "client {\n  enabled = true\n")

	err := units.Start(t.Context(), e.conn, []string{"consul.service", "nomad.service"}, slog.New(slog.DiscardHandler))

	if !errors.Is(err, units.ErrUnitFailed) {
		t.Fatalf("Start error = %v, want ErrUnitFailed", err)
	}
	unitErr, ok := errors.AsType[*units.UnitError](err)
	if !ok {
		t.Fatalf("Start error %T is not a *UnitError", err)
	}
	wantState := units.UnitState{
		ActiveState: "failed", SubState: "failed", Result: "exit-code",
		ExecMainCode: 1, ExecMainStatus: 1,
	}
	gotState := unitErr.State
	gotState.StatusText = "" // checked below, it holds a temp path
	if diff := cmp.Diff(wantState, gotState); diff != "" {
		t.Errorf("unit state (-want +got):\n%s", diff)
	}
	for _, want := range []string{
		"start nomad.service: job failed: unit is failed (Result=exit-code",
		"main process exited with status 1",
		`status "config invalid: parse config`,
		"see journalctl -u nomad.service",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if got := activeState(t, e.conn, "consul.service"); got != "active" {
		t.Errorf("consul.service ActiveState = %q, want active (started before the failure)", got)
	}
}

func TestStartUnitInactiveAfterJob(t *testing.T) {
	e := newEnv(t)
	e.writeUnit(t, "once.service", "[Service]\nType=oneshot\nExecStart=/bin/true\n")

	err := units.Start(t.Context(), e.conn, []string{"once.service"}, slog.New(slog.DiscardHandler))

	if !errors.Is(err, units.ErrUnitFailed) {
		t.Fatalf("Start error = %v, want ErrUnitFailed", err)
	}
	want := "start once.service: job done: unit is inactive/dead (Result=success)"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
}

func TestStartUnknownUnit(t *testing.T) {
	e := newEnv(t)

	err := units.Start(t.Context(), e.conn, []string{"absent.service"}, slog.New(slog.DiscardHandler))

	if !errors.Is(err, units.ErrUnitNotFound) {
		t.Fatalf("Start error = %v, want ErrUnitNotFound", err)
	}
	if !strings.HasPrefix(err.Error(), "start absent.service: unit not found") {
		t.Errorf("error %q does not start with the unit name and the cause", err)
	}
}

// cancelAfterStart cancels a context as soon as a start job is queued, so
// Start is certainly waiting for the job's result when the cancel lands.
type cancelAfterStart struct {
	units.Conn
	cancel context.CancelFunc
}

func (c cancelAfterStart) StartUnitContext(ctx context.Context, name, mode string, ch chan<- string) (int, error) {
	id, err := c.Conn.StartUnitContext(ctx, name, mode, ch)
	// The manager runs the job a moment after queueing it; wait until the
	// unit left "inactive", so the state the error reports is the job's.
	for range 500 {
		props, perr := c.Conn.GetUnitPropertiesContext(ctx, name)
		if perr != nil || props["ActiveState"] != "inactive" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.cancel()
	return id, err
}

func TestStartCancelledWhileWaiting(t *testing.T) {
	e := newEnv(t)
	// A notify service that never sends READY=1 keeps its job running.
	e.writeUnit(t, "slow.service", "[Service]\nType=notify\nExecStart=/bin/sleep 600\n")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	err := units.Start(ctx, cancelAfterStart{Conn: e.conn, cancel: cancel}, []string{"slow.service"},
		slog.New(slog.DiscardHandler))

	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Start error = %v, want context.Canceled", err)
	}
	if want := "start slow.service: wait for job"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q does not start with %q", err, want)
	}
}

func TestStartInvalidUnitName(t *testing.T) {
	tests := []struct {
		name string
		unit string
	}{
		{"no_suffix", "consul"},
		{"unknown_type", "consul.scope"},
		{"path", "../consul.service"},
		{"space", "consul agent.service"},
		{"option", "--user.service"},
		{"empty", ""},
		{"too_long", strings.Repeat("a", 250) + ".service"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A nil Conn: the name must be rejected before any D-Bus call.
			err := units.Start(t.Context(), nil, []string{"consul.service", tc.unit}, slog.New(slog.DiscardHandler))
			if !errors.Is(err, units.ErrInvalidUnitName) {
				t.Errorf("Start(%q) error = %v, want ErrInvalidUnitName", tc.unit, err)
			}
		})
	}
}

func TestDialMissingSocket(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "systemd", "private")

	conn, err := units.Dial(t.Context(), socket)

	if err == nil {
		conn.Close()
		t.Fatal("Dial succeeded, want an error")
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Dial error = %v, want it to wrap fs.ErrNotExist", err)
	}
	want := "connect to systemd at " + socket + ": no manager listens there"
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Dial error = %q, want it to start with %q", err, want)
	}
}

func jsonUnmarshal(line string, v any) error {
	return json.Unmarshal([]byte(line), v)
}

// httpGet returns the body of a GET to a loopback URL.
func httpGet(t *testing.T, url string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return string(body)
}

func TestStartWaitEndedShowsState(t *testing.T) {
	e := newEnv(t)
	// A notify service that never sends READY=1 stays activating.
	e.writeUnit(t, "stuck.service", "[Service]\nType=notify\nExecStart=/bin/sleep 600\n")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	err := units.Start(ctx, cancelAfterStart{Conn: e.conn, cancel: cancel}, []string{"stuck.service"},
		slog.New(slog.DiscardHandler))

	if !errors.Is(err, units.ErrUnitFailed) {
		t.Errorf("Start error = %v, want ErrUnitFailed", err)
	}
	for _, want := range []string{"start stuck.service: wait for job: context canceled",
		"unit is activating/start", "see journalctl -u stuck.service"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestStartBadUnitSetting(t *testing.T) {
	e := newEnv(t)
	// A simple service without ExecStart= is loaded as "bad-setting".
	e.writeUnit(t, "bad.service", "[Service]\nType=simple\n")

	err := units.Start(t.Context(), e.conn, []string{"bad.service"}, slog.New(slog.DiscardHandler))

	if !errors.Is(err, units.ErrBadUnitSetting) {
		t.Fatalf("Start error = %v, want ErrBadUnitSetting", err)
	}
	file := filepath.Join(e.manager.UnitDir, "bad.service")
	if want := "systemd-analyze verify " + file; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
}
