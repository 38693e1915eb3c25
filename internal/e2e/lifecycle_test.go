package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hashistack/bootstrap/internal/standin/awsapi"
	"github.com/hashistack/bootstrap/internal/standin/imds"
	"github.com/hashistack/bootstrap/internal/state"
	"github.com/hashistack/bootstrap/internal/testenv/systemd"
)

// The lifecycle tests boot a vault-server, whose secrets stage needs no
// Vault cluster, so the runs reach the health and signal stages quickly.
const lifecycleRole = "vault-server"

// launchHook is the group's launching hook in the lifecycle tests.
var launchHook = awsapi.Hook{Name: "launch", Transition: awsapi.TransitionLaunching,
	HeartbeatTimeout: 5 * time.Minute}

// newHookEnv returns an env whose instance is launching into a group with
// launchHook, and whose IMDS serves target.
func newHookEnv(t *testing.T, target string, launch awsapi.Launch) *env {
	t.Helper()
	e := newEnv(t, lifecycleRole)
	e.serveTarget(target)
	e.as = startAutoScaling(t, awsapi.Group{Name: "e2e-asg", Hooks: []awsapi.Hook{launchHook}})
	e.as.Launch(instanceID, "e2e-asg", launch)
	return e
}

// serveTarget replaces AWS's IMDS mock with the stand-in, which serves any
// target lifecycle state.
func (e *env) serveTarget(target string) {
	e.t.Helper()
	srv := imds.New(e.t, imds.Config{
		Identity: imds.Identity{InstanceID: instanceID, AccountID: "123456789012",
			Region: "eu-west-1", AvailabilityZone: "eu-west-1a", PrivateIP: "10.1.2.3"},
		UserData:             []byte(userData(lifecycleRole)),
		Tags:                 map[string]string{"Name": "e2e-" + lifecycleRole, "hashistack:role": lifecycleRole},
		TargetLifecycleState: target,
	})
	e.imds = srv.URL
}

// setHealth makes the stand-in agent report healthy or not.
func (e *env) setHealth(t *testing.T, healthy bool) {
	t.Helper()
	content := "healthy\n"
	if !healthy {
		content = "unhealthy\n"
	}
	p := filepath.Join(e.node.Root, "etc/vault.d/standin-health")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (e *env) signalDetail() string {
	e.t.Helper()
	s := e.state().Stage("signal")
	if s == nil {
		e.t.Fatal("state has no signal stage")
	}
	return s.Detail
}

func TestLaunchHookContinue(t *testing.T) {
	e := newHookEnv(t, "InService", awsapi.Launch{InactiveCalls: 1})
	stderr := e.mustRun()
	st := e.as.Status(instanceID)
	want := []awsapi.Completion{{Hook: "launch", Result: "CONTINUE"}}
	if diff := cmp.Diff(want, st.Completions); diff != "" {
		t.Errorf("completions (-want +got):\n%s", diff)
	}
	if st.LifecycleState != "InService" {
		t.Errorf("lifecycle state = %q, want InService", st.LifecycleState)
	}
	if d := e.signalDetail(); !strings.HasPrefix(d, "CONTINUE sent for hook launch of group e2e-asg") {
		t.Errorf("signal detail = %q", d)
	}
	if n := strings.Count(stderr, `msg="lifecycle action completed"`); n != 1 {
		t.Errorf("%d completion log lines, want 1:\n%s", n, stderr)
	}
	rec := e.state().Lifecycle
	wantRec := &state.Lifecycle{Outcome: "CONTINUE", Group: "e2e-asg", Hook: "launch",
		LifecycleState: "Pending"}
	if diff := cmp.Diff(wantRec, rec, cmpopts.IgnoreFields(state.Lifecycle{}, "Heartbeats")); diff != "" {
		t.Errorf("state.json lifecycle record (-want +got):\n%s", diff)
	}
}

func TestWarmPoolTwoRuns(t *testing.T) {
	e := newHookEnv(t, "Warmed:Stopped", awsapi.Launch{Warm: true})
	e.mustRun()
	first := results(e.state())
	wantFirst := map[string]string{
		"metadata": "ok", "config": "ok", "secrets": "skipped", "render": "ok",
		"units": "skipped", "health": "skipped", "signal": "ok",
	}
	if diff := cmp.Diff(wantFirst, first); diff != "" {
		t.Errorf("first run stage results (-want +got):\n%s", diff)
	}
	if got := e.as.Status(instanceID).LifecycleState; got != "Warmed:Stopped" {
		t.Errorf("state after the warm run = %q, want Warmed:Stopped", got)
	}

	// The instance leaves the warm pool: a new boot, the launch hook fires
	// again and IMDS now says InService.
	if err := e.mgr.Stop(); err != nil {
		t.Fatal(err)
	}
	e.mgr = systemd.Start(t, systemd.Options{ConfigHome: e.node.ConfigHome()})
	e.as.LeaveWarmPool(instanceID, 0)
	e.serveTarget("InService")
	e.mustRun()
	wantSecond := map[string]string{
		"metadata": "ok", "config": "ok", "secrets": "ok", "render": "unchanged",
		"units": "ok", "health": "ok", "signal": "ok",
	}
	if diff := cmp.Diff(wantSecond, results(e.state())); diff != "" {
		t.Errorf("second run stage results (-want +got):\n%s", diff)
	}
	st := e.as.Status(instanceID)
	want := []awsapi.Completion{{Hook: "launch", Result: "CONTINUE"}, {Hook: "launch", Result: "CONTINUE"}}
	if diff := cmp.Diff(want, st.Completions); diff != "" {
		t.Errorf("completions (-want +got):\n%s", diff)
	}
	if st.LifecycleState != "InService" {
		t.Errorf("lifecycle state = %q, want InService", st.LifecycleState)
	}
}

func TestHealthNeverComesAbandons(t *testing.T) {
	e := newHookEnv(t, "InService", awsapi.Launch{})
	e.setHealth(t, false)
	stderr, err := e.run("--set", "lifecycle.max_wait=10s", "--set", "lifecycle.heartbeat_interval=1s")
	if err == nil {
		t.Fatalf("run succeeded with an unhealthy agent:\n%s", stderr)
	}
	st := e.as.Status(instanceID)
	want := []awsapi.Completion{{Hook: "launch", Result: "ABANDON"}}
	if diff := cmp.Diff(want, st.Completions); diff != "" {
		t.Errorf("completions (-want +got):\n%s", diff)
	}
	if st.Heartbeats < 2 {
		t.Errorf("heartbeats = %d, want at least 2 during a 10 s wait at 1 s", st.Heartbeats)
	}
	got := results(e.state())
	if got["health"] != state.Failed || got["signal"] != state.OK {
		t.Errorf("health = %q, signal = %q; want failed and ok", got["health"], got["signal"])
	}
	if d := e.signalDetail(); !strings.HasPrefix(d, "ABANDON sent") {
		t.Errorf("signal detail = %q, want ABANDON sent ...", d)
	}
	if !strings.Contains(e.state().Stage("health").Error, "sealed") {
		t.Errorf("health error %q does not name the sealed Vault", e.state().Stage("health").Error)
	}
}

func TestHoldLeavesHookOpen(t *testing.T) {
	e := newHookEnv(t, "InService", awsapi.Launch{})
	e.setHealth(t, false)
	stderr, err := e.run("--set", "lifecycle.max_wait=10s", "--set", "lifecycle.on_failure=hold")
	if err == nil {
		t.Fatalf("run succeeded with an unhealthy agent:\n%s", stderr)
	}
	st := e.as.Status(instanceID)
	if len(st.Completions) != 0 || st.LifecycleState != "Pending:Wait" {
		t.Errorf("completions = %v, state = %q; want none and Pending:Wait", st.Completions, st.LifecycleState)
	}
	if d := e.signalDetail(); !strings.HasPrefix(d, "hold: hook launch of group e2e-asg left open") {
		t.Errorf("signal detail = %q", d)
	}
}

func TestSIGTERMDuringHealthAbandons(t *testing.T) {
	e := newHookEnv(t, "InService", awsapi.Launch{})
	e.setHealth(t, false)
	var stderr bytes.Buffer
	cmd := e.command("--set", "lifecycle.heartbeat_interval=1s")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for the health stage's first heartbeat, then stop the agent as
	// systemd would.
	for e.as.Status(instanceID).Heartbeats == 0 {
		if cmd.ProcessState != nil {
			t.Fatalf("agent exited early:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var exitErr *exec.ExitError
	if err == nil || !asExitError(err, &exitErr) {
		t.Fatalf("agent exit = %v, want a failure exit:\n%s", err, stderr.String())
	}
	want := []awsapi.Completion{{Hook: "launch", Result: "ABANDON"}}
	if diff := cmp.Diff(want, e.as.Status(instanceID).Completions); diff != "" {
		t.Errorf("completions after SIGTERM (-want +got):\n%s\n%s", diff, stderr.String())
	}
}

func asExitError(err error, target **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	*target = e
	return ok
}
