package health

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type autopilotServer struct {
	name           string
	healthy, voter bool
}

// consulStandin serves the Consul endpoints the checks read as Consul 1.14
// does. With aclToken set, ACLs are on with a default-deny policy: the
// agent and operator endpoints return 403 to any other token, while
// /v1/status/leader needs none.
type consulStandin struct {
	leaders  *seq[string]
	nodeName string
	server   bool
	statuses *seq[int]
	servers  []autopilotServer
	aclToken string
	// denyOperator answers 403 to the autopilot endpoint whatever the token,
	// as for a token without operator:read.
	denyOperator bool
}

func (c *consulStandin) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status/leader", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, c.leaders.next())
	})
	mux.HandleFunc("GET /v1/agent/self", c.self)
	mux.HandleFunc("GET /v1/operator/autopilot/health", c.autopilot)
	return mux
}

// allowed responds 403 as Consul does when the request's token lacks
// permission, and reports whether the request may go on.
func (c *consulStandin) allowed(w http.ResponseWriter, r *http.Request, permission string) bool {
	if c.aclToken == "" || r.Header.Get("X-Consul-Token") == c.aclToken {
		return true
	}
	writeText(w, http.StatusForbidden,
		"Permission denied: anonymous token lacks permission '"+permission+"'")
	return false
}

func (c *consulStandin) self(w http.ResponseWriter, r *http.Request) {
	if !c.allowed(w, r, "agent:read") {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"Config": map[string]any{"Datacenter": "eu-west-1", "NodeName": c.nodeName,
			"Server": c.server, "Version": "1.14.11"},
		"Member": map[string]any{"Name": c.nodeName, "Addr": "127.0.0.1", "Port": 8301,
			"Status": c.statuses.next(), "Tags": map[string]string{"role": "consul"}},
	})
}

func (c *consulStandin) autopilot(w http.ResponseWriter, r *http.Request) {
	if c.denyOperator {
		writeText(w, http.StatusForbidden, "Permission denied: token lacks permission 'operator:read'")
		return
	}
	if !c.allowed(w, r, "operator:read") {
		return
	}
	all := true
	var servers []map[string]any
	for i, s := range c.servers {
		all = all && s.healthy
		servers = append(servers, map[string]any{"ID": "id-" + s.name, "Name": s.name,
			"Address": "127.0.0.1:8300", "SerfStatus": "alive", "Version": "1.14.11",
			"Leader": i == 0, "LastContact": "0s", "Healthy": s.healthy, "Voter": s.voter})
	}
	code := http.StatusOK
	if !all {
		code = http.StatusTooManyRequests
	}
	writeJSON(w, code, map[string]any{"Healthy": all, "FailureTolerance": 0, "Servers": servers})
}

func TestProbeConsulLeader(t *testing.T) {
	c := &consulStandin{leaders: newSeq("", "10.0.0.1:8300")}
	base := serve(t, c.handler())
	target := Target{Name: "consul-leader", Kind: KindConsulLeader, URL: base}

	checkStatus(t, Status{Name: "consul-leader", Kind: KindConsulLeader,
		Reason: "no leader yet (200 from " + base + "/v1/status/leader)"}, Probe(t.Context(), nil, target))
	checkStatus(t, Status{Name: "consul-leader", Kind: KindConsulLeader, Healthy: true,
		Reason: "leader 10.0.0.1:8300 (200 from " + base + "/v1/status/leader)"}, Probe(t.Context(), nil, target))
}

func TestWaitConsulLeaderAppears(t *testing.T) {
	c := &consulStandin{leaders: newSeq("", "", "10.0.0.1:8300")}
	base := serve(t, c.handler())
	var rounds [][]Status
	got, err := Wait(t.Context(), nil, []Target{{Name: "consul-leader", Kind: KindConsulLeader, URL: base}},
		nil, func(_ context.Context, s []Status) { rounds = append(rounds, s) })
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	want := []Status{{Name: "consul-leader", Kind: KindConsulLeader, Healthy: true,
		Reason: "leader 10.0.0.1:8300 (200 from " + base + "/v1/status/leader)"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if len(rounds) != 2 {
		t.Errorf("pending called %d times, want 2 (one per round without a leader)", len(rounds))
	}
}

func TestProbeConsulMember(t *testing.T) {
	const token = "0b5a3c1e-consul-secret"
	voters := []autopilotServer{{"consul-a", true, true}, {"i-0abc", true, true}}
	tests := []struct {
		name     string
		standin  consulStandin
		server   bool
		token    string
		want     string
		healthy  bool
		fatal    bool
		wantToks []string // token headers sent to /v1/agent/self
	}{
		{name: "client_alive", standin: consulStandin{statuses: newSeq(1)},
			want: `member "i-0abc" is alive (200 from BASE/v1/agent/self)`, healthy: true, wantToks: []string{""}},
		{name: "failed", standin: consulStandin{statuses: newSeq(4)},
			want: `member "i-0abc" is failed, not alive (200 from BASE/v1/agent/self)`, wantToks: []string{""}},
		{name: "leaving", standin: consulStandin{statuses: newSeq(2)},
			want: `member "i-0abc" is leaving, not alive (200 from BASE/v1/agent/self)`, wantToks: []string{""}},
		{name: "other_node_name", standin: consulStandin{nodeName: "ip-10-0-0-1", statuses: newSeq(1)},
			want:  `agent node name "ip-10-0-0-1" differs from the expected "i-0abc" (200 from BASE/v1/agent/self)`,
			fatal: true, wantToks: []string{""}},
		{name: "server_without_token", standin: consulStandin{server: true, statuses: newSeq(1), servers: voters},
			server: true, healthy: true, wantToks: []string{""},
			want: `member "i-0abc" is alive (200 from BASE/v1/agent/self); autopilot check not run: no token`},
		{name: "server_voter", standin: consulStandin{server: true, statuses: newSeq(1), servers: voters, aclToken: token},
			server: true, token: token, healthy: true, wantToks: []string{token},
			want: `member "i-0abc" is alive (200 from BASE/v1/agent/self); healthy voter (200 from BASE/v1/operator/autopilot/health)`},
		{name: "server_token_without_operator", server: true, token: token, healthy: true, wantToks: []string{token},
			standin: consulStandin{server: true, statuses: newSeq(1), servers: voters, aclToken: token, denyOperator: true},
			want:    `member "i-0abc" is alive (200 from BASE/v1/agent/self); autopilot check not run: the token lacks operator:read`},
		{name: "server_not_voter", server: true, token: token, wantToks: []string{token},
			standin: consulStandin{server: true, statuses: newSeq(1), aclToken: token,
				servers: []autopilotServer{{"consul-a", true, true}, {"i-0abc", true, false}}},
			want: `member "i-0abc" is alive (200 from BASE/v1/agent/self); server "i-0abc" is not a voter yet (200 from BASE/v1/operator/autopilot/health)`},
		{name: "server_unhealthy", server: true, token: token, wantToks: []string{token},
			standin: consulStandin{server: true, statuses: newSeq(1), aclToken: token,
				servers: []autopilotServer{{"consul-a", true, true}, {"i-0abc", false, false}}},
			want: `member "i-0abc" is alive (200 from BASE/v1/agent/self); autopilot reports server "i-0abc" unhealthy, serf status alive (429 from BASE/v1/operator/autopilot/health)`},
		{name: "server_not_listed", server: true, token: token, wantToks: []string{token},
			standin: consulStandin{server: true, statuses: newSeq(1), aclToken: token, servers: voters[:1]},
			want:    `member "i-0abc" is alive (200 from BASE/v1/agent/self); autopilot does not list server "i-0abc" yet (200 from BASE/v1/operator/autopilot/health)`},
		{name: "acl_denied", standin: consulStandin{statuses: newSeq(1), aclToken: token}, wantToks: []string{""},
			want: `unexpected response (403 from BASE/v1/agent/self): Permission denied: anonymous token lacks permission 'agent:read'`},
		{name: "client_as_server", standin: consulStandin{statuses: newSeq(1)}, server: true, fatal: true,
			want: `agent "i-0abc" runs as a client but the role expects a server (200 from BASE/v1/agent/self)`, wantToks: []string{""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.standin
			if c.nodeName == "" {
				c.nodeName = "i-0abc"
			}
			rec := &requestRecorder{t: t, header: "X-Consul-Token", secret: tc.token}
			base := serve(t, rec.wrap(c.handler()))
			target := Target{Name: "consul-member", Kind: KindConsulMember, URL: base,
				NodeName: "i-0abc", Server: tc.server}
			if tc.token != "" {
				target.Token = tokenFunc(tc.token)
			}
			checkStatus(t, Status{Name: "consul-member", Kind: KindConsulMember, Healthy: tc.healthy,
				Fatal: tc.fatal, Reason: replaceBase(tc.want, base)}, Probe(t.Context(), nil, target))
			if diff := cmp.Diff(tc.wantToks, rec.tokensSent("/v1/agent/self")); diff != "" {
				t.Errorf("token headers sent to agent/self (-want +got):\n%s", diff)
			}
		})
	}
}
