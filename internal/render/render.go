// Package render turns the effective configuration and the node's role into
// the files its agents need: one HCL config per entry in the role file and a
// systemd drop-in per service. [Plan] computes the files without touching
// the target tree, [Write] writes them atomically, and [Print] and
// [WriteTree] serve the dry run.
//
// Every value that came from tags or user-data passes through the hcl or
// hclList template function, which quotes it for HCL v1 or rejects it.
// Every rendered config is parsed back with the HCL v1 parser before it is
// returned. The package never logs, and it never writes or reads a secret:
// secrets reach the agents through files on tmpfs that the secrets stage
// writes.
package render

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"text/template"

	"github.com/hashicorp/hcl"

	"github.com/hashistack/bootstrap/internal/node"
	"github.com/hashistack/bootstrap/roles"
	"github.com/hashistack/bootstrap/templates"
)

// Input is everything Plan needs.
type Input struct {
	// Root prefixes every path on the node; "" or "/" is the real system.
	// It must be absolute, because the rendered configs contain it.
	Root     string
	Role     roles.Role
	Config   node.Config
	Instance node.Instance
	// Secrets maps a secret's name to its file path on tmpfs. It is filled
	// by the secrets stage and may be nil.
	Secrets map[string]string
}

// File is one planned file.
type File struct {
	// Path is the path on the node, without Root.
	Path string
	Data []byte
	Mode fs.FileMode
	// Owner and Group name the owner; UID and GID are their ids, resolved
	// from Root's etc/passwd and etc/group.
	Owner, Group string
	UID, GID     int
}

// Drop-ins are owned by root and world-readable, like the unit files they
// extend: systemd reads them as root, and a service user must not be able
// to change how its own unit starts.
const (
	dropinName = "50-bootstrap.conf"
	dropinMode = 0o644
)

var parsedTemplates = sync.OnceValues(func() (*template.Template, error) {
	return template.New("").Funcs(templateFuncs).Option("missingkey=error").ParseFS(templates.FS, "*")
})

// Plan executes the role's templates and returns the files to write, the
// role's configs first, then one drop-in per service that has configs. It
// reads Root's etc/passwd and etc/group and nothing else.
func Plan(in Input) ([]File, error) {
	root, err := cleanRoot(in.Root)
	if err != nil {
		return nil, err
	}
	data, err := newConfigData(in, root)
	if err != nil {
		return nil, err
	}
	accts, err := readAccounts(rootDir(root))
	if err != nil {
		return nil, err
	}
	files, err := planConfigs(in.Role, data, accts)
	if err != nil {
		return nil, err
	}
	dropins, err := planDropins(in.Role, in.Config.Systemd.UnitDir, root)
	if err != nil {
		return nil, err
	}
	return append(files, dropins...), nil
}

func planConfigs(role roles.Role, data *configData, accts *accounts) ([]File, error) {
	files := make([]File, 0, len(role.Files))
	for _, f := range role.Files {
		out, err := renderConfig(f.Template, data)
		if err != nil {
			return nil, err
		}
		mode, err := parseMode(f.Mode)
		if err != nil {
			return nil, fmt.Errorf("role %s: file %s: %w", role.Name, f.Path, err)
		}
		svc, ok := findService(role, f.Service)
		if !ok {
			return nil, fmt.Errorf("role %s: file %s names unknown service %q", role.Name, f.Path, f.Service)
		}
		o, err := accts.lookup(svc.User, svc.Group)
		if err != nil {
			return nil, fmt.Errorf("owner of %s: %w", f.Path, err)
		}
		files = append(files, File{Path: f.Path, Data: out, Mode: mode,
			Owner: o.user, Group: o.group, UID: o.uid, GID: o.gid})
	}
	return files, nil
}

// renderConfig executes one config template. The output of an HCL
// template is parsed back: the template quotes every input value, so a
// parse failure is a bug in the template, never bad input.
func renderConfig(name string, data *configData) ([]byte, error) {
	out, err := execute(name, data)
	if err != nil {
		return nil, err
	}
	if path.Ext(name) != ".hcl" {
		return out, nil
	}
	if _, err := hcl.ParseBytes(out); err != nil {
		return nil, fmt.Errorf("render %s: output is not valid HCL, a bug in the template: %w", name, err)
	}
	return out, nil
}

func execute(name string, data any) ([]byte, error) {
	tmpl, err := parsedTemplates()
	if err != nil {
		return nil, fmt.Errorf("parse templates: %w", err)
	}
	t := tmpl.Lookup(name)
	if t == nil {
		return nil, fmt.Errorf("render %s: no such template in templates/", name)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

func findService(role roles.Role, name string) (roles.Service, bool) {
	for _, s := range role.Services {
		if s.Name == name {
			return s, true
		}
	}
	return roles.Service{}, false
}

var modePattern = regexp.MustCompile(`^0[0-7]{3}$`)

func parseMode(s string) (fs.FileMode, error) {
	if !modePattern.MatchString(s) {
		return 0, fmt.Errorf("mode %q is not an octal permission such as \"0640\"", s)
	}
	m, err := strconv.ParseUint(s, 8, 32)
	if err != nil {
		return 0, fmt.Errorf("mode %q: %w", s, err)
	}
	return fs.FileMode(m), nil
}

// cleanRoot returns root cleaned, with "" for the real system.
func cleanRoot(root string) (string, error) {
	if root == "" {
		return "", nil
	}
	if !filepath.IsAbs(root) {
		return "", fmt.Errorf("root %q is not an absolute path: pass an absolute --root", root)
	}
	root = filepath.Clean(root)
	if root == "/" {
		return "", nil
	}
	return root, nil
}

// rootDir returns the directory to open for a cleaned root.
func rootDir(root string) string {
	if root == "" {
		return "/"
	}
	return root
}

// onNode returns the path p as seen by the agents: prefixed with the root.
func onNode(root, p string) string {
	return path.Join("/", root, p)
}
