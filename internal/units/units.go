// Package units starts a role's systemd units, in order, over D-Bus, and
// explains a unit that did not start with the unit's own status: its state,
// the service result, how the main process ended and the status text it
// reported.
//
// It owns the D-Bus conversation with the systemd manager and nothing else:
// it writes no unit files and judges no health beyond "the unit is active".
// It never logs or returns a unit's environment, command line or other
// properties beyond the state fields named in [UnitState] and the path of
// the unit file, because those may name secret files.
package units

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
)

// Conn is the part of go-systemd's [github.com/coreos/go-systemd/v22/dbus.Conn]
// that Start uses.
type Conn interface {
	ReloadContext(ctx context.Context) error
	StartUnitContext(ctx context.Context, name, mode string, ch chan<- string) (int, error)
	RestartUnitContext(ctx context.Context, name, mode string, ch chan<- string) (int, error)
	GetUnitPropertiesContext(ctx context.Context, unit string) (map[string]any, error)
	GetUnitTypePropertiesContext(ctx context.Context, unit, unitType string) (map[string]any, error)
	Close()
}

var (
	// ErrUnitFailed marks a unit whose start job did not succeed or which
	// was not running once its job was done. The error is a [*UnitError].
	ErrUnitFailed = errors.New("unit failed")

	// ErrUnitNotFound marks a unit that the manager has no unit file for.
	ErrUnitNotFound = errors.New("unit not found")

	// ErrInvalidUnitName marks a unit name systemd would not accept.
	ErrInvalidUnitName = errors.New("invalid unit name")

	// ErrBadUnitSetting marks a unit whose unit file systemd loaded with an
	// invalid setting (load state "bad-setting").
	ErrBadUnitSetting = errors.New("bad unit file setting")
)

// unitName matches the names systemd accepts (ASCII letters, digits, ":",
// "-", "_", ".", "\" and one "@" for templates, at most 255 bytes) with the
// suffix of a unit type this stage may start. It is stricter than systemd
// in one way: the first character must be a letter or digit.
var unitName = regexp.MustCompile(
	`^[A-Za-z0-9][A-Za-z0-9:_.\\-]*(@[A-Za-z0-9:_.\\-]*)?\.(service|socket|target|timer|path|mount)$`)

// D-Bus error names systemd returns for a unit it cannot start: an unknown
// unit, and a unit file with an invalid setting.
const (
	noSuchUnit     = "org.freedesktop.systemd1.NoSuchUnit"
	badUnitSetting = "org.freedesktop.systemd1.BadUnitSetting"
)

// stateReadTimeout bounds the read of a unit's state after the caller's
// context ended, so that the error can still explain the unit.
const stateReadTimeout = 5 * time.Second

// Start reloads the manager's unit files, then starts each unit in order
// (job mode "replace") and waits for its job to finish before starting the
// next. A unit fails the stage when its job does not end "done", or when it
// is not active (or still activating) once its job is done.
//
// Cancelling ctx stops the wait but not the systemd job, which runs on.
func Start(ctx context.Context, c Conn, units []string, log *slog.Logger) error {
	return run(ctx, c, units, false, log)
}

// Restart is [Start] with restart jobs: a running unit stops and starts
// again, so it reads configs that changed since it started. A unit that is
// not running just starts.
func Restart(ctx context.Context, c Conn, units []string, log *slog.Logger) error {
	return run(ctx, c, units, true, log)
}

func run(ctx context.Context, c Conn, units []string, restart bool, log *slog.Logger) error {
	for _, unit := range units {
		if len(unit) > 255 || !unitName.MatchString(unit) {
			return fmt.Errorf("start %q: %w", unit, ErrInvalidUnitName)
		}
	}
	if err := c.ReloadContext(ctx); err != nil {
		return fmt.Errorf("reload systemd units: %w", err)
	}
	for _, unit := range units {
		began := time.Now()
		if err := startUnit(ctx, c, unit, restart); err != nil {
			return err
		}
		log.Info("unit started", "unit", unit, "restart", restart, "duration", time.Since(began))
	}
	return nil
}

func startUnit(ctx context.Context, c Conn, unit string, restart bool) error {
	// One slot, so go-systemd's signal dispatcher can deliver the result
	// without blocking even after a cancelled ctx stopped the read below.
	done := make(chan string, 1)
	enqueue := c.StartUnitContext
	if restart {
		enqueue = c.RestartUnitContext
	}
	if _, err := enqueue(ctx, unit, "replace", done); err != nil {
		return startError(ctx, c, unit, err)
	}
	var result string
	select {
	case result = <-done:
	case <-ctx.Done():
		return waitEnded(ctx, c, unit)
	}

	state, err := readState(ctx, c, unit)
	if err != nil {
		return fmt.Errorf("start %s: job %s: %w", unit, result, err)
	}
	if result == "done" && state.running() {
		return nil
	}
	return &UnitError{Unit: unit, JobResult: result, State: state}
}

// startError explains a start request that systemd rejected.
func startError(ctx context.Context, c Conn, unit string, err error) error {
	dbusErr, ok := errors.AsType[dbus.Error](err)
	switch {
	case ok && dbusErr.Name == noSuchUnit:
		return fmt.Errorf("start %s: %w (install its unit file, then check with systemctl cat %s): %w",
			unit, ErrUnitNotFound, unit, err)
	case ok && dbusErr.Name == badUnitSetting:
		file := unitFile(ctx, c, unit)
		return fmt.Errorf("start %s: %w in %s (run systemd-analyze verify %s for the line "+
			"and the reason): %w", unit, ErrBadUnitSetting, file, file, err)
	}
	return fmt.Errorf("start %s: %w", unit, err)
}

// unitFile returns the path of the unit's file (its FragmentPath), or the
// unit name when systemd does not report one.
func unitFile(ctx context.Context, c Conn, unit string) string {
	props, err := c.GetUnitPropertiesContext(ctx, unit)
	if path := stringProp(props, "FragmentPath"); err == nil && path != "" {
		return path
	}
	return unit
}

// waitEnded explains a unit whose start job was still running when ctx
// ended, with the unit's state read under a context of its own.
func waitEnded(ctx context.Context, c Conn, unit string) error {
	readCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stateReadTimeout)
	defer cancel()
	state, err := readState(readCtx, c, unit)
	if err != nil {
		return fmt.Errorf("start %s: wait for job: %w (the unit's state is unknown: %v); "+
			"see journalctl -u %s", unit, ctx.Err(), err, unit)
	}
	return &UnitError{Unit: unit, JobResult: "still running", State: state, WaitErr: ctx.Err()}
}

// readState reads the unit's state and, for a service, how it ended. The
// property maps also hold the unit's command line and environment: only
// the fields of UnitState are taken from them.
func readState(ctx context.Context, c Conn, unit string) (UnitState, error) {
	props, err := c.GetUnitPropertiesContext(ctx, unit)
	if err != nil {
		return UnitState{}, fmt.Errorf("read unit state: %w", err)
	}
	state := UnitState{
		ActiveState: stringProp(props, "ActiveState"),
		SubState:    stringProp(props, "SubState"),
	}
	if !isService(unit) {
		return state, nil
	}
	props, err = c.GetUnitTypePropertiesContext(ctx, unit, "Service")
	if err != nil {
		return state, fmt.Errorf("read service state: %w", err)
	}
	state.Result = stringProp(props, "Result")
	state.StatusText = stringProp(props, "StatusText")
	state.ExecMainCode, _ = props["ExecMainCode"].(int32)
	state.ExecMainStatus, _ = props["ExecMainStatus"].(int32)
	return state, nil
}

func stringProp(props map[string]any, name string) string {
	s, _ := props[name].(string)
	return s
}

func isService(unit string) bool {
	return strings.HasSuffix(unit, ".service")
}
