package resolve

import (
	"errors"
	"fmt"
)

// Kinds of lookup failure, found with errors.Is on a [*LookupError].
var (
	// ErrNotFound is an NXDOMAIN answer: the name does not exist.
	ErrNotFound = errors.New("does not exist")
	// ErrNoAddress is a NOERROR answer without A or AAAA records.
	ErrNoAddress = errors.New("resolves to nothing")
	// ErrServerFailure is a SERVFAIL answer.
	ErrServerFailure = errors.New("server failure")
	// ErrRefused is a REFUSED answer.
	ErrRefused = errors.New("query refused")
	// ErrUnreachable means no answer could be exchanged with the server.
	ErrUnreachable = errors.New("server unreachable")
	// ErrTimeout means the server did not answer in time.
	ErrTimeout = errors.New("server timed out")
)

// LookupError is a failed lookup of one name.
type LookupError struct {
	Name string
	// Server is the DNS server asked, such as "127.0.0.1:5353", or
	// "the system resolver".
	Server string
	// Kind is one of the Err* values of this package, or nil when the
	// failure fits none of them.
	Kind error
	// Err is the underlying error, if any.
	Err error
}

func (e *LookupError) Error() string {
	server := e.Server
	if server == "" {
		server = "the DNS server"
	}
	switch e.Kind {
	case ErrNotFound:
		return fmt.Sprintf("%s does not exist (NXDOMAIN from %s): create the DNS record or correct the name in the join list", e.Name, server)
	case ErrNoAddress:
		return fmt.Sprintf("%s resolves to nothing (%s answered without an A or AAAA record): add an A or AAAA record for it", e.Name, server)
	case ErrServerFailure:
		return fmt.Sprintf("%s: %s answered SERVFAIL: check that server's upstream resolvers and DNSSEC, then its logs", e.Name, server)
	case ErrRefused:
		return fmt.Sprintf("%s: %s answered REFUSED: allow this host to query it, or set dns.server to a resolver that serves the name", e.Name, server)
	case ErrUnreachable:
		return fmt.Sprintf("%s: DNS server %s is unreachable: check dns.server and that the server runs: %v", e.Name, server, e.Err)
	case ErrTimeout:
		return fmt.Sprintf("%s: DNS server %s did not answer in time: check dns.server, and that security groups and network ACLs allow port 53: %v", e.Name, server, e.Err)
	}
	return fmt.Sprintf("%s: lookup at %s: %v", e.Name, server, e.Err)
}

// Unwrap returns the kind and the underlying error.
func (e *LookupError) Unwrap() []error {
	var errs []error
	for _, err := range []error{e.Kind, e.Err} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}
