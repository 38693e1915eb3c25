package e2e

import (
	"bytes"
	"strings"
	"syscall"
	"testing"

	"github.com/hashistack/bootstrap/internal/state"
)

// TestSIGTERMIsReportedAsInterrupt stops the agent while it waits for a
// retry_join name that never resolves, and checks that the run reports the
// stop, not the DNS failure it caused.
func TestSIGTERMIsReportedAsInterrupt(t *testing.T) {
	e := newEnv(t, "consul-server")
	cmd := e.command("--set", "join.consul=never.e2e.internal")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitForStage(t, e.node.Root, "units", state.Running)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("run succeeded after SIGTERM")
	}
	last := lastLine(stderr.String())
	if !strings.Contains(last, "units stage failed: interrupted: the agent was stopped") {
		t.Errorf("last stderr line = %q, want the units stage interrupted", last)
	}
	units := e.state().Stage("units")
	if units == nil || !strings.HasPrefix(units.Error, "interrupted:") {
		t.Errorf("units stage record = %+v, want an interrupted error", units)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
