package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/hashistack/bootstrap/internal/health"
	"github.com/hashistack/bootstrap/internal/lifecycle"
	"github.com/hashistack/bootstrap/internal/standin/awsapi"
)

var creds = aws.Credentials{AccessKeyID: "AKIDBENCH", SecretAccessKey: "bench-secret-not-real"}

type staticProvider aws.Credentials

func (p staticProvider) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials(p), nil
}

// vaultServer answers /v1/sys/health as a sealed Vault until healthy is
// set, then as an active one.
func vaultServer(b *testing.B, healthy *atomic.Bool) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if healthy.Load() {
			_, _ = w.Write([]byte(`{"initialized":true,"sealed":false,"standby":false}`))
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"initialized":true,"sealed":true,"standby":false}`))
	}))
	b.Cleanup(srv.Close)
	return srv.URL
}

// BenchmarkHealthyToContinue measures the time from the agent turning
// healthy to CompleteLifecycleAction CONTINUE being acknowledged, with the
// health wait's backoff already at its cap and heartbeats running, as in
// the runner's health and signal stages.
func BenchmarkHealthyToContinue(b *testing.B) {
	var samples []time.Duration
	for i := 0; i < b.N; i++ {
		samples = append(samples, healthyToContinue(b))
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	var total time.Duration
	for _, s := range samples {
		total += s
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(len(samples)), "ms-mean")
	b.ReportMetric(float64(samples[len(samples)*9/10].Milliseconds()), "ms-p90")
	b.ReportMetric(float64(samples[len(samples)-1].Milliseconds()), "ms-max")
}

func healthyToContinue(b *testing.B) time.Duration {
	var healthy atomic.Bool
	url := vaultServer(b, &healthy)
	as := awsapi.NewAutoScaling(b, awsapi.Options{Region: "eu-west-1", Credentials: creds},
		awsapi.Group{Name: "asg", Hooks: []awsapi.Hook{{Name: "launch",
			Transition: awsapi.TransitionLaunching, HeartbeatTimeout: 5 * time.Minute}}})
	as.Launch("i-0bench", "asg", awsapi.Launch{})
	client := autoscaling.New(autoscaling.Options{Region: "eu-west-1", BaseEndpoint: aws.String(as.URL),
		Credentials: aws.NewCredentialsCache(staticProvider(creds)), Retryer: aws.NopRetryer{}})
	m := lifecycle.New(client, "i-0bench", lifecycle.Options{})
	act, err := m.Find(b.Context(), "")
	if err != nil {
		b.Fatal(err)
	}
	var flipped atomic.Int64
	go func() {
		// Two seconds unhealthy put the wait's backoff at its cap.
		time.Sleep(2 * time.Second)
		flipped.Store(time.Now().UnixNano())
		healthy.Store(true)
	}()
	ctx, stop := m.Hold(b.Context(), act, lifecycle.Interval(act, 0))
	targets := []health.Target{{Name: "vault-health", Kind: health.KindVaultHealth, URL: url}}
	_, err = health.Wait(ctx, nil, targets, nil, nil)
	stop()
	if err != nil {
		b.Fatal(err)
	}
	if err := m.Complete(b.Context(), act, lifecycle.Continue); err != nil {
		b.Fatal(err)
	}
	return time.Since(time.Unix(0, flipped.Load()))
}

// TestAPICallsForTenMinuteWait counts the Auto Scaling calls of a health
// wait of ten minutes from the heartbeat schedule: one lookup of the group,
// one of the hook, a heartbeat at once and then every interval, and one
// completion.
func TestAPICallsForTenMinuteWait(t *testing.T) {
	const wait = 10 * time.Minute
	tests := []struct {
		name      string
		timeout   time.Duration
		configure time.Duration
		want      int
	}{
		{"heartbeat_timeout_5m", 5 * time.Minute, 0, 9},
		{"heartbeat_timeout_1h_api_default", time.Hour, 0, 4},
		{"interval_1m", 5 * time.Minute, time.Minute, 13},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			interval := lifecycle.Interval(lifecycle.Action{HeartbeatTimeout: tc.timeout}, tc.configure)
			heartbeats := 1 + int(wait/interval)
			if wait%interval == 0 {
				heartbeats-- // the tick at the end of the wait races the completion
			}
			got := 2 + heartbeats + 1
			if got != tc.want {
				t.Errorf("calls = %d (interval %s), want %d", got, interval, tc.want)
			}
			t.Logf("hook heartbeat timeout %s, heartbeat interval %s: %d heartbeats, %d Auto Scaling calls",
				tc.timeout, interval, heartbeats, got)
		})
	}
}
