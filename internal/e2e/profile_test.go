package e2e

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/hashistack/bootstrap/internal/standin/awsapi"
	"github.com/hashistack/bootstrap/internal/standin/imds"
	"github.com/hashistack/bootstrap/internal/standin/vault"
	"github.com/hashistack/bootstrap/internal/testenv/dnsserver"
	"github.com/hashistack/bootstrap/internal/testenv/scratch"
	"github.com/hashistack/bootstrap/internal/testenv/systemd"
)

// TestVaultLoginWithInstanceProfile runs a first boot with no AWS
// credentials in the environment, as on a node: the Vault login must sign
// with the instance profile's temporary credentials, read through IMDSv2,
// session token included.
func TestVaultLoginWithInstanceProfile(t *testing.T) {
	requireSystemd(t)
	creds := aws.Credentials{AccessKeyID: "ASIAPROFILEE2E", SecretAccessKey: "profile-secret-not-real",
		SessionToken: "profile-session-token"}
	const id = "i-0e2e0000000000c7"
	meta := imds.New(t, imds.Config{
		Identity: imds.Identity{InstanceID: id, AccountID: "123456789012", Region: "eu-west-1",
			AvailabilityZone: "eu-west-1a", PrivateIP: "10.1.2.3"},
		UserData: []byte(userData("nomad-client")),
		Tags:     map[string]string{"Name": "e2e-profile"},
		Role:     "payments-node",
		Credentials: imds.RoleCredentials{AccessKeyID: creds.AccessKeyID,
			SecretAccessKey: creds.SecretAccessKey, SessionToken: creds.SessionToken,
			Expiration: time.Now().Add(time.Hour)},
	})
	sts := awsapi.NewSTS(t, awsapi.Options{Region: "eu-west-1", Credentials: creds},
		awsapi.CallerIdentity{Arn: "arn:aws:sts::123456789012:assumed-role/payments-node/" + id,
			UserID: "AROAPROFILE:" + id, Account: "123456789012"})
	v := vault.New(t, vault.Config{
		STSEndpoint: sts.URL, ServerID: "vault.e2e.internal",
		Roles: map[string]vault.Role{"payments": {
			BoundARN: "arn:aws:sts::123456789012:assumed-role/payments-node/*",
			Policies: []string{"payments"}}},
		Policies: map[string][]string{"payments": {"pki/issue/payments-*"}},
		PKIRoles: []string{"pki/issue/payments-nomad"},
	})
	dns := dnsserver.Start(t, joinNames)
	n := scratch.Node{Root: t.TempDir(), Role: "nomad-client", Addr: addrs["nomad-client"],
		DNSServer: dns.Addr, StandinAgent: bins.agent}
	if err := scratch.Prepare(n); err != nil {
		t.Fatal(err)
	}
	mgr := systemd.Start(t, systemd.Options{ConfigHome: n.ConfigHome()})

	cmd := exec.Command(bins.bootstrap, "run", "--root", n.Root, "--systemd-socket", mgr.Socket,
		"--timeout", "2m")
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
		"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + meta.URL,
		"AWS_ENDPOINT_URL=http://127.0.0.1:9",
		"VAULT_ADDR=" + v.URL,
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bootstrap run: %v\n%s", err, out)
	}
	wantPath := "GET /latest/meta-data/iam/security-credentials/payments-node"
	if !slices.ContainsFunc(meta.Requests(), func(r string) bool { return strings.HasPrefix(r, wantPath) }) {
		t.Errorf("IMDS never served the profile's credentials; requests: %v", meta.Requests())
	}
	calls := sts.Calls()
	if len(calls) != 1 || calls[0].Action != "GetCallerIdentity" || calls[0].Error != "" {
		t.Errorf("STS calls = %+v, want one accepted GetCallerIdentity", calls)
	}
	if strings.Contains(string(out), creds.SecretAccessKey) || strings.Contains(string(out), creds.SessionToken) {
		t.Error("run output contains the profile's credentials")
	}
}
