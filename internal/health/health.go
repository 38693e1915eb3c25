// Package health owns the health stage's checks. Through the HTTP APIs of
// the node's own Vault, Consul and Nomad agents, it checks whether the node
// has become a healthy cluster member, once ([Probe]) or until healthy
// ([Wait]).
//
// The package only reads. It never changes an agent's state, never sends a
// request to an address other than a [Target]'s URL (redirects are not
// followed, so a token cannot leave for another host), and never puts a
// token in a URL, a log line, a [Status] or an error: tokens travel only in
// the product's token header (X-Vault-Token, X-Consul-Token, X-Nomad-Token).
//
// A check whose deeper part needs an ACL token (the Vault raft peer list,
// the Consul autopilot server health) runs that part only when
// [Target.Token] is set. Without a token the check passes on the part that
// needs none, and its reason says which part did not run. The reason is that
// a node with ACLs on and no operator token cannot tell "not a voter" from
// "not allowed to ask", and failing every such node would block scale-outs
// on a permission that the node's own duties do not need.
package health

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Check kinds, as the role files name them.
const (
	KindVaultHealth  = "vault-health"
	KindConsulLeader = "consul-leader"
	KindConsulMember = "consul-member"
	KindNomadLeader  = "nomad-leader"
	KindNomadNode    = "nomad-node"
)

// requestTimeout bounds one HTTP request. The agents listen on the node
// itself and respond in milliseconds, but some responses (Consul's autopilot
// health, Vault's raft configuration) come from the cluster leader over RPC.
const requestTimeout = 5 * time.Second

// Target is one check of the role, with the address of the agent it queries.
type Target struct {
	// Name and Kind come from the role file; Kind is one of the Kind
	// constants.
	Name, Kind string
	// URL is the base URL of the agent's HTTP API, such as
	// "http://127.0.0.11:8500", without a path or query.
	URL string
	// NodeName is the agent's node name: the Consul node name, the Nomad
	// node name, or the Vault raft node_id.
	NodeName string
	// NodeClass is the node_class a Nomad client must register with
	// (nomad-node only). It equals the node's namespace.
	NodeClass string
	// Meta lists Nomad client meta keys that must be present with these
	// values (nomad-node only).
	Meta map[string]string
	// Server marks a Consul server, which must also be a healthy raft voter
	// (consul-member only).
	Server bool
	// Token reads the ACL or Vault token, usually from tmpfs. Nil or an
	// empty token means none: the parts of a check that need one are not
	// run, as the package doc explains.
	Token func() (string, error)
}

// Status is the result of one check.
type Status struct {
	Name, Kind string
	Healthy    bool
	// Reason describes in plain words the agent's response and its URL,
	// such as "sealed (503 from http://127.0.0.14:8200/v1/sys/health)".
	Reason string
	// Fatal marks a response that waiting will not heal, such as a Nomad node
	// class that differs from the namespace or a Vault DR secondary.
	Fatal bool
}

// result is the outcome of one kind's probe, before the target's name is set.
type result struct {
	healthy, fatal bool
	reason         string
}

func healthy(format string, args ...any) result {
	return result{healthy: true, reason: fmt.Sprintf(format, args...)}
}

func pending(format string, args ...any) result {
	return result{reason: fmt.Sprintf(format, args...)}
}

func fatal(format string, args ...any) result {
	return result{fatal: true, reason: fmt.Sprintf(format, args...)}
}

// probes maps each check kind to its probe.
var probes = map[string]func(context.Context, *agent, Target) result{
	KindVaultHealth:  probeVaultHealth,
	KindConsulLeader: probeConsulLeader,
	KindConsulMember: probeConsulMember,
	KindNomadLeader:  probeNomadLeader,
	KindNomadNode:    probeNomadNode,
}

// Probe runs the check t once and returns its status. A nil client means
// [http.DefaultClient]. Every request runs under its own timeout and ends
// when ctx ends.
func Probe(ctx context.Context, c *http.Client, t Target) Status {
	r := probe(ctx, c, t)
	return Status{Name: t.Name, Kind: t.Kind, Healthy: r.healthy, Reason: r.reason, Fatal: r.fatal}
}

func probe(ctx context.Context, c *http.Client, t Target) result {
	run, ok := probes[t.Kind]
	if !ok {
		return fatal("unknown check kind %q", t.Kind)
	}
	if err := validateURL(t.URL); err != nil {
		return fatal("%v", err)
	}
	token, err := readToken(t.Token)
	if err != nil {
		return pending("%v", err)
	}
	return run(ctx, newAgent(c, t.URL, tokenHeaders[t.Kind], token), t)
}

// validateURL accepts a base URL with an http or https scheme and a host,
// and nothing that would change where a request goes or leak into logs.
func validateURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("invalid agent URL %q: %w", raw, unwrapURLError(err))
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("invalid agent URL %q: the scheme must be http or https", raw)
	case u.Host == "":
		return fmt.Errorf("invalid agent URL %q: missing host", raw)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("invalid agent URL %q: user info, query and fragment are not allowed", raw)
	case u.Path != "" && u.Path != "/":
		return fmt.Errorf("invalid agent URL %q: the API paths are added to the base URL, so it takes no path", raw)
	}
	return nil
}

// readToken calls read, if set, and checks that the token can travel in an
// HTTP header. Errors never contain the token.
func readToken(read func() (string, error)) (string, error) {
	if read == nil {
		return "", nil
	}
	token, err := read()
	if err != nil {
		return "", fmt.Errorf("reading the token failed: %w", err)
	}
	for i := 0; i < len(token); i++ {
		if token[i] < 0x21 || token[i] > 0x7e {
			return "", fmt.Errorf("invalid token: it contains a character that is not printable ASCII at byte %d", i)
		}
	}
	return token, nil
}
