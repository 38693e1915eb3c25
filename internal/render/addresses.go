package render

import (
	"fmt"
	"net/netip"
	"strings"

	sockaddr "github.com/hashicorp/go-sockaddr/template"

	"github.com/hashistack/bootstrap/internal/node"
)

// addressExample is a template that selects exactly one address, shown in
// errors as the fix.
const addressExample = `{{ GetPrivateInterfaces | include "network" "10.0.0.0/8" | attr "address" }}`

// Addresses evaluates the go-sockaddr templates of n against this machine's
// interfaces and returns one IP address for each. A literal address such as
// "127.0.0.2" is a template without actions and comes back unchanged. An
// empty advertise template means the bind address. Each template must yield
// exactly one IP address.
func Addresses(n node.NetworkConfig) (bind, advertise, client string, err error) {
	return addresses(n, sockaddr.Parse)
}

// addresses is Addresses with the template evaluator as a parameter, so
// tests can supply fixed interfaces.
func addresses(n node.NetworkConfig, parse func(string) (string, error)) (bind, advertise, client string, err error) {
	bind, err = evalAddress("network.bind", n.Bind, parse)
	if err != nil {
		return "", "", "", err
	}
	advertise = bind
	if n.Advertise != "" {
		advertise, err = evalAddress("network.advertise", n.Advertise, parse)
		if err != nil {
			return "", "", "", err
		}
	}
	client, err = evalAddress("network.client", n.Client, parse)
	if err != nil {
		return "", "", "", err
	}
	return bind, advertise, client, nil
}

func evalAddress(key, tmpl string, parse func(string) (string, error)) (string, error) {
	if strings.TrimSpace(tmpl) == "" {
		return "", fmt.Errorf("%s is empty: set an IP address or a go-sockaddr template such as %s", key, addressExample)
	}
	out, err := parse(tmpl)
	if err != nil {
		return "", fmt.Errorf("%s: evaluate go-sockaddr template %q: %w", key, tmpl, err)
	}
	fields := strings.Fields(out)
	switch len(fields) {
	case 0:
		return "", fmt.Errorf("%s: go-sockaddr template %q matched no address on this machine: "+
			"select an existing interface or network, for example %s", key, tmpl, addressExample)
	case 1:
	default:
		return "", fmt.Errorf("%s: go-sockaddr template %q matched %d addresses (%s), want one: "+
			"narrow it to one interface or network, for example %s", key, tmpl, len(fields), out, addressExample)
	}
	addr, err := netip.ParseAddr(fields[0])
	if err != nil {
		return "", fmt.Errorf("%s: go-sockaddr template %q returned %q, which is not an IP address: "+
			"end the template with attr \"address\", for example %s", key, tmpl, fields[0], addressExample)
	}
	if addr.Zone() != "" {
		return "", fmt.Errorf("%s: go-sockaddr template %q returned %q, an address with a zone, "+
			"which the agents cannot advertise: select a routable address", key, tmpl, addr)
	}
	return addr.String(), nil
}
