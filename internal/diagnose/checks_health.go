package diagnose

import (
	"context"
	"strings"
	"sync"

	"github.com/hashistack/bootstrap/internal/health"
	"github.com/hashistack/bootstrap/internal/render"
	"github.com/hashistack/bootstrap/internal/secrets"
	"github.com/hashistack/bootstrap/internal/state"
)

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

// healthTargets builds the role's checks as the health stage does, with
// the Consul agent token the secrets stage left on tmpfs (never printed).
func (e *env) healthTargets() ([]health.Target, error) {
	cfg := e.st.Config
	bind, _, client, err := render.Addresses(cfg.Network)
	if err != nil {
		return nil, err
	}
	return health.Targets(*e.role, *cfg, bind, client, secrets.ConsulAgentToken(e.o.Root)), nil
}
