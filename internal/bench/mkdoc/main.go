// Command mkdoc runs the project's benchmarks and writes their results to
// docs/benchmarks.md, each figure under the command that produced it. Run
// it with `make bench`; it takes a few minutes on a 2-core machine.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// section is one benchmark command and the text that explains its figures.
type section struct {
	title string
	about string
	args  []string
	// keep selects the output lines worth recording.
	keep func(line string) bool
}

func benchLines(line string) bool {
	return strings.HasPrefix(line, "Benchmark") || strings.HasPrefix(line, "cpu:")
}

var sections = []section{
	{
		title: "First boot up to render",
		about: `Wall time of the built ` + "`bootstrap run`" + ` of a Nomad client from the process start
to the end of its render stage, and the process's peak RSS, with 5 ms added to every IMDS,
AWS and Vault answer (` + "`BenchmarkRunToRender`" + ` in ` + "`internal/e2e`" + `). Each iteration is a
first boot into a fresh root. Goals: no more than the critical path of dependent round trips
plus 50 ms, and at most 30 MB peak RSS. The secrets stage runs before render, so the path
is: IMDS token, identity document, tag list, tag values (4 round trips), then instance
profile credentials through IMDS (token, role name, credentials: 3), the Vault login and the
PKI certificate (2): 9 round trips, 45 ms, so the goal is 95 ms. With instance metadata tags
off, the tag fallback adds ` + "`ec2:DescribeTags`" + ` and takes the credentials earlier. These
round-trip counts are read from the code, not measured.`,
		args: []string{"test", "-run", "^$", "-bench", "RunToRender", "-benchtime", "20x", "./internal/e2e/"},
		keep: benchLines,
	},
	{
		title: "Metadata stage alone",
		about: `The metadata stage in process against the IMDS stand-in with 5 ms added to every
answer and 10 tags (` + "`BenchmarkFetch`" + ` in ` + "`internal/metadata`" + `).`,
		args: []string{"test", "-run", "^$", "-bench", "Fetch", "-benchtime", "20x", "./internal/metadata/"},
		keep: benchLines,
	},
	{
		title: "Health to CONTINUE",
		about: `How long after the role's agent turns healthy the launch hook receives CONTINUE
(` + "`BenchmarkHealthyToContinue`" + ` in ` + "`internal/bench`" + `): the health wait runs against a Vault
health endpoint that answers sealed for two seconds, so the poll backoff reaches its 400 ms
cap, then active, with heartbeats running; it times from the switch to healthy until
` + "`CompleteLifecycleAction`" + ` returns from the Auto Scaling stand-in. Goal: at most 250 ms.
The poll delay is drawn uniformly up to the cap, so single runs can exceed the mean by up to
the cap plus one probe and one API call.`,
		args: []string{"test", "-run", "^$", "-bench", "HealthyToContinue", "-benchtime", "15x", "./internal/bench/"},
		keep: benchLines,
	},
	{
		title: "Auto Scaling calls of a 10-minute health wait",
		about: `Counted from the heartbeat schedule by ` + "`TestAPICallsForTenMinuteWait`" + `: one
` + "`DescribeAutoScalingInstances`" + `, one ` + "`DescribeLifecycleHooks`" + `, a heartbeat at once and then
every interval, and one ` + "`CompleteLifecycleAction`" + `. Throttled calls add their retries.`,
		args: []string{"test", "-count=1", "-run", "TestAPICallsForTenMinuteWait", "-v", "./internal/bench/"},
		keep: func(line string) bool { return strings.Contains(line, "calls") },
	},
	{
		title: "Peak memory of the real servers",
		about: `The sum of the peak RSS (VmHWM) of every real server process in the real-server
end-to-end tests, taken just before each test stops its stack; the tests run one stack at a
time. Needs root and ` + "`make real-servers`" + `.`,
		args: []string{"test", "-count=1", "-run", "TestReal(ConsulCluster|VaultCluster|NomadServerAndClient)$", "-v", "./internal/e2e/"},
		keep: func(line string) bool { return strings.Contains(line, "peak memory") },
	},
	{
		title: "bootstrap diagnose",
		about: `Wall time of every diagnose check on a healthy stand-in host, with every dependency
refusing connections, and with IMDS, the clock endpoint and DNS accepting but never answering
(` + "`BenchmarkRun`" + ` in ` + "`internal/diagnose`" + `). Goals: under 1 s healthy, under 5 s with every
dependency down.`,
		args: []string{"test", "-run", "^$", "-bench", "Run", "-benchtime", "3x", "./internal/diagnose/"},
		keep: benchLines,
	},
}

func main() {
	out := flag.String("out", "docs/benchmarks.md", "file to write")
	flag.Parse()
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Benchmarks\n\nWritten by `make bench` (`go run ./internal/bench/mkdoc`) on %s:\n%s.\n"+
		"Every figure comes from the command shown above it; rerun that command to check it.\n",
		time.Now().UTC().Format("2006-01-02"), machine())
	for _, s := range sections {
		fmt.Fprintf(os.Stderr, "mkdoc: go %s\n", strings.Join(s.args, " "))
		lines, err := run(s)
		if err != nil {
			fmt.Fprintf(os.Stderr, "mkdoc: %s: %v\n", s.title, err)
			os.Exit(1)
		}
		fmt.Fprintf(&b, "\n## %s\n\n%s\n\n```\ngo %s\n```\n\n```\n%s\n```\n",
			s.title, s.about, shellJoin(s.args), strings.Join(lines, "\n"))
	}
	if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "mkdoc:", err)
		os.Exit(1)
	}
}

func run(s section) ([]string, error) {
	cmd := exec.Command("go", s.args...)
	cmd.Stderr = os.Stderr
	raw, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go %s: %w\n%s", strings.Join(s.args, " "), err, raw)
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); s.keep(line) {
			lines = append(lines, line)
		}
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("no result lines in the output:\n%s", raw)
	}
	return lines, nil
}

// machine describes where the figures were taken.
func machine() string {
	model := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%d cores (%s), %s, %s/%s", runtime.NumCPU(), model,
		runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// shellJoin joins args into a command line a shell runs as given, quoting
// the arguments that hold characters a shell would interpret.
func shellJoin(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, "^$()|*?[]{}<>&;'\" \\") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		quoted[i] = a
	}
	return strings.Join(quoted, " ")
}
