package diagnose

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hashistack/bootstrap/internal/diagnose/diagtest"
)

func TestRunHealthy(t *testing.T) {
	f := healthy(t)
	rep := Run(t.Context(), f.write(t))
	want := map[string]Status{
		"role": OK, "last-run": OK, "drift": OK, "units": OK, "health": OK,
		"vault-token": Skip, "retry-join": OK, "imds": OK, "clock": OK, "lifecycle": OK,
	}
	if diff := cmp.Diff(want, statuses(rep)); diff != "" {
		t.Errorf("statuses (-want +got):\n%s\n%s", diff, text(t, rep))
	}
	if rep.ExitCode != ExitHealthy || rep.Status != Healthy {
		t.Errorf("verdict = %s, exit %d; want healthy, exit 0", rep.Status, rep.ExitCode)
	}
}

func TestRunNeverRan(t *testing.T) {
	f := healthy(t)
	rep := Run(t.Context(), f.opts)
	last := find(t, rep, "last-run")
	if last.Status != Fail || !strings.Contains(last.Summary, "never run") {
		t.Errorf("last-run = %s %q; want fail, never run", last.Status, last.Summary)
	}
	for _, name := range []string{"role", "drift", "units", "health", "retry-join"} {
		if got := find(t, rep, name).Status; got != Skip {
			t.Errorf("%s = %s; want skip without a state file", name, got)
		}
	}
	if rep.ExitCode != ExitFailed {
		t.Errorf("exit = %d; want %d", rep.ExitCode, ExitFailed)
	}
}

func TestLastRunFailedStage(t *testing.T) {
	for _, stage := range diagtest.Stages {
		t.Run(stage, func(t *testing.T) {
			f := healthy(t)
			f.node.FailStage, f.node.FailError = stage, stage+" broke on value x"
			rep := Run(t.Context(), f.write(t))
			last := find(t, rep, "last-run")
			if last.Status != Fail || last.Summary != "failed at stage "+stage+": started 2026-12-04T09:00:00Z" {
				t.Errorf("last-run = %s %q", last.Status, last.Summary)
			}
			failed := last.Lines[len(last.Lines)-1]
			if failed.Name != stage || failed.Status != Fail || failed.Fix != stageFixes[stage] ||
				!strings.HasSuffix(failed.Value, stage+" broke on value x") {
				t.Errorf("last stage line = %+v", failed)
			}
			if rep.ExitCode != ExitFailed {
				t.Errorf("exit = %d; want %d", rep.ExitCode, ExitFailed)
			}
		})
	}
}

func TestLastRunKilled(t *testing.T) {
	f := healthy(t)
	f.node.FailStage, f.node.Running = "units", true
	rep := Run(t.Context(), f.write(t))
	last := find(t, rep, "last-run")
	if last.Status != Fail || !strings.Contains(last.Summary, "stopped without finishing") {
		t.Errorf("last-run = %s %q; want fail, stopped without finishing", last.Status, last.Summary)
	}
}

func TestLastRunCorrupt(t *testing.T) {
	f := healthy(t)
	opts := f.write(t)
	writeFile(t, f.root, "/var/lib/bootstrap/state.json", "{not json")
	last := find(t, Run(t.Context(), opts), "last-run")
	if last.Status != Fail || !strings.Contains(last.Summary, "state file is corrupt") {
		t.Errorf("last-run = %s %q; want fail, corrupt", last.Status, last.Summary)
	}
}

func TestDrift(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, root string)
		status Status
		value  string
	}{
		{"content", func(t *testing.T, root string) {
			writeFile(t, root, "/etc/consul.d/consul.hcl", "server = false\n")
		}, Warn, "content changed"},
		{"missing", func(t *testing.T, root string) {
			removeFile(t, root, "/etc/consul.d/consul.hcl")
		}, Fail, "missing"},
		{"mode", func(t *testing.T, root string) {
			chmod(t, root, "/etc/consul.d/consul.hcl", 0o644)
		}, Warn, "mode 0644, rendered 0640"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := healthy(t)
			opts := f.write(t)
			tc.change(t, f.root)
			drift := find(t, Run(t.Context(), opts), "drift")
			if drift.Status != tc.status {
				t.Errorf("drift = %s; want %s", drift.Status, tc.status)
			}
			l := drift.Lines[0]
			if l.Name != "/etc/consul.d/consul.hcl" || !strings.Contains(l.Value, tc.value) || l.Fix == "" {
				t.Errorf("line = %+v; want %q with a fix", l, tc.value)
			}
		})
	}
}

func TestRetryJoinNotResolving(t *testing.T) {
	f := healthy(t)
	f.node.Join = []string{"consul.payments.internal", "missing.payments.internal"}
	rep := Run(t.Context(), f.write(t))
	join := find(t, rep, "retry-join")
	want := []Line{
		{Status: OK, Name: "consul.payments.internal", Value: "10.1.0.5 10.1.0.6"},
		{Status: Fail, Name: "missing.payments.internal",
			Value: "missing.payments.internal does not exist (NXDOMAIN from " + f.dns.Addr +
				"): create the DNS record or correct the name in the join list"},
	}
	got := make([]Line, len(join.Lines))
	for i, l := range join.Lines {
		got[i] = Line{Status: l.Status, Name: l.Name, Value: l.Value}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
	if join.Status != Fail || join.Lines[1].Fix == "" {
		t.Errorf("retry-join = %s, fix %q; want fail with a fix", join.Status, join.Lines[1].Fix)
	}
}

func TestClockSkew(t *testing.T) {
	tests := []struct {
		name   string
		skew   time.Duration
		status Status
		text   string
	}{
		{"in_sync", 0, OK, "in sync"},
		{"minutes_behind", 5 * time.Minute, Warn, "5m0s behind"},
		{"hour_ahead", -time.Hour, Fail, "1h0m0s ahead"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock, err := diagtest.Clock(tc.skew)
			check(t, err)
			t.Cleanup(clock.Close)
			f := healthy(t)
			opts := f.write(t)
			opts.ClockURL = clock.URL
			c := find(t, Run(t.Context(), opts), "clock")
			if c.Status != tc.status || !strings.HasPrefix(c.Summary, tc.text) {
				t.Errorf("clock = %s %q; want %s %q", c.Status, c.Summary, tc.status, tc.text)
			}
		})
	}
}

func TestSkewEstimate(t *testing.T) {
	sent := time.Date(2026, 1, 1, 12, 0, 0, 200_000_000, time.UTC)
	received := sent.Add(600 * time.Millisecond)
	date := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	// Midpoint 12:00:00.5, server time taken as 12:00:00.5.
	if got := skew(sent, received, date); got != 0 {
		t.Errorf("skew = %s; want 0s", got)
	}
}

func TestIMDS(t *testing.T) {
	t.Run("down", func(t *testing.T) {
		f := healthy(t)
		opts := f.write(t)
		opts.IMDS = newIMDS("http://127.0.0.1:9")
		rep := Run(t.Context(), opts)
		c := find(t, rep, "imds")
		if c.Status != Fail || !strings.Contains(c.Summary, "no IMDSv2 token") || c.Fix != imdsFix {
			t.Errorf("imds = %s %q fix %q", c.Status, c.Summary, c.Fix)
		}
		if got := find(t, rep, "lifecycle").Lines[0].Status; got != Fail {
			t.Errorf("lifecycle target-state = %s; want fail", got)
		}
	})
	t.Run("tags_disabled", func(t *testing.T) {
		f := healthy(t)
		opts := f.write(t)
		opts.IMDS = newIMDS(imdsServer(t, true).URL)
		c := find(t, Run(t.Context(), opts), "imds")
		tags := c.Lines[1]
		if c.Status != OK || tags.Name != "instance-tags" || !strings.HasPrefix(tags.Value, "disabled") {
			t.Errorf("imds = %s, tags line %+v; want ok, disabled", c.Status, tags)
		}
	})
}
