package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hashistack/bootstrap/internal/health"
	"github.com/hashistack/bootstrap/internal/realservers"
	"github.com/hashistack/bootstrap/internal/realservers/harness"
	"github.com/hashistack/bootstrap/internal/standin/awsapi"
	"github.com/hashistack/bootstrap/internal/state"
)

// vaultUserData is the user-data of a Vault server that joins through the
// DNS name vault.real.internal and unseals with the KMS stand-in.
func vaultUserData() string {
	return `role        = "vault-server"
namespace   = "payments"
datacenter  = "eu-west-1"
environment = "prod"

[join]
vault = ["vault.real.internal"]

[seal]
kms_key_id = "alias/vault-unseal"
`
}

// vaultExtra is the AMI file's part for a Vault node: the KMS endpoint,
// which only the bake may set.
func vaultExtra(kmsURL string) string {
	return realNodeExtra + fmt.Sprintf("\n[seal]\nendpoint = %q\n", kmsURL)
}

// realNodeExtra is appended to a real node's bootstrap.toml: Vault without
// TLS on loopback, and a health wait short enough for a test.
const realNodeExtra = `
[vault]
tls_disable = true

[lifecycle]
max_wait = "3m"
`

// startRun starts `bootstrap run` on n and returns a channel that receives
// its error and stderr when it ends.
func startRun(t *testing.T, n *harness.Node) <-chan runResult {
	t.Helper()
	var out strings.Builder
	cmd := n.Command(t.Context(), "--timeout", "5m")
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan runResult, 1)
	go func() {
		err := cmd.Wait()
		done <- runResult{err: err, stderr: out.String()}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})
	return done
}

type runResult struct {
	err    error
	stderr string
}

// waitRun waits for a run started by startRun and fails the test unless it
// succeeded.
func waitRun(t *testing.T, done <-chan runResult) {
	t.Helper()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("bootstrap run: %v\n%s", r.err, r.stderr)
		}
	case <-t.Context().Done():
		t.Fatal("test ended before bootstrap run")
	}
}

// probeUntil probes t until its reason contains want, and returns the
// status.
func probeUntil(t *testing.T, target health.Target, want string, runs ...<-chan runResult) health.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var last health.Status
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 250*time.Millisecond) {
		last = health.Probe(ctx, nil, target)
		if strings.Contains(last.Reason, want) {
			return last
		}
		for _, run := range runs {
			select {
			case r := <-run:
				t.Fatalf("bootstrap run ended (%v) before %s reported %q; last: %+v\n%s",
					r.err, target.URL, want, last, r.stderr)
			default:
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never reported %q; last: %+v", target.URL, want, last)
		case <-time.After(wait):
		}
	}
}

func TestRealVaultCluster(t *testing.T) {
	requireSystemd(t)
	servers := harness.Binaries(t, realservers.Vault)
	addrs := []string{"127.0.61.1", "127.0.61.2"}
	env := harness.NewEnv(t, bins.bootstrap, servers, "127.0.53.61",
		map[string][]string{"vault.real.internal": {addrs[0]}})
	start := time.Now()

	// The first node: the agent starts Vault, which waits uninitialized.
	first := env.NewNode(t, harness.NodeOptions{Role: "vault-server", Addr: addrs[0],
		InstanceID: "i-0000000000000a101", UserData: vaultUserData(),
		Extra: vaultExtra(env.KMS.URL)})
	run1 := startRun(t, first)
	target := health.Target{Name: "vault-health", Kind: health.KindVaultHealth,
		URL: "http://" + addrs[0] + ":8200", NodeName: "i-0000000000000a101"}
	st := probeUntil(t, target, "not initialized", run1)
	if st.Healthy {
		t.Errorf("uninitialized vault reported healthy: %+v", st)
	}

	// The operator initializes it; Vault unseals itself through KMS and the
	// agent's health stage passes.
	root, err := harness.InitVault(t.Context(), target.URL)
	if err != nil {
		t.Fatal(err)
	}
	waitRun(t, run1)
	// Right after init the node may still be a standby for a moment; the
	// agent accepts a standby, then it becomes the active node.
	assertHealthDetail(t, first, "vault-health: ")
	probeUntil(t, target, "active (200")
	assertContinued(t, env, "i-0000000000000a101")

	// The second node joins through the DNS name and is a standby (429).
	second := env.NewNode(t, harness.NodeOptions{Role: "vault-server", Addr: addrs[1],
		InstanceID: "i-0000000000000a102", UserData: vaultUserData(),
		Extra: vaultExtra(env.KMS.URL)})
	waitRun(t, startRun(t, second))
	assertHealthDetail(t, second, "standby")
	target2 := target
	target2.URL, target2.NodeName = "http://"+addrs[1]+":8200", "i-0000000000000a102"
	if st := health.Probe(t.Context(), nil, target2); !st.Healthy ||
		!strings.Contains(st.Reason, "standby (429") {
		t.Errorf("second node: %+v, want healthy standby (429)", st)
	}
	t.Logf("two vault nodes healthy in %s", time.Since(start).Round(time.Millisecond))
	recordPeak(t, "vault x2")

	// Sealing the active node makes its check report sealed (503). A
	// standby cannot be sealed through the API.
	c, err := harness.VaultClient(target.URL, root)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Sys().SealWithContext(t.Context()); err != nil {
		t.Fatalf("seal first node: %v", err)
	}
	if st := probeUntil(t, target, "sealed (503"); st.Healthy {
		t.Errorf("sealed vault reported healthy: %+v", st)
	}
	for _, call := range env.KMS.Calls() {
		if strings.Contains(call, ":") {
			t.Errorf("KMS rejected a call from Vault: %s", call)
		}
	}
}

// assertContinued checks that the node's launch action was completed with
// CONTINUE.
func assertContinued(t *testing.T, env *harness.Env, id string) {
	t.Helper()
	got := env.AutoScaling.Status(id).Completions
	want := []awsapi.Completion{{Hook: harness.Hook, Result: awsapi.ResultContinue}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lifecycle completions of %s (-want +got):\n%s", id, diff)
	}
}

// assertHealthDetail checks that the node's last run passed the health
// stage with a detail naming want.
func assertHealthDetail(t *testing.T, n *harness.Node, want string) {
	t.Helper()
	f, err := state.Load(n.Scratch.Root)
	if err != nil || f == nil {
		t.Fatalf("load state: %v", err)
	}
	for _, s := range f.Stages {
		if s.Name == "health" {
			if s.Result != state.OK || !strings.Contains(s.Detail, want) {
				t.Errorf("health stage = %s %q, want ok naming %q", s.Result, s.Detail, want)
			}
			return
		}
	}
	t.Errorf("no health stage in %+v", f.Stages)
}

// recordPeak logs the peak memory of the real servers running now, the
// figure that docs/benchmarks.md records.
func recordPeak(t *testing.T, stack string) {
	t.Helper()
	servers := map[string]string{}
	for _, name := range []string{realservers.Consul, realservers.Vault, realservers.Nomad} {
		if p, err := realservers.Path(name); err == nil {
			servers[name] = p
		}
	}
	p := harness.PeakRSS(servers)
	t.Logf("peak memory of %s: %d processes, %.0f MiB (sum of VmHWM)", stack, p.Processes,
		float64(p.KiB)/1024)
}
