package secrets

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl"
)

// ConsulAgentToken returns a function that reads the Consul agent token this
// stage wrote below root, so the health checks can read the agent's own
// state on a cluster whose ACLs deny anonymous reads. No file, or a file
// without the token, means no token. The token stays in memory only.
func ConsulAgentToken(root string) func() (string, error) {
	return func() (string, error) {
		p := filepath.Join(root, Dir, "consul", IncludeFile)
		data, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("read the Consul agent token: %w", err)
		}
		var include map[string]any
		// The parse error is not wrapped: it could quote the file's text.
		if hcl.Decode(&include, string(data)) != nil {
			return "", fmt.Errorf("parse %s: not valid HCL", filepath.Join(Dir, "consul", IncludeFile))
		}
		agent, _ := lookup(include, "acl", "tokens", "agent").(string)
		return agent, nil
	}
}

// lookup follows keys through HCL v1's decoding of nested blocks, which
// gives each block as a list of maps.
func lookup(v any, keys ...string) any {
	for _, k := range keys {
		switch m := v.(type) {
		case map[string]any:
			v = m[k]
		case []map[string]any:
			if len(m) == 0 {
				return nil
			}
			v = m[0][k]
		default:
			return nil
		}
	}
	if list, ok := v.([]map[string]any); ok && len(list) > 0 {
		return list[0]
	}
	return v
}
