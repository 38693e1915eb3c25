package diagnose

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
)

// schemaPath is the documented JSON Schema of the --json output.
const schemaPath = "../../docs/diagnose.schema.json"

// schema is the subset of JSON Schema (draft 2020-12) that the documented
// schema uses: type, const, enum, required, properties,
// additionalProperties false, items, minItems, minimum and local $ref.
type schema struct {
	Ref                  string             `json:"$ref"`
	Type                 string             `json:"type"`
	Const                any                `json:"const"`
	Enum                 []any              `json:"enum"`
	Required             []string           `json:"required"`
	Properties           map[string]*schema `json:"properties"`
	AdditionalProperties *bool              `json:"additionalProperties"`
	Items                *schema            `json:"items"`
	MinItems             *int               `json:"minItems"`
	Minimum              *float64           `json:"minimum"`
	Defs                 map[string]*schema `json:"$defs"`
}

func loadSchema(t *testing.T) *schema {
	t.Helper()
	data, err := os.ReadFile(schemaPath)
	check(t, err)
	var s schema
	check(t, json.Unmarshal(data, &s))
	return &s
}

// validate returns every violation of s in v, a value decoded by
// encoding/json, each with its JSON path.
func (s *schema) validate(root *schema, path string, v any) []string {
	if s.Ref != "" {
		name, ok := strings.CutPrefix(s.Ref, "#/$defs/")
		if !ok || root.Defs[name] == nil {
			return []string{path + ": unresolved $ref " + s.Ref}
		}
		return root.Defs[name].validate(root, path, v)
	}
	var errs []string
	if s.Type != "" && !hasType(v, s.Type) {
		return []string{fmt.Sprintf("%s: %T is not %s", path, v, s.Type)}
	}
	if s.Const != nil && !equalJSON(s.Const, v) {
		errs = append(errs, fmt.Sprintf("%s: %v is not %v", path, v, s.Const))
	}
	if s.Enum != nil && !slices.ContainsFunc(s.Enum, func(e any) bool { return equalJSON(e, v) }) {
		errs = append(errs, fmt.Sprintf("%s: %v is not one of %v", path, v, s.Enum))
	}
	if n, ok := v.(float64); ok && s.Minimum != nil && n < *s.Minimum {
		errs = append(errs, fmt.Sprintf("%s: %v is below %v", path, n, *s.Minimum))
	}
	if obj, ok := v.(map[string]any); ok {
		errs = append(errs, s.validateObject(root, path, obj)...)
	}
	if list, ok := v.([]any); ok {
		if s.MinItems != nil && len(list) < *s.MinItems {
			errs = append(errs, fmt.Sprintf("%s: %d items, fewer than %d", path, len(list), *s.MinItems))
		}
		for i, item := range list {
			if s.Items != nil {
				errs = append(errs, s.Items.validate(root, fmt.Sprintf("%s[%d]", path, i), item)...)
			}
		}
	}
	return errs
}

func (s *schema) validateObject(root *schema, path string, obj map[string]any) []string {
	var errs []string
	for _, k := range s.Required {
		if _, ok := obj[k]; !ok {
			errs = append(errs, path+": missing "+k)
		}
	}
	for k, v := range obj {
		sub, ok := s.Properties[k]
		switch {
		case ok:
			errs = append(errs, sub.validate(root, path+"."+k, v)...)
		case s.AdditionalProperties != nil && !*s.AdditionalProperties:
			errs = append(errs, path+": unexpected property "+k)
		}
	}
	return errs
}

func hasType(v any, typ string) bool {
	switch typ {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		n, ok := v.(float64)
		return ok && n == math.Trunc(n)
	case "boolean":
		_, ok := v.(bool)
		return ok
	}
	return false
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// decodeReport encodes rep as WriteJSON does and decodes it generically.
func decodeReport(t *testing.T, rep Report) any {
	t.Helper()
	var b strings.Builder
	check(t, WriteJSON(&b, rep))
	var v any
	check(t, json.Unmarshal([]byte(b.String()), &v))
	return v
}

func TestJSONMatchesSchema(t *testing.T) {
	s := loadSchema(t)
	tests := []struct {
		name  string
		build func(t *testing.T) Options
	}{
		{"healthy", func(t *testing.T) Options {
			o := healthy(t).write(t)
			o.Explain = true
			return o
		}},
		{"never_ran", func(t *testing.T) Options { return healthy(t).opts }},
		{"failed_units", func(t *testing.T) Options {
			f := healthy(t)
			f.node.FailStage, f.node.FailError = "units", "start consul.service: job failed"
			return f.write(t)
		}},
		{"all_down", func(t *testing.T) Options {
			o := healthy(t).write(t)
			o.IMDS, o.ClockURL = newIMDS("http://127.0.0.1:9"), "http://127.0.0.1:9"
			return o
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := decodeReport(t, Run(t.Context(), tc.build(t)))
			for _, e := range s.validate(s, "$", doc) {
				t.Error(e)
			}
		})
	}
}

func TestSchemaRejects(t *testing.T) {
	s := loadSchema(t)
	rep := Run(t.Context(), healthy(t).opts)
	tests := []struct {
		name string
		edit func(doc map[string]any)
		want string
	}{
		{"missing_status", func(doc map[string]any) { delete(doc, "status") }, "$: missing status"},
		{"unknown_status", func(doc map[string]any) { doc["status"] = "fine" }, "$.status: fine is not one of"},
		{"extra_field", func(doc map[string]any) { doc["extra"] = 1 }, "$: unexpected property extra"},
		{"bad_line", func(doc map[string]any) {
			checks := doc["checks"].([]any)
			checks[0].(map[string]any)["lines"] = []any{map[string]any{"status": "ok"}}
		}, "$.checks[0].lines[0]: missing name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := decodeReport(t, rep).(map[string]any)
			tc.edit(doc)
			errs := s.validate(s, "$", doc)
			if !slices.ContainsFunc(errs, func(e string) bool { return strings.HasPrefix(e, tc.want) }) {
				t.Errorf("errors %q; want one starting %q", errs, tc.want)
			}
		})
	}
}

// TestSchemaNamesEveryCheck keeps the schema's list of check names equal
// to the checks Run executes.
func TestSchemaNamesEveryCheck(t *testing.T) {
	s := loadSchema(t)
	var names []string
	for _, n := range s.Properties["checks"].Items.Properties["name"].Enum {
		names = append(names, n.(string))
	}
	if !slices.Equal(names, CheckNames()) {
		t.Errorf("schema names %q; checks are %q", names, CheckNames())
	}
}
