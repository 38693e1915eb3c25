package config

import (
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/google/go-cmp/cmp"
)

func TestKeyPositions(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want map[string]position
	}{
		{"top_level", "a = 1\n  b = 2\n", map[string]position{
			"a": {1, 1}, "b": {2, 3}}},
		{"tables", "[t]\nx = 1\n[ u . v ]\ny = 2\n", map[string]position{
			"t": {1, 2}, "t.x": {2, 1}, "u.v": {3, 3}, "u.v.y": {4, 1}}},
		{"array_of_tables", "[[p]]\nr = 1\n[[p]]\nr = 2\ns = 3\n", map[string]position{
			"p": {1, 3}, "p.r": {2, 1}, "p.s": {5, 1}}},
		{"dotted_and_quoted", "a . \"b.c\" . 'd' = 1\n\"\\u0041\" = 2\n", map[string]position{
			`a."b.c".d`: {1, 1}, "A": {2, 1}}},
		{"comments_and_crlf", "# a = 1\r\nb = 2 # c = 3\r\n\r\n\td = 4\r\n", map[string]position{
			"b": {2, 1}, "d": {4, 2}}},
		{"multiline_strings", "a = \"\"\"\nx = 1\n\"\"\"\"\"\nb = '''\n[t]\n'''\nc = \"\\\"\"\n",
			map[string]position{"a": {1, 1}, "b": {4, 1}, "c": {7, 1}}},
		{"escaped_quote_in_multiline", "a = \"\"\"\\\"\"\"\"\"\"\nb = 1\n",
			map[string]position{"a": {1, 1}, "b": {2, 1}}},
		{"arrays", "a = [\n  1, # x = 2\n  [2, 3],\n]\nb = [{c = 1}, {d = 2}]\n",
			map[string]position{"a": {1, 1}, "b": {5, 1}, "b.c": {5, 7}, "b.d": {5, 16}}},
		{"inline_tables", "t = { x = 1, y = { z = \"}\" } }\nu = 2\n", map[string]position{
			"t": {1, 1}, "t.x": {1, 7}, "t.y": {1, 14}, "t.y.z": {1, 20}, "u": {2, 1}}},
		{"date_time_with_space", "d = 1979-05-27 07:32:00Z\ne = 1\n", map[string]position{
			"d": {1, 1}, "e": {2, 1}}},
		{"unicode_columns", "[t]\n\"é\" = 1\ni = { \"é\" = 1, f = 2 }\n", map[string]position{
			"t": {1, 2}, `t."é"`: {2, 1}, "t.i": {3, 1}, `t.i."é"`: {3, 7}, "t.i.f": {3, 16}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := toml.Decode(tc.doc, new(map[string]any)); err != nil {
				t.Fatalf("test document is not valid TOML: %v", err)
			}
			if diff := cmp.Diff(tc.want, keyPositions([]byte(tc.doc))); diff != "" {
				t.Errorf("keyPositions (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzKeyPositions checks, on every document the decoder accepts, that the
// scanner finds every key the decoder lists and that the text at the
// position is that key or the first segment of its dotted form.
func FuzzKeyPositions(f *testing.F) {
	f.Add(clientUserData)
	f.Add("a.b = 1\n[t]\nc = [{d = 1}]\n[[u]]\ne = \"\"\"\nx\n\"\"\"\n")
	f.Add("'q' = { r = 1979-05-27 07:32:00Z }\n")
	f.Add("a = \"\"\"x\\\n  \\\"\"\"\"\"\nb = '''y''''\n\"c\\td\" = [\n# x = 1\n{e = [1,{f=2}]},\n]\r\n")
	f.Add("[a.'b'.\"c\"]\n[[a.'b'.\"c\".d]]\ne.f.g = -inf\nh = 0x1F\n")
	f.Add("t = {\n  a = 1,\n  b = 2\n}\n")
	f.Fuzz(func(t *testing.T, doc string) {
		md, err := toml.Decode(doc, new(map[string]any))
		if err != nil {
			return
		}
		positions := keyPositions([]byte(doc))
		lines := strings.Split(doc, "\n")
		for _, k := range md.Keys() {
			p, ok := positions[k.String()]
			if !ok {
				t.Fatalf("key %s has no position in %q", k, doc)
			}
			rest := string([]rune(lines[p.Line-1])[p.Column-1:])
			if !startsWithSegment(rest, k) {
				t.Fatalf("key %s at %d:%d, but the text there is %q", k, p.Line, p.Column, rest)
			}
		}
	})
}

// startsWithSegment reports whether text starts with one of key's segments,
// bare or quoted.
func startsWithSegment(text string, key toml.Key) bool {
	if strings.HasPrefix(text, `"`) || strings.HasPrefix(text, `'`) {
		return true
	}
	for _, segment := range key {
		if segment != "" && strings.HasPrefix(text, segment) {
			return true
		}
	}
	return false
}
