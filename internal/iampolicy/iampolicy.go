// Package iampolicy checks the agent's least-privilege IAM policy,
// docs/iam-policy.json, against the AWS actions the agent calls. It finds
// those actions two ways: in the agent's source, from the request types of
// the AWS SDK's service packages ([SourceActions]), and in the log of the
// actions that the test stand-ins served across a whole test run
// ([Record], [ReadLog]).
//
// It must never talk to AWS, and nothing in the agent's run path may
// import it: only stand-ins and tests do.
package iampolicy

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
)

// Policy is an IAM policy document, reduced to what the check reads.
type Policy struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a [Policy].
type Statement struct {
	Sid       string         `json:"Sid"`
	Effect    string         `json:"Effect"`
	Action    []string       `json:"Action"`
	Resource  any            `json:"Resource"`
	Condition map[string]any `json:"Condition,omitempty"`
}

// LoadPolicy reads and decodes the policy file at path. Unknown fields,
// such as NotAction, are errors, because the check would not understand
// them.
func LoadPolicy(path string) (Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Policy{}, fmt.Errorf("read policy: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	var p Policy
	if err := dec.Decode(&p); err != nil {
		return Policy{}, fmt.Errorf("decode policy %s: %w", path, err)
	}
	return p, nil
}

// Actions returns every action the policy allows, sorted, in the
// "service:Action" form. An action with a wildcard is returned as written.
func (p Policy) Actions() []string {
	var out []string
	for _, s := range p.Statement {
		if s.Effect == "Allow" {
			out = append(out, s.Action...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Exempt lists the actions the agent makes that need no IAM permission,
// with the reason. They must not appear in the policy.
var Exempt = map[string]string{
	// The Vault AWS auth login signs this request; Vault sends it to STS.
	// AWS documents that no permission is needed to call it, and an
	// explicit deny cannot block it.
	"sts:GetCallerIdentity": "needs no IAM permission",
}

// Diff compares the allowed actions with the called ones. Missing are
// called but not allowed; unused are allowed but never called. Exempt
// actions count as neither.
func Diff(allowed, called []string) (missing, unused []string) {
	isAllowed := map[string]bool{}
	for _, a := range allowed {
		isAllowed[a] = true
	}
	isCalled := map[string]bool{}
	for _, a := range called {
		isCalled[a] = true
		if !isAllowed[a] && Exempt[a] == "" {
			missing = append(missing, a)
		}
	}
	for _, a := range allowed {
		if !isCalled[a] {
			unused = append(unused, a)
		}
	}
	slices.Sort(missing)
	slices.Sort(unused)
	return slices.Compact(missing), slices.Compact(unused)
}
