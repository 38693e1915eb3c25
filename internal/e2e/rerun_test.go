package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hashistack/bootstrap/internal/state"
	"github.com/hashistack/bootstrap/internal/testenv/systemd"
)

func TestRebootRestartsUnitsOnly(t *testing.T) {
	e := newEnv(t, "consul-server")
	e.mustRun()
	tree := rendered(t, e.node.Root)
	before := mtimes(t, e.node.Root, tree)

	// A reboot: the manager and its units are gone, the disk stays.
	if err := e.mgr.Stop(); err != nil {
		t.Fatal(err)
	}
	e.mgr = systemd.Start(t, systemd.Options{ConfigHome: e.node.ConfigHome()})
	e.mustRun()

	got := results(e.state())
	want := map[string]string{
		"metadata": "ok", "config": "ok", "secrets": "ok", "render": "unchanged",
		"units": "ok", "health": "ok", "signal": "skipped",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stage results after reboot (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(before, mtimes(t, e.node.Root, tree)); diff != "" {
		t.Errorf("reboot rewrote files (-before +after):\n%s", diff)
	}
}

func TestBakedAMIStartsFresh(t *testing.T) {
	e := newEnv(t, "nomad-client")
	e.mustRun()
	first := rendered(t, e.node.Root)

	// An AMI baked from this instance boots as another instance.
	e.imds = startIMDS(t, bakedInstanceID, "nomad-client", []byte(userData("nomad-client")))
	stderr := e.mustRun()
	st := e.state()
	if st.InstanceID != "i-0e2e0000000000b2" {
		t.Errorf("state instance id = %q, want i-0e2e0000000000b2", st.InstanceID)
	}
	if got := results(st)["render"]; got != state.OK {
		t.Errorf("render after baked AMI = %q, want ok", got)
	}
	if !strings.Contains(stderr, "state belongs to another instance") {
		t.Errorf("log does not mention the fresh first boot:\n%s", stderr)
	}
	second := rendered(t, e.node.Root)
	if cmp.Equal(first, second) {
		t.Error("files unchanged although the node name (instance id) changed")
	}
}

// TestKilledDuringRenderReruns kills the agent while its render stage runs
// and checks that the next run renders everything and starts the units. The
// agent reads etc/passwd during render; a FIFO there holds it in the stage
// until the test kills it. A temp file beside a target is what a write cut
// short by the kill leaves behind; the rerun must remove it.
func TestKilledDuringRenderReruns(t *testing.T) {
	e := newEnv(t, "consul-server")
	passwd := filepath.Join(e.node.Root, "etc/passwd")
	content, err := os.ReadFile(passwd)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(passwd)
	if err := syscall.Mkfifo(passwd, 0o644); err != nil {
		t.Fatal(err)
	}
	leftover := filepath.Join(e.node.Root, "etc/consul.d/.consul.hcl1234567")
	if err := os.MkdirAll(filepath.Dir(leftover), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(leftover, []byte("half a conf"), 0o640); err != nil {
		t.Fatal(err)
	}

	// The secrets stage reads etc/passwd before render does: feed it one
	// copy through the FIFO, so only render's read blocks.
	go func() {
		f, err := os.OpenFile(passwd, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		f.Write(content)
		f.Close()
	}()

	cmd := e.command()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitForStage(t, e.node.Root, "render", state.Running)
	cmd.Process.Kill()
	cmd.Wait()

	st := e.state()
	if st.Result != state.Running || st.InputsDigest != "" {
		t.Fatalf("state after kill: result %q digest %q, want running and no digest",
			st.Result, st.InputsDigest)
	}

	os.Remove(passwd)
	if err := os.WriteFile(passwd, content, 0o644); err != nil {
		t.Fatal(err)
	}
	e.mustRun()
	if diff := cmp.Diff(firstBootResults, results(e.state())); diff != "" {
		t.Errorf("stage results of the rerun (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Errorf("leftover temp file still there: %v", err)
	}
	checkGolden(t, "consul-server", rendered(t, e.node.Root))
}

// waitForStage polls the state file until stage has result.
func waitForStage(t *testing.T, root, stage, result string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if f, err := state.Load(root); err == nil && f != nil {
			if s := f.Stage(stage); s != nil && s.Result == result {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("stage %s never reached %s", stage, result)
}

// TestRerunRestoresDeletedConfig deletes a rendered config, which would
// otherwise keep the unit's drop-in assertion failing at every boot.
func TestRerunRestoresDeletedConfig(t *testing.T) {
	e := newEnv(t, "consul-server")
	e.mustRun()
	want := rendered(t, e.node.Root)
	hcl := filepath.Join(e.node.Root, "etc/consul.d/consul.hcl")
	if err := os.Remove(hcl); err != nil {
		t.Fatal(err)
	}
	stderr := e.mustRun()
	render := e.state().Stage("render")
	if render.Result != state.OK || !strings.Contains(render.Detail, "restored /etc/consul.d/consul.hcl") {
		t.Errorf("render = %s %q, want ok and the file restored", render.Result, render.Detail)
	}
	if !strings.Contains(stderr, "rendered files changed since the agent wrote them") {
		t.Errorf("no log line about the restored file:\n%s", stderr)
	}
	if diff := cmp.Diff(want, rendered(t, e.node.Root)); diff != "" {
		t.Errorf("tree after restore (-want +got):\n%s", diff)
	}
}
