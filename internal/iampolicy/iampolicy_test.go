package iampolicy

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var actionsLog = flag.String("actions-log", "",
	"check the policy against the actions log of a whole test run (make test sets it)")

const (
	repoRoot   = "../.."
	policyPath = repoRoot + "/docs/iam-policy.json"
)

// notAgent lists the directories of test harnesses, stand-ins and tools:
// the AWS calls they make are not the agent's.
var notAgent = []string{
	"internal/standin", "internal/testenv", "internal/demo", "internal/bench",
	"internal/e2e", "internal/realservers", "internal/iampolicy",
}

func loadPolicy(t *testing.T) Policy {
	t.Helper()
	p, err := LoadPolicy(policyPath)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPolicyMatchesSource fails when the agent's source calls an action
// the policy does not allow, or the policy allows one nothing calls.
func TestPolicyMatchesSource(t *testing.T) {
	called, err := SourceActions(repoRoot, notAgent)
	if err != nil {
		t.Fatal(err)
	}
	if len(called) == 0 {
		t.Fatal("found no AWS SDK call in the source; the scan is broken")
	}
	missing, unused := Diff(loadPolicy(t).Actions(), called)
	for _, a := range missing {
		t.Errorf("the agent calls %s, which docs/iam-policy.json does not allow", a)
	}
	for _, a := range unused {
		t.Errorf("docs/iam-policy.json allows %s, which nothing in the agent calls", a)
	}
}

// TestRecordedActions checks the policy against the actions the stand-ins
// served during a whole test run. It runs only when make test passes the
// log with -actions-log, after every other package's tests have finished.
func TestRecordedActions(t *testing.T) {
	if *actionsLog == "" {
		t.Skip("skip: no -actions-log given; make test runs this after the whole suite")
	}
	called, err := ReadLog(*actionsLog)
	if err != nil {
		t.Fatal(err)
	}
	if len(called) == 0 {
		t.Fatalf("%s is empty: no stand-in recorded an action", *actionsLog)
	}
	missing, unused := Diff(loadPolicy(t).Actions(), called)
	for _, a := range missing {
		t.Errorf("the tests called %s, which docs/iam-policy.json does not allow", a)
	}
	for _, a := range unused {
		t.Errorf("docs/iam-policy.json allows %s, which no test called", a)
	}
}

// TestPolicyShape holds the policy to least privilege: no wildcard or
// Deny, no exempt action, and a Sid that says what each statement is for.
func TestPolicyShape(t *testing.T) {
	p := loadPolicy(t)
	if p.Version != "2012-10-17" {
		t.Errorf("Version = %q, want 2012-10-17", p.Version)
	}
	for i, s := range p.Statement {
		if s.Sid == "" {
			t.Errorf("statement %d has no Sid", i)
		}
		if s.Effect != "Allow" {
			t.Errorf("statement %s: Effect = %q, want Allow", s.Sid, s.Effect)
		}
		for _, a := range s.Action {
			if strings.Contains(a, "*") {
				t.Errorf("statement %s: action %s has a wildcard", s.Sid, a)
			}
			if _, ok := Exempt[a]; ok {
				t.Errorf("statement %s: action %s needs no permission; remove it", s.Sid, a)
			}
		}
	}
}

func TestDiff(t *testing.T) {
	tests := []struct {
		name                    string
		allowed, called         []string
		wantMissing, wantUnused []string
	}{
		{"equal", []string{"ec2:DescribeTags"}, []string{"ec2:DescribeTags"}, nil, nil},
		{"missing", nil, []string{"autoscaling:CompleteLifecycleAction"},
			[]string{"autoscaling:CompleteLifecycleAction"}, nil},
		{"unused", []string{"ec2:DescribeInstances"}, nil, nil, []string{"ec2:DescribeInstances"}},
		{"exempt", nil, []string{"sts:GetCallerIdentity"}, nil, nil},
		{"duplicates", []string{"a:B", "a:B"}, []string{"c:D", "c:D"}, []string{"c:D"}, []string{"a:B"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			missing, unused := Diff(tc.allowed, tc.called)
			if diff := cmp.Diff(tc.wantMissing, missing); diff != "" {
				t.Errorf("missing (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantUnused, unused); diff != "" {
				t.Errorf("unused (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSourceActions(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a/a.go", `package a
import (
	as "github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)
var _ = &as.CompleteLifecycleActionInput{}
var _ = ec2.NewDescribeTagsPaginator(nil, &ec2.DescribeTagsInput{})
var _ types.Filter
var _ ec2.Options
`)
	write("a/a_test.go", `package a
import "github.com/aws/aws-sdk-go-v2/service/ec2"
var _ ec2.TerminateInstancesInput
`)
	write("skipped/s.go", `package s
import "github.com/aws/aws-sdk-go-v2/service/ec2"
var _ ec2.RunInstancesInput
`)
	got, err := SourceActions(dir, []string{"skipped"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"autoscaling:CompleteLifecycleAction", "ec2:DescribeTags"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
}

func TestRecordAndReadLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "actions.log")
	t.Setenv(LogEnv, path)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			for _, a := range []string{"ec2:DescribeTags", "autoscaling:CompleteLifecycleAction"} {
				service, action, _ := strings.Cut(a, ":")
				if err := Record(service, action); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	got, err := ReadLog(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"autoscaling:CompleteLifecycleAction", "ec2:DescribeTags"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log (-want +got):\n%s", diff)
	}
}

func TestRecordWithoutLogIsNoop(t *testing.T) {
	t.Setenv(LogEnv, "")
	if err := Record("ec2", "DescribeTags"); err != nil {
		t.Errorf("Record without %s: %v", LogEnv, err)
	}
}

func TestReadLogRejectsBadLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "actions.log")
	if err := os.WriteFile(path, []byte("ec2:DescribeTags\nDescribeTags\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadLog(path)
	if err == nil || !strings.Contains(err.Error(), `line 2: "DescribeTags" is not service:action`) {
		t.Errorf("ReadLog error = %v, want line 2 is not service:action", err)
	}
}
