package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/hashistack/bootstrap/internal/clean"
)

func cleanCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o clean.Options
	var check bool
	fs := flag.NewFlagSet("clean", flag.ContinueOnError)
	fs.StringVar(&o.Root, "root", "", "prefix every path with `DIR` (tests, a mounted image)")
	fs.StringVar(&o.UnitDir, "unit-dir", clean.DefaultUnitDir,
		"`directory` of the drop-ins the render stage wrote (systemd.unit_dir)")
	fs.BoolVar(&o.DryRun, "dry-run", false, "list what would be removed; remove nothing")
	fs.BoolVar(&check, "check", false,
		"remove nothing; list what is left and exit 1 unless nothing is")
	if code, ok := parse(fs, args, stderr); !ok {
		return code
	}
	if check {
		return checkClean(o, stdout, stderr)
	}
	removed, err := clean.Clean(ctx, o)
	verb := "removed"
	if o.DryRun {
		verb = "would remove"
	}
	for _, r := range removed {
		fmt.Fprintf(stdout, "%s %s (%s)\n", verb, r.Path, r.Reason)
	}
	if errors.Is(err, clean.ErrBusy) {
		fmt.Fprintln(stderr, "bootstrap: clean:", err)
		return exitState
	}
	if err != nil {
		return exitCode(fmt.Errorf("clean: %w", err), stderr)
	}
	if len(removed) == 0 {
		fmt.Fprintln(stdout, "nothing to remove")
	}
	return exitOK
}

func checkClean(o clean.Options, stdout, stderr io.Writer) int {
	left, err := clean.Check(o)
	if err != nil {
		return exitCode(fmt.Errorf("clean check: %w", err), stderr)
	}
	for _, r := range left {
		fmt.Fprintf(stdout, "left %s (%s)\n", r.Path, r.Reason)
	}
	if len(left) > 0 {
		fmt.Fprintf(stderr, "bootstrap: clean check: %d paths left: run bootstrap clean\n", len(left))
		return exitFailed
	}
	fmt.Fprintln(stdout, "clean: no state, secret or rendered file left")
	return exitOK
}
