package scratch

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashistack/bootstrap/roles"
	units "github.com/hashistack/bootstrap/systemd"
)

// Real selects unit files that run the real servers in place of the
// stand-in agent, for [PrepareReal].
type Real struct {
	// Binaries maps a service name ("consul", "vault", "nomad") to the
	// path of its real binary.
	Binaries map[string]string
	// ResolvConf is bound over /etc/resolv.conf for the service, so that
	// the server resolves its retry_join names through the test's DNS
	// server.
	ResolvConf string
	// Env holds extra environment variables for each service, by service
	// name, such as the AWS credentials of Vault's awskms seal.
	Env map[string][]string
}

// PrepareReal writes the scratch tree for n like [Prepare], but with unit
// files that run the real server binaries. Each unit starts its server with
// the shipped unit's ExecStart, its paths moved below the root, and the
// data directories that the shipped units get from StateDirectory= are
// created here, because a user manager would put them below its own home.
// The shipped units' sandboxing is left out: it needs the system manager.
func PrepareReal(n Node, r Real) error {
	if err := Prepare(n); err != nil {
		return err
	}
	role, err := roles.Load(n.Role)
	if err != nil {
		return err
	}
	for _, s := range role.Services {
		unit, err := n.realUnit(role, s, r)
		if err != nil {
			return err
		}
		p := filepath.Join(n.Root, UnitDir, s.Unit)
		if err := os.WriteFile(p, []byte(unit), 0o644); err != nil {
			return err
		}
		data := filepath.Join(n.Root, "var/lib", s.Name)
		if err := os.MkdirAll(data, 0o700); err != nil {
			return err
		}
	}
	return nil
}

func (n Node) realUnit(role roles.Role, s roles.Service, r Real) (string, error) {
	bin, ok := r.Binaries[s.Name]
	if !ok {
		return "", fmt.Errorf("no real binary for service %s", s.Name)
	}
	shipped, err := units.Files.ReadFile(s.Unit)
	if err != nil {
		return "", fmt.Errorf("shipped unit %s: %w", s.Unit, err)
	}
	exec, kill, notify := shippedService(string(shipped))
	if exec == "" {
		return "", fmt.Errorf("shipped unit %s has no ExecStart", s.Unit)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[Unit]\nDescription=real %s for a scratch %s node\n\n[Service]\n",
		s.Name, role.Name)
	if notify {
		b.WriteString("Type=notify\n")
	} else {
		b.WriteString("Type=exec\n")
	}
	if kill != "" {
		fmt.Fprintf(&b, "KillSignal=%s\n", kill)
	}
	b.WriteString("TimeoutStopSec=30\nEnvironment=CHECKPOINT_DISABLE=1\n")
	for _, kv := range r.Env[s.Name] {
		fmt.Fprintf(&b, "Environment=%q\n", kv)
	}
	if r.ResolvConf != "" {
		fmt.Fprintf(&b, "BindReadOnlyPaths=%s:/etc/resolv.conf\n", r.ResolvConf)
	}
	fmt.Fprintf(&b, "ExecStart=%s\n", n.rootedCommand(exec, bin))
	return b.String(), nil
}

// shippedService returns the ExecStart command line and KillSignal of a
// shipped unit, and whether it is Type=notify.
func shippedService(unit string) (exec, kill string, notify bool) {
	sc := bufio.NewScanner(strings.NewReader(unit))
	for sc.Scan() {
		key, value, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok {
			continue
		}
		switch key {
		case "ExecStart":
			exec = value
		case "KillSignal":
			kill = value
		case "Type":
			notify = value == "notify"
		}
	}
	return exec, kill, notify
}

// rootedCommand replaces the program of a shipped ExecStart with bin and
// moves every absolute path in its arguments below the node's root. The
// shipped command has no quoting, so splitting at spaces is exact.
func (n Node) rootedCommand(exec, bin string) string {
	args := strings.Fields(exec)
	args[0] = bin
	for i, arg := range args[1:] {
		if name, value, ok := strings.Cut(arg, "="); ok && strings.HasPrefix(value, "/") {
			args[i+1] = name + "=" + filepath.Join(n.Root, value)
		} else if strings.HasPrefix(arg, "/") {
			args[i+1] = filepath.Join(n.Root, arg)
		}
	}
	for i, arg := range args {
		args[i] = quoteExecArg(arg)
	}
	return strings.Join(args, " ")
}

// quoteExecArg quotes one ExecStart argument for systemd: double quotes
// with backslash escapes, "%%" for a literal "%" (specifiers) and "$$" for
// a literal "$" (variable expansion). Plain arguments stay as they are.
func quoteExecArg(arg string) string {
	if !strings.ContainsAny(arg, " \t\"'\\%$;") {
		return arg
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "%", "%%", "$", "$$")
	return `"` + r.Replace(arg) + `"`
}
