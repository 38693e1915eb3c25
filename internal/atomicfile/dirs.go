package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// RemoveTemps removes the temp files that an interrupted write of path left
// beside it, and returns their paths. Only regular files named like the temp
// files of [WriteFile] for this path are touched.
func RemoveTemps(path string) ([]string, error) {
	dir, err := os.OpenRoot(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("remove temp files of %s: %w", path, err)
	}
	defer func() { _ = dir.Close() }()
	removed, err := removeTemps(dir, filepath.Base(path))
	for i, base := range removed {
		removed[i] = filepath.Join(filepath.Dir(path), base)
	}
	if err != nil {
		return removed, fmt.Errorf("remove temp files of %s: %w", path, err)
	}
	return removed, nil
}

// RemoveTempsIn is [RemoveTemps] for a slash-separated name inside root. It
// returns the removed names relative to root. A missing directory has no
// temp files and is not an error.
func RemoveTempsIn(root *os.Root, name string) ([]string, error) {
	dirName, base := splitName(name)
	dir, err := root.OpenRoot(dirName)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("remove temp files of %s: %w", name, err)
	}
	defer func() { _ = dir.Close() }()
	removed, err := removeTemps(dir, base)
	for i, b := range removed {
		removed[i] = path.Join(dirName, b)
	}
	if err != nil {
		return removed, fmt.Errorf("remove temp files of %s: %w", name, err)
	}
	return removed, nil
}

func removeTemps(dir *os.Root, base string) ([]string, error) {
	entries, err := fs.ReadDir(dir.FS(), ".")
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, e := range entries {
		if !e.Type().IsRegular() || !isTempName(e.Name(), base) {
			continue
		}
		if err := dir.Remove(e.Name()); err != nil {
			return removed, err
		}
		removed = append(removed, e.Name())
	}
	return removed, nil
}

// isTempName reports whether name is a temp file for base. renameio v2.0.2
// names its temp files "." + base + a non-negative decimal random number.
func isTempName(name, base string) bool {
	digits, ok := strings.CutPrefix(name, "."+base)
	if !ok || digits == "" {
		return false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// MkdirAllIn creates the slash-separated directory name inside root and any
// missing parents. Each directory it creates gets exactly perm, whatever the
// umask. Directories that already exist keep their mode and owner.
func MkdirAllIn(root *os.Root, name string, perm fs.FileMode) error {
	name = path.Clean(strings.TrimPrefix(name, "/"))
	if name == "." {
		return nil
	}
	current := ""
	for _, part := range strings.Split(name, "/") {
		current = path.Join(current, part)
		if err := mkdirExact(root, current, perm); err != nil {
			return fmt.Errorf("create directory %s: %w", current, err)
		}
	}
	return nil
}

func mkdirExact(root *os.Root, name string, perm fs.FileMode) error {
	err := root.Mkdir(name, perm.Perm())
	if errors.Is(err, fs.ErrExist) {
		info, statErr := root.Stat(name)
		if statErr != nil {
			return statErr
		}
		if !info.IsDir() {
			return fmt.Errorf("%s exists and is not a directory", name)
		}
		return nil
	}
	if err != nil {
		return err
	}
	return root.Chmod(name, perm.Perm())
}
