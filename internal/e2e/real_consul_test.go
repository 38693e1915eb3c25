package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/hashistack/bootstrap/internal/health"
	"github.com/hashistack/bootstrap/internal/realservers"
	"github.com/hashistack/bootstrap/internal/realservers/harness"
	agentsecrets "github.com/hashistack/bootstrap/internal/secrets"
)

// consulManagementToken is the initial management token the operator gives
// the first Consul servers, made up for this test.
const consulManagementToken = "7d4b8c7e-2f1a-4e55-9c3b-0a1b2c3d4e5f"

var consulAddrs = []string{"127.0.63.1", "127.0.63.2", "127.0.63.3"}

func consulID(i int) string { return fmt.Sprintf("i-0000000000000c10%d", i+1) }

// TestRealConsulCluster boots three Consul servers that find each other
// through a DNS retry_join name, with gossip encryption, TLS and ACLs on.
//
// The agent cannot form the very first cluster alone: consul-server's
// agent-token secret comes from Vault's Consul secrets engine, which needs
// the cluster to exist. So, as an operator would, the test first seeds the
// cluster: it renders the configs with `bootstrap render`, writes the
// gossip key, an initial management token and certificates from Vault's
// PKI, and starts the units. Then `bootstrap run` on each node fetches
// every secret from the real Vault, the agent token minted by Vault from
// this Consul, and passes its health stage.
func TestRealConsulCluster(t *testing.T) {
	requireSystemd(t)
	servers := harness.Binaries(t, realservers.Consul, realservers.Vault)
	env := harness.NewEnv(t, bins.bootstrap, servers, "127.0.53.63",
		map[string][]string{"consul.real.internal": consulAddrs})
	secrets := harness.Secrets{ConsulPolicy: "agent"}
	vault := setUpVault(t, env, "127.0.63.9", secrets)
	vc, err := harness.VaultClient(vault, harness.DevVaultToken)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()

	var nodes []*harness.Node
	for i, addr := range consulAddrs {
		n := env.NewNode(t, harness.NodeOptions{Role: "consul-server", Addr: addr,
			InstanceID: consulID(i), UserData: realUserData("consul-server", vault),
			Extra: realNodeExtra})
		seedConsul(t, n, vc, addr, consulID(i))
		nodes = append(nodes, n)
	}
	api := "http://" + consulAddrs[0] + ":8500"
	waitConsulLeader(t, api)
	if err := harness.SetUpConsulACL(t.Context(), api, consulManagementToken, "agent"); err != nil {
		t.Fatal(err)
	}
	secrets.Namespace, secrets.ConsulAddress = "payments", consulAddrs[0]+":8500"
	secrets.ConsulToken = consulManagementToken
	if err := harness.SetUpConsulEngine(t.Context(), vc, secrets); err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded consul cluster in %s", time.Since(start).Round(time.Millisecond))

	for i, n := range nodes {
		if out, err := n.Run(t.Context(), "--timeout", "5m"); err != nil {
			t.Fatalf("bootstrap run on %s: %v\n%s", consulID(i), err, out)
		}
		assertHealthDetail(t, n, "leader")
		assertHealthDetail(t, n, "is alive")
		assertContinued(t, env, consulID(i))
		assertVaultMintedToken(t, n, api)
	}
	assertGossipKey(t, api)
	t.Logf("three consul servers healthy in %s", time.Since(start).Round(time.Millisecond))

	// The seeded servers still run with the operator's secrets. Restarted
	// one by one, each runs on what the agent wrote alone.
	for i, n := range nodes {
		if err := n.Unit(t.Context(), "consul.service", false); err != nil {
			t.Fatal(err)
		}
		if err := n.Unit(t.Context(), "consul.service", true); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		targets := consulTargets(consulAddrs[i], consulID(i))
		token := agentsecrets.ConsulAgentToken(n.Scratch.Root)
		for j := range targets {
			targets[j].Token = token
		}
		_, err := health.Wait(ctx, nil, targets, nil, nil)
		cancel()
		if err != nil {
			t.Fatalf("%s after a restart on the agent's secrets: %v", consulID(i), err)
		}
	}
	recordPeak(t, "consul x3 and fixture vault")

	// With the other two servers frozen, gone without leaving
	// (leave_on_terminate would shrink the raft peer set to one on a
	// graceful stop, and systemd restarts a killed one), the first loses its
	// leader and the health checks fail, naming why.
	for _, n := range nodes[1:] {
		if err := n.Freeze(t.Context(), "consul.service"); err != nil {
			t.Fatal(err)
		}
	}
	leader := consulTargets(consulAddrs[0], consulID(0))[0]
	probeUntil(t, leader, "no leader")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err = health.Wait(ctx, nil, consulTargets(consulAddrs[0], consulID(0)), nil, nil)
	var werr *health.WaitError
	if !errors.As(err, &werr) || !errors.Is(err, health.ErrUnhealthy) {
		t.Fatalf("health with two servers stopped: %v, want a *health.WaitError", err)
	}
	if !strings.Contains(err.Error(), "consul-leader: no leader") {
		t.Errorf("health error = %q, want it to name the missing leader", err)
	}
	t.Logf("health with two servers gone: %v", err)
}

// consulTargets are the checks of consul-server as the runner builds them.
func consulTargets(addr, id string) []health.Target {
	url := "http://" + addr + ":8500"
	return []health.Target{
		{Name: "consul-leader", Kind: health.KindConsulLeader, URL: url, NodeName: id},
		{Name: "consul-member", Kind: health.KindConsulMember, URL: url, NodeName: id, Server: true},
	}
}

// seedConsul is the operator's first start of a Consul server: the
// agent's rendered config, and the secrets the agent cannot fetch yet
// written where the secrets stage writes them.
func seedConsul(t *testing.T, n *harness.Node, vc *vaultapi.Client, addr, id string) {
	t.Helper()
	if out, err := n.Render(t.Context()); err != nil {
		t.Fatalf("bootstrap render on %s: %v\n%s", id, err, out)
	}
	dir := filepath.Join(n.Scratch.Root, "run/bootstrap/consul")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	cert, err := vc.Logical().WriteWithContext(t.Context(), "pki/issue/payments-consul",
		map[string]any{"common_name": "server.eu-west-1.consul",
			"alt_names": id + ".server.eu-west-1.consul,localhost", "ip_sans": "127.0.0.1," + addr})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"secrets.hcl": fmt.Sprintf("encrypt = %q\nacl {\n  tokens {\n    initial_management = %q\n"+
			"    agent = %q\n  }\n}\n", gossipKey, consulManagementToken, consulManagementToken),
		"tls.crt": cert.Data["certificate"].(string) + "\n",
		"tls.key": cert.Data["private_key"].(string) + "\n",
		"ca.crt":  cert.Data["issuing_ca"].(string) + "\n",
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.Unit(t.Context(), "consul.service", true); err != nil {
		t.Fatal(err)
	}
}

// waitConsulLeader waits until the agent at api reports a leader.
func waitConsulLeader(t *testing.T, api string) {
	t.Helper()
	target := health.Target{Name: "consul-leader", Kind: health.KindConsulLeader, URL: api}
	probeUntil(t, target, "leader 127.0.63.")
}

// assertVaultMintedToken checks that the agent token the secrets stage
// wrote is a Consul token that Vault created.
func assertVaultMintedToken(t *testing.T, n *harness.Node, api string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(n.Scratch.Root, "run/bootstrap/consul/secrets.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "agent = \"")
	token, _, _ := strings.Cut(rest, "\"")
	if !ok || token == consulManagementToken {
		t.Fatalf("secrets.hcl of %s holds no agent token from Vault", n.Scratch.Root)
	}
	var self struct{ Description string }
	err = harness.ConsulRequest(t.Context(), api, token, http.MethodGet, "/v1/acl/token/self", nil, &self)
	if err != nil {
		t.Fatalf("look up the agent token in consul: %v", err)
	}
	if !strings.HasPrefix(self.Description, "Vault ") {
		t.Errorf("agent token description = %q, want one Vault wrote", self.Description)
	}
}

// assertGossipKey checks that the cluster encrypts gossip with the key
// from Vault.
func assertGossipKey(t *testing.T, api string) {
	t.Helper()
	var rings []struct {
		WAN  bool
		Keys map[string]int
	}
	err := harness.ConsulRequest(t.Context(), api, consulManagementToken, http.MethodGet,
		"/v1/operator/keyring", nil, &rings)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rings {
		if len(r.Keys) != 1 || r.Keys[gossipKey] == 0 {
			t.Errorf("keyring (wan %t) = %v, want only the key from Vault", r.WAN, r.Keys)
		}
	}
}
