package resolve

import (
	"context"
	"errors"
	"net"
	"net/netip"
)

// systemServer names the system resolver in errors.
const systemServer = "the system resolver (/etc/resolv.conf)"

// System returns a Resolver that asks the operating system's resolver
// (Go's net.DefaultResolver, configured by /etc/resolv.conf and
// /etc/nsswitch.conf). On EC2 that is the VPC resolver.
//
// NOTE: Go's resolver reports NXDOMAIN and an answer without records
// alike as "not found", so this Resolver returns ErrNotFound for both.
// [Server] tells them apart.
func System() Resolver {
	return systemResolver{resolver: net.DefaultResolver}
}

type systemResolver struct {
	resolver *net.Resolver
}

func (s systemResolver) Lookup(ctx context.Context, name string) ([]netip.Addr, error) {
	addrs, err := s.resolver.LookupNetIP(ctx, "ip", name)
	if err != nil {
		return nil, &LookupError{Name: name, Server: systemServer, Kind: systemKind(err), Err: err}
	}
	for i, a := range addrs {
		addrs[i] = a.Unmap()
	}
	return addrs, nil
}

func systemKind(err error) error {
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) {
		return nil
	}
	switch {
	case dnsErr.IsNotFound:
		return ErrNotFound
	case dnsErr.IsTimeout:
		return ErrTimeout
	case dnsErr.IsTemporary:
		// Go reports SERVFAIL as a temporary "server misbehaving" error.
		return ErrServerFailure
	}
	return nil
}
