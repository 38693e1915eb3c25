// Package atomicfile writes every file the agent produces: rendered configs,
// unit drop-ins and the state file. A reader sees either the old file or the
// complete new one, never a partial write, and a crash leaves at most a temp
// file beside the target, which [RemoveTemps] clears on the next run.
//
// The package never replaces anything but a regular file: a symlink, a
// directory or a FIFO at the target is an error, so a planted symlink cannot
// redirect a write. It never logs and never puts file contents in an error,
// because some of the files it writes hold secrets.
package atomicfile

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/google/renameio/v2"
)

// ErrNotRegular reports that the target exists but is not a regular file.
var ErrNotRegular = errors.New("not a regular file")

// KeepOwner as a UID or GID leaves that id as the writing process creates
// it, and makes [SameContent] ignore it.
const KeepOwner = -1

// WriteFile atomically replaces the file at path with data, mode perm and
// owner uid:gid (or [KeepOwner]). The parent directory must exist.
func WriteFile(path string, data []byte, perm fs.FileMode, uid, gid int) error {
	dir, err := os.OpenRoot(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() { _ = dir.Close() }()
	if err := replace(dir, filepath.Base(path), data, perm, uid, gid); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// WriteFileIn is [WriteFile] for a slash-separated name inside root. Every
// step, the temp file included, stays inside root even when a directory on
// the way is a symlink.
func WriteFileIn(root *os.Root, name string, data []byte, perm fs.FileMode, uid, gid int) error {
	dirName, base := splitName(name)
	dir, err := root.OpenRoot(dirName)
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	defer func() { _ = dir.Close() }()
	if err := replace(dir, base, data, perm, uid, gid); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// replace writes base inside dir: temp file in dir, write, chown, chmod,
// fsync, close, rename, then fsync dir so the rename itself survives a crash.
// The temp file is removed on any error.
func replace(dir *os.Root, base string, data []byte, perm fs.FileMode, uid, gid int) (err error) {
	if err := checkRegular(dir, base); err != nil {
		return err
	}
	// NOTE: renameio with WithRoot creates the temp file at the top of the
	// given root, which is why dir is the target's own directory.
	pending, err := renameio.NewPendingFile(base, renameio.WithRoot(dir),
		renameio.WithStaticPermissions(perm.Perm()))
	if err != nil {
		return fmt.Errorf("create temp file: %w", err)
	}
	defer func() {
		if cleanupErr := pending.Cleanup(); cleanupErr != nil && err == nil {
			err = fmt.Errorf("remove temp file: %w", cleanupErr)
		}
	}()
	if _, err := pending.Write(data); err != nil {
		return fmt.Errorf("write temp file: %w", err)
	}
	if err := setOwnerAndMode(pending.File, perm, uid, gid); err != nil {
		return err
	}
	if err := pending.CloseAtomicallyReplace(); err != nil {
		return fmt.Errorf("replace: %w", err)
	}
	return syncDir(dir)
}

// setOwnerAndMode changes the owner first, because chown(2) clears the
// set-user-ID and set-group-ID bits that a later chmod then sets again.
func setOwnerAndMode(f *os.File, perm fs.FileMode, uid, gid int) error {
	if uid != KeepOwner || gid != KeepOwner {
		if err := f.Chown(uid, gid); err != nil {
			return fmt.Errorf("set owner %d:%d: %w", uid, gid, err)
		}
	}
	if err := f.Chmod(perm.Perm()); err != nil {
		return fmt.Errorf("set mode %#o: %w", perm.Perm(), err)
	}
	return nil
}

// checkRegular returns an error wrapping [ErrNotRegular] when base exists in
// dir as anything but a regular file.
//
// NOTE: the check and the rename are two steps, so a symlink planted in
// between is replaced, not followed: rename(2) never follows the target.
func checkRegular(dir *os.Root, base string) error {
	info, err := dir.Lstat(base)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("target is a %s, %w: remove it or move it away", describeType(info.Mode()), ErrNotRegular)
	}
	return nil
}

func describeType(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m.IsDir():
		return "directory"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	default:
		return "special file"
	}
}

func syncDir(dir *os.Root) error {
	d, err := dir.Open(".")
	if err != nil {
		return fmt.Errorf("open directory to sync: %w", err)
	}
	defer func() { _ = d.Close() }()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	return nil
}

// SameContent reports whether path is a regular file holding exactly data
// with permission bits perm and owner uid:gid. A uid or gid of [KeepOwner]
// is not compared. Any error reading the file counts as a difference, so the
// caller rewrites it.
func SameContent(path string, data []byte, perm fs.FileMode, uid, gid int) bool {
	dir, err := os.OpenRoot(filepath.Dir(path))
	if err != nil {
		return false
	}
	defer func() { _ = dir.Close() }()
	return sameContent(dir, filepath.Base(path), data, perm, uid, gid)
}

// SameContentIn is [SameContent] for a slash-separated name inside root.
func SameContentIn(root *os.Root, name string, data []byte, perm fs.FileMode, uid, gid int) bool {
	dirName, base := splitName(name)
	dir, err := root.OpenRoot(dirName)
	if err != nil {
		return false
	}
	defer func() { _ = dir.Close() }()
	return sameContent(dir, base, data, perm, uid, gid)
}

func sameContent(dir *os.Root, base string, data []byte, perm fs.FileMode, uid, gid int) bool {
	info, err := dir.Lstat(base)
	if err != nil || !info.Mode().IsRegular() || info.Size() != int64(len(data)) {
		return false
	}
	if info.Mode().Perm() != perm.Perm() || !sameOwner(info, uid, gid) {
		return false
	}
	got, err := dir.ReadFile(base)
	return err == nil && bytes.Equal(got, data)
}

func sameOwner(info fs.FileInfo, uid, gid int) bool {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	if uid != KeepOwner && int(st.Uid) != uid {
		return false
	}
	return gid == KeepOwner || int(st.Gid) == gid
}

// splitName splits a slash-separated name relative to a root into its
// directory ("." for the top) and base name.
func splitName(name string) (dir, base string) {
	name = path.Clean(strings.TrimPrefix(name, "/"))
	dir, base = path.Split(name)
	if dir == "" {
		return ".", base
	}
	return strings.TrimSuffix(dir, "/"), base
}
