package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/hashistack/bootstrap/internal/config"
	"github.com/hashistack/bootstrap/internal/metadata"
	"github.com/hashistack/bootstrap/internal/runner"
)

// Exit codes, documented in the package doc and the README.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
	exitState  = 3
)

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "run":
		return runCommand(ctx, args[1:], stderr)
	case "render":
		return renderCommand(ctx, args[1:], stdout, stderr)
	case "diagnose":
		return diagnoseCommand(ctx, args[1:], stdout, stderr)
	case "clean":
		return cleanCommand(ctx, args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "bootstrap", buildVersion())
		return exitOK
	case "help", "-h", "-help", "--help":
		fmt.Fprintln(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "bootstrap: unknown command %q\n%s\n", args[0], usage)
	return exitUsage
}

const usage = `usage: bootstrap <command> [flags]

commands:
  run       configure this node: metadata, config, secrets, render, units, health, signal
  render    print the files a run would render, or write them to --out; changes nothing
  diagnose  explain what the last run did and what is wrong now; changes nothing
  clean     remove the agent's state, secrets and rendered files before baking an AMI
  version   print the version

Run "bootstrap <command> -h" for the flags of a command.`

// common holds the flags that run and render share.
type common struct {
	root     string
	config   string
	role     string
	logFmt   string
	timeout  time.Duration
	settings settingsFlag
	// configGiven is set when --config was on the command line, which
	// makes a missing file an error.
	configGiven bool
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.root, "root", "", "prefix every path the agent reads or writes with `DIR` (tests, dry runs)")
	fs.StringVar(&c.config, "config", runner.DefaultConfigFile, "path of the AMI's configuration `file`, below --root")
	fs.StringVar(&c.role, "role", "", "the node's `role`; overrides tags and user-data, which must not disagree")
	fs.StringVar(&c.logFmt, "log-format", "text", "log format on stderr: text or json")
	fs.DurationVar(&c.timeout, "timeout", 15*time.Minute, "`deadline` of the whole run")
	fs.Var(&c.settings, "set", "set a configuration `key=value`, e.g. join.consul=a.example,b.example (repeatable)")
}

// flags returns the command-line configuration layer, in order.
func (c *common) flags() []config.Flag {
	var out []config.Flag
	if c.role != "" {
		out = append(out, config.Flag{Key: "role", Value: c.role, Name: "--role"})
	}
	return append(out, c.settings...)
}

func (c *common) logger(stderr io.Writer) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	switch c.logFmt {
	case "text":
		return slog.New(slog.NewTextHandler(stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(stderr, opts)), nil
	}
	return nil, fmt.Errorf("invalid -log-format %q: use text or json", c.logFmt)
}

// options wires the real clients: endpoints come from the AWS SDK's own
// variables (AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_ENDPOINT_URL_EC2, ...).
func (c *common) options(ctx context.Context, log *slog.Logger) (runner.Options, error) {
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return runner.Options{}, fmt.Errorf("load AWS SDK configuration: %w", err)
	}
	return runner.Options{
		Root:           c.root,
		ConfigFile:     c.config,
		ConfigRequired: c.configGiven,
		Flags:          c.flags(),
		Logger:         log,
		Metadata:       metadata.NewFetcher(awsCfg, log),
		// Credentials come from the SDK's default chain: on a node, the
		// instance profile through IMDS.
		Secrets: runner.SecretsOptions{
			Credentials:    awsCfg.Credentials,
			SecretsManager: secretsmanager.NewFromConfig(awsCfg),
		},
		// The lifecycle package retries with its own logged backoff, so the
		// SDK's retries are off.
		Lifecycle: runner.LifecycleOptions{
			AutoScaling: autoscaling.NewFromConfig(awsCfg, func(o *autoscaling.Options) {
				o.Retryer = aws.NopRetryer{}
			}),
		},
		Timeout: c.timeout,
	}, nil
}

// settingsFlag collects repeated -set key=value flags.
type settingsFlag []config.Flag

func (s *settingsFlag) String() string { return "" }

func (s *settingsFlag) Set(v string) error {
	key, value, ok := strings.Cut(v, "=")
	if !ok || key == "" {
		return fmt.Errorf("%q is not key=value", v)
	}
	*s = append(*s, config.Flag{Key: key, Value: value, Name: "--set " + key})
	return nil
}

func parse(fs *flag.FlagSet, args []string, stderr io.Writer) (int, bool) {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bootstrap %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return exitUsage, false
	}
	return exitOK, true
}

// exitCode prints err as one line and maps it to an exit code.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "bootstrap:", err)
	if errors.Is(err, runner.ErrState) {
		return exitState
	}
	return exitFailed
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
