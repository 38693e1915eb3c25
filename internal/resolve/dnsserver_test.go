package resolve

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// testZone is the behaviour of the test's DNS server, by query name. It
// answers as an authoritative server would: NXDOMAIN for a name that does
// not exist, NOERROR with an empty answer for a name without records of
// the asked type.
type testZone struct {
	mu      sync.Mutex
	queries map[string]int // by name and type, such as "late.test. A"
}

func (z *testZone) count(name string, qtype uint16) int {
	z.mu.Lock()
	defer z.mu.Unlock()
	key := name + " " + dns.TypeToString[qtype]
	z.queries[key]++
	return z.queries[key]
}

func (z *testZone) queriesFor(name string, qtype uint16) int {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.queries[name+" "+dns.TypeToString[qtype]]
}

func (z *testZone) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	q := req.Question[0]
	n := z.count(q.Name, q.Qtype)
	resp := new(dns.Msg)
	resp.SetReply(req)
	resp.Authoritative = true
	overUDP := w.RemoteAddr().Network() == "udp"

	switch q.Name {
	case "ok.test.":
		resp.Answer = records(q, "10.0.0.1", "fd00::1")
	case "v4only.test.":
		resp.Answer = records(q, "10.0.0.2")
	case "cname.test.":
		resp.Answer = append([]dns.RR{mustRR("cname.test. 60 IN CNAME ok.test.")},
			records(dns.Question{Name: "ok.test.", Qtype: q.Qtype, Qclass: q.Qclass}, "10.0.0.1")...)
	case "big.test.":
		var addrs []string
		for i := 1; i <= 60; i++ {
			addrs = append(addrs, fmt.Sprintf("10.1.0.%d", i))
		}
		resp.Answer = records(q, addrs...)
		if overUDP {
			// Sixty A records do not fit in 512 bytes: truncate, as a
			// server does, so the client must retry over TCP.
			resp.Answer, resp.Truncated = nil, true
		}
	case "aaaa-servfail.test.":
		if q.Qtype == dns.TypeAAAA {
			resp.Rcode = dns.RcodeServerFailure
		}
		resp.Answer = records(q, "10.0.0.3")
	case "late.test.":
		if n <= 3 {
			resp.Rcode = dns.RcodeNameError
		} else {
			resp.Answer = records(q, "10.0.0.4")
		}
	case "empty.test.":
	case "servfail.test.":
		resp.Rcode = dns.RcodeServerFailure
	case "refused.test.":
		resp.Rcode = dns.RcodeRefused
	case "notimp.test.":
		resp.Rcode = dns.RcodeNotImplemented
	default:
		resp.Rcode = dns.RcodeNameError
	}
	_ = w.WriteMsg(resp)
}

// records returns the addresses that match the question's type as records
// owned by the question's name.
func records(q dns.Question, addrs ...string) []dns.RR {
	var rrs []dns.RR
	for _, a := range addrs {
		ip := net.ParseIP(a)
		isV4 := ip.To4() != nil
		hdr := dns.RR_Header{Name: q.Name, Class: dns.ClassINET, Ttl: 60}
		switch {
		case q.Qtype == dns.TypeA && isV4:
			hdr.Rrtype = dns.TypeA
			rrs = append(rrs, &dns.A{Hdr: hdr, A: ip.To4()})
		case q.Qtype == dns.TypeAAAA && !isV4:
			hdr.Rrtype = dns.TypeAAAA
			rrs = append(rrs, &dns.AAAA{Hdr: hdr, AAAA: ip})
		}
	}
	return rrs
}

func mustRR(s string) dns.RR {
	rr, err := dns.NewRR(s)
	if err != nil {
		panic(err)
	}
	return rr
}

// startDNS starts the test zone on 127.0.0.1, UDP and TCP on one port the
// OS picks, and returns its address.
func startDNS(t *testing.T) (string, *testZone) {
	t.Helper()
	zone := &testZone{queries: map[string]int{}}
	pc, ln := listenUDPAndTCP(t)
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: zone}, {Listener: ln, Handler: zone}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go func() {
			if err := srv.ActivateAndServe(); err != nil && !strings.Contains(err.Error(), "closed") {
				t.Errorf("test DNS server: %v", err)
			}
		}()
		<-started
		t.Cleanup(func() { _ = srv.Shutdown() })
	}
	return pc.LocalAddr().String(), zone
}

// listenUDPAndTCP binds UDP on a port the OS picks, then TCP on the same
// port, trying again when another process holds that TCP port.
func listenUDPAndTCP(t *testing.T) (net.PacketConn, net.Listener) {
	t.Helper()
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln
		}
		pc.Close()
	}
	t.Fatal("no port free for both UDP and TCP on 127.0.0.1")
	return nil, nil
}

// deadServer returns the address of a UDP port that nothing listens on:
// queries get ICMP port unreachable, which reads as connection refused.
func deadServer(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

// silentServer returns the address of a UDP socket that reads queries and
// never answers, like a server behind a firewall that drops packets.
func silentServer(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().String()
}
