package health

import (
	"context"
	"fmt"
	"net/http"
)

const (
	consulLeaderPath    = "/v1/status/leader"
	consulSelfPath      = "/v1/agent/self"
	consulAutopilotPath = "/v1/operator/autopilot/health"
)

// consulSelf is the part of GET /v1/agent/self the member check reads.
type consulSelf struct {
	Config struct {
		NodeName string `json:"NodeName"`
		Server   bool   `json:"Server"`
	} `json:"Config"`
	Member struct {
		Name string `json:"Name"`
		// Status is Serf's member status as a number; serfStatuses names it.
		Status int `json:"Status"`
	} `json:"Member"`
}

// serfStatuses names Serf's member status numbers (serf.MemberStatus).
var serfStatuses = []string{"none", "alive", "leaving", "left", "failed"}

const serfAlive = 1

// consulAutopilot is the body of GET /v1/operator/autopilot/health.
type consulAutopilot struct {
	Healthy bool `json:"Healthy"`
	Servers []struct {
		Name       string `json:"Name"`
		SerfStatus string `json:"SerfStatus"`
		Healthy    bool   `json:"Healthy"`
		Voter      bool   `json:"Voter"`
	} `json:"Servers"`
}

// probeConsulLeader checks that the agent reports a cluster leader. Consul
// responds 200 with an empty string while there is none.
func probeConsulLeader(ctx context.Context, a *agent, _ Target) result {
	return probeLeader(ctx, a, consulLeaderPath)
}

// probeLeader reads a /v1/status/leader endpoint, which Consul and Nomad
// both serve as a JSON string, empty without a leader.
func probeLeader(ctx context.Context, a *agent, path string) result {
	ans, err := a.get(ctx, path, nil, false)
	if err != nil {
		return pending("%v", err)
	}
	if ans.code != http.StatusOK {
		return pending("%s", ans.unexpected())
	}
	var leader string
	if err := ans.decode(&leader); err != nil {
		return pending("%v", err)
	}
	if leader == "" {
		return pending("no leader yet (%s)", ans.from())
	}
	return healthy("leader %s (%s)", leader, ans.from())
}

// probeConsulMember checks that the agent is an alive member under the
// expected node name and, for a server, a healthy raft voter.
func probeConsulMember(ctx context.Context, a *agent, t Target) result {
	if t.NodeName == "" {
		return fatal("invalid target: a %s check needs the node name", t.Kind)
	}
	ans, err := a.get(ctx, consulSelfPath, nil, true)
	if err != nil {
		return pending("%v", err)
	}
	if ans.code != http.StatusOK {
		return pending("%s", ans.unexpected())
	}
	var self consulSelf
	if err := ans.decode(&self); err != nil {
		return pending("%v", err)
	}
	r := classifyConsulSelf(self, t, ans)
	if !r.healthy || !t.Server {
		return r
	}
	if a.token == "" {
		r.reason += "; autopilot check not run: no token"
		return r
	}
	return consulAutopilotVoter(ctx, a, t.NodeName, r.reason)
}

// classifyConsulSelf checks the agent's name, role and Serf status.
func classifyConsulSelf(self consulSelf, t Target, ans response) result {
	// NOTE: a name that differs means the agent did not load the rendered
	// config, or another agent owns the address; waiting fixes neither.
	if self.Config.NodeName != t.NodeName {
		return fatal("agent node name %q differs from the expected %q (%s)",
			self.Config.NodeName, t.NodeName, ans.from())
	}
	if t.Server && !self.Config.Server {
		return fatal("agent %q runs as a client but the role expects a server (%s)",
			t.NodeName, ans.from())
	}
	if self.Member.Status != serfAlive {
		return pending("member %q is %s, not alive (%s)",
			t.NodeName, serfStatusName(self.Member.Status), ans.from())
	}
	return healthy("member %q is alive (%s)", t.NodeName, ans.from())
}

func serfStatusName(status int) string {
	if status >= 0 && status < len(serfStatuses) {
		return serfStatuses[status]
	}
	return fmt.Sprintf("in status %d", status)
}

// consulAutopilotVoter checks that autopilot lists name as a healthy voter.
// Consul responds 429 with the same body when any server is unhealthy, so
// both codes are read, and this node's own entry decides.
func consulAutopilotVoter(ctx context.Context, a *agent, name, memberReason string) result {
	ans, err := a.get(ctx, consulAutopilotPath, nil, true)
	if err != nil {
		return pending("%s; %v", memberReason, err)
	}
	if ans.code == http.StatusForbidden {
		// The node's agent token needs only agent:read and node:read; a
		// policy granting operator:read as well turns the voter check on.
		r := healthy("%s", memberReason)
		r.reason += "; autopilot check not run: the token lacks operator:read"
		return r
	}
	if ans.code != http.StatusOK && ans.code != http.StatusTooManyRequests {
		return pending("%s; autopilot check: %s", memberReason, ans.unexpected())
	}
	var health consulAutopilot
	if err := ans.decode(&health); err != nil {
		return pending("%s; %v", memberReason, err)
	}
	for _, s := range health.Servers {
		if s.Name != name {
			continue
		}
		switch {
		case !s.Healthy:
			return pending("%s; autopilot reports server %q unhealthy, serf status %s (%s)",
				memberReason, name, s.SerfStatus, ans.from())
		case !s.Voter:
			return pending("%s; server %q is not a voter yet (%s)", memberReason, name, ans.from())
		}
		return healthy("%s; healthy voter (%s)", memberReason, ans.from())
	}
	return pending("%s; autopilot does not list server %q yet (%s)", memberReason, name, ans.from())
}
