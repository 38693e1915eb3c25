// Package runner owns the first boot: the order of the stages, their
// deadlines, the state file and the log line at each stage's start and
// end. It is the only package that imports every stage. The stage packages
// take plain values and return plain values, and the runner passes them on.
//
// A stage whose work is not built yet is recorded as skipped, never as ok.
// The runner never logs a secret: stage errors come from packages that
// leave secret values out of their messages.
package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hashistack/bootstrap/internal/atomicfile"
	"github.com/hashistack/bootstrap/internal/config"
	"github.com/hashistack/bootstrap/internal/node"
	"github.com/hashistack/bootstrap/internal/resolve"
	"github.com/hashistack/bootstrap/internal/state"
	"github.com/hashistack/bootstrap/internal/units"
)

// Stage names, in the order a run executes them.
const (
	StageMetadata = "metadata"
	StageConfig   = "config"
	StageSecrets  = "secrets"
	StageRender   = "render"
	StageUnits    = "units"
	StageHealth   = "health"
	StageSignal   = "signal"
)

// DefaultConfigFile is the AMI's configuration file, baked per environment.
const DefaultConfigFile = "/etc/bootstrap/bootstrap.toml"

// Metadata fetches the instance's facts; *metadata.Fetcher satisfies it.
type Metadata interface {
	Fetch(ctx context.Context) (node.Instance, error)
}

// Options configures one run. Metadata, Systemd and Resolver are the
// clients of the outside world; tests point them at stand-ins.
type Options struct {
	// Root prefixes every path the run reads or writes; "" is "/".
	Root string
	// ConfigFile is the path on the node of the AMI's bootstrap.toml.
	ConfigFile string
	// ConfigRequired makes a missing ConfigFile an error; without it, a
	// missing file means built-in defaults.
	ConfigRequired bool
	// Flags are the command-line settings, the last and strongest source.
	Flags  []config.Flag
	Logger *slog.Logger

	Metadata Metadata
	// Systemd connects to the systemd manager that runs the role's units.
	Systemd func(ctx context.Context) (units.Conn, error)
	// Resolver returns the resolver for the DNS pre-flight: server is
	// dns.server from the config, "" for the system resolver.
	Resolver func(server string) resolve.Resolver
	// Secrets configures the secrets stage.
	Secrets SecretsOptions
	// Lifecycle configures the health and signal stages.
	Lifecycle LifecycleOptions

	// Timeout bounds the whole run.
	Timeout time.Duration
	// BootID identifies the current boot; empty reads it from the kernel.
	BootID string
	// Now returns the current time; nil is time.Now.
	Now func() time.Time
}

// ErrState marks a failure to read or write the agent's own state.
var ErrState = errors.New("agent state")

// StageError is the error of a failed stage.
type StageError struct {
	Stage string
	Err   error
}

func (e *StageError) Error() string { return e.Stage + " stage failed: " + e.Err.Error() }
func (e *StageError) Unwrap() error { return e.Err }

// Run executes a first boot, or the per-boot part of a later one, and
// returns the state it recorded. A failed stage stops the run and is
// returned as a *StageError.
func Run(ctx context.Context, o Options) (*state.File, error) {
	o = withDefaults(o)
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	unlock, err := lock(o.Root)
	if err != nil {
		return nil, err
	}
	defer unlock()

	prev, err := loadState(o)
	if err != nil {
		return nil, err
	}
	r := newRun(o, prev)
	err = r.execute(ctx)
	return r.st, err
}

func withDefaults(o Options) Options {
	if o.ConfigFile == "" {
		o.ConfigFile = DefaultConfigFile
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.BootID == "" {
		o.BootID = readBootID()
	}
	if o.Resolver == nil {
		o.Resolver = defaultResolver
	}
	return o
}

func defaultResolver(server string) resolve.Resolver {
	if server == "" {
		return resolve.System()
	}
	return resolve.Server(server)
}

func readBootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// loadState reads the previous run's state. A corrupt file is moved aside
// and the run starts as a first boot, because an unattended node must not
// stay down over a file an SRE can inspect later.
func loadState(o Options) (*state.File, error) {
	prev, err := state.Load(o.Root)
	if errors.Is(err, state.ErrCorrupt) {
		aside, qerr := state.Quarantine(o.Root, o.Now())
		if qerr != nil {
			return nil, fmt.Errorf("%w: %w; and %w", ErrState, err, qerr)
		}
		o.Logger.Warn("state file is corrupt, moved it aside and starting a fresh first boot",
			"error", err, "path", aside)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrState, err)
	}
	return prev, nil
}

// lock takes an exclusive lock beside the state file, so two runs on one
// node never interleave. The lock is released when the process exits.
func lock(root string) (func(), error) {
	if root == "" {
		root = "/"
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("%w: create root %s: %w", ErrState, root, err)
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrState, err)
	}
	defer func() { _ = r.Close() }()
	dir := strings.TrimPrefix(filepath.Dir(state.Path), "/")
	if err := atomicfile.MkdirAllIn(r, dir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: create %s: %w", ErrState, filepath.Dir(state.Path), err)
	}
	p := filepath.Join(filepath.Dir(state.Path), "lock")
	// Opened through the root, so a symlink planted at the lock path
	// cannot make the agent create a file elsewhere.
	f, err := r.OpenFile(strings.TrimPrefix(p, "/"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%w: open lock: %w", ErrState, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("%w: %s is held by another bootstrap run; wait for it "+
			"or check `systemctl status bootstrap.service`", ErrState, p)
	}
	return func() { _ = f.Close() }, nil
}
