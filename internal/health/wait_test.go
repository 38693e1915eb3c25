package health

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hashistack/bootstrap/internal/backoff"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestWaitDeadlineListsReasons lets the deadline pass while Vault stays
// sealed and Consul has no leader, and expects both reasons in the error.
func TestWaitDeadlineListsReasons(t *testing.T) {
	vault := serve(t, (&vaultStandin{states: newSeq(vaultSealed)}).handler())
	consul := serve(t, (&consulStandin{leaders: newSeq("")}).handler())
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	got, err := Wait(ctx, nil, []Target{
		{Name: "vault-health", Kind: KindVaultHealth, URL: vault},
		{Name: "consul-leader", Kind: KindConsulLeader, URL: consul},
	}, nil, nil)

	if !errors.Is(err, ErrUnhealthy) {
		t.Errorf("Wait error %v does not match ErrUnhealthy", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait error %v does not match context.DeadlineExceeded", err)
	}
	if errors.Is(err, ErrFatal) {
		t.Errorf("Wait error %v matches ErrFatal", err)
	}
	want := "health checks still unhealthy when the wait ended: " +
		"vault-health: sealed (503 from " + vault + "/v1/sys/health); " +
		"consul-leader: no leader yet (200 from " + consul + "/v1/status/leader): context deadline exceeded"
	if err == nil || err.Error() != want {
		t.Errorf("Wait error:\n got %v\nwant %s", err, want)
	}
	wantStatuses := []Status{
		{Name: "vault-health", Kind: KindVaultHealth, Reason: "sealed (503 from " + vault + "/v1/sys/health)"},
		{Name: "consul-leader", Kind: KindConsulLeader, Reason: "no leader yet (200 from " + consul + "/v1/status/leader)"},
	}
	if diff := cmp.Diff(wantStatuses, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}

// TestWaitCancel cancels from the pending callback, as a SIGTERM during the
// health stage would, and expects the statuses of the last full round.
func TestWaitCancel(t *testing.T) {
	consul := serve(t, (&consulStandin{leaders: newSeq("")}).handler())
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	rounds := 0
	got, err := Wait(ctx, nil, []Target{{Name: "consul-leader", Kind: KindConsulLeader, URL: consul}}, nil,
		func(context.Context, []Status) {
			rounds++
			if rounds == 3 {
				cancel()
			}
		})
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrUnhealthy) {
		t.Errorf("Wait error %v, want ErrUnhealthy and context.Canceled", err)
	}
	want := []Status{{Name: "consul-leader", Kind: KindConsulLeader,
		Reason: "no leader yet (200 from " + consul + "/v1/status/leader)"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if rounds != 3 {
		t.Errorf("pending called %d times, want 3", rounds)
	}
}

// TestWaitTokenNeverLogged runs every token-using check against stand-ins
// that refuse the token at first, one of them echoing it in its error body,
// and searches the log, statuses and error for it.
func TestWaitTokenNeverLogged(t *testing.T) {
	const token = "s3cr3t-0f-th1s-n0de"
	refusals := newSeq(true, true, false)
	vault := &vaultStandin{states: newSeq(vaultActive), token: token, peers: []raftPeer{{"i-0abc", true}}}
	vaultRec := &requestRecorder{t: t, header: "X-Vault-Token", secret: token}
	vaultMux := http.NewServeMux()
	vaultMux.Handle("/", vault.handler())
	vaultMux.HandleFunc("GET /v1/sys/storage/raft/configuration", func(w http.ResponseWriter, r *http.Request) {
		if refusals.next() {
			// An agent that echoes the token it refused.
			writeJSON(w, http.StatusForbidden, map[string][]string{"errors": {"token " + r.Header.Get("X-Vault-Token") + " refused"}})
			return
		}
		vault.raftConfig(w, r)
	})
	consulRec := &requestRecorder{t: t, header: "X-Consul-Token", secret: token}
	consul := &consulStandin{nodeName: "i-0abc", server: true, statuses: newSeq(1), aclToken: token,
		servers: []autopilotServer{{"i-0abc", true, true}}}
	nomadRec := &requestRecorder{t: t, header: "X-Nomad-Token", secret: token}
	nomad := &nomadStandin{client: true, nodes: newSeq(registered(nil)), aclToken: token}
	vaultURL, consulURL, nomadURL := serve(t, vaultRec.wrap(vaultMux)), serve(t, consulRec.wrap(consul.handler())),
		serve(t, nomadRec.wrap(nomad.handler()))

	log, buf := captureLog()
	targets := []Target{
		{Name: "vault-health", Kind: KindVaultHealth, URL: vaultURL, NodeName: "i-0abc", Token: tokenFunc(token)},
		{Name: "consul-member", Kind: KindConsulMember, URL: consulURL, NodeName: "i-0abc", Server: true, Token: tokenFunc(token)},
		nomadNodeTarget(nomadURL, token),
	}
	var seen []string
	got, err := Wait(t.Context(), nil, targets, log, func(_ context.Context, s []Status) {
		for _, st := range s {
			seen = append(seen, st.Reason)
		}
	})
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	for _, text := range append(seen, buf.String(), got[0].Reason, got[1].Reason, got[2].Reason) {
		if strings.Contains(text, token) {
			t.Errorf("token found in %q", text)
		}
	}
	if !strings.Contains(buf.String(), "[redacted] refused") {
		t.Errorf("log lacks the scrubbed refusal; log:\n%s", buf.String())
	}
	for _, sent := range [][]string{vaultRec.tokensSent("/v1/sys/storage/raft/configuration"),
		consulRec.tokensSent("/v1/operator/autopilot/health"), nomadRec.tokensSent("/v1/node/" + nomadNodeUUID)} {
		if len(sent) == 0 || sent[0] != token {
			t.Errorf("token headers sent = %q, want the token on every request", sent)
		}
	}
}

// TestWaitLogsChangesOnly expects one log line per distinct reason, not one
// per round.
func TestWaitLogsChangesOnly(t *testing.T) {
	consul := serve(t, (&consulStandin{leaders: newSeq("", "", "", "", "10.0.0.1:8300")}).handler())
	log, buf := captureLog()
	if _, err := Wait(t.Context(), nil, []Target{{Name: "consul-leader", Kind: KindConsulLeader, URL: consul}}, log, nil); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if n := strings.Count(buf.String(), `"msg":"health check changed"`); n != 2 {
		t.Errorf("logged %d changes, want 2 (no leader, then leader); log:\n%s", n, buf.String())
	}
	if n := strings.Count(buf.String(), `"msg":"health checks healthy"`); n != 1 {
		t.Errorf("logged %d healthy lines, want 1", n)
	}
}

func TestWaitNoTargets(t *testing.T) {
	got, err := Wait(t.Context(), nil, nil, nil, nil)
	if err != nil || got != nil {
		t.Errorf("Wait with no targets = %v, %v; want nil, nil", got, err)
	}
}

func TestProbeInvalidTarget(t *testing.T) {
	tests := []struct {
		name   string
		target Target
		want   Status
	}{
		{name: "unknown_kind", target: Target{Name: "x", Kind: "consul-health", URL: "http://127.0.0.1:1"},
			want: Status{Name: "x", Kind: "consul-health", Fatal: true, Reason: `unknown check kind "consul-health"`}},
		{name: "no_scheme", target: Target{Name: "x", Kind: KindConsulLeader, URL: "127.0.0.1:8500"},
			want: Status{Name: "x", Kind: KindConsulLeader, Fatal: true,
				Reason: `invalid agent URL "127.0.0.1:8500": first path segment in URL cannot contain colon`}},
		{name: "other_scheme", target: Target{Name: "x", Kind: KindConsulLeader, URL: "unix:///run/consul.sock"},
			want: Status{Name: "x", Kind: KindConsulLeader, Fatal: true,
				Reason: `invalid agent URL "unix:///run/consul.sock": the scheme must be http or https`}},
		{name: "path", target: Target{Name: "x", Kind: KindConsulLeader, URL: "http://127.0.0.1:8500/v1"},
			want: Status{Name: "x", Kind: KindConsulLeader, Fatal: true,
				Reason: `invalid agent URL "http://127.0.0.1:8500/v1": the API paths are added to the base URL, so it takes no path`}},
		{name: "query", target: Target{Name: "x", Kind: KindConsulLeader, URL: "http://127.0.0.1:8500?token=a"},
			want: Status{Name: "x", Kind: KindConsulLeader, Fatal: true,
				Reason: `invalid agent URL "http://127.0.0.1:8500?token=a": user info, query and fragment are not allowed`}},
		{name: "no_node_name", target: Target{Name: "x", Kind: KindNomadNode, URL: "http://127.0.0.1:1"},
			want: Status{Name: "x", Kind: KindNomadNode, Fatal: true, Reason: "invalid target: a nomad-node check needs the node name"}},
		{name: "token_error", target: Target{Name: "x", Kind: KindConsulLeader, URL: "http://127.0.0.1:1",
			Token: func() (string, error) {
				return "", errors.New("open /run/bootstrap/consul/token: no such file or directory")
			}},
			want: Status{Name: "x", Kind: KindConsulLeader,
				Reason: "reading the token failed: open /run/bootstrap/consul/token: no such file or directory"}},
		{name: "token_newline", target: Target{Name: "x", Kind: KindConsulLeader, URL: "http://127.0.0.1:1",
			Token: tokenFunc("abc\n")},
			want: Status{Name: "x", Kind: KindConsulLeader,
				Reason: "invalid token: it contains a character that is not printable ASCII at byte 3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkStatus(t, tc.want, Probe(t.Context(), nil, tc.target))
		})
	}
}

// TestProbeRedirectNotFollowed checks that a redirect, which Go would follow
// with the token header, is reported instead.
func TestProbeRedirectNotFollowed(t *testing.T) {
	var elsewhere atomic.Int32
	other := serve(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { elsewhere.Add(1) }))
	base := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	got := Probe(t.Context(), nil, Target{Name: "consul-member", Kind: KindConsulMember, URL: base,
		NodeName: "i-0abc", Token: tokenFunc("redirect-secret")})
	if got.Healthy || !strings.HasPrefix(got.Reason, "unexpected response (307 from "+base+"/v1/agent/self)") {
		t.Errorf("status = %+v, want the 307 reported", got)
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("redirect target received %d requests, want 0", n)
	}
}

func TestProbeAgentDown(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens on the port now
	got := Probe(t.Context(), nil, Target{Name: "consul-leader", Kind: KindConsulLeader, URL: base})
	wantPrefix := "request to " + base + "/v1/status/leader failed: dial tcp "
	if got.Healthy || got.Fatal || !strings.HasPrefix(got.Reason, wantPrefix) {
		t.Errorf("status = %+v, want pending with a reason starting %q", got, wantPrefix)
	}
}

func TestProbeUnknownPath(t *testing.T) {
	base := serve(t, http.NotFoundHandler())
	got := Probe(t.Context(), nil, Target{Name: "consul-leader", Kind: KindConsulLeader, URL: base})
	checkStatus(t, Status{Name: "consul-leader", Kind: KindConsulLeader,
		Reason: "unexpected response (404 from " + base + "/v1/status/leader): 404 page not found"}, got)
}

func TestBackoffBounds(t *testing.T) {
	for round := 1; round <= 40; round++ {
		bound := maxDelay
		if round < 7 {
			bound = baseDelay << (round - 1)
		}
		for range 100 {
			if d := backoff.Full(round, baseDelay, maxDelay); d <= 0 || d > bound {
				t.Fatalf("backoff(%d) = %v, want in (0, %v]", round, d, bound)
			}
		}
	}
}
