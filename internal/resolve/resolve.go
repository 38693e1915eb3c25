// Package resolve is the DNS pre-flight of the units stage: before the stage
// starts any unit, every retry_join name must resolve, so that a missing
// record is reported as itself and not, minutes later, as a join timeout.
//
// [Wait] polls each name concurrently until it has an address or the
// context ends. Its errors say, per name, what the DNS server answered
// (NXDOMAIN, no A or AAAA record, SERVFAIL, REFUSED) or that the server
// could not be reached, with the server's address and the fix.
//
// The package only reads DNS. Tests must query a server of their own on
// loopback through [Server]: [System] sends queries to the resolvers in
// /etc/resolv.conf, which leave the machine.
package resolve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// Resolver looks up the IPv4 and IPv6 addresses of a DNS name. Its errors
// should be [*LookupError] values, so [Wait] can tell the causes apart.
type Resolver interface {
	Lookup(ctx context.Context, name string) ([]netip.Addr, error)
}

// Backoff between lookups of one name. The first retry comes after about
// 25 ms, so a record that appears during boot is seen quickly. The delay
// then doubles up to 2 s, so a long wait costs the DNS server little.
const (
	firstRetry = 25 * time.Millisecond
	maxRetry   = 2 * time.Second
)

// WaitError lists the names that did not resolve before the context ended.
type WaitError struct {
	// Errs contains one error per unresolved name, in the order of the
	// names passed to Wait.
	Errs []error
	// Cause is the reason the wait ended, such as context.DeadlineExceeded.
	Cause error
}

func (e *WaitError) Error() string {
	parts := make([]string, 0, len(e.Errs))
	for _, err := range e.Errs {
		parts = append(parts, err.Error())
	}
	noun := "names"
	if len(e.Errs) == 1 {
		noun = "name"
	}
	return fmt.Sprintf("%d %s did not resolve before the wait ended: %s", len(e.Errs), noun, strings.Join(parts, "; "))
}

// Unwrap returns the error of each name and the cause.
func (e *WaitError) Unwrap() []error {
	return append(slices.Clone(e.Errs), e.Cause)
}

// Wait looks up every name concurrently, retrying each with a capped
// exponential backoff, until each has at least one address or ctx ends.
// An IP address in names is returned as is, without a query. Each retry is
// logged with its cause, once per name and distinct cause. log may be nil.
//
// On success the map holds every name's addresses. When ctx ends first,
// the map holds the names that resolved and the error is a [*WaitError]
// with the last error of each other name.
func Wait(ctx context.Context, r Resolver, names []string, log *slog.Logger) (map[string][]netip.Addr, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	names = uniqueNames(names)
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		resolved = make(map[string][]netip.Addr, len(names))
		failed   = make(map[string]error)
	)
	for _, name := range names {
		wg.Go(func() {
			addrs, err := poll(ctx, r, name, log)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed[name] = err
				return
			}
			resolved[name] = addrs
		})
	}
	wg.Wait()
	if len(failed) == 0 {
		return resolved, nil
	}
	werr := &WaitError{Cause: context.Cause(ctx)}
	for _, name := range names {
		if err, ok := failed[name]; ok {
			werr.Errs = append(werr.Errs, err)
		}
	}
	return resolved, werr
}

func uniqueNames(names []string) []string {
	seen := make(map[string]bool, len(names))
	out := make([]string, 0, len(names))
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// poll looks name up until it has an address or ctx ends, and then returns
// the last answer's error, not the context's, because "does not exist" is
// what the operator needs to read.
func poll(ctx context.Context, r Resolver, name string, log *slog.Logger) ([]netip.Addr, error) {
	if addr, err := netip.ParseAddr(name); err == nil {
		return []netip.Addr{addr}, nil
	}
	var last error
	logged := map[string]bool{}
	delay := firstRetry
	for attempt := 1; ; attempt++ {
		addrs, err := r.Lookup(ctx, name)
		if err == nil && len(addrs) > 0 {
			if attempt > 1 {
				log.Info("dns name resolved", "name", name, "attempts", attempt, "addresses", addrs)
			}
			return addrs, nil
		}
		if ctx.Err() != nil {
			return nil, finalError(ctx, name, last, err)
		}
		if err == nil {
			err = &LookupError{Name: name, Kind: ErrNoAddress}
		}
		last = err
		wait := jitter(delay)
		if cause := causeOf(err); !logged[cause] {
			logged[cause] = true
			log.Warn("dns name not resolved yet, retrying", "name", name, "attempt", attempt,
				"retry_in", wait, "error", err)
		}
		if !sleep(ctx, wait) {
			return nil, finalError(ctx, name, last, nil)
		}
		delay = min(2*delay, maxRetry)
	}
}

// finalError returns the error of a name whose wait ended: the last answer's
// error, or, when no lookup ended before ctx did, an error that names the
// server that current, the lookup cut short, was sent to, and the fix.
func finalError(ctx context.Context, name string, last, current error) error {
	if last != nil {
		return last
	}
	server := "the DNS server"
	if lerr, ok := errors.AsType[*LookupError](current); ok && lerr.Server != "" {
		server = lerr.Server
	}
	fix := "check dns.server, that the server runs, and that security groups and network ACLs allow port 53"
	if server == systemServer {
		fix = "check the nameservers in /etc/resolv.conf, or set dns.server in " +
			"/etc/bootstrap/bootstrap.toml to a DNS server that serves the name"
	}
	return fmt.Errorf("%s: no DNS answer from %s before the wait ended: %s: %w",
		name, server, fix, context.Cause(ctx))
}

// causeOf returns a key that is equal for repeats of the same cause, so a
// name that fails the same way on every poll is logged once.
func causeOf(err error) string {
	var lerr *LookupError
	if errors.As(err, &lerr) && lerr.Kind != nil {
		return lerr.Kind.Error()
	}
	return err.Error()
}

// jitter returns a random duration between d/2 and d, so nodes booting
// together do not poll the DNS server in step.
func jitter(d time.Duration) time.Duration {
	half := d / 2
	return half + rand.N(half+1)
}

// sleep waits for d and reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
