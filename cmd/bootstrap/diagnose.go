package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/hashistack/bootstrap/internal/diagnose"
	"github.com/hashistack/bootstrap/internal/metadata"
	"github.com/hashistack/bootstrap/internal/units"
)

// exitDiagnoseUsage is diagnose's usage error, EX_USAGE of sysexits.h:
// diagnose gives exit code 2 to a degraded node.
const exitDiagnoseUsage = 64

// diagnoseFlags holds the flags of bootstrap diagnose.
type diagnoseFlags struct {
	root, socket string
	explain      bool
	json         bool
	verbose      bool
	timeout      time.Duration
}

func diagnoseCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var f diagnoseFlags
	fs := flag.NewFlagSet("diagnose", flag.ContinueOnError)
	fs.StringVar(&f.root, "root", "", "read the state and files below `DIR` instead of /")
	fs.BoolVar(&f.explain, "explain", false, "show every effective configuration value and its source")
	fs.BoolVar(&f.json, "json", false, "write the report as JSON (schema in docs/diagnose.md)")
	fs.BoolVar(&f.verbose, "v", false, "log each check's status and duration on stderr")
	fs.DurationVar(&f.timeout, "timeout", diagnose.DefaultTimeout, "`deadline` of each check")
	fs.StringVar(&f.socket, "systemd-socket", "",
		"private socket `path` of the systemd manager running the units; empty is the system manager")
	if code, ok := parse(fs, args, stderr); !ok {
		if code == exitUsage {
			code = exitDiagnoseUsage
		}
		return code
	}
	if f.timeout <= 0 {
		fmt.Fprintf(stderr, "bootstrap diagnose: --timeout %s must be positive, such as 3s\n", f.timeout)
		return exitDiagnoseUsage
	}
	rep := diagnose.Run(ctx, f.options(ctx, stderr))
	write := diagnose.WriteText
	if f.json {
		write = diagnose.WriteJSON
	}
	if err := write(stdout, rep); err != nil {
		fmt.Fprintln(stderr, "bootstrap diagnose: write report:", err)
		return exitFailed
	}
	return rep.ExitCode
}

func (f diagnoseFlags) options(ctx context.Context, stderr io.Writer) diagnose.Options {
	level := slog.LevelWarn
	if f.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	o := diagnose.Options{
		Root: f.root, Explain: f.explain, Logger: log, Timeout: f.timeout,
		VaultAddress: os.Getenv("VAULT_ADDR"),
		Systemd: func(ctx context.Context) (diagnose.UnitConn, error) {
			return units.Dial(ctx, f.socket)
		},
	}
	// The SDK reads AWS_EC2_METADATA_SERVICE_ENDPOINT here, as a run does.
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		log.Warn("aws sdk configuration not loaded, imds checks skipped", "error", err)
		return o
	}
	o.IMDS = metadata.NewIMDSClient(awsCfg)
	return o
}
