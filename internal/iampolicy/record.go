package iampolicy

import (
	"fmt"
	"os"
	"slices"
	"strings"
)

// LogEnv names the environment variable that holds the path of the
// actions log. When it is set, [Record] appends every action a stand-in
// serves to that file; make test sets it and runs the check after the
// whole suite, because go test runs packages in parallel and no single
// test sees the others' calls.
const LogEnv = "BOOTSTRAP_AWS_ACTIONS_LOG"

// Record appends "service:action" to the log named by [LogEnv], and does
// nothing when the variable is unset. service is the IAM service prefix,
// which equals the SigV4 signing name for every service the agent calls.
// Each line is written with one O_APPEND write, so concurrent test
// processes do not interleave their lines.
func Record(service, action string) error {
	path := os.Getenv(LogEnv)
	if path == "" {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("open actions log: %w", err)
	}
	_, werr := f.WriteString(service + ":" + action + "\n")
	cerr := f.Close()
	if werr != nil {
		return fmt.Errorf("write actions log %s: %w", path, werr)
	}
	if cerr != nil {
		return fmt.Errorf("close actions log %s: %w", path, cerr)
	}
	return nil
}

// ReadLog returns the distinct actions in the log at path, sorted.
func ReadLog(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read actions log: %w", err)
	}
	var out []string
	for i, line := range strings.Split(string(data), "\n") {
		if line == "" {
			continue
		}
		service, action, ok := strings.Cut(line, ":")
		if !ok || service == "" || action == "" {
			return nil, fmt.Errorf("actions log %s line %d: %q is not service:action", path, i+1, line)
		}
		out = append(out, line)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
