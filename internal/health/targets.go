package health

import (
	"net"
	"strconv"

	"github.com/hashistack/bootstrap/internal/node"
	"github.com/hashistack/bootstrap/roles"
)

// APIPorts are the agents' HTTP API ports, the products' defaults, which
// the rendered configs keep.
var APIPorts = map[string]int{"consul": 8500, "nomad": 4646, "vault": 8200}

// Targets builds the role's checks with the addresses the agents listen
// on: client for Consul and Nomad, bind for Vault's listener. consulToken,
// when not nil, gives the Consul checks the agent's ACL token.
func Targets(role roles.Role, cfg node.Config, bind, client string,
	consulToken func() (string, error)) []Target {
	var targets []Target
	for _, c := range role.Checks {
		host, scheme := client, "http"
		if c.Service == "vault" {
			host = bind
			if !cfg.Vault.TLSDisable {
				scheme = "https"
			}
		}
		t := Target{
			Name: c.Name, Kind: c.Kind, NodeName: cfg.NodeName,
			URL: scheme + "://" + net.JoinHostPort(host, strconv.Itoa(APIPorts[c.Service])),
		}
		switch c.Kind {
		case KindNomadNode:
			t.NodeClass = cfg.NodeClass
			t.Meta = map[string]string{"namespace": cfg.Namespace, "environment": cfg.Environment}
		case KindConsulMember:
			t.Server = role.Name == "consul-server"
		}
		if c.Service == "consul" {
			t.Token = consulToken
		}
		targets = append(targets, t)
	}
	return targets
}
