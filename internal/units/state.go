package units

import (
	"fmt"
	"strings"
	"syscall"
)

// How the main process of a service ended, as systemd reports it in
// ExecMainCode (the si_code values of waitid(2)).
const (
	cldExited = 1
	cldKilled = 2
	cldDumped = 3
)

// systemdExitCodes names the exit statuses systemd itself uses when it could
// not set up or run the main process (the EXIT_* codes of systemd 252,
// listed in man systemd.exec). Only the ones a misbuilt image or unit file
// causes are listed.
var systemdExitCodes = map[int32]string{
	200: "CHDIR: the working directory could not be entered",
	203: "EXEC: the program could not be executed",
	209: "STDOUT: standard output could not be set up",
	214: "SETSCHEDULER: the scheduling parameters could not be set",
	217: "USER: the user or group could not be looked up",
	218: "CAPABILITIES: the capabilities could not be set",
	226: "NAMESPACE: the file system namespace could not be set up",
	233: "RUNTIME_DIRECTORY: the runtime directory could not be created",
	238: "STATE_DIRECTORY: the state directory could not be created",
}

// UnitState contains the unit fields that explain a failure. It holds no
// command line or environment.
type UnitState struct {
	ActiveState string // such as "active", "failed", "inactive"
	SubState    string // such as "running", "failed", "auto-restart"

	// The following are set for services only.

	Result         string // such as "success", "exit-code", "timeout"
	ExecMainCode   int32  // 1 exited, 2 killed, 3 dumped core, 0 never ran
	ExecMainStatus int32  // exit status, or signal number when killed
	StatusText     string // the last STATUS= text the service sent
}

// running reports whether the unit is up or on its way up. A service that
// waits to be restarted after a failure is "activating" too, but with the
// sub-state "auto-restart", and it is not running.
func (s UnitState) running() bool {
	switch s.ActiveState {
	case "active", "reloading":
		return true
	case "activating":
		return s.SubState != "auto-restart"
	}
	return false
}

// describe returns the state in the words of `systemctl status`, such as
// `unit is failed (Result=exit-code, main process exited with status 1)`.
func (s UnitState) describe() string {
	var details []string
	if s.Result != "" {
		details = append(details, "Result="+s.Result)
	}
	if main := s.mainProcess(); main != "" {
		details = append(details, main)
	}
	if s.StatusText != "" {
		details = append(details, fmt.Sprintf("status %q", s.StatusText))
	}
	text := fmt.Sprintf("unit is %s", s.ActiveState)
	if s.SubState != "" && s.SubState != s.ActiveState {
		text += "/" + s.SubState
	}
	if len(details) > 0 {
		text += " (" + strings.Join(details, ", ") + ")"
	}
	return text
}

func (s UnitState) mainProcess() string {
	switch s.ExecMainCode {
	case cldExited:
		text := fmt.Sprintf("main process exited with status %d", s.ExecMainStatus)
		if name, ok := systemdExitCodes[s.ExecMainStatus]; ok {
			text += " (" + name + ")"
		}
		return text
	case cldKilled:
		return "main process killed by " + signalName(s.ExecMainStatus)
	case cldDumped:
		return "main process dumped core on " + signalName(s.ExecMainStatus)
	}
	return ""
}

func signalName(number int32) string {
	return fmt.Sprintf("signal %d (%s)", number, syscall.Signal(number))
}

// UnitError reports a unit that did not start. It matches [ErrUnitFailed]
// with errors.Is.
type UnitError struct {
	Unit string
	// JobResult is the start job's result: "done", "failed", "timeout",
	// "canceled", "dependency" or "skipped", or "still running" when the
	// wait for the job ended first.
	JobResult string
	State     UnitState
	// WaitErr is the context's error when the wait for the job ended
	// before the job did, and nil otherwise.
	WaitErr error
}

func (e *UnitError) Error() string {
	if e.WaitErr != nil {
		return fmt.Sprintf("start %s: wait for job: %v: job %s, %s; see journalctl -u %s",
			e.Unit, e.WaitErr, e.JobResult, e.State.describe(), e.Unit)
	}
	return fmt.Sprintf("start %s: job %s: %s; see journalctl -u %s",
		e.Unit, e.JobResult, e.State.describe(), e.Unit)
}

// Unwrap returns WaitErr, so that errors.Is(err, context.DeadlineExceeded)
// is true for a unit whose wait ended.
func (e *UnitError) Unwrap() error { return e.WaitErr }

// Is makes errors.Is(err, ErrUnitFailed) true for every UnitError.
func (e *UnitError) Is(target error) bool {
	return target == ErrUnitFailed
}
