package health

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const nomadNodeUUID = "f7476465-4d6e-c0de-fe83-bd4a27b2d3c9"

// nomadStandin serves the Nomad endpoints the checks read as Nomad 1.6
// does. With aclToken set, ACLs are on: agent/self and node reads return
// 403 to any other token, while agent/health and status/leader need none.
type nomadStandin struct {
	// serverOK steps through the /v1/agent/health results of a server agent.
	serverOK *seq[bool]
	leaders  *seq[string]
	// client is false for a server-only agent, which has no stats.client.
	client bool
	// nodes steps through the registered node; nil is "not registered".
	nodes    *seq[*nomadNode]
	aclToken string
}

func (n *nomadStandin) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/agent/health", n.health)
	mux.HandleFunc("GET /v1/status/leader", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, n.leaders.next())
	})
	mux.HandleFunc("GET /v1/agent/self", n.self)
	mux.HandleFunc("GET /v1/node/{id}", n.node)
	return mux
}

func (n *nomadStandin) allowed(w http.ResponseWriter, r *http.Request) bool {
	if n.aclToken == "" || r.Header.Get("X-Nomad-Token") == n.aclToken {
		return true
	}
	writeText(w, http.StatusForbidden, "Permission denied")
	return false
}

// health responds as Nomad does: 200 with the parts' status, or 500 with the
// same JSON as the error text.
func (n *nomadStandin) health(w http.ResponseWriter, _ *http.Request) {
	if n.serverOK.next() {
		writeJSON(w, http.StatusOK, map[string]any{"server": map[string]any{"ok": true, "message": "ok"}})
		return
	}
	writeText(w, http.StatusInternalServerError, `{"server":{"ok":false,"message":"no leader"}}`)
}

func (n *nomadStandin) self(w http.ResponseWriter, r *http.Request) {
	if !n.allowed(w, r) {
		return
	}
	stats := map[string]any{"runtime": map[string]string{"goroutines": "42"}}
	if n.client {
		stats["client"] = map[string]string{"node_id": nomadNodeUUID, "known_servers": "127.0.0.1:4647",
			"num_allocations": "0", "last_heartbeat": "1s", "heartbeat_ttl": "15s"}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"config": map[string]any{"Region": "global", "Datacenter": "eu-west-1"},
		"member": map[string]any{}, "stats": stats,
	})
}

func (n *nomadStandin) node(w http.ResponseWriter, r *http.Request) {
	if !n.allowed(w, r) {
		return
	}
	node := n.nodes.next()
	if node == nil || r.PathValue("id") != node.ID {
		writeText(w, http.StatusNotFound, "node not found")
		return
	}
	writeJSON(w, http.StatusOK, node)
}

// registered returns the node the stand-in serves, changed by edit.
func registered(edit func(*nomadNode)) *nomadNode {
	n := &nomadNode{ID: nomadNodeUUID, Name: "i-0abc", NodeClass: "payments", Status: "ready",
		SchedulingEligibility: "eligible", Meta: map[string]string{"namespace": "payments", "environment": "prod"}}
	if edit != nil {
		edit(n)
	}
	return n
}

func nomadNodeTarget(base, token string) Target {
	t := Target{Name: "nomad-node", Kind: KindNomadNode, URL: base, NodeName: "i-0abc", NodeClass: "payments",
		Meta: map[string]string{"namespace": "payments", "environment": "prod"}}
	if token != "" {
		t.Token = tokenFunc(token)
	}
	return t
}

func TestProbeNomadLeader(t *testing.T) {
	n := &nomadStandin{serverOK: newSeq(false, true), leaders: newSeq("127.0.0.1:4647")}
	base := serve(t, n.handler())
	target := Target{Name: "nomad-leader", Kind: KindNomadLeader, URL: base}

	checkStatus(t, Status{Name: "nomad-leader", Kind: KindNomadLeader,
		Reason: "agent unhealthy (500 from " + base + "/v1/agent/health): server: no leader"}, Probe(t.Context(), nil, target))
	checkStatus(t, Status{Name: "nomad-leader", Kind: KindNomadLeader, Healthy: true,
		Reason: "leader 127.0.0.1:4647 (200 from " + base + "/v1/status/leader)"}, Probe(t.Context(), nil, target))
}

func TestProbeNomadNode(t *testing.T) {
	const token = "5a1c-nomad-secret"
	tests := []struct {
		name    string
		client  bool
		node    *nomadNode
		token   string
		want    string
		healthy bool
		fatal   bool
	}{
		{name: "ready", client: true, node: registered(nil), token: token, healthy: true,
			want: "node " + nomadNodeUUID + " is ready and eligible (200 from BASE/v1/node/" + nomadNodeUUID + ")"},
		{name: "initializing", client: true, node: registered(func(n *nomadNode) { n.Status = "initializing" }), token: token,
			want: "node " + nomadNodeUUID + " is initializing (200 from BASE/v1/node/" + nomadNodeUUID + ")"},
		{name: "down", client: true, token: token,
			node: registered(func(n *nomadNode) { n.Status, n.StatusDescription = "down", "missed heartbeats" }),
			want: "node " + nomadNodeUUID + " is down, not ready: missed heartbeats (200 from BASE/v1/node/" + nomadNodeUUID + ")"},
		{name: "ineligible", client: true, node: registered(func(n *nomadNode) { n.SchedulingEligibility = "ineligible" }), token: token,
			want: "node " + nomadNodeUUID + " is ineligible for scheduling (200 from BASE/v1/node/" + nomadNodeUUID + ")"},
		{name: "class_mismatch", client: true, node: registered(func(n *nomadNode) { n.NodeClass = "web" }), token: token, fatal: true,
			want: `node class "web" differs from the expected "payments" (200 from BASE/v1/node/` + nomadNodeUUID + ")"},
		{name: "meta_wrong", client: true, token: token,
			node: registered(func(n *nomadNode) { n.Meta = map[string]string{"environment": "dev"} }),
			want: "node " + nomadNodeUUID + ` meta: environment is "dev", expected "prod", namespace is missing (200 from BASE/v1/node/` + nomadNodeUUID + ")"},
		{name: "not_registered", client: true, token: token,
			want: "node " + nomadNodeUUID + " is not registered yet (404 from BASE/v1/node/" + nomadNodeUUID + ")"},
		{name: "server_only_agent", token: token, fatal: true,
			want: "the agent runs no client: stats.client is missing (200 from BASE/v1/agent/self)"},
		{name: "acl_denied", client: true, node: registered(nil),
			want: "unexpected response (403 from BASE/v1/agent/self): Permission denied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := &nomadStandin{client: tc.client, nodes: newSeq(tc.node), aclToken: token}
			rec := &requestRecorder{t: t, header: "X-Nomad-Token", secret: token}
			base := serve(t, rec.wrap(n.handler()))
			checkStatus(t, Status{Name: "nomad-node", Kind: KindNomadNode, Healthy: tc.healthy,
				Fatal: tc.fatal, Reason: replaceBase(tc.want, base)}, Probe(t.Context(), nil, nomadNodeTarget(base, tc.token)))
			for _, got := range rec.tokensSent("/v1/agent/self") {
				if got != tc.token {
					t.Errorf("X-Nomad-Token sent to agent/self = %q, want %q", got, tc.token)
				}
			}
		})
	}
}

func TestWaitNomadNodeTurnsReady(t *testing.T) {
	n := &nomadStandin{client: true, nodes: newSeq(nil,
		registered(func(n *nomadNode) { n.Status = "initializing" }), registered(nil))}
	base := serve(t, n.handler())
	var reasons []string
	got, err := Wait(t.Context(), nil, []Target{nomadNodeTarget(base, "")}, nil,
		func(_ context.Context, s []Status) { reasons = append(reasons, s[0].Reason) })
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if !got[0].Healthy {
		t.Errorf("final status unhealthy: %s", got[0].Reason)
	}
	nodeURL := base + "/v1/node/" + nomadNodeUUID
	want := []string{
		"node " + nomadNodeUUID + " is not registered yet (404 from " + nodeURL + ")",
		"node " + nomadNodeUUID + " is initializing (200 from " + nodeURL + ")",
	}
	if diff := cmp.Diff(want, reasons); diff != "" {
		t.Errorf("pending reasons (-want +got):\n%s", diff)
	}
}

// TestWaitClassMismatchFatal checks that a fatal answer ends the wait after
// the first round, with no deadline set: the stand-in sees one node read.
func TestWaitClassMismatchFatal(t *testing.T) {
	n := &nomadStandin{client: true, nodes: newSeq(registered(func(n *nomadNode) { n.NodeClass = "web" }))}
	base := serve(t, n.handler())
	pendingCalls := 0
	got, err := Wait(t.Context(), nil, []Target{nomadNodeTarget(base, "")}, nil,
		func(context.Context, []Status) { pendingCalls++ })
	if !errors.Is(err, ErrFatal) {
		t.Fatalf("Wait error = %v, want ErrFatal", err)
	}
	if errors.Is(err, ErrUnhealthy) {
		t.Errorf("Wait error %v matches ErrUnhealthy too", err)
	}
	var we *WaitError
	if !errors.As(err, &we) || len(we.Failed) != 1 || !we.Failed[0].Fatal {
		t.Errorf("Wait error %#v does not list the fatal check", err)
	}
	if !strings.HasPrefix(err.Error(), "health check failed with a response that waiting will not heal: nomad-node: node class \"web\"") {
		t.Errorf("Wait error = %q", err)
	}
	if reads := n.nodes.count(); reads != 1 {
		t.Errorf("node read %d times, want 1", reads)
	}
	if pendingCalls != 0 {
		t.Errorf("pending called %d times, want 0", pendingCalls)
	}
	if len(got) != 1 || !got[0].Fatal {
		t.Errorf("statuses = %+v, want the fatal one", got)
	}
}
