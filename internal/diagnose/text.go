package diagnose

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteText writes the report for people: one line per check with its
// status and summary, the check's lines indented below it, every warning
// or failing line followed by its fix, and a last line with the verdict.
// Columns are aligned across the whole report.
func WriteText(w io.Writer, rep Report) error {
	width := nameWidth(rep)
	var b strings.Builder
	for _, c := range rep.Checks {
		row(&b, width, c.Name, c.Status, c.Summary)
		fix(&b, width, c.Status, c.Fix)
		for _, l := range c.Lines {
			row(&b, width, "  "+l.Name, l.Status, l.Value)
			fix(&b, width, l.Status, l.Fix)
		}
	}
	fmt.Fprintf(&b, "\n%s (exit %d): %s\n", rep.Status, rep.ExitCode, counts(rep.Checks))
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as one indented JSON document, the schema
// of docs/diagnose.schema.json.
func WriteJSON(w io.Writer, rep Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// nameWidth is the width of the first column: the longest check name or
// indented line name.
func nameWidth(rep Report) int {
	width := 0
	for _, c := range rep.Checks {
		width = max(width, len(c.Name))
		for _, l := range c.Lines {
			width = max(width, len(l.Name)+2)
		}
	}
	return width
}

func row(b *strings.Builder, width int, name string, s Status, text string) {
	fmt.Fprintf(b, "%-*s  %-4s  %s\n", width, name, s, oneLineText(text))
}

// fix writes the fix under the text column of a line that warns or fails.
func fix(b *strings.Builder, width int, s Status, text string) {
	if text == "" || (s != Warn && s != Fail) {
		return
	}
	fmt.Fprintf(b, "%*s  fix: %s\n", width+6, "", oneLineText(text))
}

// oneLineText keeps a value on its line: errors from other software may
// contain newlines.
func oneLineText(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}
