package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Classes of *Error, for errors.Is.
var (
	// ErrSyntax reports a document that is not valid TOML.
	ErrSyntax = errors.New("invalid toml")
	// ErrUnknownKey reports a key that the configuration does not have.
	ErrUnknownKey = errors.New("unknown key")
	// ErrSecret reports a secret-looking key or credential-looking value in
	// user-data or tags.
	ErrSecret = errors.New("secret in user-data or tags")
	// ErrRoleConflict reports two sources that set different roles.
	ErrRoleConflict = errors.New("conflicting roles")
	// ErrMissing reports a required key that nothing sets.
	ErrMissing = errors.New("missing value")
	// ErrInvalidValue reports a value of the wrong type, form or range.
	ErrInvalidValue = errors.New("invalid value")
	// ErrRestrictedKey reports a key that only the file or a flag may set,
	// found in tags or user-data.
	ErrRestrictedKey = errors.New("key restricted to the file and flags")
)

// Error is one configuration failure: which key, its value, where the value
// came from, what is wrong and how to fix it. Its message reads like
//
//	user-data line 2: namespace "pay ments" is not a valid identifier: use lower-case letters, ...
type Error struct {
	Key string
	// Value is the offending value. It is empty when the key is missing and
	// when the value looks like a credential, which is never stored here.
	Value string
	// Entry is the 1-based position of Value in a list key, or 0 when the
	// value is not a list entry.
	Entry int
	// Source is the origin of the value, such as "tag hashistack:role" or
	// "user-data line 3 column 1".
	Source string
	Reason string
	Fix    string
	// Err is the class of the failure, one of the Err variables.
	Err error
}

// Error formats the failure as "source: key "value" reason: fix", or
// "source: key entry N "value" reason: fix" for a list entry, leaving out
// the parts that are empty. An empty list entry is shown as "".
//
// The key is left out when the source already ends with it, as
// "flag --set dns.wait" does, and the source is left out when it is empty,
// as for a key that no source sets.
func (e *Error) Error() string {
	var parts []string
	if e.Source != "" {
		parts = append(parts, e.Source+":")
	}
	if e.Key != "" && !strings.HasSuffix(e.Source, " "+e.Key) {
		parts = append(parts, e.Key)
	}
	if e.Entry > 0 {
		parts = append(parts, "entry "+strconv.Itoa(e.Entry))
	}
	if e.Value != "" || e.Entry > 0 {
		parts = append(parts, quoteShort(e.Value))
	}
	if e.Reason != "" {
		parts = append(parts, e.Reason)
	}
	msg := strings.Join(parts, " ")
	if e.Fix != "" {
		msg += ": " + e.Fix
	}
	return msg
}

// Unwrap returns the class of the failure.
func (e *Error) Unwrap() error { return e.Err }

// maxShownRunes bounds how much of a value an error message quotes, so that
// a 4 KB tag does not flood the log.
const maxShownRunes = 100

// quoteShort quotes s, cut to maxShownRunes characters with a note of its
// full length when it is longer.
func quoteShort(s string) string {
	runes := []rune(s)
	if len(runes) <= maxShownRunes {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%s... (cut, %d characters in all)",
		strconv.Quote(string(runes[:maxShownRunes])), len(runes))
}
