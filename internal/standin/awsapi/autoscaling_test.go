package awsapi_test

import (
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/google/go-cmp/cmp"

	"github.com/hashistack/bootstrap/internal/standin/awsapi"
)

var asLaunchHook = awsapi.Hook{Name: "launch", Transition: awsapi.TransitionLaunching,
	HeartbeatTimeout: time.Minute}

// fakeClock is a settable clock for the stand-in's timeouts.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newAutoScaling(t *testing.T, clock *fakeClock) (*awsapi.AutoScaling, *autoscaling.Client) {
	t.Helper()
	opts := awsapi.Options{Region: region, Credentials: goodCredentials}
	if clock != nil {
		opts.Now = clock.Now
	}
	srv := awsapi.NewAutoScaling(t, opts, awsapi.Group{Name: "asg-1", Hooks: []awsapi.Hook{asLaunchHook}})
	return srv, newASClient(srv, goodCredentials)
}

func newASClient(srv *awsapi.AutoScaling, creds aws.Credentials) *autoscaling.Client {
	return autoscaling.New(autoscaling.Options{
		Region:       region,
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  aws.NewCredentialsCache(staticProvider(creds)),
		Retryer:      aws.NopRetryer{},
	})
}

func completeInput(result string) *autoscaling.CompleteLifecycleActionInput {
	return &autoscaling.CompleteLifecycleActionInput{
		AutoScalingGroupName: aws.String("asg-1"), LifecycleHookName: aws.String("launch"),
		InstanceId: aws.String(instanceID), LifecycleActionResult: aws.String(result),
	}
}

func TestAutoScalingRejectsBadSignature(t *testing.T) {
	srv, _ := newAutoScaling(t, nil)
	bad := goodCredentials
	bad.SecretAccessKey = "wrong"
	_, err := newASClient(srv, bad).DescribeAutoScalingInstances(t.Context(),
		&autoscaling.DescribeAutoScalingInstancesInput{InstanceIds: []string{instanceID}})
	if got := apiErrorCode(t, err); got != "SignatureDoesNotMatch" {
		t.Errorf("error code = %q, want SignatureDoesNotMatch", got)
	}
}

// TestAutoScalingRequiredParameters sends requests that the SDK's own
// validation lets through; it rejects a missing LifecycleActionResult
// before sending.
func TestAutoScalingRequiredParameters(t *testing.T) {
	srv, client := newAutoScaling(t, nil)
	srv.Launch(instanceID, "asg-1", awsapi.Launch{})
	tests := []struct {
		name string
		in   *autoscaling.CompleteLifecycleActionInput
	}{
		{"bad_result", completeInput("MAYBE")},
		{"no_instance_or_token", &autoscaling.CompleteLifecycleActionInput{AutoScalingGroupName: aws.String("asg-1"),
			LifecycleHookName: aws.String("launch"), LifecycleActionResult: aws.String("CONTINUE")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := client.CompleteLifecycleAction(t.Context(), tc.in)
			if got := apiErrorCode(t, err); got != "ValidationError" {
				t.Errorf("error code = %q, want ValidationError", got)
			}
		})
	}
	if got := srv.Status(instanceID).LifecycleState; got != "Pending:Wait" {
		t.Errorf("state after rejected calls = %q, want Pending:Wait", got)
	}
}

func TestAutoScalingWarmPoolFiresHookTwice(t *testing.T) {
	srv, client := newAutoScaling(t, nil)
	srv.Launch(instanceID, "asg-1", awsapi.Launch{Warm: true})
	states := []string{srv.Status(instanceID).LifecycleState}
	if _, err := client.CompleteLifecycleAction(t.Context(), completeInput("CONTINUE")); err != nil {
		t.Fatal(err)
	}
	states = append(states, srv.Status(instanceID).LifecycleState)
	srv.LeaveWarmPool(instanceID, 0)
	states = append(states, srv.Status(instanceID).LifecycleState)
	if _, err := client.CompleteLifecycleAction(t.Context(), completeInput("CONTINUE")); err != nil {
		t.Fatal(err)
	}
	st := srv.Status(instanceID)
	states = append(states, st.LifecycleState)
	want := []string{"Warmed:Pending:Wait", "Warmed:Stopped", "Pending:Wait", "InService"}
	if diff := cmp.Diff(want, states); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	if len(st.Completions) != 2 {
		t.Errorf("completions = %v, want 2", st.Completions)
	}
}

func TestAutoScalingHeartbeatTimeout(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	srv, client := newAutoScaling(t, clock)
	srv.Launch(instanceID, "asg-1", awsapi.Launch{})
	heartbeat := &autoscaling.RecordLifecycleActionHeartbeatInput{AutoScalingGroupName: aws.String("asg-1"),
		LifecycleHookName: aws.String("launch"), InstanceId: aws.String(instanceID)}
	clock.advance(50 * time.Second)
	if _, err := client.RecordLifecycleActionHeartbeat(t.Context(), heartbeat); err != nil {
		t.Fatal(err)
	}
	clock.advance(50 * time.Second) // 100 s after launch, 50 s after the heartbeat
	if got := srv.Status(instanceID).LifecycleState; got != "Pending:Wait" {
		t.Fatalf("state after a heartbeat = %q, want Pending:Wait", got)
	}
	clock.advance(11 * time.Second)
	st := srv.Status(instanceID)
	want := []awsapi.Completion{{Hook: "launch", Result: "ABANDON", TimedOut: true}}
	if diff := cmp.Diff(want, st.Completions); diff != "" {
		t.Errorf("completions (-want +got):\n%s", diff)
	}
	_, err := client.CompleteLifecycleAction(t.Context(), completeInput("CONTINUE"))
	if got := apiErrorCode(t, err); got != "ValidationError" {
		t.Errorf("completion after the timeout: error code = %q, want ValidationError", got)
	}
}

func TestAutoScalingUnknownGroup(t *testing.T) {
	_, client := newAutoScaling(t, nil)
	_, err := client.DescribeLifecycleHooks(t.Context(),
		&autoscaling.DescribeLifecycleHooksInput{AutoScalingGroupName: aws.String("absent")})
	if got := apiErrorCode(t, err); got != "ValidationError" {
		t.Errorf("error code = %q, want ValidationError", got)
	}
}
