package secrets

import (
	"errors"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// includeFile renders settings, keyed by dotted names such as
// "acl.tokens.agent", as HCL v1 blocks and quoted strings. A value HCL v1
// cannot quote is rejected without being shown.
func includeFile(settings map[string]string) (string, error) {
	var b strings.Builder
	b.WriteString("# Written by bootstrap at every boot from Vault. Secret: never copy it to disk.\n")
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var open []string
	for _, k := range keys {
		v := settings[k]
		if strings.Contains(v, "${") || strings.ContainsFunc(v, unicode.IsControl) {
			return "", errors.New("value of " + k + " contains '${' or a control character, " +
				"which HCL v1 cannot quote: fix the secret in Vault")
		}
		parts := strings.Split(k, ".")
		blocks, name := parts[:len(parts)-1], parts[len(parts)-1]
		common := 0
		for common < len(open) && common < len(blocks) && open[common] == blocks[common] {
			common++
		}
		for len(open) > common {
			open = open[:len(open)-1]
			b.WriteString(strings.Repeat("  ", len(open)) + "}\n")
		}
		for _, blk := range blocks[common:] {
			b.WriteString(strings.Repeat("  ", len(open)) + blk + " {\n")
			open = append(open, blk)
		}
		b.WriteString(strings.Repeat("  ", len(open)) + name + " = " + strconv.Quote(v) + "\n")
	}
	for len(open) > 0 {
		open = open[:len(open)-1]
		b.WriteString(strings.Repeat("  ", len(open)) + "}\n")
	}
	return b.String(), nil
}
