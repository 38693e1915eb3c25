package health

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashistack/bootstrap/internal/backoff"
)

// Backoff between rounds of probes. Round n waits a delay drawn uniformly
// from (0, min(baseDelay·2^(n-1), maxDelay)] ("full jitter"): up to 10 ms
// after the first round, the bound doubling to the 400 ms cap from round 7,
// about 0.3 s into the wait.
//
// The cap sets how late a change is seen. Once the delays are capped, a
// service that turns healthy at a random instant is seen on average after
// E[d²]/(2·E[d]) = maxDelay/3, about 133 ms, plus one probe, because a
// longer gap is more likely to hold that instant; the goal is 250 ms to
// CONTINUE, Auto Scaling call included, and a 600 ms cap measured a mean
// of 150 to 250 ms. The cost is about five requests a second per check to
// an agent on the node itself. BenchmarkTurnHealthy measures the figure.
const (
	baseDelay = 10 * time.Millisecond
	maxDelay  = 400 * time.Millisecond
)

// Errors that classify the end of [Wait]; test them with errors.Is.
var (
	// ErrUnhealthy means ctx ended while some checks were still unhealthy.
	// The caller abandons the instance, or holds it for an SRE.
	ErrUnhealthy = errors.New("health checks still unhealthy when the wait ended")
	// ErrFatal means a check received a response that waiting will not heal,
	// such as a Nomad node class that differs from the namespace.
	ErrFatal = errors.New("health check failed with a response that waiting will not heal")
)

// WaitError is the error [Wait] returns when it ends before every check is
// healthy. It matches [ErrUnhealthy] or [ErrFatal], and the context's error
// when ctx ended.
type WaitError struct {
	// Failed lists the unhealthy checks (for ErrFatal, the fatal ones) with
	// their last reasons.
	Failed []Status
	// Kind is ErrUnhealthy or ErrFatal.
	Kind error
	// Cause is the context's cause when ctx ended, else nil.
	Cause error
}

// Error lists each failed check with its last reason, as in
// "vault-health: sealed (503 from http://127.0.0.14:8200/v1/sys/health)".
func (e *WaitError) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.Error())
	for i, s := range e.Failed {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(s.Name + ": " + s.Reason)
	}
	if e.Cause != nil {
		b.WriteString(": " + e.Cause.Error())
	}
	return b.String()
}

// Unwrap returns the kind and the context's cause.
func (e *WaitError) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Cause}
}

// Wait probes every target, all at once in rounds, until all are healthy in
// the same round, a check is fatal, or ctx ends. Rounds are spaced by capped
// exponential backoff with jitter. After each round that is not all healthy
// it calls pending, if set, with that round's statuses. Pending runs in
// Wait's goroutine, so it should return quickly. Wait logs a line whenever
// a check's health or reason changes.
//
// It returns the last statuses of a round that completed, and a *[WaitError]
// unless all were healthy. A nil client means [http.DefaultClient]; a nil
// log discards.
func Wait(ctx context.Context, c *http.Client, targets []Target, log *slog.Logger,
	pending func(ctx context.Context, s []Status)) ([]Status, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if len(targets) == 0 {
		return nil, nil
	}
	var last []Status
	for round := 1; ; round++ {
		statuses := probeAll(ctx, c, targets)
		if ctx.Err() != nil {
			// A round cut short reports the cancel, not the agents: keep the
			// round before it.
			return ended(ctx, log, coalesce(last, statuses))
		}
		logChanges(log, last, statuses)
		last = statuses
		if failed := filter(statuses, func(s Status) bool { return s.Fatal }); len(failed) > 0 {
			log.Error("health check failed for good", "checks", names(failed), "rounds", round)
			return statuses, &WaitError{Failed: failed, Kind: ErrFatal}
		}
		if !slices.ContainsFunc(statuses, func(s Status) bool { return !s.Healthy }) {
			log.Info("health checks healthy", "checks", names(statuses), "rounds", round)
			return statuses, nil
		}
		if pending != nil {
			pending(ctx, slices.Clone(statuses))
		}
		if err := backoff.Sleep(ctx, backoff.Full(round, baseDelay, maxDelay)); err != nil {
			return ended(ctx, log, last)
		}
	}
}

// ended builds the error for a wait that ctx ended.
func ended(ctx context.Context, log *slog.Logger, last []Status) ([]Status, error) {
	failed := filter(last, func(s Status) bool { return !s.Healthy })
	err := &WaitError{Failed: failed, Kind: ErrUnhealthy, Cause: context.Cause(ctx)}
	log.Warn("health wait ended", "unhealthy", names(failed), "error", err)
	return last, err
}

// probeAll probes every target concurrently and returns the statuses in
// target order.
func probeAll(ctx context.Context, c *http.Client, targets []Target) []Status {
	statuses := make([]Status, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() { statuses[i] = Probe(ctx, c, t) })
	}
	wg.Wait()
	return statuses
}

// logChanges logs each status whose health or reason differs from the
// previous round, and every status in the first round.
func logChanges(log *slog.Logger, previous, current []Status) {
	for i, s := range current {
		if previous != nil && previous[i] == s {
			continue
		}
		attrs := []any{"check", s.Name, "kind", s.Kind, "healthy", s.Healthy, "reason", s.Reason}
		if s.Fatal {
			attrs = append(attrs, "fatal", true)
		}
		log.Info("health check changed", attrs...)
	}
}

func filter(statuses []Status, keep func(Status) bool) []Status {
	var out []Status
	for _, s := range statuses {
		if keep(s) {
			out = append(out, s)
		}
	}
	return out
}

func names(statuses []Status) []string {
	out := make([]string, len(statuses))
	for i, s := range statuses {
		out[i] = s.Name
	}
	return out
}

func coalesce(statuses ...[]Status) []Status {
	for _, s := range statuses {
		if s != nil {
			return s
		}
	}
	return nil
}
