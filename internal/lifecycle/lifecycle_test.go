package lifecycle_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/google/go-cmp/cmp"

	"github.com/hashistack/bootstrap/internal/lifecycle"
	"github.com/hashistack/bootstrap/internal/standin/awsapi"
)

const (
	region     = "eu-west-1"
	instanceID = "i-0123456789abcdef0"
)

var creds = aws.Credentials{AccessKeyID: "AKIDLIFECYCLETEST", SecretAccessKey: "not-a-real-secret"}

type staticProvider aws.Credentials

func (p staticProvider) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials(p), nil
}

var launchHook = awsapi.Hook{Name: "launch", Transition: awsapi.TransitionLaunching,
	HeartbeatTimeout: 5 * time.Minute, DefaultResult: "ABANDON"}

var terminateHook = awsapi.Hook{Name: "drain", Transition: awsapi.TransitionTerminating,
	HeartbeatTimeout: 5 * time.Minute}

// setup starts an Auto Scaling stand-in with groups and returns it with a
// real SDK client aimed at it, SDK retries off.
func setup(t *testing.T, groups ...awsapi.Group) (*awsapi.AutoScaling, *autoscaling.Client) {
	t.Helper()
	srv := awsapi.NewAutoScaling(t, awsapi.Options{Region: region, Credentials: creds}, groups...)
	client := autoscaling.New(autoscaling.Options{
		Region:       region,
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  aws.NewCredentialsCache(staticProvider(creds)),
		Retryer:      aws.NopRetryer{},
	})
	return srv, client
}

func newManager(c lifecycle.Client, log *bytes.Buffer) *lifecycle.Manager {
	return lifecycle.New(c, instanceID, lifecycle.Options{
		Logger:         slog.New(slog.NewTextHandler(log, nil)),
		ActivationWait: 5 * time.Second,
	})
}

// actions lists the calls the stand-in received, as "Action" or
// "Action:ErrorCode".
func actions(srv *awsapi.AutoScaling) []string {
	var out []string
	for _, c := range srv.Calls() {
		a := c.Action
		if c.Error != "" {
			a += ":" + c.Error
		}
		out = append(out, a)
	}
	return out
}

func TestFindAndComplete(t *testing.T) {
	srv, client := setup(t, awsapi.Group{Name: "asg-1", Hooks: []awsapi.Hook{terminateHook, launchHook}})
	srv.Launch(instanceID, "asg-1", awsapi.Launch{})
	var log bytes.Buffer
	m := newManager(client, &log)

	act, err := m.Find(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	want := lifecycle.Action{Group: "asg-1", Hook: "launch", State: "Pending:Wait",
		HeartbeatTimeout: 5 * time.Minute, GlobalTimeout: 500 * time.Minute, DefaultResult: "ABANDON"}
	if diff := cmp.Diff(want, act); diff != "" {
		t.Errorf("action (-want +got):\n%s", diff)
	}
	if err := m.Complete(t.Context(), act, lifecycle.Continue); err != nil {
		t.Fatal(err)
	}
	got := srv.Status(instanceID)
	if got.LifecycleState != "InService" {
		t.Errorf("lifecycle state = %q, want InService", got.LifecycleState)
	}
	wantCalls := []string{"DescribeAutoScalingInstances", "DescribeLifecycleHooks", "CompleteLifecycleAction"}
	if diff := cmp.Diff(wantCalls, actions(srv)); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	params := srv.Calls()[2].Params
	for key, value := range map[string]string{
		"AutoScalingGroupName": "asg-1", "LifecycleHookName": "launch",
		"InstanceId": instanceID, "LifecycleActionResult": "CONTINUE",
	} {
		if params.Get(key) != value {
			t.Errorf("CompleteLifecycleAction %s = %q, want %q", key, params.Get(key), value)
		}
	}
}

func TestFindNamedHookFiltersRequest(t *testing.T) {
	other := launchHook
	other.Name = "other-tool"
	srv, client := setup(t, awsapi.Group{Name: "asg-1", Hooks: []awsapi.Hook{launchHook, other}})
	srv.Launch(instanceID, "asg-1", awsapi.Launch{})
	act, err := newManager(client, &bytes.Buffer{}).Find(t.Context(), "launch")
	if err != nil {
		t.Fatal(err)
	}
	if act.Hook != "launch" {
		t.Errorf("hook = %q, want launch", act.Hook)
	}
	if got := srv.Calls()[1].Params.Get("LifecycleHookNames.member.1"); got != "launch" {
		t.Errorf("LifecycleHookNames.member.1 = %q, want launch", got)
	}
}

func TestFindFailures(t *testing.T) {
	other := launchHook
	other.Name = "other-tool"
	tests := []struct {
		name     string
		group    awsapi.Group
		launch   bool
		hookName string
		wantIs   error
		wantText string
	}{
		{"no_launching_hook", awsapi.Group{Name: "asg-1", Hooks: []awsapi.Hook{terminateHook}},
			true, "", lifecycle.ErrNoHook, "group asg-1"},
		{"named_hook_missing", awsapi.Group{Name: "asg-1", Hooks: []awsapi.Hook{launchHook}},
			true, "absent", nil, `lifecycle hook "absent" not found`},
		{"two_launching_hooks", awsapi.Group{Name: "asg-1", Hooks: []awsapi.Hook{launchHook, other}},
			true, "", nil, "2 launching lifecycle hooks (launch, other-tool)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, client := setup(t, tc.group)
			if tc.launch {
				srv.Launch(instanceID, tc.group.Name, awsapi.Launch{})
			}
			_, err := newManager(client, &bytes.Buffer{}).Find(t.Context(), tc.hookName)
			if err == nil {
				t.Fatal("Find succeeded, want an error")
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %v is not %v", err, tc.wantIs)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q does not contain %q", err, tc.wantText)
			}
		})
	}
}

func TestFindNotListedIsNoGroup(t *testing.T) {
	srv, client := setup(t)
	m := lifecycle.New(client, instanceID, lifecycle.Options{ActivationWait: 200 * time.Millisecond})
	_, err := m.Find(t.Context(), "")
	if !errors.Is(err, lifecycle.ErrNoGroup) {
		t.Fatalf("error = %v, want ErrNoGroup", err)
	}
	for _, c := range srv.Calls() {
		if c.Action != "DescribeAutoScalingInstances" {
			t.Errorf("unexpected call %s", c.Action)
		}
	}
	if len(srv.Calls()) < 2 {
		t.Errorf("DescribeAutoScalingInstances called %d times, want retries", len(srv.Calls()))
	}
}

func TestCompleteRetriesUntilActive(t *testing.T) {
	srv, client := setup(t, awsapi.Group{Name: "asg-1", Hooks: []awsapi.Hook{launchHook}})
	srv.Launch(instanceID, "asg-1", awsapi.Launch{InactiveCalls: 2})
	var log bytes.Buffer
	m := newManager(client, &log)
	act, err := m.Find(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if act.State != "Pending" || !act.Open() {
		t.Errorf("state = %q open = %t, want Pending and open", act.State, act.Open())
	}
	if err := m.Complete(t.Context(), act, lifecycle.Continue); err != nil {
		t.Fatal(err)
	}
	want := []string{"DescribeAutoScalingInstances", "DescribeLifecycleHooks",
		"CompleteLifecycleAction:ValidationError", "CompleteLifecycleAction:ValidationError",
		"CompleteLifecycleAction"}
	if diff := cmp.Diff(want, actions(srv)); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if !strings.Contains(log.String(), "No active Lifecycle Action found") {
		t.Errorf("retries not logged with their cause:\n%s", log.String())
	}
}

func TestCompleteGivesUpAfterActivationWait(t *testing.T) {
	srv, client := setup(t, awsapi.Group{Name: "asg-1", Hooks: []awsapi.Hook{launchHook}})
	srv.Launch(instanceID, "asg-1", awsapi.Launch{InactiveCalls: 1 << 20})
	m := lifecycle.New(client, instanceID, lifecycle.Options{ActivationWait: 300 * time.Millisecond})
	act := lifecycle.Action{Group: "asg-1", Hook: "launch"}
	err := m.Complete(t.Context(), act, lifecycle.Abandon)
	if err == nil || !strings.Contains(err.Error(), "No active Lifecycle Action found") {
		t.Fatalf("error = %v, want the last ValidationError", err)
	}
}

func TestThrottledCallsRetry(t *testing.T) {
	srv, client := setup(t, awsapi.Group{Name: "asg-1", Hooks: []awsapi.Hook{launchHook}})
	srv.Launch(instanceID, "asg-1", awsapi.Launch{})
	srv.Throttle(3)
	var log bytes.Buffer
	m := newManager(client, &log)
	act, err := m.Find(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Complete(t.Context(), act, lifecycle.Continue); err != nil {
		t.Fatal(err)
	}
	want := []string{"DescribeAutoScalingInstances:Throttling", "DescribeAutoScalingInstances:Throttling",
		"DescribeAutoScalingInstances:Throttling", "DescribeAutoScalingInstances",
		"DescribeLifecycleHooks", "CompleteLifecycleAction"}
	if diff := cmp.Diff(want, actions(srv)); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if n := strings.Count(log.String(), "auto scaling call failed, retrying"); n != 3 {
		t.Errorf("logged %d retries, want 3:\n%s", n, log.String())
	}
}

func TestCompleteAfterCancel(t *testing.T) {
	srv, client := setup(t, awsapi.Group{Name: "asg-1", Hooks: []awsapi.Hook{launchHook}})
	srv.Launch(instanceID, "asg-1", awsapi.Launch{})
	m := newManager(client, &bytes.Buffer{})
	act, err := m.Find(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := m.Complete(ctx, act, lifecycle.Abandon); err != nil {
		t.Fatalf("Complete on a cancelled context: %v", err)
	}
	if got := srv.Status(instanceID).LifecycleState; got != "Terminating" {
		t.Errorf("lifecycle state = %q, want Terminating", got)
	}
}

func TestCompleteRejectsClosedAction(t *testing.T) {
	srv, client := setup(t, awsapi.Group{Name: "asg-1", Hooks: []awsapi.Hook{launchHook}})
	srv.Launch(instanceID, "asg-1", awsapi.Launch{})
	m := lifecycle.New(client, instanceID, lifecycle.Options{ActivationWait: 100 * time.Millisecond})
	act, err := m.Find(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Complete(t.Context(), act, lifecycle.Continue); err != nil {
		t.Fatal(err)
	}
	if err := m.Complete(t.Context(), act, lifecycle.Continue); err == nil {
		t.Error("second completion succeeded, want No active Lifecycle Action found")
	}
}

func TestHoldSendsHeartbeats(t *testing.T) {
	srv, client := setup(t, awsapi.Group{Name: "asg-1", Hooks: []awsapi.Hook{launchHook}})
	srv.Launch(instanceID, "asg-1", awsapi.Launch{})
	m := newManager(client, &bytes.Buffer{})
	act, err := m.Find(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := m.Hold(t.Context(), act, time.Second)
	for srv.Status(instanceID).Heartbeats < 2 {
		select {
		case <-ctx.Done():
			t.Fatalf("hold context ended: %v", context.Cause(ctx))
		case <-time.After(50 * time.Millisecond):
		}
	}
	sent := stop()
	if got := srv.Status(instanceID).Heartbeats; sent != got {
		t.Errorf("stop reports %d heartbeats, stand-in counted %d", sent, got)
	}
	if !errors.Is(context.Cause(ctx), context.Canceled) {
		t.Errorf("hold context cause after stop = %v, want context.Canceled", context.Cause(ctx))
	}
}

func TestHoldEndsBeforeHookTimesOut(t *testing.T) {
	srv, client := setup(t, awsapi.Group{Name: "asg-1", Hooks: []awsapi.Hook{launchHook}})
	srv.Launch(instanceID, "asg-1", awsapi.Launch{})
	m := newManager(client, &bytes.Buffer{})
	// A hook that allows 2 s without a heartbeat, and heartbeats that
	// fail for good (the hook name is wrong), so nothing extends it.
	act := lifecycle.Action{Group: "asg-1", Hook: "absent", HeartbeatTimeout: 2 * time.Second,
		GlobalTimeout: 200 * time.Second}
	ctx, stop := m.Hold(t.Context(), act, time.Second)
	defer stop()
	<-ctx.Done()
	if !errors.Is(context.Cause(ctx), lifecycle.ErrHookExpiring) {
		t.Errorf("cause = %v, want ErrHookExpiring", context.Cause(ctx))
	}
}

func TestInterval(t *testing.T) {
	act := lifecycle.Action{HeartbeatTimeout: 5 * time.Minute}
	tests := []struct {
		name       string
		act        lifecycle.Action
		configured time.Duration
		want       time.Duration
	}{
		{"third_of_timeout", act, 0, 100 * time.Second},
		{"configured", act, time.Minute, time.Minute},
		{"capped_at_half", act, 4 * time.Minute, 150 * time.Second},
		{"at_least_a_second", lifecycle.Action{HeartbeatTimeout: 2 * time.Second}, 0, time.Second},
		{"unknown_timeout", lifecycle.Action{}, 0, 20 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := lifecycle.Interval(tc.act, tc.configured); got != tc.want {
				t.Errorf("Interval = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestThrottlingRetriedUntilContextEnds(t *testing.T) {
	tests := []struct {
		name     string
		throttle int
		// timeout bounds Find; zero leaves it to the test's context.
		timeout time.Duration
		wantErr bool
	}{
		{"more_than_eight_throttles", 12, 0, false},
		{"throttled_until_deadline", 1 << 20, 200 * time.Millisecond, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, client := setup(t, awsapi.Group{Name: "asg-1", Hooks: []awsapi.Hook{launchHook}})
			srv.Launch(instanceID, "asg-1", awsapi.Launch{})
			srv.Throttle(tc.throttle)
			var log bytes.Buffer
			m := newManager(client, &log)
			lifecycle.FastRetries(m)
			ctx := t.Context()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			_, err := m.Find(ctx, "")
			if (err != nil) != tc.wantErr {
				t.Fatalf("Find error = %v, want error %t", err, tc.wantErr)
			}
			throttled := strings.Count(strings.Join(actions(srv), " "), ":Throttling")
			if throttled <= 8 {
				t.Errorf("%d throttled calls, want retries past 8 attempts", throttled)
			}
			if n := strings.Count(log.String(), "auto scaling call failed, retrying"); n < throttled-1 {
				t.Errorf("logged %d retries for %d throttled calls", n, throttled)
			}
			if tc.wantErr && !strings.Contains(err.Error(), "Throttling") {
				t.Errorf("error %q does not name the throttling", err)
			}
		})
	}
}
