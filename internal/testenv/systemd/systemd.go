// Package systemd runs a real, contained systemd user manager for tests and
// for the demo: `systemd --user` in a cgroup of its own, in a private mount
// namespace, reachable on its private D-Bus socket.
//
// It must never start a manager in a cgroup it did not create. Started as root
// in the machine's root cgroup, systemd takes over every process on the
// machine, PID 1 included. So the launcher creates a cgroup per manager,
// moves its own shell into it, checks that the move happened, and only then
// execs systemd. It must also never change the host's mounts: the tmpfs that
// systemd needs on /run/systemd lives in a mount namespace of its own.
//
// Supported hosts: root, /lib/systemd/systemd (systemd 252 is what it was
// written against), util-linux unshare, and either hybrid cgroups (cgroup2 at
// /sys/fs/cgroup/unified beside the named v1 hierarchy at
// /sys/fs/cgroup/systemd) or pure cgroup2 at /sys/fs/cgroup. On a pure
// cgroup2 host the cgroup is created directly under /sys/fs/cgroup.
package systemd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const (
	// readyTimeout bounds the wait for the private socket. A manager was
	// measured ready in 0.1 to 0.6 s on a 2-core machine, so this only
	// trips when something is wrong.
	readyTimeout = 30 * time.Second

	// stopTimeout bounds the wait after SIGTERM before SIGKILL. Shutdown was
	// measured at 1 to 1.6 s on the same machine.
	stopTimeout = 20 * time.Second

	// cleanupTimeout bounds killing leftover processes during Stop.
	cleanupTimeout = 10 * time.Second
)

// systemdPaths are the install paths of the manager on Debian and other
// distributions.
var systemdPaths = []string{"/lib/systemd/systemd", "/usr/lib/systemd/systemd"}

// launchScript runs under unshare in a new private mount namespace. It mounts
// the tmpfs systemd requires and moves its own PID into each cgroup.procs
// file given as an argument. It then checks that /proc/self/cgroup names the
// cgroup in the cgroup2 hierarchy and in the named systemd one (when
// present), and only then execs the manager. Any failure exits before the exec, so the manager
// never starts outside its cgroup.
const launchScript = `set -eu
mount -t tmpfs -o mode=0755 tmpfs /run/systemd
mkdir /run/systemd/system
manager="$1"; cgroup="$2"; shift 2
for procs in "$@"; do
	echo $$ > "$procs" || exit 1
done
if ! awk -F: -v want="/$cgroup" -v count=$# '
	$2 == "" || $2 == "name=systemd" { if ($3 != want) bad = 1; n++ }
	END { exit (bad || n != count) }' /proc/self/cgroup
then
	echo "launcher is not inside cgroup $cgroup:" >&2
	cat /proc/self/cgroup >&2
	exit 1
fi
exec "$manager" --user
`

// Options configures a manager.
type Options struct {
	// ConfigHome becomes XDG_CONFIG_HOME, so the manager loads user units
	// from ConfigHome/systemd/user. Empty means a new temporary directory.
	ConfigHome string
}

// Manager is a running, contained systemd user manager.
type Manager struct {
	// Socket is the manager's private D-Bus socket.
	Socket string
	// PID is the manager's process id.
	PID int
	// UnitDir is ConfigHome/systemd/user, where unit files go. Call Reload
	// over D-Bus after writing one.
	UnitDir string
	// RuntimeDir is the manager's XDG_RUNTIME_DIR.
	RuntimeDir string

	cmd     *exec.Cmd
	cgroups cgroupSet
	tempDir string
	output  *lockedBuffer
	exited  chan struct{}

	stopOnce sync.Once
	stopErr  error
}

var launchCount atomic.Int64

// Available returns nil when this machine can run a contained manager, and
// otherwise an error naming what is missing, for a test to skip with.
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("contained systemd needs root: mounting a tmpfs on /run/systemd needs CAP_SYS_ADMIN")
	}
	if _, err := systemdBinary(); err != nil {
		return err
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		return fmt.Errorf("contained systemd needs util-linux unshare: %w", err)
	}
	if info, err := os.Stat("/run/systemd"); err != nil || !info.IsDir() {
		return errors.New("contained systemd needs the directory /run/systemd to mount a tmpfs on")
	}
	if _, err := cgroupHierarchies(); err != nil {
		return fmt.Errorf("contained systemd: %w", err)
	}
	return nil
}

func systemdBinary() (string, error) {
	for _, path := range systemdPaths {
		if info, err := os.Stat(path); err == nil && info.Mode()&0o111 != 0 {
			return path, nil
		}
	}
	return "", fmt.Errorf("no systemd binary at %v", systemdPaths)
}

// Start launches a manager for the test and stops it in t.Cleanup. It skips
// the test when [Available] reports an error.
func Start(t testing.TB, opts Options) *Manager {
	t.Helper()
	if err := Available(); err != nil {
		t.Skipf("skip: %v", err)
	}
	if opts.ConfigHome == "" {
		opts.ConfigHome = t.TempDir()
	}
	m, err := Launch(t.Context(), opts)
	if err != nil {
		t.Fatalf("launch systemd: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Stop(); err != nil {
			t.Errorf("stop systemd: %v", err)
		}
	})
	return m
}

// Launch starts a contained manager and waits until its private socket
// exists. ctx bounds the start only: the manager runs until [Manager.Stop],
// which the caller must call. On error nothing is left running.
func Launch(ctx context.Context, opts Options) (*Manager, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	m, err := prepare(opts)
	if err != nil {
		return nil, err
	}
	if err := m.start(); err != nil {
		return nil, errors.Join(err, m.Stop())
	}
	if err := m.waitReady(ctx); err != nil {
		return nil, errors.Join(err, m.Stop())
	}
	return m, nil
}

// prepare creates the manager's directories and cgroups.
func prepare(opts Options) (*Manager, error) {
	tempDir, err := os.MkdirTemp("", "bootstrap-systemd-")
	if err != nil {
		return nil, fmt.Errorf("create manager directory: %w", err)
	}
	m := &Manager{tempDir: tempDir, output: &lockedBuffer{}, exited: make(chan struct{})}
	if opts.ConfigHome == "" {
		opts.ConfigHome = filepath.Join(tempDir, "config")
	}
	m.RuntimeDir = filepath.Join(tempDir, "runtime")
	m.UnitDir = filepath.Join(opts.ConfigHome, "systemd", "user")
	m.Socket = filepath.Join(m.RuntimeDir, "systemd", "private")
	for _, dir := range []string{m.RuntimeDir, filepath.Join(tempDir, "home"), m.UnitDir} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, errors.Join(fmt.Errorf("create manager directory: %w", err), os.RemoveAll(tempDir))
		}
	}
	name := fmt.Sprintf("bootstrap-test-%d-%d", os.Getpid(), launchCount.Add(1))
	m.cgroups, err = createCgroups(name, os.Getuid(), os.Getgid())
	if err != nil {
		return nil, errors.Join(err, os.RemoveAll(tempDir))
	}
	m.cmd = m.command(opts.ConfigHome)
	return m, nil
}

func (m *Manager) command(configHome string) *exec.Cmd {
	binary, _ := systemdBinary() // Available checked it
	args := []string{"--mount", "--propagation", "private", "--",
		"/bin/sh", "-c", launchScript, "sh", binary, m.cgroups.name}
	args = append(args, m.cgroups.procsFiles()...)
	cmd := exec.Command("unshare", args...)
	cmd.Env = []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=" + filepath.Join(m.tempDir, "home"),
		"XDG_RUNTIME_DIR=" + m.RuntimeDir,
		"XDG_CONFIG_HOME=" + configHome,
	}
	cmd.Stdout = m.output
	cmd.Stderr = m.output
	// Its own process group keeps a terminal's Ctrl-C away from the
	// manager, so Stop decides how it ends.
	// unshare and sh exec the manager in the same process, so the parent
	// death signal reaches the manager itself: a test binary killed by a
	// signal, which runs no cleanup, still gets its manager to stop its
	// units. The cgroups it made stay behind in that case.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	return cmd
}

func (m *Manager) start() error {
	if err := m.cmd.Start(); err != nil {
		close(m.exited)
		return fmt.Errorf("start systemd launcher: %w", err)
	}
	// unshare and sh exec in place, so this PID becomes the manager's.
	m.PID = m.cmd.Process.Pid
	go func() {
		_ = m.cmd.Wait() // the exit status is reported through Log
		close(m.exited)
	}()
	return nil
}

// waitReady polls for the private socket with a capped backoff.
func (m *Manager) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	wait := time.Millisecond
	for !fileExists(m.Socket) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for systemd socket %s: %w (manager output: %q)",
				m.Socket, ctx.Err(), m.Log())
		case <-m.exited:
			return fmt.Errorf("systemd exited before creating %s: %s (manager output: %q)",
				m.Socket, m.cmd.ProcessState, m.Log())
		case <-time.After(wait):
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
	return nil
}

// Log returns what the manager's generators and the manager itself have
// written to stdout and stderr so far. With systemd 252 the manager's own
// log lines and the units' output do not reach it (no journald runs in the
// namespace), so read why a unit failed from its D-Bus properties instead.
func (m *Manager) Log() string {
	return m.output.String()
}

// Stop sends SIGTERM to the manager, waits for it to exit (SIGKILL after
// 20 s), kills any process left in its cgroups, and removes the cgroups and
// its temporary directories. Calling Stop again returns the first result.
func (m *Manager) Stop() error {
	m.stopOnce.Do(func() { m.stopErr = m.stop() })
	return m.stopErr
}

func (m *Manager) stop() error {
	var errs []error
	if m.cmd != nil && m.cmd.Process != nil {
		errs = append(errs, m.terminate())
	}
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if err := m.cgroups.killAll(ctx); err != nil {
		errs = append(errs, err)
	} else {
		errs = append(errs, m.cgroups.remove())
	}
	errs = append(errs, os.RemoveAll(m.tempDir))
	return errors.Join(errs...)
}

func (m *Manager) terminate() error {
	select {
	case <-m.exited:
		return nil
	default:
	}
	if err := syscall.Kill(m.PID, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("stop systemd pid %d: %w", m.PID, err)
	}
	select {
	case <-m.exited:
		return nil
	case <-time.After(stopTimeout):
	}
	_ = syscall.Kill(m.PID, syscall.SIGKILL) // ESRCH: it exited meanwhile
	<-m.exited
	return fmt.Errorf("systemd pid %d ignored SIGTERM for %s and was killed", m.PID, stopTimeout)
}

// lockedBuffer collects the manager's output, which exec copies in from
// another goroutine.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
