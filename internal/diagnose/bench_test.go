package diagnose

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/hashistack/bootstrap/internal/diagnose/diagtest"
)

// BenchmarkRun measures the wall time of a whole diagnosis of a
// consul-server node with the default per-check timeout:
//
//   - healthy: every dependency has a healthy stand-in on loopback;
//   - down: nothing listens where IMDS, the agents, Vault, DNS and the clock
//     endpoint should be, and systemd refuses the connection;
//   - hung: IMDS, the clock endpoint and DNS accept requests and never
//     answer, so their checks end at the timeout.
func BenchmarkRun(b *testing.B) {
	for _, tc := range []struct {
		name string
		edit func(b *testing.B, f *fixture, o *Options)
	}{
		{"healthy", func(*testing.B, *fixture, *Options) {}},
		{"down", func(b *testing.B, f *fixture, o *Options) {
			f.node.Addr, f.node.DNSServer = "127.0.0.1", "127.0.0.1:9"
			o.IMDS, o.ClockURL = newIMDS("http://127.0.0.1:9"), "http://127.0.0.1:9"
			o.Systemd = func(context.Context) (UnitConn, error) {
				return nil, errors.New("connect to systemd: connection refused")
			}
		}},
		{"hung", func(b *testing.B, f *fixture, o *Options) {
			hung, err := diagtest.Hang("127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(hung.Close)
			o.IMDS, o.ClockURL = newIMDS(hung.URL), hung.URL
			f.node.DNSServer = blackHoleDNS(b)
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			f := healthy(b)
			o := f.opts
			o.Timeout = DefaultTimeout
			tc.edit(b, f, &o)
			o.Root = f.write(b).Root
			for b.Loop() {
				Run(b.Context(), o)
			}
		})
	}
}

// blackHoleDNS returns the address of a UDP socket that reads queries and
// never answers, as a DNS server behind a dropping firewall behaves.
func blackHoleDNS(b *testing.B) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = pc.Close() })
	return pc.LocalAddr().String()
}
