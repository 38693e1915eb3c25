package e2e

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashistack/bootstrap/internal/state"
	"github.com/hashistack/bootstrap/internal/units"
	shipped "github.com/hashistack/bootstrap/systemd"
)

// TestBootThroughShippedUnit starts the shipped bootstrap.service, with
// its ExecStart pointed at the scratch node, and waits for its job, as
// systemd does at boot. The agent starts consul.service from inside that
// job, so an ordering between the two units would hang here.
func TestBootThroughShippedUnit(t *testing.T) {
	e := newEnv(t, "consul-server")
	unit := bootstrapUnit(t, e)
	p := filepath.Join(e.node.Root, "etc/systemd/user/bootstrap.service")
	if err := os.WriteFile(p, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	conn, err := units.Dial(ctx, e.mgr.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := units.Start(ctx, conn, []string{"bootstrap.service"}, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("start bootstrap.service: %v", err)
	}
	st := e.state()
	if st.Result != state.OK {
		t.Errorf("run result = %q, want ok; stages %+v", st.Result, st.Stages)
	}
}

// bootstrapUnit returns the shipped unit with the settings a contained user
// manager can apply: its [Unit] section and its start semantics, with the
// command and environment of this test's node.
func bootstrapUnit(t *testing.T, e *env) string {
	t.Helper()
	data, err := shipped.Files.ReadFile("bootstrap.service")
	if err != nil {
		t.Fatal(err)
	}
	keep := map[string]bool{"Type": true, "RemainAfterExit": true, "TimeoutStartSec": true}
	var b strings.Builder
	section := ""
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			section = line
			if section != "[Install]" {
				fmt.Fprintln(&b, line)
			}
			continue
		}
		key, _, _ := strings.Cut(line, "=")
		if section == "[Unit]" || section == "[Service]" && keep[key] {
			fmt.Fprintln(&b, line)
		}
	}
	cmd := e.command()
	fmt.Fprintf(&b, "ExecStart=%s\n", strings.Join(cmd.Args, " "))
	for _, kv := range cmd.Env {
		fmt.Fprintf(&b, "Environment=%q\n", kv)
	}
	return b.String()
}
