// Package dnsserver runs a small authoritative DNS server on loopback for
// tests and the demo, so that no lookup of a test name ever reaches the
// machine's real resolver.
//
// Names it knows answer with their A and AAAA records; a name registered
// with no address answers NOERROR with an empty answer; any other name is
// NXDOMAIN.
package dnsserver

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// Server is a running DNS server on 127.0.0.1, over UDP and TCP.
type Server struct {
	// Addr is "127.0.0.1:PORT".
	Addr string

	mu      sync.Mutex
	records map[string][]netip.Addr
	udp     *dns.Server
	tcp     *dns.Server
}

// Launch starts a server on 127.0.0.1 and a port the kernel picks, with
// the same port for UDP and TCP.
func Launch(records map[string][]string) (*Server, error) {
	s := &Server{records: map[string][]netip.Addr{}}
	for name, addrs := range records {
		if err := s.Set(name, addrs...); err != nil {
			return nil, err
		}
	}
	var lastErr error
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		addr := pc.LocalAddr().String()
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			_ = pc.Close()
			lastErr = err
			continue
		}
		s.Addr = addr
		s.udp = &dns.Server{PacketConn: pc, Handler: s}
		s.tcp = &dns.Server{Listener: ln, Handler: s}
		s.serve()
		return s, nil
	}
	return nil, fmt.Errorf("dns server: no free port for UDP and TCP: %w", lastErr)
}

// Start launches a server and stops it when the test ends.
func Start(t testing.TB, records map[string][]string) *Server {
	t.Helper()
	s, err := Launch(records)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) serve() {
	started := make(chan struct{}, 2)
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		srv.NotifyStartedFunc = func() { started <- struct{}{} }
		go func() { _ = srv.ActivateAndServe() }()
	}
	<-started
	<-started
}

// Stop shuts the server down.
func (s *Server) Stop() {
	_ = s.udp.Shutdown()
	_ = s.tcp.Shutdown()
}

// Set replaces the addresses of name. No address makes the name exist
// with an empty answer.
func (s *Server) Set(name string, addrs ...string) error {
	var parsed []netip.Addr
	for _, a := range addrs {
		ip, err := netip.ParseAddr(a)
		if err != nil {
			return fmt.Errorf("dns server: record %s: %w", name, err)
		}
		parsed = append(parsed, ip)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[dns.Fqdn(strings.ToLower(name))] = parsed
	return nil
}

// Delete removes name, which then answers NXDOMAIN.
func (s *Server) Delete(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.records, dns.Fqdn(strings.ToLower(name)))
}

// ServeDNS answers one query.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		_ = w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	s.mu.Lock()
	addrs, ok := s.records[strings.ToLower(q.Name)]
	s.mu.Unlock()
	if !ok {
		m.Rcode = dns.RcodeNameError
		_ = w.WriteMsg(m)
		return
	}
	for _, a := range addrs {
		hdr := dns.RR_Header{Name: q.Name, Class: dns.ClassINET, Ttl: 5}
		switch {
		case q.Qtype == dns.TypeA && a.Is4():
			hdr.Rrtype = dns.TypeA
			m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: a.AsSlice()})
		case q.Qtype == dns.TypeAAAA && a.Is6():
			hdr.Rrtype = dns.TypeAAAA
			m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr, AAAA: a.AsSlice()})
		}
	}
	_ = w.WriteMsg(m)
}
