package diagnose

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/hashistack/bootstrap/internal/diagnose/diagtest"
	"github.com/hashistack/bootstrap/internal/metadata"
	"github.com/hashistack/bootstrap/internal/standin/imds"
	"github.com/hashistack/bootstrap/internal/testenv/dnsserver"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkimds "github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

// units is a stand-in for the systemd manager's unit properties. Like
// systemd, it answers an unknown unit with LoadState "not-found" and
// ActiveState "inactive", not with an error.
type units map[string][2]string

func (u units) GetUnitPropertiesContext(ctx context.Context, unit string) (map[string]any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s, ok := u[unit]
	if !ok {
		return map[string]any{"LoadState": "not-found", "ActiveState": "inactive", "SubState": "dead"}, nil
	}
	return map[string]any{"LoadState": "loaded", "ActiveState": s[0], "SubState": s[1]}, nil
}

func (u units) GetUnitTypePropertiesContext(ctx context.Context, unit, unitType string) (map[string]any, error) {
	if unitType != "Service" {
		return nil, dbus.Error{Name: "org.freedesktop.DBus.Error.UnknownInterface"}
	}
	res := "success"
	if s := u[unit]; s[0] == "failed" {
		return map[string]any{"Result": "exit-code", "ExecMainCode": int32(1), "ExecMainStatus": int32(1)}, nil
	}
	return map[string]any{"Result": res, "ExecMainCode": int32(0), "ExecMainStatus": int32(0)}, nil
}

func (u units) Close() {}

// freeLoopback returns a loopback address of its own for a test's agent
// stand-ins, which listen on the agents' fixed ports.
func freeLoopback(t testing.TB) string {
	t.Helper()
	for i := 2; i < 250; i++ {
		addr := "127.0.91." + itoa(i)
		ln, err := net.Listen("tcp", net.JoinHostPort(addr, "8500"))
		if err != nil {
			continue
		}
		_ = ln.Close()
		return addr
	}
	t.Fatal("no free loopback address for the agent stand-ins")
	return ""
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

// fixture is a node whose every dependency has a healthy stand-in.
type fixture struct {
	root string
	node diagtest.Node
	opts Options
	dns  *dnsserver.Server
	imds *imds.Server
}

// healthy builds a consul-server node that diagnose finds healthy.
func healthy(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{root: t.TempDir()}
	addr := freeLoopback(t)
	f.dns = dnsserver.Start(t, map[string][]string{"consul.payments.internal": {"10.1.0.5", "10.1.0.6"}})
	f.imds = imds.New(t, imds.Config{
		Identity: imds.Identity{InstanceID: diagtest.InstanceID, AccountID: "123456789012",
			Region: "eu-west-1", AvailabilityZone: "eu-west-1a", PrivateIP: "10.1.2.3"},
		Tags:                 map[string]string{"Name": "node", "hashistack:role": "consul-server"},
		TargetLifecycleState: "InService",
	})
	consul, err := diagtest.Consul(net.JoinHostPort(addr, "8500"), diagtest.InstanceID)
	check(t, err)
	t.Cleanup(consul.Close)
	clock, err := diagtest.Clock(0)
	check(t, err)
	t.Cleanup(clock.Close)
	f.node = diagtest.Node{Role: "consul-server", Addr: addr, DNSServer: f.dns.Addr,
		Join: []string{"consul.payments.internal"}, TargetState: "InService"}
	f.opts = Options{
		Root:     f.root,
		IMDS:     newIMDS(f.imds.URL),
		Systemd:  func(context.Context) (UnitConn, error) { return units{"consul.service": {"active", "running"}}, nil },
		ClockURL: clock.URL,
		Timeout:  5 * time.Second,
	}
	return f
}

// write writes the fixture's node and returns the options.
func (f *fixture) write(t testing.TB) Options {
	t.Helper()
	_, err := diagtest.Write(f.root, f.node)
	check(t, err)
	return f.opts
}

func newIMDS(url string) IMDSAPI {
	return metadata.NewIMDSClient(aws.Config{}, func(o *sdkimds.Options) { o.Endpoint = url })
}

func check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// statuses maps each check's name to its status.
func statuses(rep Report) map[string]Status {
	out := map[string]Status{}
	for _, c := range rep.Checks {
		out[c.Name] = c.Status
	}
	return out
}

// find returns the named check's result.
func find(t *testing.T, rep Report, name string) Result {
	t.Helper()
	for _, c := range rep.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no check %q in the report", name)
	return Result{}
}

// text renders rep as WriteText does.
func text(t *testing.T, rep Report) string {
	t.Helper()
	var b strings.Builder
	check(t, WriteText(&b, rep))
	return b.String()
}

func writeFile(t *testing.T, root, p, content string) {
	t.Helper()
	full := filepath.Join(root, p)
	check(t, os.MkdirAll(filepath.Dir(full), 0o755))
	check(t, os.WriteFile(full, []byte(content), 0o640))
}

func removeFile(t *testing.T, root, p string) {
	t.Helper()
	check(t, os.Remove(filepath.Join(root, p)))
}

func chmod(t *testing.T, root, p string, mode os.FileMode) {
	t.Helper()
	check(t, os.Chmod(filepath.Join(root, p), mode))
}

// imdsServer starts an IMDS stand-in for the fixture's instance.
func imdsServer(t *testing.T, tagsDisabled bool) *imds.Server {
	t.Helper()
	return imds.New(t, imds.Config{
		Identity: imds.Identity{InstanceID: diagtest.InstanceID, AccountID: "123456789012",
			Region: "eu-west-1", AvailabilityZone: "eu-west-1a", PrivateIP: "10.1.2.3"},
		Tags: map[string]string{"Name": "node"}, TagsDisabled: tagsDisabled,
		TargetLifecycleState: "InService",
	})
}
