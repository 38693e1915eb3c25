package health

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// vaultNode is the state the Vault stand-in reports.
type vaultNode struct {
	uninitialized, sealed, standby, perfStandby, drSecondary bool
}

var (
	vaultActive  = vaultNode{}
	vaultStandby = vaultNode{standby: true}
	vaultSealed  = vaultNode{sealed: true}
)

type raftPeer struct {
	id    string
	voter bool
}

// vaultStandin serves /v1/sys/health as Vault 1.13 computes it, query
// parameters included, and /v1/sys/storage/raft/configuration, which needs
// the token.
type vaultStandin struct {
	states *seq[vaultNode]
	token  string
	peers  []raftPeer
}

func (v *vaultStandin) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/sys/health", v.health)
	mux.HandleFunc("GET /v1/sys/storage/raft/configuration", v.raftConfig)
	return mux
}

func (v *vaultStandin) health(w http.ResponseWriter, r *http.Request) {
	codes := map[string]int{"uninitcode": 501, "sealedcode": 503, "standbycode": 429,
		"activecode": 200, "drsecondarycode": 472, "performancestandbycode": 473}
	for name := range codes {
		if raw := r.URL.Query().Get(name); raw != "" {
			code, err := strconv.Atoi(raw)
			if err != nil {
				writeJSON(w, http.StatusBadRequest, map[string][]string{"errors": {"bad code value"}})
				return
			}
			codes[name] = code
		}
	}
	standbyOK, _ := strconv.ParseBool(r.URL.Query().Get("standbyok"))
	perfStandbyOK, _ := strconv.ParseBool(r.URL.Query().Get("perfstandbyok"))
	n := v.states.next()
	code := codes["activecode"]
	switch {
	case n.uninitialized:
		code = codes["uninitcode"]
	case n.sealed:
		code = codes["sealedcode"]
	case n.drSecondary:
		code = codes["drsecondarycode"]
	case n.perfStandby && !perfStandbyOK:
		code = codes["performancestandbycode"]
	case n.standby && !standbyOK:
		code = codes["standbycode"]
	}
	dr := "disabled"
	if n.drSecondary {
		dr = "secondary"
	}
	writeJSON(w, code, map[string]any{
		"initialized": !n.uninitialized, "sealed": n.sealed || n.uninitialized,
		"standby": n.standby || n.perfStandby, "performance_standby": n.perfStandby,
		"replication_performance_mode": "disabled", "replication_dr_mode": dr,
		"server_time_utc": 1700000000, "version": "1.13.2",
	})
}

func (v *vaultStandin) raftConfig(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Vault-Token") != v.token {
		writeJSON(w, http.StatusForbidden, map[string][]string{"errors": {"permission denied"}})
		return
	}
	var servers []map[string]any
	for i, p := range v.peers {
		servers = append(servers, map[string]any{"node_id": p.id, "voter": p.voter,
			"leader": i == 0, "address": "127.0.0.1:8201", "protocol_version": "3"})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"request_id": "7b4e", "lease_id": "", "renewable": false, "lease_duration": 0,
		"data": map[string]any{"config": map[string]any{"index": 42, "servers": servers}},
	})
}

func TestProbeVaultHealth(t *testing.T) {
	tests := []struct {
		name        string
		node        vaultNode
		wantHealthy bool
		wantFatal   bool
		wantState   string
		wantCode    int
	}{
		{name: "active", node: vaultActive, wantHealthy: true, wantState: "active", wantCode: 200},
		{name: "standby", node: vaultStandby, wantHealthy: true, wantState: "standby", wantCode: 429},
		{name: "performance_standby", node: vaultNode{perfStandby: true}, wantHealthy: true,
			wantState: "performance standby", wantCode: 473},
		{name: "sealed", node: vaultSealed, wantState: "sealed", wantCode: 503},
		{name: "uninitialized", node: vaultNode{uninitialized: true}, wantState: "not initialized", wantCode: 501},
		{name: "dr_secondary", node: vaultNode{drSecondary: true}, wantFatal: true,
			wantState: "disaster recovery secondary", wantCode: 472},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := &vaultStandin{states: newSeq(tc.node)}
			base := serve(t, v.handler())
			got := Probe(t.Context(), nil, Target{Name: "vault-health", Kind: KindVaultHealth, URL: base})
			reason := tc.wantState + " (" + strconv.Itoa(tc.wantCode) + " from " + base + "/v1/sys/health)"
			if tc.wantHealthy {
				reason += "; raft peer check not run: no token"
			}
			checkStatus(t, Status{Name: "vault-health", Kind: KindVaultHealth,
				Healthy: tc.wantHealthy, Fatal: tc.wantFatal, Reason: reason}, got)
		})
	}
}

func TestProbeVaultRaftPeer(t *testing.T) {
	const token = "hvs.raft-peer-secret"
	tests := []struct {
		name        string
		peers       []raftPeer
		sendToken   string
		wantHealthy bool
		wantSuffix  string
	}{
		{name: "voter", peers: []raftPeer{{"vault-0", true}, {"i-0abc", true}}, sendToken: token,
			wantHealthy: true, wantSuffix: `raft voter "i-0abc" (200 from BASE/v1/sys/storage/raft/configuration)`},
		{name: "non_voter", peers: []raftPeer{{"vault-0", true}, {"i-0abc", false}}, sendToken: token,
			wantSuffix: `raft peer "i-0abc" is not a voter yet (200 from BASE/v1/sys/storage/raft/configuration)`},
		{name: "not_a_peer", peers: []raftPeer{{"vault-0", true}}, sendToken: token,
			wantSuffix: `node "i-0abc" is not a raft peer yet (200 from BASE/v1/sys/storage/raft/configuration)`},
		{name: "token_refused", peers: []raftPeer{{"i-0abc", true}}, sendToken: "hvs.wrong",
			wantSuffix: "raft peer check: unexpected response (403 from BASE/v1/sys/storage/raft/configuration): permission denied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := &vaultStandin{states: newSeq(vaultStandby), token: token, peers: tc.peers}
			rec := &requestRecorder{t: t, header: "X-Vault-Token", secret: tc.sendToken}
			base := serve(t, rec.wrap(v.handler()))
			got := Probe(t.Context(), nil, Target{Name: "vault-health", Kind: KindVaultHealth,
				URL: base, NodeName: "i-0abc", Token: tokenFunc(tc.sendToken)})
			reason := "standby (429 from " + base + "/v1/sys/health); " + replaceBase(tc.wantSuffix, base)
			checkStatus(t, Status{Name: "vault-health", Kind: KindVaultHealth,
				Healthy: tc.wantHealthy, Reason: reason}, got)
			if diff := cmp.Diff([]string{""}, rec.tokensSent("/v1/sys/health")); diff != "" {
				t.Errorf("token headers sent to sys/health (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{tc.sendToken}, rec.tokensSent("/v1/sys/storage/raft/configuration")); diff != "" {
				t.Errorf("token headers sent to raft/configuration (-want +got):\n%s", diff)
			}
		})
	}
}

// TestProbeVaultBodyContradictsCode covers a 200 whose body reports sealed,
// which a proxy rewriting status codes would produce.
func TestProbeVaultBodyContradictsCode(t *testing.T) {
	base := serve(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"initialized": true, "sealed": true, "standby": false})
	}))
	got := Probe(t.Context(), nil, Target{Name: "vault-health", Kind: KindVaultHealth, URL: base})
	checkStatus(t, Status{Name: "vault-health", Kind: KindVaultHealth,
		Reason: "active but the body says initialized=true sealed=true standby=false (200 from " + base + "/v1/sys/health)"}, got)
}

// TestProbeVaultRejectedQuery checks that the stand-in's query parsing
// accepts what the probe sends: a 400 here would mean a malformed code.
func TestProbeVaultRejectedQuery(t *testing.T) {
	v := &vaultStandin{states: newSeq(vaultActive)}
	base := serve(t, v.handler())
	resp, err := http.Get(base + "/v1/sys/health?activecode=abc")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("stand-in status for a malformed code = %d, want 400", resp.StatusCode)
	}
	got := Probe(t.Context(), nil, Target{Name: "vault-health", Kind: KindVaultHealth, URL: base})
	if !got.Healthy {
		t.Errorf("probe of an active Vault is unhealthy: %s", got.Reason)
	}
}
