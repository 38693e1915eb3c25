package harness

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// CleanNomad removes what a Nomad agent run below root can leave after it
// stopped: mounts below root (allocation secrets and task directories) and
// empty cgroups under Nomad's parent cgroups. The mounts Nomad makes under
// the contained systemd manager stay in the manager's private mount
// namespace and end with it, so the unmount is a second line of defence
// for a Nomad started outside it. It does nothing when no Nomad ran.
//
// NOTE: Nomad v1.6.2 keeps task cgroups under a parent named "nomad" in
// each v1 hierarchy ("nomad.slice" on cgroup2), which every Nomad on the
// machine shares. So only empty cgroups are removed, because a live task's
// cgroup is never empty.
func CleanNomad(root string) error {
	return errors.Join(unmountBelow(root), removeEmptyCgroups())
}

// unmountBelow lazily unmounts every mount point below root, deepest
// first.
func unmountBelow(root string) error {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	var points []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		p := unescapeMount(fields[4])
		if strings.HasPrefix(p, root+"/") {
			points = append(points, p)
		}
	}
	slices.SortFunc(points, func(a, b string) int { return len(b) - len(a) })
	var errs []error
	for _, p := range points {
		err := syscall.Unmount(p, syscall.MNT_DETACH)
		if err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", p, err))
		}
	}
	return errors.Join(errs...)
}

// unescapeMount undoes the octal escapes of /proc/self/mountinfo.
func unescapeMount(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}

// removeEmptyCgroups removes Nomad's empty cgroup directories, children
// first.
func removeEmptyCgroups() error {
	parents, _ := filepath.Glob("/sys/fs/cgroup/*/nomad")
	more, _ := filepath.Glob("/sys/fs/cgroup/nomad.slice")
	parents = append(parents, more...)
	var errs []error
	for _, parent := range parents {
		var dirs []string
		_ = filepath.WalkDir(parent, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for _, dir := range slices.Backward(dirs) {
			procs, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
			if err != nil || strings.TrimSpace(string(procs)) != "" {
				continue
			}
			if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) &&
				!errors.Is(err, syscall.EBUSY) {
				errs = append(errs, fmt.Errorf("remove cgroup: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}
