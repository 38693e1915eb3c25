package health

import (
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkTurnHealthy measures how long Wait takes to return after a
// stand-in Consul gains a leader. The leader appears at a random instant
// after 1.5 s of polling, when the backoff has reached its cap, which is the
// case at boot: a Consul leader takes several seconds to be elected.
// It reports the mean and the maximum as ms/turn and max-ms/turn. Each
// iteration takes about two seconds, so run it with a fixed count:
//
//	go test -run '^$' -bench TurnHealthy -benchtime 40x ./internal/health/
func BenchmarkTurnHealthy(b *testing.B) {
	var healthyAt atomic.Int64 // Unix nanoseconds
	base := serve(b, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		leader := ""
		if time.Now().UnixNano() >= healthyAt.Load() {
			leader = "127.0.0.1:8300"
		}
		writeJSON(w, http.StatusOK, leader)
	}))
	targets := []Target{{Name: "consul-leader", Kind: KindConsulLeader, URL: base}}

	var total, worst time.Duration
	turns := 0
	for b.Loop() {
		at := time.Now().Add(1500*time.Millisecond + rand.N(maxDelay))
		healthyAt.Store(at.UnixNano())
		if _, err := Wait(b.Context(), nil, targets, nil, nil); err != nil {
			b.Fatal(err)
		}
		took := time.Since(at)
		total += took
		worst = max(worst, took)
		turns++
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(turns), "ms/turn")
	b.ReportMetric(float64(worst.Milliseconds()), "max-ms/turn")
}
