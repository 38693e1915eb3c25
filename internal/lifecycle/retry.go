package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/hashistack/bootstrap/internal/backoff"
)

// Retry schedule: attempt n waits a delay drawn uniformly from
// (0, min(baseDelay·2^(n-1), maxDelay)], so a throttled call is retried
// within milliseconds first and at most every 5 s later on. Only the
// caller's context bounds how long throttling, server errors and transport
// errors are retried: a throttled API is slow, not broken.
const (
	baseDelay = 50 * time.Millisecond
	maxDelay  = 5 * time.Second
	// callTimeout bounds one request.
	callTimeout = 10 * time.Second
)

// errNotListed marks a DescribeAutoScalingInstances response without the
// instance, which is retried like an action that is not active yet.
var errNotListed = errors.New("instance not listed")

// failure classifies an error for the retry loop.
type failure int

const (
	permanent failure = iota
	// transient covers throttling, server errors and transport errors.
	transient
	// notYet covers answers that the instance or its action is not there
	// yet, which Auto Scaling gives for a while after a launch.
	notYet
)

// retry calls call until it succeeds, fails for good, or ctx ends. A
// transient failure is retried until ctx ends. With waitActivation, a
// notYet failure is retried for up to the activation wait; without, it is
// returned at once.
func (m *Manager) retry(ctx context.Context, op string, waitActivation bool,
	call func(ctx context.Context) error) error {
	var notYetSince time.Time
	var last error
	for attempt := 1; ; attempt++ {
		err := m.attempt(ctx, call)
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil && last != nil:
			// ctx cut the call short, so the failure before it explains
			// better why the retries did not succeed.
			return stopped(ctx, attempt, last)
		case ctx.Err() != nil:
			return stopped(ctx, attempt, err)
		}
		last = err
		switch classify(err) {
		case permanent:
			return err
		case notYet:
			if notYetSince.IsZero() {
				notYetSince = time.Now()
			}
			if !waitActivation || time.Since(notYetSince) >= m.opts.ActivationWait {
				return err
			}
		}
		delay := m.delay(attempt)
		m.log.Warn("auto scaling call failed, retrying", "operation", op,
			"attempt", attempt, "delay", delay, "error", err)
		if backoff.Sleep(ctx, delay) != nil {
			return stopped(ctx, attempt, err)
		}
	}
}

// stopped is the error of a retry loop that ctx ended after attempts,
// with the last failure.
func stopped(ctx context.Context, attempts int, err error) error {
	return fmt.Errorf("retry stopped after %d attempts by %v: %w", attempts, context.Cause(ctx), err)
}

func (m *Manager) attempt(ctx context.Context, call func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	return call(ctx)
}

// classify sorts err by whether and how long a retry may help.
func classify(err error) failure {
	if isNotYet(err) {
		return notYet
	}
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) && respErr.HTTPStatusCode() >= 500 {
		return transient
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "Throttling", "ThrottlingException", "RequestLimitExceeded", "RequestThrottled":
			return transient
		}
		return permanent
	}
	// NOTE: anything else failed before Auto Scaling answered: a refused
	// or reset connection, a DNS failure, a timeout of one call (the
	// caller's context is still live here, retry checks it first).
	return transient
}

// isNotYet reports whether err says the instance or its lifecycle action
// is not there yet. Auto Scaling returns a ValidationError whose message
// starts "No active Lifecycle Action found" for an action that is not
// active, whether it is not active yet or no longer.
func isNotYet(err error) bool {
	if errors.Is(err, errNotListed) {
		return true
	}
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == "ValidationError" &&
		strings.Contains(apiErr.ErrorMessage(), "No active Lifecycle Action found")
}

// fullJitter returns the delay after attempt: backoff.Full with this
// package's base delay and cap.
func fullJitter(attempt int) time.Duration {
	return backoff.Full(attempt, baseDelay, maxDelay)
}
