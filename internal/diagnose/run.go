package diagnose

import (
	"context"
	"fmt"
	"time"
)

// Run loads the state below o.Root, runs every check concurrently and
// returns the report. It returns once every check has returned or timed
// out, so a client that ignores its context cannot hold it up: a check
// still running at its timeout is reported as failed and left behind.
func Run(ctx context.Context, o Options) Report {
	o = o.withDefaults()
	env := newEnv(o)
	list := checks(env)
	results := make([]Result, len(list))
	done := make(chan struct{})
	for i, c := range list {
		go func() {
			results[i] = runCheck(ctx, o, c)
			done <- struct{}{}
		}()
	}
	for range list {
		<-done
	}
	return newReport(o.Root, results)
}

// runCheck runs one check under its own timeout and records its duration.
func runCheck(ctx context.Context, o Options, c Check) Result {
	log := o.Logger.With("check", c.Name)
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	start := time.Now()
	ch := make(chan Result, 1)
	go func() { ch <- c.Run(ctx) }()
	var r Result
	select {
	case r = <-ch:
	case <-ctx.Done():
		// Give a check that honours ctx a moment to return its own
		// words, which name what it was waiting for.
		select {
		case r = <-ch:
		case <-time.After(100 * time.Millisecond):
			r = result(c.Name, Fail, "did not finish within %s: %v", o.Timeout, context.Cause(ctx))
			r.Fix = "the component this check asks does not answer; see the other checks"
		}
	}
	r.Name = c.Name
	r.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	if r.Lines == nil {
		r.Lines = []Line{}
	}
	log.Debug("check finished", "status", r.Status, "duration", time.Since(start))
	return r
}

func newReport(root string, results []Result) Report {
	worst := OK
	for _, r := range results {
		worst = worse(worst, r.Status)
	}
	rep := Report{SchemaVersion: SchemaVersion, Root: root, Checks: results}
	switch worst {
	case Fail:
		rep.Status, rep.ExitCode = Failed, ExitFailed
	case Warn:
		rep.Status, rep.ExitCode = Degraded, ExitDegraded
	default:
		rep.Status, rep.ExitCode = Healthy, ExitHealthy
	}
	return rep
}

// CheckNames returns the name of every check, in the order of the output.
func CheckNames() []string {
	var names []string
	for _, c := range checks(&env{}) {
		names = append(names, c.Name)
	}
	return names
}

// checks lists every check in the order the output shows them.
func checks(e *env) []Check {
	return []Check{
		{"role", e.checkRole},
		{"last-run", e.checkLastRun},
		{"drift", e.checkDrift},
		{"units", e.checkUnits},
		{"health", e.checkHealth},
		{"vault-token", e.checkVaultToken},
		{"retry-join", e.checkRetryJoin},
		{"imds", e.checkIMDS},
		{"clock", e.checkClock},
		{"lifecycle", e.checkLifecycle},
	}
}

// counts describes the results as "2 failed, 1 degraded, 6 ok, 1 skipped".
func counts(results []Result) string {
	n := map[Status]int{}
	for _, r := range results {
		n[r.Status]++
	}
	return fmt.Sprintf("%d failed, %d degraded, %d ok, %d skipped", n[Fail], n[Warn], n[OK], n[Skip])
}
