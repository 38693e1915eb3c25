// Package diagnose owns `bootstrap diagnose`: a list of named checks that
// explain, on one screen or in one JSON document, what the last run did and
// what is wrong with the node now. Each check reads the state file or asks
// one outside component (systemd, the agents' HTTP APIs, DNS, IMDS, Vault,
// an AWS endpoint) and returns a [Result]. [Run] executes the checks
// concurrently, each under its own timeout, and derives the exit status
// from the worst result.
//
// The package is read-only. It never writes, creates or removes a file
// (the state file's lock is opened read-only and only tested), never
// starts or stops a unit, never completes a lifecycle action, and never
// puts a secret in a result, a log line or an error: the Vault token is
// read from tmpfs, sent only in Vault's token header, and described by its
// time to live alone. It does not import the runner.
package diagnose

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/hashistack/bootstrap/internal/resolve"
)

// SchemaVersion is the version of the JSON document [Report] encodes to.
// It changes only when a field is removed or changes meaning.
const SchemaVersion = 1

// Status is the verdict of one check or one line of a check.
type Status string

// Statuses, from best to worst. Skip means the check could not apply, for
// example the units of a node that never ran; it does not change the exit
// status.
const (
	OK   Status = "ok"
	Skip Status = "skip"
	Warn Status = "warn"
	Fail Status = "fail"
)

func (s Status) rank() int {
	switch s {
	case Warn:
		return 2
	case Fail:
		return 3
	case Skip:
		return 1
	}
	return 0
}

// worse returns the worse of a and b.
func worse(a, b Status) Status {
	if b.rank() > a.rank() {
		return b
	}
	return a
}

// Overall verdicts and the exit codes they map to.
const (
	Healthy  = "healthy"
	Degraded = "degraded"
	Failed   = "failed"

	ExitHealthy  = 0
	ExitFailed   = 1
	ExitDegraded = 2
)

// Line is one fact of a check: a stage, a file, a unit, a DNS name.
type Line struct {
	Status Status `json:"status"`
	// Name is what the line is about, such as "units" or "/etc/consul.d/consul.hcl".
	Name string `json:"name"`
	// Value is the fact in words, as the text output shows it.
	Value string `json:"value"`
	// Fix is the next step to take. It is set on lines that warn or fail.
	Fix string `json:"fix,omitempty"`
	// Attrs holds the same fact as typed values for machines. The keys of
	// each check are listed in docs/diagnose.md.
	Attrs map[string]any `json:"attrs,omitempty"`
}

// Result is the outcome of one check.
type Result struct {
	// Name is the check's stable kebab-case name.
	Name   string `json:"name"`
	Status Status `json:"status"`
	// Summary is the check's verdict in one line.
	Summary string `json:"summary"`
	// Fix is the next step when the check itself warns or fails without a
	// line to attach the fix to.
	Fix        string  `json:"fix,omitempty"`
	DurationMS float64 `json:"duration_ms"`
	Lines      []Line  `json:"lines"`
}

// Report is the outcome of every check, in the order [Checks] lists them.
type Report struct {
	SchemaVersion int    `json:"schema_version"`
	Status        string `json:"status"`
	ExitCode      int    `json:"exit_code"`
	// Root is the --root prefix the state was read below; "" is "/".
	Root   string   `json:"root"`
	Checks []Result `json:"checks"`
}

// Options configures one diagnosis. Nil clients select the real ones
// where a real one needs no configuration; tests point every client at a
// stand-in on loopback.
type Options struct {
	// Root prefixes every path read; "" is "/".
	Root string
	// Explain adds every effective configuration value and its source to
	// the role check.
	Explain bool
	Logger  *slog.Logger

	// IMDS reads instance metadata; use metadata.NewIMDSClient. Nil skips
	// the imds check and the lifecycle check's target state.
	IMDS IMDSAPI
	// Systemd connects to the manager that runs the role's units.
	Systemd func(ctx context.Context) (UnitConn, error)
	// Resolver returns the resolver for server (dns.server of the
	// configuration, "" for the system resolver). Nil uses
	// [resolve.Server] and [resolve.System].
	Resolver func(server string) resolve.Resolver
	// HTTP is the client for the agents' health APIs, Vault and the clock
	// endpoint. Nil is a client without a proxy: every request goes
	// directly to the address named.
	HTTP *http.Client

	// ClockURL is the AWS endpoint whose Date header the clock check
	// reads. Empty selects [STSEndpoint] for the node's region.
	ClockURL string
	// VaultAddress is VAULT_ADDR from the environment. It is used only
	// when the state file records no vault.address, and named when the
	// two differ.
	VaultAddress string

	// Timeout bounds each check; zero is [DefaultTimeout].
	Timeout time.Duration
	// Now returns the current time; nil is time.Now.
	Now func() time.Time
}

// DefaultTimeout bounds each check. The checks run concurrently, so the
// whole command takes about this long when every dependency hangs.
const DefaultTimeout = 3 * time.Second

// Check is one named check.
type Check struct {
	// Name is stable and kebab-case; it appears in the JSON output.
	Name string
	Run  func(ctx context.Context) Result
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{Transport: &http.Transport{Proxy: nil}}
	}
	if o.Resolver == nil {
		o.Resolver = func(server string) resolve.Resolver {
			if server == "" {
				return resolve.System()
			}
			return resolve.Server(server)
		}
	}
	return o
}

// result starts a Result of the named check.
func result(name string, status Status, format string, args ...any) Result {
	return Result{Name: name, Status: status, Summary: fmt.Sprintf(format, args...)}
}

// add appends a line and lets it worsen the check's status.
func (r *Result) add(l Line) {
	r.Lines = append(r.Lines, l)
	if l.Status != Skip {
		r.Status = worse(r.Status, l.Status)
	}
}

// plural returns "1 file" or "2 files".
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
