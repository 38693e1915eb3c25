package state

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	root := t.TempDir()
	want := &File{Version: Version, InstanceID: "i-0123456789abcdef0", Result: OK,
		Started: time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC),
		Stages:  []Stage{{Name: "metadata", Result: OK, Duration: 5 * time.Millisecond}}}
	if err := Save(root, want); err != nil {
		t.Fatal(err)
	}
	got, err := Load(root)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("loaded state (-want +got):\n%s", diff)
	}
}

func TestLoadMissingIsNil(t *testing.T) {
	for _, root := range []string{t.TempDir(), filepath.Join(t.TempDir(), "absent")} {
		f, err := Load(root)
		if f != nil || err != nil {
			t.Errorf("Load(%s) = %v, %v; want nil, nil", root, f, err)
		}
	}
}

func TestLoadCorruptAndQuarantine(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, Path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(`{"version": 1, "stages": [`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(root); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Load error = %v, want ErrCorrupt", err)
	}
	aside, err := Quarantine(root, time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if want := Path + ".corrupt-20261204T100000Z"; aside != want {
		t.Errorf("moved to %q, want %q", aside, want)
	}
	if f, err := Load(root); f != nil || err != nil {
		t.Errorf("Load after quarantine = %v, %v; want nil, nil", f, err)
	}
}

func TestSaveStaysInsideRoot(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "var/lib"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "var/lib/bootstrap")); err != nil {
		t.Fatal(err)
	}
	err := Save(root, &File{Version: Version})
	if err == nil {
		t.Fatal("Save through a symlink leading out of the root succeeded")
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("Save wrote outside the root: %v", entries)
	}
	if !strings.Contains(err.Error(), "write state") && !strings.Contains(err.Error(), "state directory") {
		t.Errorf("error %q does not say what failed", err)
	}
}
