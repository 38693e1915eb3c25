package clean

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
)

// remove removes the target t below root, or only lists it when dryRun is
// set, and returns the paths on the node that it removed.
func remove(root *os.Root, t Target, dryRun bool) ([]string, error) {
	rel := strings.TrimPrefix(t.Path, "/")
	switch t.Kind {
	case Tree:
		return removeTree(root, t.Path, rel, dryRun)
	case Contents:
		return removeContents(root, t.Path, rel, dryRun)
	}
	removed, err := removeFile(root, t.Path, rel, dryRun)
	if err != nil || !t.EmptyParent || dryRun {
		return removed, err
	}
	return removed, removeIfEmpty(root, path.Dir(rel))
}

func removeTree(root *os.Root, name, rel string, dryRun bool) ([]string, error) {
	if _, err := root.Lstat(rel); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("inspect %s: %w", name, err)
	}
	if !dryRun {
		if err := root.RemoveAll(rel); err != nil {
			return nil, fmt.Errorf("remove %s: %w", name, err)
		}
	}
	return []string{name}, nil
}

// removeContents empties the directory but keeps it, because it may be a
// mount point.
func removeContents(root *os.Root, name, rel string, dryRun bool) ([]string, error) {
	info, err := root.Lstat(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("inspect %s: %w", name, err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("%s is a %s, not a directory: remove it by hand", name, info.Mode().Type())
	}
	entries, err := fs.ReadDir(root.FS(), rel)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", name, err)
	}
	var removed []string
	for _, e := range entries {
		child := path.Join(name, e.Name())
		if !dryRun {
			if err := root.RemoveAll(path.Join(rel, e.Name())); err != nil {
				return removed, fmt.Errorf("remove %s: %w", child, err)
			}
		}
		removed = append(removed, child)
	}
	return removed, nil
}

// removeFile removes a regular file and the temp files that an interrupted
// atomic write of it left beside it.
func removeFile(root *os.Root, name, rel string, dryRun bool) ([]string, error) {
	var removed []string
	info, err := root.Lstat(rel)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("inspect %s: %w", name, err)
	case info.IsDir():
		return nil, fmt.Errorf("%s is a directory, not a file: remove it by hand", name)
	default:
		if !dryRun {
			if err := root.Remove(rel); err != nil {
				return nil, fmt.Errorf("remove %s: %w", name, err)
			}
		}
		removed = append(removed, name)
	}
	temps, err := tempFiles(root, rel)
	if err != nil {
		return removed, fmt.Errorf("list temp files of %s: %w", name, err)
	}
	for _, temp := range temps {
		if !dryRun {
			if err := root.Remove(temp); err != nil {
				return removed, fmt.Errorf("remove /%s: %w", temp, err)
			}
		}
		removed = append(removed, "/"+temp)
	}
	return removed, nil
}

// tempFiles lists the temp files of rel. renameio v2 names them "." + the
// file's base name + a decimal random number, in the same directory.
func tempFiles(root *os.Root, rel string) ([]string, error) {
	dir, base := path.Dir(rel), path.Base(rel)
	entries, err := fs.ReadDir(root.FS(), dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var temps []string
	for _, e := range entries {
		if e.Type().IsRegular() && isTempName(e.Name(), base) {
			temps = append(temps, path.Join(dir, e.Name()))
		}
	}
	return temps, nil
}

func isTempName(name, base string) bool {
	digits, ok := strings.CutPrefix(name, "."+base)
	if !ok || digits == "" {
		return false
	}
	return strings.Trim(digits, "0123456789") == ""
}

// removeIfEmpty removes the directory rel when it exists and is empty.
func removeIfEmpty(root *os.Root, rel string) error {
	entries, err := fs.ReadDir(root.FS(), rel)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(entries) > 0) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list /%s: %w", rel, err)
	}
	if err := root.Remove(rel); err != nil {
		return fmt.Errorf("remove /%s: %w", rel, err)
	}
	return nil
}
