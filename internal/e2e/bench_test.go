package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/hashistack/bootstrap/internal/standin/awsapi"
	"github.com/hashistack/bootstrap/internal/standin/imds"
	"github.com/hashistack/bootstrap/internal/standin/vault"
	"github.com/hashistack/bootstrap/internal/state"
	"github.com/hashistack/bootstrap/internal/testenv/dnsserver"
	"github.com/hashistack/bootstrap/internal/testenv/scratch"
)

// benchLatency is added to every IMDS and AWS API answer.
const benchLatency = 5 * time.Millisecond

// BenchmarkRunToRender measures the wall time of `bootstrap run` from the
// process start to the end of its render stage, and the process's peak
// RSS, with benchLatency added to every IMDS, AWS and Vault answer. Each iteration
// is a first boot into a fresh root. The run then fails in its units stage
// on purpose (no systemd manager), which the figures do not include.
func BenchmarkRunToRender(b *testing.B) {
	for _, tc := range []struct {
		name         string
		tagsDisabled bool
	}{
		{"tags_from_imds", false},
		{"tags_from_describe_tags", true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			benchRunToRender(b, tc.tagsDisabled)
		})
	}
}

func benchRunToRender(b *testing.B, tagsDisabled bool) {
	creds := aws.Credentials{AccessKeyID: "AKIDBENCH", SecretAccessKey: "bench-not-a-secret",
		SessionToken: "bench-session"}
	const instanceID = "i-0be0000000000be01"
	tags := map[string]string{
		"Name": "bench", "hashistack:role": "nomad-client",
		"hashistack:namespace": "payments", "hashistack:environment": "prod",
	}
	meta := imds.New(b, imds.Config{
		Identity: imds.Identity{InstanceID: instanceID, AccountID: "123456789012",
			Region: "eu-west-1", AvailabilityZone: "eu-west-1a", PrivateIP: "10.1.2.3"},
		UserData: []byte("[join]\nnomad = [\"nomad.e2e.internal\"]\n" +
			"[vault]\nserver_id = \"vault.e2e.internal\"\n"),
		Tags:         tags,
		TagsDisabled: tagsDisabled,
		Role:         "bench-node",
		Credentials: imds.RoleCredentials{AccessKeyID: creds.AccessKeyID,
			SecretAccessKey: creds.SecretAccessKey, SessionToken: creds.SessionToken,
			Expiration: time.Now().Add(time.Hour)},
		Latency: benchLatency,
	})
	ec2 := awsapi.NewEC2(b, awsapi.Options{Region: "eu-west-1", Credentials: creds,
		Tags: map[string]map[string]string{instanceID: tags}})
	ec2URL := delayed(b, ec2.URL)
	dns := dnsserver.Start(b, joinNames)
	// The secrets stage runs before render: its Vault login and PKI
	// request go to stand-ins with the same latency.
	sts := awsapi.NewSTS(b, awsapi.Options{Region: "eu-west-1", Credentials: creds},
		awsapi.CallerIdentity{Arn: "arn:aws:sts::123456789012:assumed-role/payments-node/" + instanceID,
			UserID: "AROABENCH:" + instanceID, Account: "123456789012"})
	vaultSrv := vault.New(b, vault.Config{
		STSEndpoint: sts.URL, ServerID: "vault.e2e.internal",
		Roles: map[string]vault.Role{"payments": {
			BoundARN: "arn:aws:sts::123456789012:assumed-role/payments-node/*",
			Policies: []string{"payments"}}},
		Policies: map[string][]string{"payments": {"pki/issue/payments-*"}},
		PKIRoles: []string{"pki/issue/payments-nomad"},
	})
	vaultURL := delayed(b, vaultSrv.URL)

	var total time.Duration
	var peakKB int64
	dir := b.TempDir()
	i := 0
	for b.Loop() {
		i++
		root := filepath.Join(dir, fmt.Sprint(i))
		n := scratch.Node{Root: root, Role: "nomad-client", Addr: "127.0.0.13",
			DNSServer: dns.Addr, StandinAgent: "/bin/false"}
		if err := scratch.Prepare(n); err != nil {
			b.Fatal(err)
		}
		cmd := exec.Command(bins.bootstrap, "run", "--root", root,
			"--systemd-socket", filepath.Join(root, "no-manager"))
		cmd.Env = []string{
			"PATH=" + os.Getenv("PATH"), "HOME=" + root,
			"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + meta.URL,
			"AWS_ENDPOINT_URL=http://127.0.0.1:9",
			"AWS_ENDPOINT_URL_EC2=" + ec2URL,
			"VAULT_ADDR=" + vaultURL,
		}
		start := time.Now()
		_ = cmd.Run() // fails in the units stage, after render
		st, err := state.Load(root)
		if err != nil || st == nil {
			b.Fatalf("no state after run %d: %v", i, err)
		}
		r := st.Stage("render")
		if r == nil || r.Result != state.OK {
			b.Fatalf("run %d did not render: %+v", i, st.Stages)
		}
		total += r.Started.Add(r.Duration).Sub(start)
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru.Maxrss > peakKB {
			peakKB = ru.Maxrss
		}
	}
	b.ReportMetric(float64(total.Microseconds())/float64(i)/1000, "ms-to-render/op")
	b.ReportMetric(float64(peakKB)/1024, "MB-peak-rss")
}

// delayed puts a reverse proxy in front of target that holds every answer
// for benchLatency, and returns its URL.
func delayed(b *testing.B, target string) string {
	u, err := url.Parse(target)
	if err != nil {
		b.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(benchLatency)
		proxy.ServeHTTP(w, r)
	}))
	b.Cleanup(srv.Close)
	return srv.URL
}
