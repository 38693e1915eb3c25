package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hashistack/bootstrap/internal/standin/awsapi"
)

// TestThrottledAutoScalingContinues boots a healthy node while Auto Scaling
// throttles its first calls, more of them than a fixed retry budget would
// allow: the lookups must keep retrying, the node must not fail, and the
// hook must be completed with CONTINUE.
func TestThrottledAutoScalingContinues(t *testing.T) {
	for _, throttled := range []int{9, 12} {
		t.Run(fmt.Sprint(throttled), func(t *testing.T) {
			e := newHookEnv(t, "InService", awsapi.Launch{})
			e.as.Throttle(throttled)
			stderr, err := e.run("--set", "lifecycle.max_wait=20s")
			if err != nil {
				t.Fatalf("run failed with a throttled Auto Scaling API: %v\n%s", err, stderr)
			}
			want := []awsapi.Completion{{Hook: "launch", Result: "CONTINUE"}}
			if diff := cmp.Diff(want, e.as.Status(instanceID).Completions); diff != "" {
				t.Errorf("completions (-want +got):\n%s", diff)
			}
			checkRetried(t, e.as.Calls(), throttled)
			if !strings.Contains(stderr, `msg="auto scaling call failed, retrying"`) {
				t.Errorf("no retry logged:\n%s", stderr)
			}
		})
	}
}

// checkRetried checks that the stand-in throttled n calls and that each
// throttled call was followed by a later call of the same action that
// went through.
func checkRetried(t *testing.T, calls []awsapi.Call, n int) {
	t.Helper()
	got := 0
	for i, c := range calls {
		if c.Error != "Throttling" {
			continue
		}
		got++
		retried := false
		for _, later := range calls[i+1:] {
			retried = retried || (later.Action == c.Action && later.Error == "")
		}
		if !retried {
			t.Errorf("throttled call %d (%s) was not retried to success", i, c.Action)
		}
	}
	if got != n {
		t.Errorf("stand-in throttled %d calls, want %d", got, n)
	}
}
