package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/renameio/v2"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("changing file owners needs root")
	}
}

func openRoot(t *testing.T, dir string) *os.Root {
	t.Helper()
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	return root
}

func ownerOf(t *testing.T, path string) (uid, gid int) {
	t.Helper()
	info, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := info.Sys().(*syscall.Stat_t)
	return int(st.Uid), int(st.Gid)
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteFileCreatesWithModeAndOwner(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	target := filepath.Join(dir, "consul.hcl")

	if err := WriteFile(target, []byte("a = 1\n"), 0o640, 1234, 5678); err != nil {
		t.Fatal(err)
	}

	got, err := os.ReadFile(target)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "a = 1\n" {
		t.Errorf("content = %q, want %q", got, "a = 1\n")
	}
	info, err := os.Stat(target)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o640 {
		t.Errorf("mode = %#o, want 0640", info.Mode().Perm())
	}
	if uid, gid := ownerOf(t, target); uid != 1234 || gid != 5678 {
		t.Errorf("owner = %d:%d, want 1234:5678", uid, gid)
	}
	if diff := cmp.Diff([]string{"consul.hcl"}, listDir(t, dir)); diff != "" {
		t.Errorf("directory entries (-want +got):\n%s", diff)
	}
}

func TestWriteFileModeIgnoresUmask(t *testing.T) {
	old := syscall.Umask(0o077)
	t.Cleanup(func() { syscall.Umask(old) })
	target := filepath.Join(t.TempDir(), "unit.conf")

	if err := WriteFile(target, []byte("x"), 0o644, KeepOwner, KeepOwner); err != nil {
		t.Fatal(err)
	}

	info, err := os.Stat(target)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o644 {
		t.Errorf("mode = %#o, want 0644", info.Mode().Perm())
	}
}

func TestWriteFileReplacesRegularFile(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "state.json")
	if err := os.WriteFile(target, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}

	if err := WriteFile(target, []byte("new"), 0o600, KeepOwner, KeepOwner); err != nil {
		t.Fatal(err)
	}

	got, err := os.ReadFile(target)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "new" {
		t.Errorf("content = %q, want %q", got, "new")
	}
	if diff := cmp.Diff([]string{"state.json"}, listDir(t, dir)); diff != "" {
		t.Errorf("directory entries (-want +got):\n%s", diff)
	}
}

func TestWriteFileRejectsNonRegularTarget(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, target, outside string)
	}{
		{
			name: "symlink",
			prepare: func(t *testing.T, target, outside string) {
				if err := os.Symlink(outside, target); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "directory",
			prepare: func(t *testing.T, target, _ string) {
				if err := os.Mkdir(target, 0o755); err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "fifo",
			prepare: func(t *testing.T, target, _ string) {
				if err := syscall.Mkfifo(target, 0o600); err != nil {
					t.Fatal(err)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			target := filepath.Join(dir, "consul.hcl")
			outside := filepath.Join(t.TempDir(), "precious")
			if err := os.WriteFile(outside, []byte("keep"), 0o600); err != nil {
				t.Fatal(err)
			}
			tc.prepare(t, target, outside)

			err := WriteFile(target, []byte("x"), 0o640, KeepOwner, KeepOwner)

			if !errors.Is(err, ErrNotRegular) {
				t.Fatalf("WriteFile error = %v, want ErrNotRegular", err)
			}
			got, readErr := os.ReadFile(outside)
			if readErr != nil || string(got) != "keep" {
				t.Errorf("file behind the target = %q, %v, want it unchanged", got, readErr)
			}
			if diff := cmp.Diff([]string{"consul.hcl"}, listDir(t, dir)); diff != "" {
				t.Errorf("directory entries, temp file left behind? (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWriteFileInStaysInsideRoot(t *testing.T) {
	parent := t.TempDir()
	scratch := filepath.Join(parent, "scratch")
	if err := os.Mkdir(scratch, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(parent, filepath.Join(scratch, "etc")); err != nil {
		t.Fatal(err)
	}
	root := openRoot(t, scratch)

	tests := []struct {
		name string
		file string
	}{
		{name: "dot_dot", file: "../escaped"},
		{name: "symlinked_directory", file: "etc/escaped"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := WriteFileIn(root, tc.file, []byte("x"), 0o644, KeepOwner, KeepOwner)
			if err == nil {
				t.Fatalf("WriteFileIn(%q) succeeded, want an error", tc.file)
			}
			if _, statErr := os.Stat(filepath.Join(parent, "escaped")); statErr == nil {
				t.Errorf("file written outside the root")
			}
		})
	}
}

func TestWriteFileMissingDirectory(t *testing.T) {
	target := filepath.Join(t.TempDir(), "missing", "consul.hcl")

	err := WriteFile(target, []byte("x"), 0o640, KeepOwner, KeepOwner)

	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("WriteFile error = %v, want fs.ErrNotExist", err)
	}
}

func TestSameContent(t *testing.T) {
	requireRoot(t)
	data := []byte("datacenter = \"eu-west-1\"\n")
	tests := []struct {
		name     string
		data     []byte
		perm     fs.FileMode
		uid, gid int
		want     bool
	}{
		{name: "identical", data: data, perm: 0o640, uid: 100, gid: 200, want: true},
		{name: "owner_ignored", data: data, perm: 0o640, uid: KeepOwner, gid: KeepOwner, want: true},
		{name: "other_bytes", data: []byte("datacenter = \"eu-west-2\"\n"), perm: 0o640, uid: 100, gid: 200},
		{name: "shorter", data: data[:5], perm: 0o640, uid: 100, gid: 200},
		{name: "other_mode", data: data, perm: 0o644, uid: 100, gid: 200},
		{name: "other_user", data: data, perm: 0o640, uid: 101, gid: 200},
		{name: "other_group", data: data, perm: 0o640, uid: 100, gid: 201},
	}
	dir := t.TempDir()
	target := filepath.Join(dir, "consul.hcl")
	if err := WriteFile(target, data, 0o640, 100, 200); err != nil {
		t.Fatal(err)
	}
	root := openRoot(t, dir)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := SameContent(target, tc.data, tc.perm, tc.uid, tc.gid); got != tc.want {
				t.Errorf("SameContent = %v, want %v", got, tc.want)
			}
			if got := SameContentIn(root, "consul.hcl", tc.data, tc.perm, tc.uid, tc.gid); got != tc.want {
				t.Errorf("SameContentIn = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSameContentNotRegular(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real")
	if err := os.WriteFile(real, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(real, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink("real", link); err != nil {
		t.Fatal(err)
	}

	if SameContent(link, []byte("x"), 0o644, KeepOwner, KeepOwner) {
		t.Errorf("SameContent(symlink) = true, want false")
	}
	if SameContent(filepath.Join(dir, "missing"), nil, 0o644, KeepOwner, KeepOwner) {
		t.Errorf("SameContent(missing) = true, want false")
	}
	if !SameContent(real, []byte("x"), 0o644, KeepOwner, KeepOwner) {
		t.Errorf("SameContent(regular) = false, want true")
	}
}

func TestRemoveTemps(t *testing.T) {
	dir := t.TempDir()
	files := []string{
		".consul.hcl123", ".consul.hcl9876543210", // temp files of consul.hcl
		"consul.hcl", ".consul.hcl", ".consul.hclx1", ".consul.hcl.bak1",
		".nomad.hcl42", "consul.hcl123",
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, ".consul.hcl77"), 0o700); err != nil {
		t.Fatal(err)
	}

	removed, err := RemoveTemps(filepath.Join(dir, "consul.hcl"))
	if err != nil {
		t.Fatal(err)
	}

	wantRemoved := []string{filepath.Join(dir, ".consul.hcl123"), filepath.Join(dir, ".consul.hcl9876543210")}
	if diff := cmp.Diff(wantRemoved, removed); diff != "" {
		t.Errorf("removed (-want +got):\n%s", diff)
	}
	wantLeft := []string{".consul.hcl", ".consul.hcl.bak1", ".consul.hcl77", ".consul.hclx1", ".nomad.hcl42", "consul.hcl", "consul.hcl123"}
	if diff := cmp.Diff(wantLeft, listDir(t, dir)); diff != "" {
		t.Errorf("left in directory (-want +got):\n%s", diff)
	}
}

func TestRemoveTempsInMissingDirectory(t *testing.T) {
	root := openRoot(t, t.TempDir())

	removed, err := RemoveTempsIn(root, "etc/consul.d/consul.hcl")

	if err != nil || removed != nil {
		t.Errorf("RemoveTempsIn = %v, %v, want nothing and no error", removed, err)
	}
}

func TestRemoveTempsMatchesWriterTempNames(t *testing.T) {
	// A temp file made by the writer itself must match the cleanup pattern,
	// or a renameio upgrade that renames temp files would leave litter.
	dir := t.TempDir()
	root := openRoot(t, dir)
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	sub, err := root.OpenRoot("sub")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	pending, err := newPendingForTest(sub, "consul.hcl")
	if err != nil {
		t.Fatal(err)
	}
	defer pending.Cleanup()

	removed, err := RemoveTempsIn(root, "sub/consul.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 {
		t.Errorf("removed = %v, want the one pending temp file", removed)
	}
}

func TestMkdirAllInModes(t *testing.T) {
	old := syscall.Umask(0o077)
	t.Cleanup(func() { syscall.Umask(old) })
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "etc"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "etc"), 0o711); err != nil {
		t.Fatal(err)
	}
	root := openRoot(t, dir)

	if err := MkdirAllIn(root, "/etc/systemd/system/consul.service.d", 0o755); err != nil {
		t.Fatal(err)
	}

	want := map[string]fs.FileMode{
		"etc":                                 0o711,
		"etc/systemd":                         0o755,
		"etc/systemd/system":                  0o755,
		"etc/systemd/system/consul.service.d": 0o755,
	}
	got := map[string]fs.FileMode{}
	for name := range want {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		got[name] = info.Mode().Perm()
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("directory modes (-want +got):\n%s", diff)
	}
}

func TestMkdirAllInFileInTheWay(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "etc"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	root := openRoot(t, dir)

	if err := MkdirAllIn(root, "etc/consul.d", 0o755); err == nil {
		t.Errorf("MkdirAllIn succeeded over a regular file, want an error")
	}
}

// newPendingForTest starts a write the way replace does and leaves it
// unfinished, as a crash would.
func newPendingForTest(dir *os.Root, base string) (*renameio.PendingFile, error) {
	return renameio.NewPendingFile(base, renameio.WithRoot(dir), renameio.WithStaticPermissions(0o600))
}
