// Command standin-agent is a stand-in for the Consul, Nomad and Vault agents,
// for tests and the demo while the real servers are not wired in. It is not
// a HashiCorp binary: build it as standin-agent, and every log line and
// systemd status it writes names it as a stand-in.
//
//	standin-agent -role consul -config /etc/consul.d/consul.hcl -listen 127.0.0.1:8500
//
// It parses the config file with HCL v1, the parser the real agents use, and
// exits 1 with the reason on stderr when the file is missing or does not
// parse, so a unit running it fails the way a real agent's unit would. It
// then serves the role's health endpoints with the documented response
// shapes and reports readiness over the systemd notify protocol when
// NOTIFY_SOCKET is set, for Type=notify units. SIGTERM or SIGINT makes it
// exit 0. A file named standin-health beside the config file lets a test
// make it report unhealthy; see [HealthFile].
//
// It listens on loopback addresses only and rejects any other.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/hashicorp/hcl"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1 // config missing or invalid, or the server failed
	exitUsage   = 2
)

// shutdownTimeout bounds the wait for open requests after SIGTERM.
const shutdownTimeout = 5 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := run(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}

// options are the command-line flags.
type options struct {
	role   string
	config string
	listen string
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var opts options
	fs := flag.NewFlagSet("standin-agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&opts.role, "role", "", "agent to stand in for: consul, nomad or vault")
	fs.StringVar(&opts.config, "config", "", "HCL config file to parse (required)")
	fs.StringVar(&opts.listen, "listen", "", "loopback address to serve the HTTP API on, such as 127.0.0.1:8500")
	if err := fs.Parse(args); err != nil {
		return opts, err
	}
	if fs.NArg() > 0 {
		return opts, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if _, ok := routes[opts.role]; !ok {
		return opts, fmt.Errorf("invalid -role %q: want consul, nomad or vault", opts.role)
	}
	if opts.config == "" {
		return opts, errors.New("missing -config")
	}
	if err := checkLoopback(opts.listen); err != nil {
		return opts, fmt.Errorf("invalid -listen %q: %w", opts.listen, err)
	}
	return opts, nil
}

// checkLoopback accepts only an IP literal on loopback with a port, so the
// stand-in never listens on a network another machine can reach.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return errors.New("want a loopback IP address and port")
	}
	return nil
}

func run(ctx context.Context, args []string, stderr io.Writer) int {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "standin-agent: %v\n", err)
		}
		return exitUsage
	}
	log := slog.New(slog.NewTextHandler(stderr, nil)).With(
		"component", "standin-agent", "role", opts.role)

	cfg, err := loadConfig(opts.config)
	if err != nil {
		fmt.Fprintf(stderr, "standin-agent: stand-in %s: %v\n", opts.role, err)
		notify(log, "STATUS=config invalid: "+err.Error())
		return exitFailure
	}
	if err := serve(ctx, opts, cfg, log); err != nil {
		fmt.Fprintf(stderr, "standin-agent: stand-in %s: %v\n", opts.role, err)
		return exitFailure
	}
	return exitOK
}

// loadConfig reads and parses the config file as the real agents would.
func loadConfig(path string) (map[string]any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg := map[string]any{}
	if err := hcl.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("parse config %s: %w", path, err)
	}
	return cfg, nil
}

func serve(ctx context.Context, opts options, cfg map[string]any, log *slog.Logger) error {
	ln, err := net.Listen("tcp", opts.listen)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler: routes[opts.role](agentInfo{config: cfg, addr: opts.listen,
			healthFile: filepath.Join(filepath.Dir(opts.config), HealthFile)}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	log.Info("stand-in agent listening", "address", ln.Addr().String(), "config", opts.config)
	notify(log, fmt.Sprintf("READY=1\nSTATUS=stand-in %s serving on %s", opts.role, ln.Addr()))

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("stand-in agent stopping")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// notify sends a state to systemd when the process runs under a unit. A
// failure is logged only, because the stand-in works without systemd too.
func notify(log *slog.Logger, state string) {
	if _, err := daemon.SdNotify(false, state); err != nil {
		log.Warn("systemd notify failed", "error", err)
	}
}
