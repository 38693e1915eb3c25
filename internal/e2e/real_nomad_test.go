package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hashistack/bootstrap/internal/health"
	"github.com/hashistack/bootstrap/internal/realservers"
	"github.com/hashistack/bootstrap/internal/realservers/harness"
)

// realUserData is the user-data of a payments node that takes its secrets
// from the Vault at vaultAddr and joins through the real.internal names.
func realUserData(role, vaultAddr string) string {
	return fmt.Sprintf(`role        = %q
namespace   = "payments"
datacenter  = "eu-west-1"
environment = "prod"

[join]
consul = ["consul.real.internal"]
nomad  = ["nomad.real.internal"]

[vault]
address   = %q
server_id = "vault.real.internal"
`, role, vaultAddr)
}

// nomadFlags pin the Nomad version the bake would record and a single
// server.
var nomadFlags = []string{"--set", "nomad.version=" + strings.TrimPrefix(realservers.NomadVersion, "v"),
	"--set", "nomad.bootstrap_expect=1"}

// setUpVault starts the fixture Vault on addr and configures it as the
// operator would for the payments namespace.
func setUpVault(t *testing.T, env *harness.Env, addr string, s harness.Secrets) string {
	t.Helper()
	address := harness.StartDevVault(t, env.Binaries[realservers.Vault], addr)
	c, err := harness.VaultClient(address, harness.DevVaultToken)
	if err != nil {
		t.Fatal(err)
	}
	s.Namespace, s.GossipKey, s.ServerID, s.STSEndpoint = "payments", gossipKey,
		"vault.real.internal", env.STSURL
	if err := harness.SetUp(t.Context(), c, s); err != nil {
		t.Fatal(err)
	}
	return address
}

func TestRealNomadServerAndClient(t *testing.T) {
	requireSystemd(t)
	servers := harness.Binaries(t, realservers.Nomad, realservers.Vault)
	const serverAddr, clientAddr, vaultAddr = "127.0.62.1", "127.0.62.2", "127.0.62.9"
	env := harness.NewEnv(t, bins.bootstrap, servers, "127.0.53.62",
		map[string][]string{"nomad.real.internal": {serverAddr},
			"consul.real.internal": {"127.0.62.20"}})
	vault := setUpVault(t, env, vaultAddr, harness.Secrets{})
	start := time.Now()

	server := env.NewNode(t, harness.NodeOptions{Role: "nomad-server", Addr: serverAddr,
		InstanceID: "i-0000000000000b101", UserData: realUserData("nomad-server", vault),
		Extra: realNodeExtra})
	if out, err := server.Run(t.Context(), append(nomadFlags, "--timeout", "5m")...); err != nil {
		t.Fatalf("bootstrap run on the nomad server: %v\n%s", err, out)
	}
	assertHealthDetail(t, server, "leader")
	assertContinued(t, env, "i-0000000000000b101")

	client := env.NewNode(t, harness.NodeOptions{Role: "nomad-client", Addr: clientAddr,
		InstanceID: "i-0000000000000b102", UserData: realUserData("nomad-client", vault),
		Extra: realNodeExtra})
	if out, err := client.Run(t.Context(), append(nomadFlags, "--timeout", "5m")...); err != nil {
		t.Fatalf("bootstrap run on the nomad client: %v\n%s", err, out)
	}
	assertHealthDetail(t, client, "ready and eligible")
	assertContinued(t, env, "i-0000000000000b102")
	t.Logf("nomad server and client healthy in %s", time.Since(start).Round(time.Millisecond))
	recordPeak(t, "nomad server, client and fixture vault")

	// An ineligible node fails the client's check even though it is ready.
	target := health.Target{Name: "nomad-node", Kind: health.KindNomadNode,
		URL: "http://" + clientAddr + ":4646", NodeName: "i-0000000000000b102",
		NodeClass: "payments"}
	setEligibility(t, target.URL, "i-0000000000000b102", false)
	if st := probeUntil(t, target, "ineligible"); st.Healthy {
		t.Errorf("ineligible node reported healthy: %+v", st)
	}
	setEligibility(t, target.URL, "i-0000000000000b102", true)
	if st := health.Probe(t.Context(), nil, target); !st.Healthy {
		t.Errorf("eligible node again: %+v, want healthy", st)
	}
	target.NodeClass = "other"
	if st := health.Probe(t.Context(), nil, target); st.Healthy || !st.Fatal {
		t.Errorf("node with another class: %+v, want a fatal failure", st)
	}
}

// setEligibility marks the Nomad node named name eligible or not through
// the agent's HTTP API.
func setEligibility(t *testing.T, api, name string, eligible bool) {
	t.Helper()
	resp, err := http.Get(api + "/v1/nodes?prefix=")
	if err != nil {
		t.Fatal(err)
	}
	var nodes []struct{ ID, Name string }
	err = json.NewDecoder(resp.Body).Decode(&nodes)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	id := ""
	for _, n := range nodes {
		if n.Name == name {
			id = n.ID
		}
	}
	if id == "" {
		t.Fatalf("node %s not registered: %+v", name, nodes)
	}
	value := "ineligible"
	if eligible {
		value = "eligible"
	}
	body, _ := json.Marshal(map[string]string{"NodeID": id, "Eligibility": value})
	resp, err = http.Post(api+"/v1/node/"+id+"/eligibility", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("set eligibility of %s: %s", name, resp.Status)
	}
}
