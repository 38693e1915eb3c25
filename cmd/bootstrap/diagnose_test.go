package main

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/hashistack/bootstrap/internal/diagnose/diagtest"
	"github.com/hashistack/bootstrap/internal/testenv/dnsserver"
	"github.com/hashistack/bootstrap/internal/testenv/systemd"
	"github.com/hashistack/bootstrap/internal/units"
)

// diagnoseCmds are the script commands of the diagnose scripts.
var diagnoseCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"diagnode": cmdDiagnode,
	"dns":      cmdDNS,
	"consul":   cmdConsul,
	"clock":    cmdClock,
	"systemd":  cmdSystemd,
}

// scriptCondition answers [systemd]: whether a contained systemd manager
// can run here.
func scriptCondition(cond string) (bool, error) {
	if cond == "systemd" {
		return systemd.Available() == nil, nil
	}
	return false, nil
}

// cmdDiagnode writes the state tree of a node below ROOT, as a run would
// have left it. The DNS server is $DNS_SERVER when the dns command set it.
//
//	diagnode [-role R] [-addr A] [-join N,...] [-fail STAGE=ERROR] [-killed STAGE] [-signal DETAIL] ROOT
func cmdDiagnode(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! diagnode")
	}
	n := diagtest.Node{Role: "consul-server", Addr: "127.0.0.1", DNSServer: ts.Getenv("DNS_SERVER"),
		TargetState: "InService"}
	for len(args) > 2 && strings.HasPrefix(args[0], "-") {
		flag, value := args[0], args[1]
		args = args[2:]
		switch flag {
		case "-role":
			n.Role = value
		case "-addr":
			n.Addr = value
		case "-join":
			n.Join = strings.Split(value, ",")
		case "-fail":
			n.FailStage, n.FailError, _ = strings.Cut(value, "=")
		case "-killed":
			n.FailStage, n.Running = value, true
		case "-signal":
			n.SignalDetail = value
		default:
			ts.Fatalf("diagnode: unknown flag %s", flag)
		}
	}
	if len(args) != 1 {
		ts.Fatalf("usage: diagnode [-role R] [-addr A] [-join N,...] [-fail STAGE=ERROR] [-killed STAGE] [-signal DETAIL] ROOT")
	}
	_, err := diagtest.Write(ts.MkAbs(args[0]), n)
	ts.Check(err)
}

// cmdDNS serves NAME=ADDR records on a loopback DNS server of the script's
// own and sets DNS_SERVER to its address.
//
//	dns [NAME=ADDR ...]
func cmdDNS(ts *testscript.TestScript, neg bool, args []string) {
	records := map[string][]string{}
	for _, kv := range args {
		name, addr, ok := strings.Cut(kv, "=")
		if !ok {
			ts.Fatalf("dns: %q is not NAME=ADDR", kv)
		}
		records[name] = append(records[name], addr)
	}
	srv, err := dnsserver.Launch(records)
	ts.Check(err)
	ts.Defer(srv.Stop)
	ts.Setenv("DNS_SERVER", srv.Addr)
}

// cmdConsul serves a healthy Consul server's health API on ADDR:8500.
//
//	consul ADDR
func cmdConsul(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: consul ADDR")
	}
	srv, err := diagtest.Consul(net.JoinHostPort(args[0], "8500"), diagtest.InstanceID)
	ts.Check(err)
	ts.Defer(srv.Close)
}

// cmdClock serves a Date header SKEW ahead of the local clock (an old
// Date for a negative SKEW) and points AWS_ENDPOINT_URL_STS at it.
//
//	clock [SKEW]
func cmdClock(ts *testscript.TestScript, neg bool, args []string) {
	var skew time.Duration
	if len(args) == 1 {
		var err error
		skew, err = time.ParseDuration(args[0])
		ts.Check(err)
	}
	srv, err := diagtest.Clock(skew)
	ts.Check(err)
	ts.Defer(srv.Close)
	ts.Setenv("AWS_ENDPOINT_URL_STS", srv.URL)
}

// cmdSystemd starts a contained systemd user manager with each UNIT
// running sleep, starts the units and sets SYSTEMD_SOCKET.
//
//	systemd UNIT...
func cmdSystemd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: systemd UNIT...")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	home := filepath.Join(ts.Getenv("WORK"), ".systemd")
	m, err := systemd.Launch(ctx, systemd.Options{ConfigHome: home})
	ts.Check(err)
	ts.Defer(func() { ts.Check(m.Stop()) })
	for _, unit := range args {
		ts.Check(os.WriteFile(filepath.Join(m.UnitDir, unit),
			[]byte("[Service]\nExecStart=/bin/sleep infinity\n"), 0o644))
	}
	conn, err := units.Dial(ctx, m.Socket)
	ts.Check(err)
	defer conn.Close()
	ts.Check(units.Start(ctx, conn, args, slog.New(slog.DiscardHandler)))
	ts.Setenv("SYSTEMD_SOCKET", m.Socket)
}
