package metadata

import (
	"errors"
	"fmt"
)

// Errors that callers classify with errors.Is.
var (
	// ErrTokenRefused means IMDS issued a token but returned 401 to a
	// request that carried it.
	ErrTokenRefused = errors.New("IMDSv2 token refused: check the hop limit " +
		"(HttpPutResponseHopLimit) and the instance metadata options")
	// ErrTokenUnavailable means the token request itself failed, so no
	// request could be made. A response that never arrives usually means
	// the hop limit is too low for this process, for example in a container.
	ErrTokenUnavailable = errors.New("no IMDSv2 token: check that the instance " +
		"metadata service is enabled and the hop limit (HttpPutResponseHopLimit)")
	// ErrNotFound means IMDS returned 404.
	ErrNotFound = errors.New("not found")
	// ErrTimeout means one attempt took longer than its timeout.
	ErrTimeout = errors.New("timed out")
	// ErrMissingValue means a value that is required came back empty.
	ErrMissingValue = errors.New("missing value")
	// ErrInvalidValue means a value did not match its expected format.
	ErrInvalidValue = errors.New("invalid value")
	// ErrTooLarge means a response body was larger than its limit.
	ErrTooLarge = errors.New("response too large")
)

// Fixes for failures that usually heal but did not before retries ran out.
const (
	fixIMDSUnhealthy = "the instance metadata service is unhealthy or overloaded: " +
		"check the instance's metadata options (aws ec2 describe-instances, MetadataOptions) " +
		"and replace the instance if it persists"
	fixEC2Unavailable = "the EC2 API kept throttling or failing: reduce other ec2:DescribeTags " +
		"callers in the account and region, or enable instance metadata tags so IMDS serves the tags"
)

// PathError records the IMDS path or AWS action that failed.
type PathError struct {
	// Path is an IMDS path, such as "/latest/user-data", or an AWS action,
	// such as "ec2:DescribeTags".
	Path string
	// Attempts is how many requests were made.
	Attempts int
	Err      error
	// Fix is the next step for the operator. It is set when retries of a
	// failure that usually heals ran out, unless Err already names a fix.
	Fix string
}

func (e *PathError) Error() string {
	msg := fmt.Sprintf("get %s: %v", e.Path, e.Err)
	if e.Attempts > 1 {
		msg = fmt.Sprintf("get %s: after %d attempts: %v", e.Path, e.Attempts, e.Err)
	}
	if e.Fix != "" {
		msg += ": " + e.Fix
	}
	return msg
}

func (e *PathError) Unwrap() error { return e.Err }

// StatusError is an unexpected HTTP status from IMDS.
type StatusError struct {
	Code int
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("unexpected HTTP status %d", e.Code)
}
