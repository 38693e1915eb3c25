package render

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hashistack/bootstrap/internal/atomicfile"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("writing files owned by service users needs root")
	}
}

// planForWrite plans the consul-server role under a fresh scratch root.
func planForWrite(t *testing.T) (string, []File) {
	t.Helper()
	root := newScratchRoot(t, "")
	files, err := Plan(Input{Root: root, Role: loadRole(t, "consul-server"), Config: testConfig("consul-server")})
	if err != nil {
		t.Fatal(err)
	}
	return root, files
}

func changedPaths(written []Written) []string {
	var paths []string
	for _, w := range written {
		if w.Changed {
			paths = append(paths, w.Path)
		}
	}
	return paths
}

// oldTime is set as the mtime of written files so a rewrite shows up as a
// different mtime without any timing in the test.
var oldTime = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)

func ageFiles(t *testing.T, root string, files []File) {
	t.Helper()
	for _, f := range files {
		if err := os.Chtimes(filepath.Join(root, f.Path), oldTime, oldTime); err != nil {
			t.Fatal(err)
		}
	}
}

func mtime(t *testing.T, path string) time.Time {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.ModTime()
}

func TestWriteCreatesFiles(t *testing.T) {
	requireRoot(t)
	root, files := planForWrite(t)

	written, err := Write(t.Context(), root, files)
	if err != nil {
		t.Fatal(err)
	}

	for i, f := range files {
		got, err := os.ReadFile(filepath.Join(root, f.Path))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, f.Data) {
			t.Errorf("%s content differs from the plan", f.Path)
		}
		info, err := os.Stat(filepath.Join(root, f.Path))
		if err != nil {
			t.Fatal(err)
		}
		st := info.Sys().(*syscall.Stat_t)
		if info.Mode().Perm() != f.Mode || int(st.Uid) != f.UID || int(st.Gid) != f.GID {
			t.Errorf("%s: mode %#o owner %d:%d, want %#o %d:%d",
				f.Path, info.Mode().Perm(), st.Uid, st.Gid, f.Mode, f.UID, f.GID)
		}
		sum := sha256.Sum256(f.Data)
		want := Written{Path: f.Path, SHA256: hex.EncodeToString(sum[:]), Mode: f.Mode,
			Owner: f.Owner, Group: f.Group, Changed: true}
		if diff := cmp.Diff(want, written[i]); diff != "" {
			t.Errorf("Written[%d] (-want +got):\n%s", i, diff)
		}
	}
}

func TestWriteCreatesDirectoriesWithSaneModes(t *testing.T) {
	requireRoot(t)
	old := syscall.Umask(0o077)
	t.Cleanup(func() { syscall.Umask(old) })
	root, files := planForWrite(t)

	if _, err := Write(t.Context(), root, files); err != nil {
		t.Fatal(err)
	}

	want := map[string]fs.FileMode{
		"etc/consul.d":                        0o755,
		"etc/systemd":                         0o755,
		"etc/systemd/system":                  0o755,
		"etc/systemd/system/consul.service.d": 0o755,
	}
	got := map[string]fs.FileMode{}
	for dir := range want {
		info, err := os.Stat(filepath.Join(root, dir))
		if err != nil {
			t.Fatal(err)
		}
		got[dir] = info.Mode().Perm()
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("directory modes (-want +got):\n%s", diff)
	}
}

func TestWriteIdenticalRerunChangesNothing(t *testing.T) {
	requireRoot(t)
	root, files := planForWrite(t)
	if _, err := Write(t.Context(), root, files); err != nil {
		t.Fatal(err)
	}
	ageFiles(t, root, files)

	written, err := Write(t.Context(), root, files)
	if err != nil {
		t.Fatal(err)
	}

	if got := changedPaths(written); got != nil {
		t.Errorf("changed on rerun: %v, want none", got)
	}
	if len(written) != len(files) {
		t.Errorf("Write returned %d records, want %d", len(written), len(files))
	}
	for _, f := range files {
		if got := mtime(t, filepath.Join(root, f.Path)); !got.Equal(oldTime) {
			t.Errorf("%s mtime = %v, want it kept at %v", f.Path, got, oldTime)
		}
	}
}

func TestWriteRewritesOnDifference(t *testing.T) {
	requireRoot(t)
	tests := []struct {
		name  string
		drift func(path string) error
	}{
		{name: "content", drift: func(p string) error { return os.WriteFile(p, []byte("edited = true\n"), 0) }},
		{name: "mode", drift: func(p string) error { return os.Chmod(p, 0o644) }},
		{name: "owner", drift: func(p string) error { return os.Chown(p, 4242, 4242) }},
		{name: "group", drift: func(p string) error { return os.Chown(p, -1, 0) }},
		{name: "missing", drift: os.Remove},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root, files := planForWrite(t)
			if _, err := Write(t.Context(), root, files); err != nil {
				t.Fatal(err)
			}
			ageFiles(t, root, files)
			target := filepath.Join(root, files[0].Path)
			if err := tc.drift(target); err != nil {
				t.Fatal(err)
			}

			written, err := Write(t.Context(), root, files)
			if err != nil {
				t.Fatal(err)
			}

			if diff := cmp.Diff([]string{files[0].Path}, changedPaths(written)); diff != "" {
				t.Errorf("changed files (-want +got):\n%s", diff)
			}
			if !atomicfile.SameContent(target, files[0].Data, files[0].Mode, files[0].UID, files[0].GID) {
				t.Errorf("%s does not match the plan after the rewrite", files[0].Path)
			}
		})
	}
}

func TestWriteRejectsSymlinkAtTarget(t *testing.T) {
	requireRoot(t)
	root, files := planForWrite(t)
	outside := filepath.Join(t.TempDir(), "shadow")
	if err := os.WriteFile(outside, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(root, files[0].Path)
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, target); err != nil {
		t.Fatal(err)
	}

	written, err := Write(t.Context(), root, files)

	var werr *WriteError
	if !errors.As(err, &werr) {
		t.Fatalf("Write error = %v, want *WriteError", err)
	}
	if diff := cmp.Diff([]string{files[0].Path}, failedPaths(werr)); diff != "" {
		t.Errorf("failed files (-want +got):\n%s", diff)
	}
	if !errors.Is(err, atomicfile.ErrNotRegular) {
		t.Errorf("Write error = %v, want atomicfile.ErrNotRegular in the chain", err)
	}
	for _, want := range []string{"write 1 of 2 files failed", files[0].Path, "symlink"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if diff := cmp.Diff([]string{files[1].Path}, changedPaths(written)); diff != "" {
		t.Errorf("the other files must still be written (-want +got):\n%s", diff)
	}
	if got, _ := os.ReadFile(outside); string(got) != "keep" {
		t.Errorf("symlink target changed to %q", got)
	}
}

func failedPaths(werr *WriteError) []string {
	var paths []string
	for _, f := range werr.Failed {
		paths = append(paths, f.Path)
	}
	return paths
}

func TestWriteRemovesLeftoverTempFiles(t *testing.T) {
	requireRoot(t)
	root, files := planForWrite(t)
	dir := filepath.Join(root, "etc/consul.d")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{".consul.hcl4242", ".consul.hcl17", "keep.hcl", ".keep.hcl99"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	if _, err := Write(t.Context(), root, files); err != nil {
		t.Fatal(err)
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if diff := cmp.Diff([]string{".keep.hcl99", "consul.hcl", "keep.hcl"}, got); diff != "" {
		t.Errorf("files in etc/consul.d (-want +got):\n%s", diff)
	}
}

func TestWriteStaysInsideRoot(t *testing.T) {
	root, _ := planForWrite(t)
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(root, "opt")); err != nil {
		t.Fatal(err)
	}
	files := []File{{Path: "/opt/escaped.hcl", Data: []byte("x"), Mode: 0o644,
		UID: atomicfile.KeepOwner, GID: atomicfile.KeepOwner}}

	_, err := Write(t.Context(), root, files)

	if err == nil {
		t.Errorf("Write through a symlink out of the root succeeded")
	}
	if _, statErr := os.Stat(filepath.Join(outside, "escaped.hcl")); statErr == nil {
		t.Errorf("file written outside the root")
	}
}

func TestWriteCancelled(t *testing.T) {
	root, files := planForWrite(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	written, err := Write(ctx, root, files)

	if !errors.Is(err, context.Canceled) {
		t.Errorf("Write error = %v, want context.Canceled", err)
	}
	if len(written) != 0 {
		t.Errorf("Write wrote %d files after cancel, want none", len(written))
	}
}

func TestWriteTree(t *testing.T) {
	_, files := planForWrite(t)
	out := filepath.Join(t.TempDir(), "out")

	if err := WriteTree(out, files); err != nil {
		t.Fatal(err)
	}

	for _, f := range files {
		path := filepath.Join(out, f.Path)
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, f.Data) {
			t.Errorf("%s content differs from the plan", f.Path)
		}
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != f.Mode {
			t.Errorf("%s mode = %#o, want %#o", f.Path, info.Mode().Perm(), f.Mode)
		}
		if st := info.Sys().(*syscall.Stat_t); int(st.Uid) != os.Geteuid() {
			t.Errorf("%s owner = %d, want the running user %d", f.Path, st.Uid, os.Geteuid())
		}
	}
}

func TestPrint(t *testing.T) {
	files := []File{
		{Path: "/etc/a.hcl", Data: []byte("a = 1\n"), Mode: 0o640, Owner: "consul", Group: "consul"},
		{Path: "/etc/b.conf", Data: []byte("[Unit]"), Mode: 0o644, Owner: "root", Group: "root"},
	}
	var buf bytes.Buffer

	if err := Print(&buf, files); err != nil {
		t.Fatal(err)
	}

	want := "==> /etc/a.hcl (mode 0640, owner consul:consul)\na = 1\n\n" +
		"==> /etc/b.conf (mode 0644, owner root:root)\n[Unit]\n\n"
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("Print output (-want +got):\n%s", diff)
	}
}
