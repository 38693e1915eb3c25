// Package scratch prepares a scratch root in which `bootstrap run --root`
// performs a whole first boot on this machine: the service users in
// etc/passwd and etc/group, the AMI's bootstrap.toml, and user unit files
// that run the stand-in agent in place of Consul, Nomad and Vault.
//
// The end-to-end tests and the demo share it, so both boot the same tree.
package scratch

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashistack/bootstrap/roles"
)

// UnitDir is where the scratch tree keeps unit files, below the root. A
// contained `systemd --user` started with XDG_CONFIG_HOME=<root>/etc reads
// them from there.
const UnitDir = "/etc/systemd/user"

// Node describes one scratch node.
type Node struct {
	Root string
	Role string
	// Addr is the loopback address the node binds to, such as "127.0.0.11".
	Addr string
	// DNSServer is the loopback DNS server that serves the join names.
	DNSServer string
	// StandinAgent is the path of the stand-in agent binary.
	StandinAgent string
	// Extra is appended to the generated bootstrap.toml.
	Extra string
}

// ports are the HTTP API ports of each service, as the real agents use.
var ports = map[string]int{"consul": 8500, "nomad": 4646, "vault": 8200}

// ConfigHome is the XDG_CONFIG_HOME for the node's systemd manager.
func (n Node) ConfigHome() string { return filepath.Join(n.Root, "etc") }

// APIAddr returns the "host:port" the stand-in for service listens on.
func (n Node) APIAddr(service string) string {
	return fmt.Sprintf("%s:%d", n.Addr, ports[service])
}

// Prepare writes the scratch tree for n.
func Prepare(n Node) error {
	role, err := roles.Load(n.Role)
	if err != nil {
		return err
	}
	files := map[string]string{
		"etc/passwd":                   passwd(),
		"etc/group":                    group(),
		"etc/bootstrap/bootstrap.toml": n.bootstrapTOML(),
	}
	for _, s := range role.Services {
		files[filepath.Join(UnitDir[1:], s.Unit)] = n.unit(role, s)
	}
	for rel, content := range files {
		p := filepath.Join(n.Root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// passwd maps the service users to the current user, so the agent can
// chown files to them without root in tests.
func passwd() string {
	uid, gid := os.Getuid(), os.Getgid()
	var b strings.Builder
	fmt.Fprintf(&b, "root:x:0:0:root:/root:/bin/sh\n")
	for _, u := range []string{"consul", "nomad", "vault"} {
		fmt.Fprintf(&b, "%s:x:%d:%d:%s:/nonexistent:/usr/sbin/nologin\n", u, uid, gid, u)
	}
	return b.String()
}

func group() string {
	gid := os.Getgid()
	var b strings.Builder
	fmt.Fprintf(&b, "root:x:0:\n")
	for _, g := range []string{"consul", "nomad", "vault"} {
		fmt.Fprintf(&b, "%s:x:%d:\n", g, gid)
	}
	return b.String()
}

func (n Node) bootstrapTOML() string {
	return fmt.Sprintf(`# The AMI's configuration for a scratch node on loopback.
[dns]
server = %q
wait = "20s"

[network]
bind = %q
client = %q

[systemd]
unit_dir = %q

[nomad]
fingerprint_denylist = ["env_aws", "env_gce", "env_azure", "env_digitalocean"]
%s`, n.DNSServer, n.Addr, n.Addr, UnitDir, n.Extra)
}

func (n Node) unit(role roles.Role, s roles.Service) string {
	var config string
	for _, f := range role.Files {
		if f.Service == s.Name {
			config = filepath.Join(n.Root, f.Path)
			break
		}
	}
	return fmt.Sprintf(`[Unit]
Description=%s stand-in agent for a scratch %s node

[Service]
Type=notify
ExecStart=%s -role %s -config %s -listen %s
`, s.Name, role.Name, unitArg(n.StandinAgent), s.Name, unitArg(config), n.APIAddr(s.Name))
}

// unitArg quotes s as one ExecStart argument: double quotes with C-style
// escapes, and "%%" for a literal "%", which systemd expands otherwise.
func unitArg(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "%", "%%")
	return `"` + r.Replace(s) + `"`
}
