package diagnose

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/hashistack/bootstrap/internal/health"
	"github.com/hashistack/bootstrap/internal/render"
	"github.com/hashistack/bootstrap/internal/state"
)

// agentPorts are the agents' HTTP API ports, the products' defaults, which
// the rendered configs keep.
var agentPorts = map[string]int{"consul": 8500, "nomad": 4646, "vault": 8200}

func warm(st *state.File) bool {
	return st != nil && st.Instance != nil && strings.HasPrefix(st.Instance.TargetLifecycleState, "Warmed:")
}

func (e *env) checkHealth(ctx context.Context) Result {
	if r := e.needRole("health"); r != nil {
		return *r
	}
	if warm(e.st) {
		return result("health", Skip, "warm pool instance (%s): the agents do not run yet",
			e.st.Instance.TargetLifecycleState)
	}
	targets, err := e.healthTargets()
	if err != nil {
		r := result("health", Fail, "agent addresses: %v", err)
		r.Fix = "correct network.bind or network.client at its source (diagnose --explain shows it)"
		return r
	}
	if len(targets) == 0 {
		return result("health", Skip, "role %s declares no health check", e.role.Name)
	}
	statuses := make([]health.Status, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() { statuses[i] = health.Probe(ctx, e.o.HTTP, t) })
	}
	wg.Wait()
	r := result("health", OK, "%s healthy", plural(len(targets), "check"))
	for i, s := range statuses {
		r.add(healthLine(s, targets[i]))
	}
	if r.Status != OK {
		r.Summary = "the node is not a healthy cluster member now"
	}
	return r
}

func healthLine(s health.Status, t health.Target) Line {
	l := Line{Status: OK, Name: s.Name, Value: s.Reason, Attrs: map[string]any{
		"kind": s.Kind, "healthy": s.Healthy, "url": t.URL,
	}}
	if !s.Healthy {
		l.Status = Fail
		l.Fix = "see the units check and journalctl -u the agent's unit; " +
			"the agent's own logs name the peer or value it waits for"
	}
	return l
}

// healthTargets builds the role's checks with the addresses the agents
// listen on, as the health stage does: the client address for Consul and
// Nomad, the bind address for Vault's listener.
//
// NOTE: this repeats the runner's target table, which diagnose must not
// import; the checks run without ACL tokens, so a check's deeper part
// that needs one is reported as not run, as package health explains.
func (e *env) healthTargets() ([]health.Target, error) {
	cfg := e.st.Config
	bind, _, client, err := render.Addresses(cfg.Network)
	if err != nil {
		return nil, err
	}
	var targets []health.Target
	for _, c := range e.role.Checks {
		host, scheme := client, "http"
		if c.Service == "vault" {
			host = bind
			if !cfg.Vault.TLSDisable {
				scheme = "https"
			}
		}
		t := health.Target{
			Name: c.Name, Kind: c.Kind, NodeName: cfg.NodeName,
			URL: scheme + "://" + net.JoinHostPort(host, strconv.Itoa(agentPorts[c.Service])),
		}
		switch c.Kind {
		case health.KindNomadNode:
			t.NodeClass = cfg.NodeClass
			t.Meta = map[string]string{"namespace": cfg.Namespace, "environment": cfg.Environment}
		case health.KindConsulMember:
			t.Server = e.role.Name == "consul-server"
		}
		targets = append(targets, t)
	}
	return targets, nil
}
