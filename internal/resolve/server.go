package resolve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/miekg/dns"
)

// queryTimeout bounds one query, so a server that drops packets is
// reported as timing out and retried instead of blocking the whole wait.
const queryTimeout = 2 * time.Second

// Server returns a Resolver that sends A and AAAA queries to the DNS server
// at addr ("host:port") over UDP, and again over TCP when the UDP answer is
// truncated.
func Server(addr string) Resolver {
	return &serverResolver{addr: addr, timeout: queryTimeout}
}

type serverResolver struct {
	addr    string
	timeout time.Duration
}

// answer is the outcome of one query type.
type answer struct {
	addrs []netip.Addr
	rcode int
	err   error // transport error; rcode is meaningless when set
}

func (s *serverResolver) Lookup(ctx context.Context, name string) ([]netip.Addr, error) {
	fqdn := dns.Fqdn(name)
	answers := []answer{s.query(ctx, fqdn, dns.TypeA), s.query(ctx, fqdn, dns.TypeAAAA)}
	var addrs []netip.Addr
	for _, a := range answers {
		addrs = append(addrs, a.addrs...)
	}
	if len(addrs) > 0 {
		return addrs, nil
	}
	return nil, s.classify(name, answers)
}

// classify turns two answers without addresses into one error, the most
// telling first: a transport failure, then NXDOMAIN, then other rcodes.
func (s *serverResolver) classify(name string, answers []answer) error {
	lerr := &LookupError{Name: name, Server: s.addr}
	for _, a := range answers {
		if a.err != nil {
			lerr.Kind, lerr.Err = transportKind(a.err), a.err
			return lerr
		}
	}
	for _, rcode := range []int{dns.RcodeNameError, dns.RcodeServerFailure, dns.RcodeRefused} {
		for _, a := range answers {
			if a.rcode == rcode {
				lerr.Kind = rcodeKind(rcode)
				return lerr
			}
		}
	}
	for _, a := range answers {
		if a.rcode != dns.RcodeSuccess {
			lerr.Err = fmt.Errorf("answered %s", dns.RcodeToString[a.rcode])
			return lerr
		}
	}
	lerr.Kind = ErrNoAddress
	return lerr
}

func rcodeKind(rcode int) error {
	switch rcode {
	case dns.RcodeNameError:
		return ErrNotFound
	case dns.RcodeServerFailure:
		return ErrServerFailure
	default:
		return ErrRefused
	}
}

func transportKind(err error) error {
	var nerr net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &nerr) && nerr.Timeout()) {
		return ErrTimeout
	}
	// Connection refused (for UDP, an ICMP port unreachable), no route and
	// the rest: no answer could be exchanged with the server.
	return ErrUnreachable
}

func (s *serverResolver) query(ctx context.Context, fqdn string, qtype uint16) answer {
	msg := new(dns.Msg)
	msg.SetQuestion(fqdn, qtype)
	in, err := s.exchange(ctx, "udp", msg)
	if err == nil && in.Truncated {
		in, err = s.exchange(ctx, "tcp", msg)
	}
	if err != nil {
		return answer{err: err}
	}
	return answer{addrs: addresses(in, qtype), rcode: in.Rcode}
}

// exchange sends msg and reads the answer. miekg/dns honours only the
// context's deadline, so the connection is closed when ctx is cancelled.
func (s *serverResolver) exchange(ctx context.Context, network string, msg *dns.Msg) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	client := &dns.Client{Net: network}
	conn, err := client.DialContext(ctx, s.addr)
	if err != nil {
		return nil, err
	}
	defer func() { _ = conn.Close() }()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	in, _, err := client.ExchangeWithConnContext(ctx, msg, conn)
	if err != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("no answer over %s: %w", network, ctx.Err())
	}
	if err != nil {
		return nil, fmt.Errorf("exchange over %s: %w", network, err)
	}
	return in, nil
}

// addresses returns the records of type qtype in the answer section,
// whatever owner name a CNAME chain led them to.
func addresses(in *dns.Msg, qtype uint16) []netip.Addr {
	var addrs []netip.Addr
	for _, rr := range in.Answer {
		var ip net.IP
		switch rec := rr.(type) {
		case *dns.A:
			ip = rec.A
		case *dns.AAAA:
			ip = rec.AAAA
		}
		if rr.Header().Rrtype != qtype {
			continue
		}
		if addr, ok := netip.AddrFromSlice(ip); ok {
			addrs = append(addrs, addr.Unmap())
		}
	}
	return addrs
}
