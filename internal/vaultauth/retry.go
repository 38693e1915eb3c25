package vaultauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"
)

// Backoff bounds: the first retry waits up to firstDelay, each later one
// doubles, and no wait exceeds maxDelay.
const (
	firstDelay = 50 * time.Millisecond
	maxDelay   = 5 * time.Second
)

// Retry calls fn until it succeeds, returns an error that is not a
// retryable *Error, or ctx ends. Each retry is logged with its cause and
// waits a capped exponential backoff with full jitter. When ctx ends during
// an attempt, the error names the previous attempt's cause.
func Retry(ctx context.Context, log *slog.Logger, op string, fn func(context.Context) error) error {
	delay := firstDelay
	var last error
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if last != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return fmt.Errorf("gave up after %d attempts (%v): %w", attempt, ctx.Err(), last)
		}
		var e *Error
		if err == nil || !errors.As(err, &e) || !e.Retryable {
			return err
		}
		last = err
		wait := rand.N(delay) + time.Millisecond
		log.Warn("vault request failed, retrying", "operation", op, "attempt", attempt,
			"delay", wait, "error", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("gave up after %d attempts (%v): %w", attempt, ctx.Err(), err)
		case <-time.After(wait):
		}
		delay = min(delay*2, maxDelay)
	}
}
