package diagnose

import (
	"context"
	"errors"
	"net/netip"
	"sort"
	"strings"
	"sync"

	"github.com/hashistack/bootstrap/internal/node"
	"github.com/hashistack/bootstrap/internal/resolve"
)

func (e *env) checkRetryJoin(ctx context.Context) Result {
	if r := e.needRole("retry-join"); r != nil {
		return *r
	}
	names := e.joinNames()
	if len(names) == 0 {
		return result("retry-join", Skip, "role %s joins no DNS name", e.role.Name)
	}
	server := e.st.Config.DNS.Server
	resolver := e.o.Resolver(server)
	lines := make([]Line, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() { lines[i] = lookupLine(ctx, resolver, name) })
	}
	wg.Wait()
	via := "the system resolver"
	if server != "" {
		via = "dns.server " + server
	}
	r := result("retry-join", OK, "%s resolved through %s", plural(len(names), "name"), via)
	for _, l := range lines {
		r.add(l)
	}
	if r.Status != OK {
		r.Summary = "a retry_join name does not resolve through " + via
	}
	return r
}

// joinNames returns the role's retry_join names, each once, in order.
func (e *env) joinNames() []string {
	seen := map[string]bool{}
	var names []string
	for _, s := range e.role.Services {
		for _, n := range joinList(e.st.Config.Join, s.Join) {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	return names
}

func joinList(j node.JoinConfig, kind string) []string {
	switch kind {
	case "consul":
		return j.Consul
	case "nomad":
		return j.Nomad
	case "vault":
		return j.Vault
	}
	return nil
}

// lookupLine looks name up once; the run's own wait retries, diagnose
// reports what DNS answers now.
func lookupLine(ctx context.Context, r resolve.Resolver, name string) Line {
	l := Line{Status: OK, Name: name}
	if addr, err := netip.ParseAddr(name); err == nil {
		l.Value = "is an IP address"
		l.Attrs = map[string]any{"addresses": []string{addr.String()}}
		return l
	}
	addrs, err := r.Lookup(ctx, name)
	if err == nil && len(addrs) == 0 {
		err = &resolve.LookupError{Name: name, Kind: resolve.ErrNoAddress}
	}
	if err != nil {
		l.Status, l.Value, l.Fix = Fail, err.Error(), lookupFix(err)
		l.Attrs = map[string]any{"addresses": []string{}}
		return l
	}
	text := make([]string, 0, len(addrs))
	for _, a := range addrs {
		text = append(text, a.String())
	}
	sort.Strings(text)
	l.Value = strings.Join(text, " ")
	l.Attrs = map[string]any{"addresses": text}
	return l
}

func lookupFix(err error) string {
	switch {
	case errors.Is(err, resolve.ErrNotFound), errors.Is(err, resolve.ErrNoAddress):
		return "create the record (for a Route 53 private zone, associate the zone with this VPC), " +
			"or correct join.* at its source (diagnose --explain shows it)"
	case errors.Is(err, resolve.ErrTimeout), errors.Is(err, resolve.ErrUnreachable):
		return "check dns.server and the security groups or NACLs between the node and the DNS server"
	}
	return "check the DNS server's logs for this name"
}
