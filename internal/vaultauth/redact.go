package vaultauth

import (
	"cmp"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// Redacted replaces every secret that Redact removes from a message.
const Redacted = "[redacted]"

// maxMessage is the length, in bytes, to which Redact cuts a message. It
// keeps a verdict readable on one line of stderr and in the state file.
const maxMessage = 200

// credentialPatterns match credentials that the caller may not hold but that
// a server can echo: Vault service, batch and recovery tokens, legacy
// service tokens, AWS access key IDs, and the access key ID and signature
// of a SigV4 Authorization header. The rest of the credential scope (date,
// region, service) is kept, because it shows a wrong region.
var credentialPatterns = []*regexp.Regexp{
	regexp.MustCompile(`\bhv[sbr]\.[A-Za-z0-9_-]+`),
	regexp.MustCompile(`\bs\.[A-Za-z0-9]{24}\b`),
	regexp.MustCompile(`\b(?:AKIA|ASIA)[A-Z0-9]{16}\b`),
	regexp.MustCompile(`(?i)\bCredential=[^\s,"'&\[\]}/]+`),
	regexp.MustCompile(`(?i)\b(?:Signature|X-Amz-Signature)=[0-9a-f]+`),
}

// headerValue matches the value after a header that carries a credential,
// in the forms `Name: value`, `Name=value` and JSON's `"Name":["value"]`.
// Group 1 is the name and its separator, group 2 the value, which ends at
// a quote, a space, a bracket, a comma or an ampersand. A value that is
// already [redacted] does not match again.
var headerValue = regexp.MustCompile(`(?i)\b((?:X-Amz-Security-Token|Authorization|X-Vault-Token)` +
	`(?:["'\\]*\s*[:=]\s*\[?\s*["'\\]*|\s+))([^"'\\\s\[\],}&]+)`)

// Secrets is the set of secret values a caller holds, such as the Vault
// token in use, the AWS credentials and every secret fetched so far. A nil
// *Secrets holds none. It is safe for concurrent use.
type Secrets struct {
	mu     sync.Mutex
	values []string
}

// Add adds values to the set. Empty values are ignored.
func (s *Secrets) Add(values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range values {
		if v != "" && !slices.Contains(s.values, v) {
			s.values = append(s.values, v)
		}
	}
}

// Redact returns msg with the set's values and every credential-looking
// substring replaced, on one line and cut to about 200 bytes.
func (s *Secrets) Redact(msg string) string {
	if s == nil {
		return Redact(msg)
	}
	s.mu.Lock()
	known := slices.Clone(s.values)
	s.mu.Unlock()
	return Redact(msg, known...)
}

// Wrap returns err with a message that Redact has cleaned; errors.Is and
// errors.As still see err. It returns nil for nil.
func (s *Secrets) Wrap(err error) error {
	if err == nil {
		return nil
	}
	return &redactedError{msg: s.Redact(err.Error()), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// Redact returns msg, a message from Vault, STS or Secrets Manager, fit to
// put in an error or a log line. It replaces every value of known, then
// every substring that looks like a credential, with [redacted]. It then
// turns line breaks into spaces and cuts the result to about 200 bytes.
//
// NOTE: a known value is replaced wherever it occurs, so a very short
// secret also hides unrelated text that happens to contain it.
func Redact(msg string, known ...string) string {
	return truncate(redactText(msg, known), maxMessage)
}

// redactText is Redact without the cut.
func redactText(msg string, known []string) string {
	for _, v := range knownForms(known) {
		msg = strings.ReplaceAll(msg, v, Redacted)
	}
	for _, re := range credentialPatterns {
		msg = re.ReplaceAllStringFunc(msg, redactAssignment)
	}
	msg = headerValue.ReplaceAllString(msg, "${1}"+Redacted)
	return strings.Join(strings.Fields(msg), " ")
}

// redactAssignment keeps the name of a `name=value` match and replaces
// the value, or replaces the whole match when it has no name.
func redactAssignment(match string) string {
	if name, _, ok := strings.Cut(match, "="); ok {
		return name + "=" + Redacted
	}
	return Redacted
}

// knownForms returns the values and the forms in which a server may echo
// them: JSON-escaped, and each line of a multi-line value such as a PEM
// key. Longer forms come first, so that no part of one is left behind.
func knownForms(known []string) []string {
	var forms []string
	for _, v := range known {
		if v == "" {
			continue
		}
		forms = append(forms, v)
		if quoted, err := json.Marshal(v); err == nil {
			forms = append(forms, string(quoted[1:len(quoted)-1]))
		}
		for line := range strings.Lines(v) {
			// Short lines, such as a PEM header, are not secret.
			if line = strings.TrimSpace(line); len(line) >= 16 {
				forms = append(forms, line)
			}
		}
	}
	slices.SortFunc(forms, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return slices.Compact(forms)
}

// truncate cuts s to at most n bytes on a rune boundary and marks the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "... (truncated)"
}
