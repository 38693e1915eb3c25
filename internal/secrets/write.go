package secrets

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/hashistack/bootstrap/internal/atomicfile"
	"github.com/hashistack/bootstrap/roles"
)

// owner is a service's user and group ids.
type owner struct{ uid, gid int }

// writer writes each service's secrets below Dir.
type writer struct {
	root   string
	owners map[string]owner
}

func newWriter(root string, role roles.Role) (*writer, error) {
	users, err := readIDs(filepath.Join(root, "etc/passwd"), 2)
	if err != nil {
		return nil, err
	}
	groups, err := readIDs(filepath.Join(root, "etc/group"), 2)
	if err != nil {
		return nil, err
	}
	w := &writer{root: root, owners: map[string]owner{}}
	for _, s := range role.Services {
		uid, ok := users[s.User]
		if !ok {
			return nil, fmt.Errorf("service %s: user %q is not in /etc/passwd", s.Name, s.User)
		}
		group := s.Group
		if group == "" {
			group = s.User
		}
		gid, ok := groups[group]
		if !ok {
			return nil, fmt.Errorf("service %s: group %q is not in /etc/group", s.Name, group)
		}
		w.owners[s.Name] = owner{uid: uid, gid: gid}
	}
	return w, nil
}

// readIDs maps the names in a passwd or group file to the numeric id in
// field index.
func readIDs(file string, index int) (map[string]int, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("read accounts: %w", err)
	}
	defer func() { _ = f.Close() }()
	ids := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) <= index {
			continue
		}
		if id, err := strconv.Atoi(fields[index]); err == nil {
			ids[fields[0]] = id
		}
	}
	return ids, sc.Err()
}

// tmpfsMagic is TMPFS_MAGIC from linux/magic.h, the f_type of a tmpfs.
const tmpfsMagic = 0x01021994

// ErrNotTmpfs marks a secrets directory that is not on tmpfs.
var ErrNotTmpfs = errors.New("not on tmpfs")

// prepare creates Dir and the service's directory, 0700 and owned by the
// service, and checks tmpfs when writing to the real system.
func (w *writer) prepare(service string) (string, error) {
	base := filepath.Join(w.root, Dir)
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", fmt.Errorf("create %s: %w", Dir, err)
	}
	if w.root == "" {
		var st syscall.Statfs_t
		if err := syscall.Statfs(base, &st); err != nil {
			return "", fmt.Errorf("statfs %s: %w", Dir, err)
		}
		if st.Type != tmpfsMagic {
			return "", fmt.Errorf("%s is %w: mount a tmpfs there (systemd mounts /run as "+
				"one) so secrets never reach the disk", Dir, ErrNotTmpfs)
		}
	}
	dir := filepath.Join(base, service)
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("create %s: %w", path.Join(Dir, service), err)
	}
	o := w.owners[service]
	if err := os.Lchown(dir, o.uid, o.gid); err != nil {
		return "", fmt.Errorf("chown %s: %w", path.Join(Dir, service), err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return "", fmt.Errorf("chmod %s: %w", path.Join(Dir, service), err)
	}
	return dir, nil
}

// write writes every service's files and include file and returns the
// paths on the node.
func (w *writer) write(out *output) ([]string, error) {
	var written []string
	services := make([]string, 0, len(w.owners))
	for s := range w.owners {
		services = append(services, s)
	}
	sort.Strings(services)
	for _, service := range services {
		dir, err := w.prepare(service)
		if err != nil {
			return nil, err
		}
		include, err := includeFile(out.settings[service])
		if err != nil {
			return nil, fmt.Errorf("service %s: %w", service, err)
		}
		files := map[string]string{IncludeFile: include}
		for name, data := range out.files[service] {
			files[name] = data
		}
		o := w.owners[service]
		for name, data := range files {
			if err := atomicfile.WriteFile(filepath.Join(dir, name), []byte(data), 0o600,
				o.uid, o.gid); err != nil {
				return nil, fmt.Errorf("write %s: %w", path.Join(Dir, service, name), err)
			}
			written = append(written, path.Join(Dir, service, name))
		}
	}
	sort.Strings(written)
	return written, nil
}
