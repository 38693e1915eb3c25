package health

import (
	"context"
	"net/http"
	"net/url"
)

const (
	vaultHealthPath     = "/v1/sys/health"
	vaultRaftConfigPath = "/v1/sys/storage/raft/configuration"
)

// vaultHealthQuery requests a distinct status code for every state, written
// out rather than left to the defaults, and turns off standbyok and
// perfstandbyok, which would report a standby as 200. The codes are Vault's
// documented defaults. Vault 1.13 ignores the two parameters it predates
// (haunhealthycode, removedcode), and rejects a request with a malformed
// code value with 400.
var vaultHealthQuery = url.Values{
	"standbyok":              {"false"},
	"perfstandbyok":          {"false"},
	"activecode":             {"200"},
	"standbycode":            {"429"},
	"performancestandbycode": {"473"},
	"drsecondarycode":        {"472"},
	"haunhealthycode":        {"474"},
	"sealedcode":             {"503"},
	"uninitcode":             {"501"},
	"removedcode":            {"530"},
}

// vaultHealth is the body of GET /v1/sys/health.
type vaultHealth struct {
	Initialized        bool   `json:"initialized"`
	Sealed             bool   `json:"sealed"`
	Standby            bool   `json:"standby"`
	PerformanceStandby bool   `json:"performance_standby"`
	ReplicationDRMode  string `json:"replication_dr_mode"`
}

// vaultRaftConfig is the body of GET /v1/sys/storage/raft/configuration.
type vaultRaftConfig struct {
	Data struct {
		Config struct {
			Servers []struct {
				NodeID string `json:"node_id"`
				Voter  bool   `json:"voter"`
			} `json:"servers"`
		} `json:"config"`
	} `json:"data"`
}

// probeVaultHealth checks that Vault is initialized, unsealed and active or
// a standby, then, with a token, that the node is a raft voter.
func probeVaultHealth(ctx context.Context, a *agent, t Target) result {
	ans, err := a.get(ctx, vaultHealthPath, vaultHealthQuery, false)
	if err != nil {
		return pending("%v", err)
	}
	r := classifyVaultHealth(ans)
	if !r.healthy {
		return r
	}
	switch {
	case a.token == "":
		r.reason += "; raft peer check not run: no token"
	case t.NodeName == "":
		r.reason += "; raft peer check not run: no node id"
	default:
		r = vaultRaftPeer(ctx, a, t.NodeName, r.reason)
	}
	return r
}

// classifyVaultHealth maps the status code of /v1/sys/health to a result,
// and rejects a body that contradicts it.
func classifyVaultHealth(ans response) result {
	var h vaultHealth
	if err := ans.decode(&h); err != nil {
		return pending("%v", err)
	}
	state, want := vaultState(ans.code)
	switch {
	case state == "":
		return pending("%s", ans.unexpected())
	case want != nil && !want(h):
		return pending("%s but the body says initialized=%t sealed=%t standby=%t (%s)",
			state, h.Initialized, h.Sealed, h.Standby, ans.from())
	}
	switch ans.code {
	case http.StatusOK, http.StatusTooManyRequests, 473:
		return healthy("%s (%s)", state, ans.from())
	case 472, 530:
		return fatal("%s (%s)", state, ans.from())
	}
	return pending("%s (%s)", state, ans.from())
}

// vaultState names the state a status code of /v1/sys/health stands for,
// and how the body must read for the states that it is checked for.
func vaultState(code int) (string, func(vaultHealth) bool) {
	switch code {
	case http.StatusOK:
		return "active", func(h vaultHealth) bool { return h.Initialized && !h.Sealed && !h.Standby }
	case http.StatusTooManyRequests:
		return "standby", func(h vaultHealth) bool { return h.Initialized && !h.Sealed && h.Standby }
	case 473:
		return "performance standby", func(h vaultHealth) bool { return !h.Sealed && h.PerformanceStandby }
	case http.StatusServiceUnavailable:
		return "sealed", nil
	case http.StatusNotImplemented:
		return "not initialized", nil
	case 472:
		// A DR secondary serves no client requests until an operator
		// promotes it; waiting does not change that.
		return "disaster recovery secondary", nil
	case 474:
		return "standby that cannot reach the active node", nil
	case 530:
		// Vault 1.19 and later: the node was removed from the raft cluster
		// and must be wiped before it can join again.
		return "removed from the raft cluster", nil
	}
	return "", nil
}

// vaultRaftPeer checks that nodeID is a voter in the raft configuration.
// The health reason is kept in front so the status shows both responses.
func vaultRaftPeer(ctx context.Context, a *agent, nodeID, healthReason string) result {
	ans, err := a.get(ctx, vaultRaftConfigPath, nil, true)
	if err != nil {
		return pending("%s; %v", healthReason, err)
	}
	if ans.code != http.StatusOK {
		return pending("%s; raft peer check: %s", healthReason, ans.unexpected())
	}
	var cfg vaultRaftConfig
	if err := ans.decode(&cfg); err != nil {
		return pending("%s; %v", healthReason, err)
	}
	for _, s := range cfg.Data.Config.Servers {
		if s.NodeID != nodeID {
			continue
		}
		if !s.Voter {
			return pending("%s; raft peer %q is not a voter yet (%s)", healthReason, nodeID, ans.from())
		}
		return healthy("%s; raft voter %q (%s)", healthReason, nodeID, ans.from())
	}
	return pending("%s; node %q is not a raft peer yet (%s)", healthReason, nodeID, ans.from())
}
