package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/hashistack/bootstrap/internal/render"
	"github.com/hashistack/bootstrap/internal/runner"
)

func renderCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var c common
	var out string
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	c.register(fs)
	fs.StringVar(&out, "out", "", "write the files below `DIR` instead of printing them")
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
	files, err := runner.Render(ctx, o)
	if err != nil {
		return exitCode(err, stderr)
	}
	if out == "" {
		err = render.Print(stdout, files)
	} else {
		err = render.WriteTree(out, files)
	}
	if err != nil {
		return exitCode(fmt.Errorf("render: %w", err), stderr)
	}
	return exitOK
}

func usageError(err error, stderr io.Writer) int {
	fmt.Fprintln(stderr, "bootstrap:", err)
	return exitUsage
}
