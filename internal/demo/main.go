// Command demo runs a whole first boot of each role against local
// stand-ins, all on loopback: AWS's IMDS mock serving the role's user-data
// and tags, a DNS server for the retry_join names, and a contained systemd
// user manager per node that really starts the role's units. The units run
// the stand-in agent in place of Consul, Nomad and Vault.
//
// It prints each stage's result and timing and the files written, stops
// every process it started, and leaves each node's scratch root under -dir
// for inspection. Run it with `make demo`; it needs root for the contained
// systemd manager.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/hashistack/bootstrap/internal/standin/awsapi"
	"github.com/hashistack/bootstrap/internal/state"
	"github.com/hashistack/bootstrap/internal/testenv/dnsserver"
	"github.com/hashistack/bootstrap/internal/testenv/imdsmock"
	"github.com/hashistack/bootstrap/internal/testenv/scratch"
	"github.com/hashistack/bootstrap/internal/testenv/systemd"
)

// node is one demo instance.
type node struct {
	role, addr, instanceID string
}

var nodes = []node{
	{"consul-server", "127.0.0.11", "i-0de00000000000c01"},
	{"nomad-server", "127.0.0.12", "i-0de00000000000a02"},
	{"nomad-client", "127.0.0.13", "i-0de00000000000c03"},
	{"vault-server", "127.0.0.14", "i-0de00000000000d04"},
}

var joinNames = map[string][]string{
	"consul-servers.demo.internal": {"127.0.0.11"},
	"nomad-servers.demo.internal":  {"127.0.0.12"},
	"vault-servers.demo.internal":  {"127.0.0.14"},
}

func main() {
	bin := flag.String("bin", "bin", "directory holding the built bootstrap and standin-agent")
	dir := flag.String("dir", "demo", "directory for the scratch roots; replaced on each run")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, *bin, *dir, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, bin, dir string, out io.Writer) error {
	if err := systemd.Available(); err != nil {
		return fmt.Errorf("a contained systemd manager cannot run here: %w", err)
	}
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	dns, err := dnsserver.Launch(joinNames)
	if err != nil {
		return err
	}
	defer dns.Stop()
	aws, err := startAWS()
	if err != nil {
		return err
	}
	defer aws.stop()
	fmt.Fprintf(out, "stand-ins on loopback: DNS %s, Vault %s, STS %s, Auto Scaling %s\n\n",
		dns.Addr, aws.vault.URL, aws.sts.URL, aws.autoScaling.URL)

	start := time.Now()
	var failed []string
	for _, n := range nodes {
		aws.autoScaling.Launch(n.instanceID, demoGroup, awsapi.Launch{})
		if err := boot(ctx, n, bin, dir, dns.Addr, aws, out); err != nil {
			fmt.Fprintf(out, "  %s: %v\n\n", n.role, err)
			failed = append(failed, n.role)
		}
	}
	fmt.Fprintf(out, "4 first boots in %s; scratch roots left in %s\n",
		time.Since(start).Round(time.Millisecond), dir)
	if len(failed) > 0 {
		return fmt.Errorf("first boot failed for %v", failed)
	}
	return nil
}

// boot runs one first boot with its own IMDS mock and systemd manager,
// both stopped before it returns.
func boot(ctx context.Context, n node, bin, dir, dnsAddr string, aws *standins, out io.Writer) error {
	sn := scratch.Node{
		Root:         filepath.Join(dir, n.role),
		Role:         n.role,
		Addr:         n.addr,
		DNSServer:    dnsAddr,
		StandinAgent: filepath.Join(bin, "standin-agent"),
	}
	if n.role == "vault-server" {
		// The stand-in agent serves plain HTTP on loopback.
		sn.Extra = "\n[vault]\ntls_disable = true\n\n[seal]\nendpoint = \"http://127.0.0.1:9\"\n"
	}
	if err := scratch.Prepare(sn); err != nil {
		return err
	}
	mockDir := filepath.Join(dir, ".imds-"+n.role)
	if err := os.MkdirAll(mockDir, 0o755); err != nil {
		return err
	}
	mock, err := imdsmock.Launch(ctx, mockDir, imdsmock.Config{
		InstanceID: n.instanceID,
		AccountID:  "123456789012",
		Region:     "eu-west-1",
		PrivateIP:  "10.0.1.10",
		Tags:       map[string]string{"Name": "demo-" + n.role, "hashistack:role": n.role},
		UserData:   []byte(userData(n.role)),
	})
	if err != nil {
		return fmt.Errorf("start IMDS mock: %w", err)
	}
	defer mock.Stop()
	mgr, err := systemd.Launch(ctx, systemd.Options{ConfigHome: sn.ConfigHome()})
	if err != nil {
		return fmt.Errorf("start systemd manager: %w", err)
	}
	defer func() { _ = mgr.Stop() }()

	fmt.Fprintf(out, "== %s (%s, IMDS mock %s)\n", n.role, n.addr, mock.URL)
	log, err := os.Create(filepath.Join(sn.Root, "bootstrap.log"))
	if err != nil {
		return err
	}
	defer func() { _ = log.Close() }()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "bootstrap"), "run",
		"--root", sn.Root, "--systemd-socket", mgr.Socket, "--timeout", "1m")
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + sn.Root,
		"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + mock.URL,
		// Any AWS API without a stand-in gets a closed loopback port.
		"AWS_ENDPOINT_URL=http://127.0.0.1:9",
		"AWS_ENDPOINT_URL_AUTO_SCALING=" + aws.autoScaling.URL,
		"AWS_ACCESS_KEY_ID=" + demoCredentials.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + demoCredentials.SecretAccessKey,
		"AWS_REGION=eu-west-1",
		"VAULT_ADDR=" + aws.vault.URL,
	}
	cmd.Stderr = log
	runErr := cmd.Run()
	if err := report(out, sn.Root); err != nil {
		return err
	}
	if runErr != nil {
		return fmt.Errorf("bootstrap run: %w (log: %s)", runErr, log.Name())
	}
	return diagnose(ctx, cmd.Env, bin, sn.Root, mgr.Socket, aws.sts.URL, out)
}

// diagnose runs `bootstrap diagnose` on the node while its stand-ins still
// run, with the same endpoint overrides as the run. It prints the verdict
// line and writes the whole report to diagnose.txt in the node's root.
func diagnose(ctx context.Context, env []string, bin, root, socket, sts string, out io.Writer) error {
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "bootstrap"), "diagnose",
		"--root", root, "--systemd-socket", socket)
	// The clock check reads the Date header of the STS stand-in.
	cmd.Env = append(env, "AWS_ENDPOINT_URL_STS="+sts)
	report, err := cmd.Output()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return fmt.Errorf("bootstrap diagnose: %w", err)
	}
	path := filepath.Join(root, "diagnose.txt")
	if err := os.WriteFile(path, report, 0o644); err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSpace(string(report)), "\n")
	fmt.Fprintf(out, "  bootstrap diagnose: %s (report: %s)\n\n", lines[len(lines)-1], path)
	return nil
}

// report prints the stages and rendered files from the node's state file.
func report(out io.Writer, root string) error {
	st, err := state.Load(root)
	if err != nil {
		return err
	}
	if st == nil {
		return errors.New("no state file written")
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, s := range st.Stages {
		note := s.Detail
		if s.Error != "" {
			note = s.Error
		}
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\n", s.Name, s.Result,
			s.Duration.Round(10*time.Microsecond), note)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for _, f := range st.Files {
		fmt.Fprintf(out, "  wrote %s (%s %s:%s)\n", filepath.Join(root, f.Path), f.Mode, f.Owner, f.Group)
	}
	return nil
}

func userData(role string) string {
	doc := fmt.Sprintf(`role        = %q
namespace   = "payments"
datacenter  = "eu-west-1"
environment = "demo"

[join]
consul = ["consul-servers.demo.internal"]
nomad  = ["nomad-servers.demo.internal"]
vault  = ["vault-servers.demo.internal"]

[vault]
server_id = "vault.demo.internal"
`, role)
	if role == "vault-server" {
		doc += "\n[seal]\nkms_key_id = \"alias/vault-unseal\"\n"
	}
	return doc
}
