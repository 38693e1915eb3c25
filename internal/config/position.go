package config

import (
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
)

// position is the line and column at which a key starts in a TOML document. Line and Column count
// from 1, and Column counts characters, not bytes.
type position struct {
	Line, Column int
}

// keyPositions returns where each key of a TOML document first appears,
// under the same dotted names that toml.Key.String returns.
//
// BurntSushi/toml v1.6 records a position for every key but exports it only
// inside parse errors, so this scanner finds the keys again. It expects a
// document that toml.Decode has already accepted: on anything else it stops
// early and returns what it found so far.
func keyPositions(data []byte) map[string]position {
	s := &keyScanner{data: data, found: map[string]int{}}
	s.document()
	return s.positions()
}

// keyScanner walks a valid TOML document and records the byte offset of
// each key. It tracks offsets only, so multi-line strings need no line
// bookkeeping; positions converts offsets to lines and columns at the end.
type keyScanner struct {
	data  []byte
	i     int
	found map[string]int
}

func (s *keyScanner) eof() bool { return s.i >= len(s.data) }

func (s *keyScanner) peek() byte {
	if s.eof() {
		return 0
	}
	return s.data[s.i]
}

func (s *keyScanner) hasPrefix(p string) bool {
	return strings.HasPrefix(string(s.data[s.i:min(s.i+len(p), len(s.data))]), p)
}

// document scans top-level lines: table headers and key/value pairs.
func (s *keyScanner) document() {
	var table []string
	for {
		s.skipBlank(true)
		if s.eof() {
			return
		}
		if s.peek() == '[' {
			s.i++
			if s.peek() == '[' {
				s.i++
			}
			if table = s.key(nil); table == nil {
				return
			}
		} else if !s.keyValue(table) {
			return
		}
		s.skipLine()
	}
}

// keyValue scans "key = value" under the table prefix and records the key.
func (s *keyScanner) keyValue(table []string) bool {
	key := s.key(table)
	if key == nil {
		return false
	}
	s.skipBlank(false)
	if s.peek() != '=' {
		return false
	}
	s.i++
	s.skipBlank(false)
	return s.value(key)
}

// key scans a dotted key and returns it appended to prefix, recording the
// offset of its first segment. It returns nil when no key is there.
func (s *keyScanner) key(prefix []string) []string {
	s.skipBlank(false)
	start := s.i
	key := append([]string(nil), prefix...)
	for {
		part, ok := s.simpleKey()
		if !ok {
			return nil
		}
		key = append(key, part)
		s.skipBlank(false)
		if s.peek() != '.' {
			break
		}
		s.i++
		s.skipBlank(false)
	}
	s.record(key, start)
	return key
}

// simpleKey scans a bare, basic-quoted or literal-quoted key segment.
func (s *keyScanner) simpleKey() (string, bool) {
	switch s.peek() {
	case '"':
		raw, ok := s.quoted('"')
		if !ok {
			return "", false
		}
		return unescapeBasic(raw)
	case '\'':
		return s.quoted('\'')
	}
	start := s.i
	for !s.eof() && isBareKeyByte(s.peek()) {
		s.i++
	}
	return string(s.data[start:s.i]), s.i > start
}

func isBareKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '-'
}

// quoted scans a one-line string delimited by q and returns its raw text.
// Only basic strings (q == '"') have escapes.
func (s *keyScanner) quoted(q byte) (string, bool) {
	s.i++
	start := s.i
	for !s.eof() && s.peek() != q && s.peek() != '\n' {
		if q == '"' && s.peek() == '\\' {
			s.i++
		}
		s.i++
	}
	if s.peek() != q {
		return "", false
	}
	raw := string(s.data[start:s.i])
	s.i++
	return raw, true
}

// value scans one value of key; inline tables record their keys under it.
func (s *keyScanner) value(key []string) bool {
	switch {
	case s.hasPrefix(`"""`), s.hasPrefix(`'''`):
		return s.multiline()
	case s.peek() == '"' || s.peek() == '\'':
		_, ok := s.quoted(s.peek())
		return ok
	case s.peek() == '[':
		return s.array(key)
	case s.peek() == '{':
		return s.inlineTable(key)
	}
	return s.bareValue()
}

// multiline scans a multi-line string. Up to two quotes right before the
// closing delimiter belong to the content, as in `"""a""""`.
func (s *keyScanner) multiline() bool {
	delim := string(s.data[s.i : s.i+3])
	s.i += 3
	for !s.eof() {
		if delim[0] == '"' && s.peek() == '\\' {
			s.i += 2
			continue
		}
		if s.hasPrefix(delim) {
			s.i += 3
			for n := 0; n < 2 && s.peek() == delim[0]; n++ {
				s.i++
			}
			return true
		}
		s.i++
	}
	return false
}

// array scans an array, which may span lines and hold comments. Inline
// tables inside it record their keys under the array's key, as the decoder
// names them.
func (s *keyScanner) array(key []string) bool {
	s.i++
	for {
		s.skipBlank(true)
		switch s.peek() {
		case ']':
			s.i++
			return true
		case ',':
			s.i++
			continue
		}
		if s.eof() || !s.value(key) {
			return false
		}
	}
}

// inlineTable scans "{ k = v, ... }". Newlines are accepted inside, as
// TOML 1.1 allows.
func (s *keyScanner) inlineTable(key []string) bool {
	s.i++
	for {
		s.skipBlank(true)
		switch s.peek() {
		case '}':
			s.i++
			return true
		case ',':
			s.i++
			continue
		}
		if s.eof() || !s.keyValue(key) {
			return false
		}
	}
}

// bareValue scans a number, boolean or date-time. A date-time may have a
// space between its date and its time, as in 1979-05-27 07:32:00Z.
func (s *keyScanner) bareValue() bool {
	start := s.i
	s.skipToken()
	token := string(s.data[start:s.i])
	if len(token) == len("1979-05-27") && token[4] == '-' && s.peek() == ' ' &&
		s.i+1 < len(s.data) && s.data[s.i+1] >= '0' && s.data[s.i+1] <= '9' {
		s.i++
		s.skipToken()
	}
	return s.i > start
}

func (s *keyScanner) skipToken() {
	for !s.eof() && !strings.ContainsRune(" \t\r\n,]}#", rune(s.peek())) {
		s.i++
	}
}

// skipBlank skips spaces and tabs, and also newlines and comments when
// newlines is true.
func (s *keyScanner) skipBlank(newlines bool) {
	for !s.eof() {
		switch c := s.peek(); {
		case c == ' ' || c == '\t':
			s.i++
		case newlines && (c == '\n' || c == '\r'):
			s.i++
		case newlines && c == '#':
			s.skipLine()
		default:
			return
		}
	}
}

// skipLine moves to the start of the next line.
func (s *keyScanner) skipLine() {
	for !s.eof() && s.peek() != '\n' {
		s.i++
	}
	s.i++
}

// record stores the offset of key unless an earlier one is known.
func (s *keyScanner) record(key []string, offset int) {
	name := toml.Key(key).String()
	if _, seen := s.found[name]; !seen {
		s.found[name] = offset
	}
}

// positions converts the recorded offsets to lines and columns.
func (s *keyScanner) positions() map[string]position {
	starts := lineStarts(s.data)
	out := make(map[string]position, len(s.found))
	for name, offset := range s.found {
		out[name] = offsetPosition(s.data, starts, offset)
	}
	return out
}

// lineStarts returns the byte offset at which each line of data starts.
func lineStarts(data []byte) []int {
	starts := []int{0}
	for i, c := range data {
		if c == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// offsetPosition converts a byte offset into data to a line and a column in
// characters.
func offsetPosition(data []byte, starts []int, offset int) position {
	offset = min(max(offset, 0), len(data))
	line := sort.Search(len(starts), func(i int) bool { return starts[i] > offset })
	column := utf8.RuneCount(data[starts[line-1]:offset]) + 1
	return position{Line: line, Column: column}
}

// unescapeBasic decodes the escapes of a TOML basic string.
func unescapeBasic(raw string) (string, bool) {
	if !strings.Contains(raw, `\`) {
		return raw, true
	}
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			b.WriteByte(raw[i])
			continue
		}
		i++
		if i >= len(raw) {
			return "", false
		}
		n, ok := unescapeOne(&b, raw[i:])
		if !ok {
			return "", false
		}
		i += n - 1
	}
	return b.String(), true
}

// simpleEscapes maps the one-letter escapes of TOML basic strings (v1.1
// adds \e) to their characters.
var simpleEscapes = map[byte]byte{
	'b': '\b', 't': '\t', 'n': '\n', 'f': '\f', 'r': '\r', 'e': 0x1b, '"': '"', '\\': '\\',
}

// unescapeOne decodes the escape at the start of rest (after the
// backslash) and returns how many bytes of rest it used.
func unescapeOne(b *strings.Builder, rest string) (int, bool) {
	if c, ok := simpleEscapes[rest[0]]; ok {
		b.WriteByte(c)
		return 1, true
	}
	digits := map[byte]int{'x': 2, 'u': 4, 'U': 8}[rest[0]]
	if digits == 0 || len(rest) < 1+digits {
		return 0, false
	}
	code, err := strconv.ParseUint(rest[1:1+digits], 16, 32)
	if err != nil {
		return 0, false
	}
	b.WriteRune(rune(code))
	return 1 + digits, true
}
