package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// Retry schedule: attempt n waits a delay drawn uniformly from
// (0, min(baseDelay·2^(n-1), maxDelay)], so a throttled call is retried
// within milliseconds first and at most every 5 s later on.
const (
	baseDelay = 50 * time.Millisecond
	maxDelay  = 5 * time.Second
	// maxAttempts bounds the attempts of a call that fails with throttling,
	// a server error or a transport error: about 20 s of backoff in all.
	maxAttempts = 8
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

// retry calls call until it succeeds, fails for good, or ctx ends. With
// waitActivation, a notYet failure is retried for up to the activation
// wait; without, it is returned at once.
func (m *Manager) retry(ctx context.Context, op string, waitActivation bool,
	call func(ctx context.Context) error) error {
	var notYetSince time.Time
	for attempt := 1; ; attempt++ {
		err := m.attempt(ctx, call)
		if err == nil {
			return nil
		}
		switch classify(err) {
		case permanent:
			return err
		case transient:
			if attempt >= maxAttempts {
				return fmt.Errorf("gave up after %d attempts: %w", attempt, err)
			}
		case notYet:
			if notYetSince.IsZero() {
				notYetSince = time.Now()
			}
			if !waitActivation || time.Since(notYetSince) >= m.opts.ActivationWait {
				return err
			}
		}
		delay := backoff(attempt)
		m.log.Warn("auto scaling call failed, retrying", "operation", op,
			"attempt", attempt, "delay", delay, "error", err)
		if serr := sleep(ctx, delay); serr != nil {
			return fmt.Errorf("retry stopped by %v: %w", context.Cause(ctx), err)
		}
	}
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
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return permanent
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
	// or reset connection, a DNS failure, a timeout.
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

// backoff returns the delay after attempt, as the retry schedule says.
func backoff(attempt int) time.Duration {
	bound := maxDelay
	if attempt < 16 {
		bound = min(baseDelay<<(attempt-1), maxDelay)
	}
	return time.Duration(rand.Int64N(int64(bound))) + 1
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
