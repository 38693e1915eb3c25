package diagnose

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/hashistack/bootstrap/internal/state"
	"github.com/hashistack/bootstrap/roles"
)

// env is what every check reads: the options and the state file, loaded
// once before the checks start.
type env struct {
	o Options
	// st is nil when the state file does not exist or could not be read;
	// stErr says which.
	st    *state.File
	stErr error
	// role is set when the state names a role that roles.Load knows.
	role    *roles.Role
	roleErr error
}

func newEnv(o Options) *env {
	e := &env{o: o}
	e.st, e.stErr = state.Load(o.Root)
	if e.st != nil && e.st.Role != "" {
		r, err := roles.Load(e.st.Role)
		if err != nil {
			e.roleErr = err
		} else {
			e.role = &r
		}
	}
	return e
}

// path returns p, a path on the node, below the root.
func (e *env) path(p string) string {
	return filepath.Join(e.o.Root, p)
}

// errNoState is the reason checks that need the state file are skipped.
var errNoState = errors.New("no state file: see last-run")

// needRole returns the skip result of a check that needs the role and
// its configuration, or nil when both are recorded.
func (e *env) needRole(name string) *Result {
	switch {
	case e.st == nil:
		r := result(name, Skip, "%v", errNoState)
		return &r
	case e.roleErr != nil:
		r := result(name, Fail, "role %q of the state file: %v", e.st.Role, e.roleErr)
		r.Fix = "the state file was written by an agent with other role files: rerun bootstrap"
		return &r
	case e.role == nil || e.st.Config == nil:
		r := result(name, Skip, "no effective configuration recorded: the last run stopped before its config stage finished")
		return &r
	}
	return nil
}

// runHeld reports whether a bootstrap run holds the state file's lock, by
// finding the lock file's inode among the FLOCK entries of /proc/locks.
// Taking the lock, even briefly, could make a run that starts at that
// moment fail, so diagnose never does. The second result is false when
// the answer is unknown.
func (e *env) runHeld() (held, known bool) {
	info, err := os.Stat(e.path(filepath.Join(filepath.Dir(state.Path), "lock")))
	if err != nil {
		return false, errors.Is(err, fs.ErrNotExist)
	}
	sys, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return false, false
	}
	locks, err := os.ReadFile("/proc/locks")
	if err != nil {
		return false, false
	}
	return lockListed(string(locks), sys.Dev, sys.Ino), true
}

// lockListed reports whether the /proc/locks text lists a FLOCK on the
// file with device dev and inode ino. Lines read as
// "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF", the device's major and
// minor numbers in hex.
func lockListed(locks string, dev, ino uint64) bool {
	major := (dev>>8)&0xfff | (dev>>32)&^uint64(0xfff)
	minor := dev&0xff | (dev>>12)&^uint64(0xff)
	want := fmt.Sprintf("%02x:%02x:%d", major, minor, ino)
	for line := range strings.Lines(locks) {
		fields := strings.Fields(line)
		if len(fields) >= 6 && fields[1] == "FLOCK" && fields[5] == want {
			return true
		}
	}
	return false
}
