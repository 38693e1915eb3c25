// Package backoff computes the waits between retries: capped exponential
// delays with full jitter, and a sleep that ends when its context does.
// The metadata, health and lifecycle packages share it; each keeps its own
// base delay and cap.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Full returns a delay drawn uniformly from (0, bound], where bound is
// base·2^(attempt-1) capped at limit ("full jitter"). attempt counts from 1.
func Full(attempt int, base, limit time.Duration) time.Duration {
	bound := base
	for i := 1; i < attempt && bound < limit; i++ {
		bound *= 2
	}
	bound = min(bound, limit)
	return time.Duration(rand.Int64N(int64(bound))) + 1
}

// Sleep waits for d, or until ctx ends, and then returns ctx's error.
func Sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
