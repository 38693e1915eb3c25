// Command bootstrap turns an EC2 instance into a configured member of the
// HashiCorp stack on its first boot, and reruns the per-boot part on every
// later boot.
//
// Usage:
//
//	bootstrap run [flags]      first boot: metadata, config, secrets, render, units, health, signal
//	bootstrap render [flags]   dry run: print or write the files a run would render, touch nothing
//	bootstrap diagnose [flags] explain what the last run did and what is wrong now, read-only
//	bootstrap version          print the version
//
// Exit codes of run, render and version:
//
//	0  success
//	1  a stage failed; the last line on stderr names the stage, the value and the fix
//	2  usage error: unknown command or flag
//	3  the agent could not read or write its own state, or another run holds the lock
//
// Exit codes of diagnose, whose 2 means degraded, so that its usage error
// is 64 (EX_USAGE of sysexits.h):
//
//	0   healthy: no check warns or fails
//	1   failed: a check fails
//	2   degraded: a check warns and none fails
//	64  usage error: unknown flag or argument
//
// This package holds flags and wiring only; the work happens in internal/.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
