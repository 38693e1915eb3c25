// Package roles loads the role files embedded from this directory. A role
// file declares what one kind of node runs: its services in start order,
// the files rendered for them, the secrets they need and the health checks
// that say the node is ready.
//
// Roles form an explicit table: every *.toml file here is one role, named by
// its file name, and All lists them so tests can enumerate them.
package roles

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
)

//go:embed *.toml
var files embed.FS

// Role is one parsed role file.
type Role struct {
	Name        string    `toml:"name"`
	Description string    `toml:"description"`
	Services    []Service `toml:"services"`
	Files       []File    `toml:"files"`
	Secrets     []Secret  `toml:"secrets"`
	Checks      []Check   `toml:"checks"`
}

// Service is one HashiCorp agent the role runs under systemd.
type Service struct {
	// Name is the short name used in paths, such as "consul".
	Name string `toml:"name"`
	// Unit is the systemd unit that runs it, such as "consul.service".
	Unit string `toml:"unit"`
	// User and Group own the service's rendered files and secrets.
	User  string `toml:"user"`
	Group string `toml:"group"`
	// Join names the join list in the config ("consul", "nomad" or "vault")
	// whose DNS names must resolve before the unit starts.
	Join string `toml:"join"`
}

// File is one file rendered from a template.
type File struct {
	Template string `toml:"template"`
	Path     string `toml:"path"`
	// Service names the owning service; its user and group own the file.
	Service string `toml:"service"`
	// Mode is an octal permission string such as "0640".
	Mode string `toml:"mode"`
}

// Secret is one secret the service needs, fetched at every boot and
// written below /run/bootstrap/<service>/ on tmpfs. Path, Names and
// Policies may contain {namespace}, {datacenter}, {region} and {node_name},
// which the secrets stage replaces with the node's values.
type Secret struct {
	Name    string `toml:"name"`
	Service string `toml:"service"`
	// Kind is one of the Kind* constants.
	Kind string `toml:"kind"`
	// Path is below the kind's mount, which the configuration sets per
	// environment: a KV v2 secret path, a Consul role or a PKI role.
	Path string `toml:"path"`
	// Field is the KV v2 field that holds the value.
	Field string `toml:"field"`
	// Setting is the dotted agent setting, such as "encrypt" or
	// "acl.tokens.agent", that receives the value in the service's secret
	// include file.
	Setting string `toml:"setting"`
	// Names are the DNS names of a PKI certificate, the common name first.
	Names []string `toml:"names"`
	// Policies are the policies of a legacy Vault token.
	Policies []string `toml:"policies"`
}

// Kinds of secrets.
const (
	// KindKV reads Field of a KV v2 secret.
	KindKV = "kv"
	// KindConsulACL reads a token from the Consul secrets engine.
	KindConsulACL = "consul-acl"
	// KindPKI issues a certificate, key and CA from the PKI engine.
	KindPKI = "pki"
	// KindVaultToken creates a child token with Policies, for Nomad before
	// 1.10 when configured to use one.
	KindVaultToken = "vault-token"
	// KindVaultTLS copies a Vault server's certificate, key and CA from AWS
	// Secrets Manager or a baked directory, because the server cannot ask
	// Vault before it has joined.
	KindVaultTLS = "vault-tls"
)

var secretKinds = []string{KindKV, KindConsulACL, KindPKI, KindVaultToken, KindVaultTLS}

// Check is one health check of the role.
type Check struct {
	Name    string `toml:"name"`
	Service string `toml:"service"`
	// Kind selects the check, such as "consul-leader" or "nomad-node".
	Kind string `toml:"kind"`
}

// Names returns the names of every embedded role, sorted.
func Names() []string {
	entries, err := fs.Glob(files, "*.toml")
	if err != nil {
		panic(err) // the pattern is constant and valid
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e, ".toml"))
	}
	sort.Strings(names)
	return names
}

// Load parses the embedded role called name. An unknown name returns an
// error that lists the known roles.
func Load(name string) (Role, error) {
	data, err := files.ReadFile(name + ".toml")
	if err != nil {
		return Role{}, fmt.Errorf("unknown role %q: known roles are %s",
			name, strings.Join(Names(), ", "))
	}
	return parse(name+".toml", data)
}

// All parses every embedded role, in name order.
func All() ([]Role, error) {
	var all []Role
	for _, name := range Names() {
		r, err := Load(name)
		if err != nil {
			return nil, err
		}
		all = append(all, r)
	}
	return all, nil
}

func parse(file string, data []byte) (Role, error) {
	var r Role
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&r)
	if err != nil {
		return Role{}, fmt.Errorf("roles/%s: %w", file, err)
	}
	if un := md.Undecoded(); len(un) > 0 {
		return Role{}, fmt.Errorf("roles/%s: unknown key %q", file, un[0].String())
	}
	if want := strings.TrimSuffix(path.Base(file), ".toml"); r.Name != want {
		return Role{}, fmt.Errorf("roles/%s: name %q differs from the file name", file, r.Name)
	}
	return r, r.validate(file)
}

func (r Role) validate(file string) error {
	services := map[string]bool{}
	for _, s := range r.Services {
		if s.Name == "" || s.Unit == "" || s.User == "" {
			return fmt.Errorf("roles/%s: service %q needs name, unit and user", file, s.Name)
		}
		services[s.Name] = true
	}
	for _, f := range r.Files {
		if !services[f.Service] {
			return fmt.Errorf("roles/%s: file %s names unknown service %q", file, f.Path, f.Service)
		}
		if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path {
			return fmt.Errorf("roles/%s: file path %q must be absolute and clean", file, f.Path)
		}
	}
	for _, s := range r.Secrets {
		if err := s.validate(file, services); err != nil {
			return err
		}
	}
	for _, c := range r.Checks {
		if !services[c.Service] {
			return fmt.Errorf("roles/%s: check %s names unknown service %q", file, c.Name, c.Service)
		}
	}
	return nil
}

func (s Secret) validate(file string, services map[string]bool) error {
	if !services[s.Service] {
		return fmt.Errorf("roles/%s: secret %s names unknown service %q", file, s.Name, s.Service)
	}
	if !slices.Contains(secretKinds, s.Kind) {
		return fmt.Errorf("roles/%s: secret %s has unknown kind %q: use one of %s",
			file, s.Name, s.Kind, strings.Join(secretKinds, ", "))
	}
	switch {
	case (s.Kind == KindKV || s.Kind == KindConsulACL) && (s.Path == "" || s.Setting == ""):
		return fmt.Errorf("roles/%s: secret %s of kind %s needs path and setting", file, s.Name, s.Kind)
	case s.Kind == KindKV && s.Field == "":
		return fmt.Errorf("roles/%s: secret %s of kind kv needs field", file, s.Name)
	case s.Kind == KindPKI && (s.Path == "" || len(s.Names) == 0):
		return fmt.Errorf("roles/%s: secret %s of kind pki needs path and names", file, s.Name)
	case s.Kind == KindVaultToken && (s.Setting == "" || len(s.Policies) == 0):
		return fmt.Errorf("roles/%s: secret %s of kind vault-token needs setting and policies",
			file, s.Name)
	}
	return nil
}
