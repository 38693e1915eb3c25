package metadata

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/hashistack/bootstrap/internal/backoff"
)

// Backoff bounds. The first retry waits up to baseDelay, and each later one
// doubles that bound up to maxDelay. IMDS is a link-local service that
// responds in milliseconds, so long waits only delay the boot.
const (
	baseDelay = 10 * time.Millisecond
	maxDelay  = time.Second
)

// policy sets how one kind of request is timed and classified.
type policy struct {
	timeout  time.Duration
	classify func(tr *trace, err error) (retryable bool, cause error)
	// fix is the next step for the operator when retries of a retryable
	// cause run out.
	fix string
}

// retry calls call until it succeeds, fails with an error that is not worth
// retrying, or runs out of time: the context's deadline, or
// DefaultRetryWindow from the first attempt when the context has none.
// f.MaxAttempts, when set, also bounds the number of calls. Every attempt
// runs under its own timeout, and every retry is logged with its cause.
func retry[T any](ctx context.Context, f *Fetcher, path string, p policy,
	call func(context.Context) (T, error)) (T, error) {
	var zero T
	deadline := f.retryDeadline(ctx)
	var last error
	for attempt := 1; ; attempt++ {
		tr := &trace{}
		value, err := attemptOnce(withTrace(ctx, tr), p, call)
		if err == nil {
			return value, nil
		}
		if ctx.Err() != nil {
			return zero, stopped(path, attempt, last, ctx.Err(), p)
		}
		retryable, cause := p.classify(tr, err)
		if !retryable {
			return zero, &PathError{Path: path, Attempts: attempt, Err: cause}
		}
		last = cause
		delay := backoff.Full(attempt, baseDelay, maxDelay)
		if f.MaxAttempts > 0 && attempt >= f.MaxAttempts || time.Now().Add(delay).After(deadline) {
			return zero, &PathError{Path: path, Attempts: attempt, Err: cause, Fix: fixFor(cause, p)}
		}
		f.logger().Warn("retrying request", "path", path, "attempt", attempt,
			"delay", delay.String(), "error", cause)
		if err := backoff.Sleep(ctx, delay); err != nil {
			return zero, stopped(path, attempt, last, err, p)
		}
	}
}

// retryDeadline returns when retries stop: the context's deadline, or
// DefaultRetryWindow from now.
func (f *Fetcher) retryDeadline(ctx context.Context) time.Time {
	if deadline, ok := ctx.Deadline(); ok {
		return deadline
	}
	window := f.RetryWindow
	if window <= 0 {
		window = DefaultRetryWindow
	}
	return time.Now().Add(window)
}

// stopped reports a context that ended during retries, with the cause of
// the last failed attempt, if any, so that the error still names the
// failure.
func stopped(path string, attempts int, last, ctxErr error, p policy) error {
	if last == nil {
		return &PathError{Path: path, Attempts: attempts, Err: ctxErr}
	}
	return &PathError{Path: path, Attempts: attempts,
		Err: fmt.Errorf("%w, then the wait ended: %w", last, ctxErr), Fix: fixFor(last, p)}
}

// fixFor returns the policy's fix, unless the cause already names one, as
// ErrTokenUnavailable does.
func fixFor(cause error, p policy) string {
	if errors.Is(cause, ErrTokenUnavailable) {
		return ""
	}
	return p.fix
}

// attemptOnce runs call under the policy's timeout. A timeout is reported
// as ErrTimeout only when the caller's own context is still live.
func attemptOnce[T any](ctx context.Context, p policy,
	call func(context.Context) (T, error)) (T, error) {
	attemptCtx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	value, err := call(attemptCtx)
	if err != nil && ctx.Err() == nil && attemptCtx.Err() != nil {
		return value, fmt.Errorf("%w after %s: %w", ErrTimeout, p.timeout, err)
	}
	return value, err
}

// classifyIMDS decides from the responses recorded by the trace middleware
// whether an IMDS error is worth retrying, and turns it into a cause that
// names the fix. A token request that got no response at all is retried,
// and its cause names the hop limit, because a token response dropped by a
// low hop limit shows up as a timeout. A token request that got a 5xx is
// retried as a plain server error, because IMDS responded and so the hop
// limit is not the problem.
func classifyIMDS(tr *trace, err error) (bool, error) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	switch {
	case tr.tokenErr != nil && tr.tokenStatus == 0:
		return true, fmt.Errorf("%w: %w", ErrTokenUnavailable, err)
	case tr.tokenStatus >= 500:
		return true, fmt.Errorf("token request: %w", &StatusError{Code: tr.tokenStatus})
	case tr.tokenStatus != 0 && tr.tokenStatus != http.StatusOK:
		return false, fmt.Errorf("%w: %w", ErrTokenUnavailable, &StatusError{Code: tr.tokenStatus})
	case errors.Is(err, ErrTimeout) || isNetTimeout(err):
		return true, err
	case !tr.seen:
		return classifyByChain(err)
	case tr.status == http.StatusUnauthorized:
		return false, ErrTokenRefused
	case tr.status == http.StatusNotFound:
		return false, ErrNotFound
	case tr.status >= 500:
		return true, &StatusError{Code: tr.status}
	case tr.status != 0 && tr.status != http.StatusOK:
		return false, &StatusError{Code: tr.status}
	case tr.sendErr != nil:
		return true, err
	}
	return false, err
}

// classifyByChain classifies an error from an IMDS client that was not
// built by [NewIMDSClient], so no trace was recorded. It cannot tell a
// refused token from other failures, because the SDK hides the status of a
// 401 behind an error type that does not unwrap.
func classifyByChain(err error) (bool, error) {
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		switch code := status.HTTPStatusCode(); {
		case code == http.StatusNotFound:
			return false, ErrNotFound
		case code == http.StatusUnauthorized:
			return false, ErrTokenRefused
		case code >= 500:
			return true, &StatusError{Code: code}
		}
		return false, err
	}
	var send *smithyhttp.RequestSendError
	return errors.As(err, &send), err
}

// classifyAWS classifies an error from an AWS Query API such as EC2.
// Throttling, 5xx responses and failed connections are retried.
func classifyAWS(_ *trace, err error) (bool, error) {
	if errors.Is(err, ErrTimeout) || isNetTimeout(err) {
		return true, err
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "RequestLimitExceeded", "Throttling", "ThrottlingException",
			"InternalError", "InternalFailure", "ServiceUnavailable", "Unavailable":
			return true, err
		}
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		return status.HTTPStatusCode() >= 500, err
	}
	var send *smithyhttp.RequestSendError
	return errors.As(err, &send), err
}

func isNetTimeout(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr) && netErr.Timeout()
}
