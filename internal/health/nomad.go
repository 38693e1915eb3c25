package health

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

const (
	nomadHealthPath = "/v1/agent/health"
	nomadLeaderPath = "/v1/status/leader"
	nomadSelfPath   = "/v1/agent/self"
	nomadNodePath   = "/v1/node/"
)

// Nomad node statuses and scheduling eligibility (nomad/structs).
const (
	nomadNodeInitializing = "initializing"
	nomadNodeReady        = "ready"
	nomadNodeEligible     = "eligible"
)

// nomadAgentHealth is the body of GET /v1/agent/health. Nomad responds 500
// with the same JSON when a part is not ok.
type nomadAgentHealth struct {
	Client *nomadHealthPart `json:"client"`
	Server *nomadHealthPart `json:"server"`
}

type nomadHealthPart struct {
	OK      bool   `json:"ok"`
	Message string `json:"message"`
}

// nomadSelf is the part of GET /v1/agent/self that holds the client's node
// ID: stats.client.node_id, present only when the client is enabled.
type nomadSelf struct {
	Stats map[string]map[string]string `json:"stats"`
}

// nomadNode is the part of GET /v1/node/:node_id the node check reads.
type nomadNode struct {
	ID                    string            `json:"ID"`
	Name                  string            `json:"Name"`
	NodeClass             string            `json:"NodeClass"`
	Status                string            `json:"Status"`
	StatusDescription     string            `json:"StatusDescription"`
	SchedulingEligibility string            `json:"SchedulingEligibility"`
	Meta                  map[string]string `json:"Meta"`
}

// probeNomadLeader checks that the agent reports itself healthy and
// reports a cluster leader.
func probeNomadLeader(ctx context.Context, a *agent, _ Target) result {
	ans, err := a.get(ctx, nomadHealthPath, nil, false)
	if err != nil {
		return pending("%v", err)
	}
	if ans.code != http.StatusOK {
		return pending("agent unhealthy (%s)%s", ans.from(), nomadHealthMessages(ans))
	}
	return probeLeader(ctx, a, nomadLeaderPath)
}

// nomadHealthMessages returns the messages of the parts that are not ok, or
// the start of the body when it is not the health JSON.
func nomadHealthMessages(ans response) string {
	var h nomadAgentHealth
	if ans.decode(&h) != nil {
		if s := ans.snippet(); s != "" {
			return ": " + s
		}
		return ""
	}
	var parts []string
	if h.Server != nil && !h.Server.OK {
		parts = append(parts, "server: "+h.Server.Message)
	}
	if h.Client != nil && !h.Client.OK {
		parts = append(parts, "client: "+h.Client.Message)
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, "; ")
}

// probeNomadNode checks that the local client registered as a ready,
// eligible node with the expected class and meta.
func probeNomadNode(ctx context.Context, a *agent, t Target) result {
	if t.NodeName == "" {
		return fatal("invalid target: a %s check needs the node name", t.Kind)
	}
	id, r := nomadNodeID(ctx, a)
	if id == "" {
		return r
	}
	ans, err := a.get(ctx, nomadNodePath+url.PathEscape(id), nil, true)
	if err != nil {
		return pending("%v", err)
	}
	switch ans.code {
	case http.StatusOK:
	case http.StatusNotFound:
		return pending("node %s is not registered yet (%s)", id, ans.from())
	default:
		return pending("%s", ans.unexpected())
	}
	var node nomadNode
	if err := ans.decode(&node); err != nil {
		return pending("%v", err)
	}
	return classifyNomadNode(node, t, ans)
}

// nomadNodeID reads the local client's node ID. It returns an empty ID and
// the result to report when there is none.
func nomadNodeID(ctx context.Context, a *agent) (string, result) {
	ans, err := a.get(ctx, nomadSelfPath, nil, true)
	if err != nil {
		return "", pending("%v", err)
	}
	if ans.code != http.StatusOK {
		return "", pending("%s", ans.unexpected())
	}
	var self nomadSelf
	if err := ans.decode(&self); err != nil {
		return "", pending("%v", err)
	}
	client, ok := self.Stats["client"]
	if !ok {
		return "", fatal("the agent runs no client: stats.client is missing (%s)", ans.from())
	}
	if client["node_id"] == "" {
		return "", pending("the client has no node ID yet (%s)", ans.from())
	}
	return client["node_id"], result{}
}

// classifyNomadNode compares the registered node with the target. A class
// mismatch is fatal: job placement and Vault policies rely on the class
// being the namespace, and the class changes only with the client's config.
func classifyNomadNode(node nomadNode, t Target, ans response) result {
	switch {
	case node.Name != t.NodeName:
		return fatal("node name %q differs from the expected %q (%s)", node.Name, t.NodeName, ans.from())
	case node.NodeClass != t.NodeClass:
		return fatal("node class %q differs from the expected %q (%s)", node.NodeClass, t.NodeClass, ans.from())
	case node.Status == nomadNodeInitializing:
		return pending("node %s is initializing (%s)", node.ID, ans.from())
	case node.Status != nomadNodeReady:
		return pending("node %s is %s, not ready%s (%s)", node.ID, node.Status, describe(node.StatusDescription), ans.from())
	case node.SchedulingEligibility != nomadNodeEligible:
		return pending("node %s is %s for scheduling (%s)", node.ID, node.SchedulingEligibility, ans.from())
	}
	if missing := metaMismatch(node.Meta, t.Meta); missing != "" {
		return pending("node %s meta: %s (%s)", node.ID, missing, ans.from())
	}
	return healthy("node %s is ready and eligible (%s)", node.ID, ans.from())
}

func describe(description string) string {
	if description == "" {
		return ""
	}
	return ": " + description
}

// metaMismatch describes, in key order, every wanted meta key that is
// missing or holds another value. It returns "" when all match.
//
// NOTE: a mismatch is reported as pending, not fatal, because Nomad 1.5 and
// later merge dynamic meta set through the API into the node's meta, and the
// servers see a change up to 10 seconds later.
func metaMismatch(got, want map[string]string) string {
	var problems []string
	for _, key := range slices.Sorted(maps.Keys(want)) {
		value, ok := got[key]
		switch {
		case !ok:
			problems = append(problems, key+" is missing")
		case value != want[key]:
			problems = append(problems, key+" is "+strconv.Quote(value)+", expected "+strconv.Quote(want[key]))
		}
	}
	return strings.Join(problems, ", ")
}
