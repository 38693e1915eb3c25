package main

import (
	"context"
	"flag"
	"io"

	"github.com/hashistack/bootstrap/internal/runner"
	"github.com/hashistack/bootstrap/internal/units"
)

func runCommand(ctx context.Context, args []string, stderr io.Writer) int {
	var c common
	var socket string
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	c.register(fs)
	fs.StringVar(&socket, "systemd-socket", "",
		"private socket `path` of the systemd manager to drive; empty is the system manager")
	if code, ok := parse(fs, args, stderr); !ok {
		return code
	}
	log, err := c.logger(stderr)
	if err == nil {
		err = c.check(fs)
	}
	if err != nil {
		return usageError(err, stderr)
	}
	o, err := c.options(ctx, log)
	if err != nil {
		return exitCode(err, stderr)
	}
	o.Systemd = func(ctx context.Context) (units.Conn, error) {
		return units.Dial(ctx, socket)
	}
	_, err = runner.Run(ctx, o)
	return exitCode(err, stderr)
}
