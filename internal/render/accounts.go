package render

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// accounts holds the users and groups of the target tree, read from its
// etc/passwd and etc/group files. The files are parsed directly instead of
// through os/user or NSS, so a scratch root resolves its own accounts and
// not those of the machine running the tests.
type accounts struct {
	passwdPath, groupPath string
	users                 map[string]account // by user name; gid is the primary group
	groups                map[string]int     // gid by group name
	groupNames            map[int]string     // group name by gid, first entry wins
}

type account struct {
	uid, gid int
}

// owner is a resolved file owner.
type owner struct {
	user, group string
	uid, gid    int
}

func readAccounts(root string) (*accounts, error) {
	a := &accounts{
		passwdPath: filepath.Join(root, "etc/passwd"),
		groupPath:  filepath.Join(root, "etc/group"),
		users:      map[string]account{},
		groups:     map[string]int{},
		groupNames: map[int]string{},
	}
	if err := readColonFile(a.passwdPath, 7, a.addUser); err != nil {
		return nil, err
	}
	if err := readColonFile(a.groupPath, 4, a.addGroup); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *accounts) addUser(fields []string) error {
	uid, err := strconv.Atoi(fields[2])
	if err != nil {
		return fmt.Errorf("user %q: uid %q is not a number", fields[0], fields[2])
	}
	gid, err := strconv.Atoi(fields[3])
	if err != nil {
		return fmt.Errorf("user %q: gid %q is not a number", fields[0], fields[3])
	}
	if _, dup := a.users[fields[0]]; !dup {
		a.users[fields[0]] = account{uid: uid, gid: gid}
	}
	return nil
}

func (a *accounts) addGroup(fields []string) error {
	gid, err := strconv.Atoi(fields[2])
	if err != nil {
		return fmt.Errorf("group %q: gid %q is not a number", fields[0], fields[2])
	}
	if _, dup := a.groups[fields[0]]; !dup {
		a.groups[fields[0]] = gid
	}
	if _, dup := a.groupNames[gid]; !dup {
		a.groupNames[gid] = fields[0]
	}
	return nil
}

// readColonFile calls add with the fields of each entry of a passwd(5) or
// group(5) file. Blank lines and "#" comments are skipped, as glibc does.
func readColonFile(path string, fieldCount int, add func([]string) error) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read accounts: %w", err)
	}
	scanner := bufio.NewScanner(bytes.NewReader(data))
	for line := 1; scanner.Scan(); line++ {
		text := strings.TrimSpace(scanner.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Split(text, ":")
		if len(fields) != fieldCount || fields[0] == "" {
			return fmt.Errorf("%s line %d: want %d colon-separated fields with a name first", path, line, fieldCount)
		}
		if err := add(fields); err != nil {
			return fmt.Errorf("%s line %d: %w", path, line, err)
		}
	}
	return scanner.Err()
}

// lookup resolves user and group names to ids. An empty group means the
// user's primary group.
func (a *accounts) lookup(userName, groupName string) (owner, error) {
	u, ok := a.users[userName]
	if !ok {
		return owner{}, fmt.Errorf("user %q not found in %s: install the package that creates it "+
			"(the %s package creates its service user) or add the user to the AMI", userName, a.passwdPath, userName)
	}
	o := owner{user: userName, uid: u.uid, gid: u.gid, group: groupName}
	if groupName == "" {
		o.group = a.groupNames[u.gid]
		if o.group == "" {
			o.group = strconv.Itoa(u.gid)
		}
		return o, nil
	}
	gid, ok := a.groups[groupName]
	if !ok {
		return owner{}, fmt.Errorf("group %q not found in %s: install the package that creates it "+
			"or add the group to the AMI", groupName, a.groupPath)
	}
	o.gid = gid
	return o, nil
}
