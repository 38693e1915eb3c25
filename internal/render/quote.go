package render

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"text/template"
)

// UnquotableError reports a value that cannot be written as an HCL v1
// string. HCL v1 reads "${" in a quoted string as the start of an
// interpolation and has no escape for it, so such a value would either break
// the parse or change meaning.
type UnquotableError struct {
	Value string
}

func (e *UnquotableError) Error() string {
	return fmt.Sprintf("value %q contains \"${\", which HCL v1 cannot escape: "+
		"remove \"${\" from the tag or user-data key that sets it", e.Value)
}

// quoteHCL returns s as an HCL v1 quoted string. The HCL v1 lexer accepts
// every escape strconv.Quote writes (\" \\ \n \t \xNN \uNNNN and the rest)
// and decodes it back to the same bytes, as the tests check.
func quoteHCL(s string) (string, error) {
	if strings.Contains(s, "${") {
		return "", &UnquotableError{Value: s}
	}
	return strconv.Quote(s), nil
}

// quoteHCLList returns values as an HCL v1 list of quoted strings.
func quoteHCLList(values []string) (string, error) {
	quoted := make([]string, 0, len(values))
	for _, v := range values {
		q, err := quoteHCL(v)
		if err != nil {
			return "", err
		}
		quoted = append(quoted, q)
	}
	return "[" + strings.Join(quoted, ", ") + "]", nil
}

// escapeSystemdPath escapes a path for a unit file setting that takes one
// path, such as AssertPathExists=. systemd takes the rest of the line
// verbatim (spaces included, and quotes would become part of the path) but
// expands "%" specifiers, so "%" is doubled. A line break cannot be
// escaped at all.
func escapeSystemdPath(p string) (string, error) {
	if strings.ContainsFunc(p, isControl) {
		return "", fmt.Errorf("path %q contains a control character, which a unit file cannot hold: use another --root", p)
	}
	if strings.HasSuffix(p, "\\") {
		return "", fmt.Errorf("path %q ends in a backslash, which a unit file reads as a line continuation", p)
	}
	return strings.ReplaceAll(p, "%", "%%"), nil
}

func isControl(r rune) bool {
	return r < 0x20 || r == 0x7f
}

// templateFuncs are the functions every template may call. They are pure:
// anything that depends on the run (the root) is a method of the data.
var templateFuncs = template.FuncMap{
	"hcl":       quoteHCL,
	"hclList":   quoteHCLList,
	"commaList": func(values []string) string { return strings.Join(values, ",") },
	"hostPort":  func(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) },
	"url": func(scheme, host string, port int) string {
		return scheme + "://" + net.JoinHostPort(host, strconv.Itoa(port))
	},
	"systemdPath": escapeSystemdPath,
}
