package systemd

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"
	"github.com/google/go-cmp/cmp"
)

func readCgroup(t *testing.T, pid string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("/proc", pid, "cgroup"))
	if err != nil {
		t.Fatalf("read cgroup of pid %s: %v", pid, err)
	}
	return string(data)
}

func TestManagerContained(t *testing.T) {
	initBefore := readCgroup(t, "1")
	selfBefore := readCgroup(t, "self")

	m := Start(t, Options{})

	if diff := cmp.Diff(initBefore, readCgroup(t, "1")); diff != "" {
		t.Errorf("cgroup of pid 1 changed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(selfBefore, readCgroup(t, "self")); diff != "" {
		t.Errorf("cgroup of the test process changed (-want +got):\n%s", diff)
	}
	managerCgroup := readCgroup(t, strconv.Itoa(m.PID))
	for line := range strings.Lines(managerCgroup) {
		hierarchy := strings.SplitN(line, ":", 3)[1]
		if hierarchy != "" && hierarchy != "name=systemd" {
			continue
		}
		if !strings.Contains(line, ":/"+m.cgroups.name+"/") {
			t.Errorf("manager cgroup line %q is outside %s", line, m.cgroups.name)
		}
	}
}

func TestManagerAnswersDBus(t *testing.T) {
	m := Start(t, Options{})

	conn, err := dbus.Dial("unix:path="+dbus.EscapeBusAddressValue(m.Socket),
		dbus.WithContext(t.Context()))
	if err != nil {
		t.Fatalf("dial %s: %v", m.Socket, err)
	}
	defer conn.Close()
	if err := conn.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
		t.Fatalf("auth: %v", err)
	}
	manager := conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1")
	version, err := manager.GetProperty("org.freedesktop.systemd1.Manager.Version")
	if err != nil {
		t.Fatalf("get manager version: %v", err)
	}
	if s, ok := version.Value().(string); !ok || s == "" {
		t.Errorf("manager version = %v, want a non-empty string", version)
	}
}

func TestStopRemovesEverything(t *testing.T) {
	configHome := t.TempDir()
	m := Start(t, Options{ConfigHome: configHome})
	dirs := m.cgroups.dirs

	if err := m.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}

	select {
	case <-m.exited:
	default:
		t.Errorf("manager pid %d still running after Stop", m.PID)
	}
	for _, dir := range append(dirs, m.tempDir) {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%s still exists after Stop (stat error: %v)", dir, err)
		}
	}
	if _, err := os.Stat(configHome); err != nil {
		t.Errorf("Stop removed the caller's config home: %v", err)
	}
	if err := m.Stop(); err != nil {
		t.Errorf("second Stop = %v, want nil", err)
	}
}
