package vaultauth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/hashicorp/vault/api"
)

// Classes of failure. Every error from Login, and from Classify, wraps one
// of them, so callers and tests use errors.Is.
var (
	ErrNoCredentials    = errors.New("no instance profile credentials")
	ErrWrongRegion      = errors.New("credentials signed for another region")
	ErrServerID         = errors.New("server ID header missing or wrong")
	ErrClockSkew        = errors.New("clock skew")
	ErrUnknownRole      = errors.New("unknown Vault role")
	ErrPermissionDenied = errors.New("permission denied")
	ErrSealed           = errors.New("vault is sealed")
	ErrUnreachable      = errors.New("vault is unreachable")
	ErrThrottled        = errors.New("rate limited by Vault")
	ErrServer           = errors.New("server error from Vault")
	ErrNotFound         = errors.New("not found")
	ErrRequest          = errors.New("request rejected by Vault")
)

// Error is a classified failure of a Vault request.
type Error struct {
	// Class is one of the Err* values above.
	Class error
	// Op names the request, such as "vault login at https://vault:8200".
	Op string
	// Fix says what to change.
	Fix string
	// Retryable marks failures that can heal: 5xx, 429, connection refused.
	Retryable bool
	// Err is the cause as Vault, STS or the network returned it. Classify
	// replaces a message from Vault or STS with its redacted text.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op + ": ")
	}
	b.WriteString(e.Class.Error())
	if e.Fix != "" {
		b.WriteString(": " + e.Fix)
	}
	if e.Err != nil {
		// Redacted again without the known values, for causes that were
		// not built by Classify, such as a credentials provider's error.
		b.WriteString(": " + redactText(e.Err.Error(), nil))
	}
	return b.String()
}

// Unwrap returns the class and the cause, so errors.Is matches both.
func (e *Error) Unwrap() []error { return []error{e.Class, e.Err} }

// Request describes the failed request for the fix text.
type Request struct {
	Address string
	Path    string
	// Role, Region and ServerID are set for a login.
	Role, Region, ServerID string
	// Secrets are the values to cut out of Vault's messages; nil means
	// that only credential-looking text is cut.
	Secrets *Secrets
}

func (r Request) op() string {
	if strings.HasSuffix(r.Path, "/login") {
		return fmt.Sprintf("vault login at %s/v1/%s as role %q", r.Address, r.Path, r.Role)
	}
	return fmt.Sprintf("vault request %s/v1/%s", r.Address, r.Path)
}

// Classify maps an error of the Vault client to an *Error naming the fix.
// It returns nil for nil, and context errors and *Error values unchanged.
func Classify(err error, r Request) error {
	var classified *Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &classified):
		if classified.Op == "" {
			classified.Op = r.op()
		}
		return classified
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return err
	}
	e := &Error{Op: r.op(), Err: err}
	var resp *api.ResponseError
	if errors.As(err, &resp) {
		classifyResponse(e, resp, r)
		return e
	}
	classifyNetwork(e, err, r)
	return e
}

// classifyResponse classifies Vault's answer by its status code, the start
// of each of its messages and, for a login that STS rejected, the Code and
// Message elements of STS's XML error that Vault quotes. A word found
// elsewhere in the text, such as a header name Vault repeats, never
// changes the class.
//
// NOTE: the message starts matched here are those of Vault 1.13's AWS auth
// method and of STS's error codes. A later Vault that rewords them falls
// through to ErrRequest, which still carries Vault's redacted message.
func classifyResponse(e *Error, resp *api.ResponseError, r Request) {
	switch c := responseCause(resp.StatusCode, resp.Errors); c {
	case causeSealed:
		e.Class, e.Retryable = ErrSealed, true
		e.Fix = "unseal Vault, or wait for auto-unseal; check the Vault servers' awskms seal"
	case causeThrottled:
		e.Class, e.Retryable = ErrThrottled, true
		e.Fix = "retry later, or raise Vault's rate limit quota"
	case causeServer:
		e.Class, e.Retryable = ErrServer, true
		e.Fix = "check the Vault servers' logs"
	default:
		loginFailure(e, c, r)
	}
	text := r.Secrets.Redact(strings.Join(resp.Errors, "; "))
	e.Err = fmt.Errorf("status %d: %s", resp.StatusCode, text)
}

// loginFailure sets the class and fix of a failure that retrying cannot heal.
func loginFailure(e *Error, c cause, r Request) {
	switch c {
	case causeWrongRegion:
		e.Class = ErrWrongRegion
		e.Fix = fmt.Sprintf("the request was signed for region %s; set vault.sts_region to "+
			"the region of the STS endpoint Vault's AWS auth method uses (its sts_region "+
			"and sts_endpoint)", r.Region)
	case causeClockSkew:
		e.Class = ErrClockSkew
		e.Fix = "the node's clock differs from AWS's by more than 15 minutes; " +
			"check chrony and the Amazon Time Sync Service (169.254.169.123)"
	case causeServerID:
		e.Class = ErrServerID
		e.Fix = serverIDFix(r.ServerID)
	case causeUnknownRole:
		e.Class = ErrUnknownRole
		e.Fix = fmt.Sprintf("create the role %q in the AWS auth method at auth/%s, "+
			"or fix the namespace", r.Role, strings.TrimSuffix(r.Path, "/login"))
	case causeNotBound:
		e.Class = ErrPermissionDenied
		e.Fix = fmt.Sprintf("the instance profile's IAM role is not bound to Vault role %q; "+
			"add it to the role's bound_iam_principal_arn", r.Role)
	case causeDenied:
		e.Class = ErrPermissionDenied
		e.Fix = "the role's policies do not allow this path; check the Vault policies " +
			"of the namespace and the path in the role file"
	case causeNotFound:
		e.Class = ErrNotFound
		e.Fix = "check the secrets engine's mount and the path in the configuration"
	case causeBadCredentials:
		e.Class = ErrNoCredentials
		e.Fix = "STS rejected the instance profile credentials; check the instance profile"
	default:
		e.Class = ErrRequest
	}
}

func serverIDFix(sent string) string {
	if sent == "" {
		return "Vault requires the header; set vault.server_id to the value of the auth " +
			"method's iam_server_id_header_value"
	}
	return fmt.Sprintf("sent %q; set vault.server_id to the value of the auth method's "+
		"iam_server_id_header_value", sent)
}

func classifyNetwork(e *Error, err error, r Request) {
	e.Class = ErrUnreachable
	switch {
	case errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET):
		e.Retryable = true
		e.Fix = fmt.Sprintf("nothing accepts connections at %s; check vault.address "+
			"(or VAULT_ADDR) and that Vault is running", r.Address)
	case isDNSError(err):
		e.Fix = fmt.Sprintf("the host of %s does not resolve; check vault.address", r.Address)
	default:
		e.Fix = fmt.Sprintf("check vault.address %s, the security groups and Vault's "+
			"TLS certificate", r.Address)
	}
}

func isDNSError(err error) bool {
	var dnsErr *net.DNSError
	return errors.As(err, &dnsErr)
}
