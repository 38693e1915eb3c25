package harness

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/miekg/dns"

	"github.com/hashistack/bootstrap/internal/testenv/dnsserver"
)

// DNS is a DNS server for the servers under test. The real servers resolve
// their retry_join names with the system resolver, which reads
// /etc/resolv.conf and can only ask port 53. So the records are served on
// port 53 of a loopback address of the test's own, and ResolvConf names
// it; the test units bind that file over /etc/resolv.conf.
type DNS struct {
	// Server contains the records. It also serves them on its own
	// 127.0.0.1 port, which is what the agent's dns.server setting takes.
	*dnsserver.Server
	// Port53 is "IP:53".
	Port53 string
	// ResolvConf is a resolv.conf that names only Port53.
	ResolvConf string
}

// StartDNS serves records on ip:53 (over UDP and TCP) and on 127.0.0.1,
// until the test ends. ip must be a loopback address that no other test
// uses, such as 127.0.53.1.
func StartDNS(t testing.TB, ip string, records map[string][]string) *DNS {
	t.Helper()
	if !net.ParseIP(ip).IsLoopback() {
		t.Fatalf("dns address %s is not a loopback address", ip)
	}
	srv := dnsserver.Start(t, records)
	d := &DNS{Server: srv, Port53: net.JoinHostPort(ip, "53")}
	for _, network := range []string{"udp", "tcp"} {
		serveOn(t, network, d.Port53, srv)
	}
	d.ResolvConf = filepath.Join(t.TempDir(), "resolv.conf")
	conf := "nameserver " + ip + "\noptions timeout:1 attempts:3\n"
	if err := os.WriteFile(d.ResolvConf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return d
}

func serveOn(t testing.TB, network, addr string, h dns.Handler) {
	t.Helper()
	started := make(chan struct{})
	s := &dns.Server{Addr: addr, Net: network, Handler: h,
		NotifyStartedFunc: func() { close(started) }}
	failed := make(chan error, 1)
	go func() { failed <- s.ListenAndServe() }()
	select {
	case <-started:
	case err := <-failed:
		t.Fatalf("dns server on %s/%s: %v", addr, network, err)
	}
	t.Cleanup(func() { _ = s.Shutdown() })
}
