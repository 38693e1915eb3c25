// Package imdsmock runs AWS's amazon-ec2-metadata-mock (v1.13.0, pinned by a
// tool line in go.mod) on 127.0.0.1 for tests and demos, with IMDSv2
// required. It writes the mock's JSON config from a [Config], starts the
// binary on a free port, waits until it responds and stops it by PID.
//
// It never binds to any address but 127.0.0.1. The mock serves at most two
// instance tags and never a Warmed:* lifecycle state; the stand-in in
// internal/standin/imds covers those cases.
package imdsmock

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Config is the instance the mock serves.
type Config struct {
	InstanceID string
	AccountID  string
	Region     string
	PrivateIP  string
	// Tags holds at most two tags, served in the mock's two tag slots.
	Tags map[string]string
	// UserData is served byte for byte.
	UserData []byte
}

// Process is a running mock.
type Process struct {
	// URL is the base URL, such as "http://127.0.0.1:41234".
	URL string

	cmd  *exec.Cmd
	done chan struct{}
	once sync.Once
}

// asgTerminationDelay keeps autoscaling/target-lifecycle-state at
// InService; the mock switches it to Terminated once the delay passes, and
// its default delay is 0.
const asgTerminationDelay = 24 * 60 * 60

var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
)

// Binary returns the mock's path from `go tool -n ec2-metadata-mock`, run
// in the module root once per process; the go command builds it on first use.
func Binary(ctx context.Context) (string, error) {
	binaryOnce.Do(func() {
		root, err := moduleRoot(ctx)
		if err != nil {
			binaryErr = err
			return
		}
		cmd := exec.CommandContext(ctx, "go", "tool", "-n", "ec2-metadata-mock")
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			binaryErr = fmt.Errorf("go tool -n ec2-metadata-mock: %w", err)
			return
		}
		binaryPath = strings.TrimSpace(string(out))
	})
	return binaryPath, binaryErr
}

func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("go env GOMOD: not inside a module")
	}
	return filepath.Dir(gomod), nil
}

// Start launches the mock for the test and stops it when the test ends.
func Start(t testing.TB, cfg Config) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	p, err := Launch(ctx, t.TempDir(), cfg)
	if err != nil {
		t.Fatalf("start ec2-metadata-mock: %v", err)
	}
	t.Cleanup(p.Stop)
	return p.URL
}

// Launch writes the mock's config into dir and starts it on a free port
// of 127.0.0.1, trying again with another port when the chosen one was
// taken in between. It returns once the mock responds to a token request.
func Launch(ctx context.Context, dir string, cfg Config) (*Process, error) {
	if len(cfg.Tags) > 2 {
		return nil, fmt.Errorf("%d tags: the mock serves at most 2", len(cfg.Tags))
	}
	bin, err := Binary(ctx)
	if err != nil {
		return nil, err
	}
	configPath := filepath.Join(dir, "aemm-config.json")
	if err := writeConfig(configPath, cfg); err != nil {
		return nil, err
	}
	const attempts = 3
	for attempt := 1; ; attempt++ {
		p, err := launchOnce(ctx, bin, configPath, filepath.Join(dir, "aemm.log"))
		if err == nil || attempt == attempts || ctx.Err() != nil {
			return p, err
		}
	}
}

func launchOnce(ctx context.Context, bin, configPath, logPath string) (*Process, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("create mock log: %w", err)
	}
	// The child has its own copy of the descriptor.
	defer func() { _ = logFile.Close() }()
	// The mock runs without exec.CommandContext: it must outlive ctx, which
	// only bounds the start, and Stop ends it.
	cmd := exec.Command(bin, "-c", configPath, "-n", "127.0.0.1", "-p", strconv.Itoa(port), "-I")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &Process{URL: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	if err := p.waitReady(ctx); err != nil {
		p.Stop()
		return nil, fmt.Errorf("mock on port %d (log %s): %w", port, logPath, err)
	}
	return p, nil
}

// waitReady polls the token endpoint until it returns 200, the process
// exits or ctx ends.
func (p *Process) waitReady(ctx context.Context) error {
	client := &http.Client{Timeout: time.Second}
	delay := 5 * time.Millisecond
	for {
		if p.tokenOK(ctx, client) {
			return nil
		}
		select {
		case <-p.done:
			return errors.New("exited before responding")
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w", ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 200*time.Millisecond)
	}
}

func (p *Process) tokenOK(ctx context.Context, client *http.Client) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, p.URL+"/latest/api/token", nil)
	if err != nil {
		return false
	}
	req.Header.Set("X-aws-ec2-metadata-token-ttl-seconds", "60")
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Stop sends SIGKILL to the mock's PID and waits for it to exit. It is safe
// to call more than once.
func (p *Process) Stop() {
	p.once.Do(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// writeConfig writes the mock's JSON config. Keys follow the mock's config
// types (pkg/config/types.go) and its default values file.
func writeConfig(path string, cfg Config) error {
	paths, values := tagSlots(cfg.Tags)
	values["instance-id"] = cfg.InstanceID
	values["local-ipv4"] = cfg.PrivateIP
	doc := map[string]any{
		"imdsv2":                    true,
		"asg-termination-delay-sec": asgTerminationDelay,
		"metadata":                  map[string]any{"paths": paths, "values": values},
		"dynamic": map[string]any{"values": map[string]any{
			"instance-identity-document": identityDocument(cfg),
		}},
		"userdata": map[string]any{"values": map[string]any{
			"userdata": base64.StdEncoding.EncodeToString(cfg.UserData),
		}},
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("encode mock config: %w", err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("write mock config: %w", err)
	}
	return nil
}

// tagSlots renames the mock's two tag slots to the given tags. A slot left
// over moves out of tags/instance, because the mock would otherwise serve
// its default tag there.
func tagSlots(tags map[string]string) (paths map[string]string, values map[string]any) {
	paths, values = map[string]string{}, map[string]any{}
	keys := make([]string, 0, len(tags))
	for key := range tags {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	for i, slot := range []string{"tags-instance-name", "tags-instance-test"} {
		if i >= len(keys) {
			paths[slot] = "/latest/meta-data/bootstrap-unused/" + slot
			continue
		}
		paths[slot] = "/latest/meta-data/tags/instance/" + keys[i]
		values[slot] = tags[keys[i]]
	}
	return paths, values
}

func identityDocument(cfg Config) map[string]any {
	return map[string]any{
		"accountId":        cfg.AccountID,
		"instanceId":       cfg.InstanceID,
		"region":           cfg.Region,
		"availabilityZone": cfg.Region + "a",
		"privateIp":        cfg.PrivateIP,
		"instanceType":     "m5.large",
		"imageId":          "ami-0123456789abcdef0",
		"architecture":     "x86_64",
		"version":          "2017-09-30",
		"pendingTime":      "2026-01-01T00:00:00Z",
	}
}
