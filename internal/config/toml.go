package config

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// tomlSource describes a TOML document for decodeTOML.
type tomlSource struct {
	// origin names the document in sources: "user-data" or
	// "file /etc/bootstrap/bootstrap.toml".
	origin string
	// untrusted is true for user-data, which must hold no secret.
	untrusted bool
}

func (ts tomlSource) at(p position) string {
	return fmt.Sprintf("%s line %d", ts.origin, p.Line)
}

func (ts tomlSource) atColumn(p position) string {
	return fmt.Sprintf("%s line %d column %d", ts.origin, p.Line, p.Column)
}

// decodeTOML decodes a TOML document into a layer. The checks run in this
// order: syntax, secret-looking keys and credential-looking values (user-data
// only), value types, then unknown keys.
func decodeTOML(data []byte, ts tomlSource) (layer, error) {
	var raw map[string]any
	md, err := toml.Decode(string(data), &raw)
	if err != nil {
		if ts.untrusted {
			if err := scanCredentialLines(data, ts); err != nil {
				return layer{}, err
			}
		}
		return layer{}, syntaxError(data, ts, err)
	}

	positions := keyPositions(data)
	keys := md.Keys()
	if ts.untrusted {
		if err := checkSecrets(keys, raw, positions, ts); err != nil {
			return layer{}, err
		}
		if err := scanCredentialLines(data, ts); err != nil {
			return layer{}, err
		}
	}
	if err := checkTypes(&md, raw, positions, ts); err != nil {
		return layer{}, err
	}

	l := newLayer()
	decoded, err := toml.Decode(string(data), &l.cfg)
	if err != nil {
		// NOTE: checkTypes accepts only what node.Config can hold, so this
		// happens only if the two disagree.
		return layer{}, &Error{Source: ts.origin, Reason: "cannot be decoded: " +
			redactCredentials(err.Error()), Err: ErrInvalidValue}
	}
	if undecoded := decoded.Undecoded(); len(undecoded) > 0 {
		name := undecoded[0].String()
		return layer{}, &Error{Key: name, Source: ts.atColumn(positions[name]),
			Reason: "is not a known key", Fix: knownKeysHint(name), Err: ErrUnknownKey}
	}

	for _, k := range keys {
		if name := k.String(); keyByName[name] != nil {
			l.sources[name] = ts.at(positions[name])
		}
	}
	return l, nil
}

// syntaxError converts a decoder error into an *Error that points at the
// line and column, with any credential in the decoder's message hidden.
func syntaxError(data []byte, ts tomlSource, err error) error {
	e := &Error{Source: ts.origin, Reason: "is not valid TOML: " + redactCredentials(err.Error()),
		Fix: `correct the syntax there, and quote strings, such as namespace = "payments"`,
		Err: ErrSyntax}
	var pe toml.ParseError
	if errors.As(err, &pe) {
		// The decoder counts columns in bytes, and BurntSushi/toml v1.6
		// puts an error at the start of a line at the end of the line
		// before. The offset is right, so the column is computed from it.
		p := offsetPosition(data, lineStarts(data), pe.Position.Start)
		e.Source = ts.atColumn(p)
		message := strings.TrimSuffix(pe.Message, ".")
		e.Reason = "is not valid TOML: " + redactCredentials(message)
	}
	return e
}

// checkSecrets rejects secret-looking key names and credential-looking
// string values, in document order. The value is never put in the error.
func checkSecrets(keys []toml.Key, raw map[string]any, positions map[string]position,
	ts tomlSource) error {
	for _, k := range keys {
		if isSecretKeyName(k[len(k)-1]) {
			name := k.String()
			return &Error{Key: name, Source: ts.atColumn(positions[name]),
				Reason: "looks like a secret", Fix: secretFix, Err: ErrSecret}
		}
	}
	for _, k := range keys {
		v, ok := lookup(raw, k)
		if ok && anyCredential(v) {
			name := k.String()
			return &Error{Key: name, Source: ts.atColumn(positions[name]),
				Reason: "has a value that looks like a credential (value not shown)",
				Fix:    secretFix, Err: ErrSecret}
		}
	}
	return nil
}

// anyCredential reports whether v, a string or an array of them, holds
// credential-looking text. Tables are checked through their own keys.
func anyCredential(v any) bool {
	switch v := v.(type) {
	case string:
		return looksLikeCredential(v)
	case []any:
		for _, e := range v {
			if anyCredential(e) {
				return true
			}
		}
	}
	return false
}

// scanCredentialLines rejects credential-looking text anywhere in the
// document, comments and invalid lines included, by line number only.
func scanCredentialLines(data []byte, ts tomlSource) error {
	for i, line := range bytes.Split(data, []byte("\n")) {
		if looksLikeCredential(string(line)) {
			return &Error{Source: ts.at(position{Line: i + 1}),
				Reason: "contains text that looks like a credential (value not shown)",
				Fix:    secretFix, Err: ErrSecret}
		}
	}
	return nil
}

// lookup returns the decoded value at key. It fails when the path crosses
// anything but tables, such as an array of tables.
func lookup(raw map[string]any, key toml.Key) (any, bool) {
	var v any = raw
	for _, part := range key {
		table, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = table[part]; !ok {
			return nil, false
		}
	}
	return v, true
}

// checkTypes rejects a known key or table whose TOML value has the wrong
// type, so that the later decode into node.Config meets only values that
// its fields can hold.
func checkTypes(md *toml.MetaData, raw map[string]any, positions map[string]position,
	ts tomlSource) error {
	for _, k := range md.Keys() {
		name := k.String()
		v, ok := lookup(raw, k)
		if !ok {
			continue
		}
		got := tomlTypeName(md.Type(k...))
		if tableNames[name] {
			if _, isTable := v.(map[string]any); !isTable {
				return &Error{Key: name, Source: ts.at(positions[name]),
					Reason: "must be a table, not " + got,
					Fix:    fmt.Sprintf("write it as a [%s] header with keys below it", name),
					Err:    ErrInvalidValue}
			}
			continue
		}
		def := keyByName[name]
		if def == nil {
			continue
		}
		if err := checkType(def, v, got); err != nil {
			err.Source = ts.at(positions[name])
			return err
		}
	}
	return nil
}

// checkType checks one decoded value against the type of its key. It
// returns an *Error without a Source.
func checkType(def *keyDef, v any, got string) *Error {
	ok := false
	switch def.Type {
	case TypeString:
		_, ok = v.(string)
	case TypeInteger:
		_, ok = v.(int64)
	case TypeBoolean:
		_, ok = v.(bool)
	case TypeList:
		ok = isStringList(v)
	case TypeDuration:
		s, isString := v.(string)
		if isString {
			if _, err := time.ParseDuration(s); err != nil {
				return &Error{Key: def.Name, Value: s, Reason: "is not a valid duration",
					Fix: typeFix[TypeDuration], Err: ErrInvalidValue}
			}
		}
		ok = isString
	}
	if ok {
		return nil
	}
	return &Error{Key: def.Name, Reason: fmt.Sprintf("must be %s, not %s", def.Type.article(), got),
		Fix: typeFix[def.Type], Err: ErrInvalidValue}
}

func isStringList(v any) bool {
	list, ok := v.([]any)
	if !ok {
		return false
	}
	for _, e := range list {
		if _, ok := e.(string); !ok {
			return false
		}
	}
	return true
}

// tomlTypeName turns a MetaData.Type result into words with an article.
func tomlTypeName(t string) string {
	names := map[string]string{
		"Hash": "a table", "ArrayHash": "an array of tables", "Array": "an array",
		"String": "a string", "Integer": "an integer", "Float": "a float",
		"Bool": "a boolean", "Datetime": "a date-time",
	}
	if n, ok := names[t]; ok {
		return n
	}
	return "a " + strings.ToLower(t)
}
