package config

import (
	"errors"
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
	// Source is the origin of the value, such as "tag hashistack:role" or
	// "user-data line 3 column 1".
	Source string
	Reason string
	Fix    string
	// Err is the class of the failure, one of the Err variables.
	Err error
}

// Error formats the failure as "source: key "value" reason: fix", leaving
// out the parts that are empty.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Source)
	b.WriteString(":")
	if e.Key != "" {
		b.WriteString(" " + e.Key)
	}
	if e.Value != "" {
		b.WriteString(" " + strconv.Quote(e.Value))
	}
	if e.Reason != "" {
		b.WriteString(" " + e.Reason)
	}
	if e.Fix != "" {
		b.WriteString(": " + e.Fix)
	}
	return b.String()
}

// Unwrap returns the class of the failure.
func (e *Error) Unwrap() error { return e.Err }
