package systemd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cgroupRoot is the mount point of the kernel's cgroup hierarchies.
const cgroupRoot = "/sys/fs/cgroup"

// cgroupHierarchies returns the hierarchy mount points that a manager must be
// placed in. On a hybrid host these are the cgroup2 tree at unified/ and the
// named v1 tree at systemd/, because systemd 252 tracks its units in both.
// On a pure cgroup2 host it is the single tree at the root.
func cgroupHierarchies() ([]string, error) {
	hybrid := []string{
		filepath.Join(cgroupRoot, "unified"),
		filepath.Join(cgroupRoot, "systemd"),
	}
	if fileExists(filepath.Join(hybrid[0], "cgroup.procs")) &&
		fileExists(filepath.Join(hybrid[1], "cgroup.procs")) {
		return hybrid, nil
	}
	if fileExists(filepath.Join(cgroupRoot, "cgroup.controllers")) {
		return []string{cgroupRoot}, nil
	}
	return nil, fmt.Errorf("no usable cgroup hierarchy: want %s and %s (hybrid) or %s (cgroup2)",
		hybrid[0], hybrid[1], cgroupRoot)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// cgroupSet is one cgroup of the same name in every hierarchy a manager
// lives in. Every method touches only these directories and what they
// contain, never a parent or a sibling.
type cgroupSet struct {
	name string
	dirs []string
}

// createCgroups makes the cgroup name in every hierarchy and hands it to uid,
// which is how a cgroup is delegated to a manager that runs as that user.
func createCgroups(name string, uid, gid int) (cgroupSet, error) {
	roots, err := cgroupHierarchies()
	if err != nil {
		return cgroupSet{}, err
	}
	set := cgroupSet{name: name}
	for _, root := range roots {
		dir := filepath.Join(root, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return set, errors.Join(fmt.Errorf("create cgroup: %w", err), set.remove())
		}
		set.dirs = append(set.dirs, dir)
		if err := os.Chown(dir, uid, gid); err != nil {
			return set, errors.Join(fmt.Errorf("delegate cgroup %s: %w", dir, err), set.remove())
		}
	}
	return set, nil
}

// procsFiles returns the cgroup.procs file of every hierarchy. Writing a PID
// into all of them moves that process into this set.
func (c cgroupSet) procsFiles() []string {
	files := make([]string, 0, len(c.dirs))
	for _, dir := range c.dirs {
		files = append(files, filepath.Join(dir, "cgroup.procs"))
	}
	return files
}

// subtree returns every cgroup directory of the set, each parent before its
// children. Missing hierarchies are skipped, so it works after a removal.
func (c cgroupSet) subtree() ([]string, error) {
	var dirs []string
	for _, top := range c.dirs {
		err := filepath.WalkDir(top, func(path string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil {
				return err
			}
			if d.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list cgroup %s: %w", top, err)
		}
	}
	return dirs, nil
}

// pids returns the processes in any cgroup of the set, children included.
func (c cgroupSet) pids() ([]int, error) {
	dirs, err := c.subtree()
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read cgroup processes: %w", err)
		}
		for field := range strings.FieldsSeq(string(data)) {
			pid, err := strconv.Atoi(field)
			if err != nil {
				return nil, fmt.Errorf("read cgroup processes of %s: invalid pid %q", dir, field)
			}
			if !slices.Contains(pids, pid) {
				pids = append(pids, pid)
			}
		}
	}
	return pids, nil
}

// killAll sends SIGKILL to every process left in the set until none is
// left. The kernel removes a process from its cgroup when it exits, before
// it is reaped, so an unreaped zombie does not keep this waiting.
func (c cgroupSet) killAll(ctx context.Context) error {
	wait := time.Millisecond
	for {
		pids, err := c.pids()
		if err != nil {
			return err
		}
		if len(pids) == 0 {
			return nil
		}
		for _, pid := range pids {
			// ESRCH only means it exited between the read and the kill.
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kill processes left in cgroup %s %v: %w", c.name, pids, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, 100*time.Millisecond)
	}
}

// remove deletes every cgroup of the set, children first. Removing a set
// that is already gone succeeds.
func (c cgroupSet) remove() error {
	dirs, err := c.subtree()
	if err != nil {
		return err
	}
	var errs []error
	for _, dir := range slices.Backward(dirs) {
		if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove cgroup: %w", err))
		}
	}
	return errors.Join(errs...)
}
