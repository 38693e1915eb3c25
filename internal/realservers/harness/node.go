package harness

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sddbus "github.com/coreos/go-systemd/v22/dbus"

	"github.com/hashistack/bootstrap/internal/standin/awsapi"
	"github.com/hashistack/bootstrap/internal/testenv/imdsmock"
	"github.com/hashistack/bootstrap/internal/testenv/scratch"
	"github.com/hashistack/bootstrap/internal/testenv/systemd"
	"github.com/hashistack/bootstrap/internal/units"
)

// Region, account and credentials of every scratch node. The credentials
// sign the requests to the STS, Auto Scaling and KMS stand-ins; no real
// AWS account has them.
const (
	Region  = "eu-west-1"
	Account = "123456789012"
)

// Creds are the AWS credentials of the agent and of Vault's awskms seal.
var Creds = aws.Credentials{AccessKeyID: "AKIDREALSERVERS", SecretAccessKey: "real-servers-secret-not-real"}

// NodeRoleARN is the IAM role of every scratch node, as STS returns it for
// an instance profile's session.
const NodeRoleARN = "arn:aws:iam::" + Account + ":role/payments-node"

// Group and Hook name the Auto Scaling group of every node and its
// launching hook.
const (
	Group = "real-servers"
	Hook  = "launch"
)

// Env contains what the nodes of one test share: the real binaries, the DNS
// server and the AWS stand-ins.
type Env struct {
	// Bootstrap is the agent binary under test.
	Bootstrap string
	Binaries  map[string]string
	DNS       *DNS
	KMS       *KMS
	STS       *awsapi.Server
	// STSURL is the STS endpoint Vault's aws auth method is configured with.
	STSURL string
	// AutoScaling holds every node in group [Group], whose launching hook
	// [Hook] the signal stage completes.
	AutoScaling *awsapi.AutoScaling
}

// NewEnv starts the DNS server on dnsIP:53 with records and the AWS
// stand-ins.
func NewEnv(t testing.TB, bootstrap string, bins map[string]string, dnsIP string,
	records map[string][]string) *Env {
	t.Helper()
	opts := awsapi.Options{Region: Region, Credentials: Creds}
	e := &Env{
		Bootstrap: bootstrap,
		Binaries:  bins,
		DNS:       StartDNS(t, dnsIP, records),
		KMS:       StartKMS(t, Region, "alias/vault-unseal", Creds),
		STS: awsapi.NewSTS(t, opts, awsapi.CallerIdentity{
			Arn:     "arn:aws:sts::" + Account + ":assumed-role/payments-node/i-0e2e",
			UserID:  "AROAEXAMPLEROLEID:i-0e2e",
			Account: Account,
		}),
		AutoScaling: awsapi.NewAutoScaling(t, opts, awsapi.Group{Name: Group,
			Hooks: []awsapi.Hook{{Name: Hook, Transition: awsapi.TransitionLaunching}}}),
	}
	e.STSURL = e.STS.URL
	return e
}

// Node is one scratch node whose units run the real servers under a
// contained systemd manager of its own.
type Node struct {
	Scratch scratch.Node
	Manager *systemd.Manager
	IMDS    string
	env     *Env
}

// NodeOptions describes a node.
type NodeOptions struct {
	Role, Addr, InstanceID string
	// UserData is the node's user-data document.
	UserData string
	// Extra is appended to the AMI's bootstrap.toml.
	Extra string
}

// NewNode prepares the scratch tree, starts its systemd manager and its
// IMDS mock. Everything stops when the test ends, Nomad's leftovers
// included.
func (e *Env) NewNode(t testing.TB, o NodeOptions) *Node {
	t.Helper()
	n := scratch.Node{Root: t.TempDir(), Role: o.Role, Addr: o.Addr,
		DNSServer: e.DNS.Addr, StandinAgent: "/nonexistent", Extra: o.Extra}
	real := scratch.Real{Binaries: e.Binaries, ResolvConf: e.DNS.ResolvConf,
		Env: map[string][]string{"vault": {
			"AWS_ACCESS_KEY_ID=" + Creds.AccessKeyID,
			"AWS_SECRET_ACCESS_KEY=" + Creds.SecretAccessKey,
			"AWS_EC2_METADATA_DISABLED=true",
		}}}
	if err := scratch.PrepareReal(n, real); err != nil {
		t.Fatal(err)
	}
	// Registered before the manager's stop, so it runs after it: Nomad's
	// cgroups and mounts outlive its process.
	t.Cleanup(func() {
		if err := CleanNomad(n.Root); err != nil {
			t.Errorf("clean up after nomad: %v", err)
		}
	})
	e.AutoScaling.Launch(o.InstanceID, Group, awsapi.Launch{})
	node := &Node{Scratch: n, env: e}
	node.Manager = systemd.Start(t, systemd.Options{ConfigHome: n.ConfigHome()})
	node.IMDS = imdsmock.Start(t, imdsmock.Config{
		InstanceID: o.InstanceID, AccountID: Account, Region: Region, PrivateIP: o.Addr,
		Tags:     map[string]string{"Name": "real-" + o.Role, "hashistack:role": o.Role},
		UserData: []byte(o.UserData),
	})
	return node
}

// Command returns `bootstrap run` for the node, every endpoint on
// loopback. AWS_ENDPOINT_URL points at a closed port, so any AWS call
// that no stand-in serves fails here instead of leaving the machine.
func (n *Node) Command(ctx context.Context, args ...string) *exec.Cmd {
	args = append([]string{"run", "--root", n.Scratch.Root, "--systemd-socket",
		n.Manager.Socket}, args...)
	cmd := exec.CommandContext(ctx, n.env.Bootstrap, args...)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + n.Scratch.Root,
		"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + n.IMDS,
		"AWS_ENDPOINT_URL=http://127.0.0.1:9",
		"AWS_ENDPOINT_URL_AUTO_SCALING=" + n.env.AutoScaling.URL,
		"AWS_ACCESS_KEY_ID=" + Creds.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + Creds.SecretAccessKey,
		"AWS_REGION=" + Region,
	}
	return cmd
}

// Run runs `bootstrap run` to its end and returns its stderr.
func (n *Node) Run(ctx context.Context, args ...string) (string, error) {
	var stderr bytes.Buffer
	cmd := n.Command(ctx, args...)
	cmd.Stderr = &stderr
	err := cmd.Run()
	return stderr.String(), err
}

// Render runs `bootstrap render` for the node and writes the files into
// its root, as the render stage would, without secrets or units. The
// Consul test seeds the first cluster with it.
func (n *Node) Render(ctx context.Context, args ...string) (string, error) {
	args = append([]string{"render", "--root", n.Scratch.Root, "--out", n.Scratch.Root}, args...)
	cmd := n.Command(ctx)
	cmd.Args = append([]string{cmd.Args[0]}, args...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Unit starts (start true) or stops the unit on the node's manager and
// waits for the job's result.
func (n *Node) Unit(ctx context.Context, unit string, start bool) error {
	conn, err := units.Dial(ctx, n.Manager.Socket)
	if err != nil {
		return err
	}
	defer conn.Close()
	done := make(chan string, 1)
	if start {
		err = conn.ReloadContext(ctx)
		if err == nil {
			_, err = conn.StartUnitContext(ctx, unit, "replace", done)
		}
	} else {
		_, err = conn.StopUnitContext(ctx, unit, "replace", done)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", unit, err)
	}
	select {
	case result := <-done:
		if result != "done" {
			return fmt.Errorf("%s: job %s", unit, result)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Kill sends SIGKILL to the unit's processes, as a crash or a terminated
// instance would end them: no graceful leave.
func (n *Node) Kill(ctx context.Context, unit string) error {
	return n.signal(ctx, unit, syscall.SIGKILL)
}

// Freeze stops every process of unit with SIGSTOP: the server stops
// answering its peers without leaving the cluster, and systemd, which sees
// the unit still running, does not restart it as it does after a kill
// (Restart=on-failure). Stopping the manager ends the processes as usual,
// because systemd follows its stop signal with SIGCONT.
func (n *Node) Freeze(ctx context.Context, unit string) error {
	return n.signal(ctx, unit, syscall.SIGSTOP)
}

func (n *Node) signal(ctx context.Context, unit string, sig syscall.Signal) error {
	conn, err := units.Dial(ctx, n.Manager.Socket)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.KillUnitWithTarget(ctx, unit, sddbus.All, int32(sig))
}
