package secrets

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConsulAgentTokenFromInclude(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "run/bootstrap/consul")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	read := ConsulAgentToken(root)
	if tok, err := read(); tok != "" || err != nil {
		t.Errorf("no file: token %q, error %v; want none", tok, err)
	}
	include := "encrypt = \"a2V5\"\nacl {\n  tokens {\n    agent = \"agent-token-1\"\n  }\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "secrets.hcl"), []byte(include), 0o600); err != nil {
		t.Fatal(err)
	}
	if tok, err := read(); tok != "agent-token-1" || err != nil {
		t.Errorf("token %q, error %v; want agent-token-1", tok, err)
	}
	broken := "acl { tokens { agent = \"SECRET-VALUE\" "
	if err := os.WriteFile(filepath.Join(dir, "secrets.hcl"), []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := read()
	if err == nil || strings.Contains(err.Error(), "SECRET-VALUE") {
		t.Errorf("broken file: error %v; want one that does not quote the file", err)
	}
}
