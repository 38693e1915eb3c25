package roles

import (
	"slices"
	"strings"
	"testing"
)

func TestAllRolesParse(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"consul-server", "nomad-client", "nomad-server", "vault-server"}
	var got []string
	for _, r := range all {
		got = append(got, r.Name)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("roles = %v, want %v", got, want)
	}
}

func TestLoadUnknownRole(t *testing.T) {
	_, err := Load("consul-client")
	if err == nil {
		t.Fatal("Load(consul-client) succeeded, want an error")
	}
	if !strings.Contains(err.Error(), "consul-server, nomad-client") {
		t.Errorf("error %q does not list the known roles", err)
	}
}

func TestParseRejectsUnknownKey(t *testing.T) {
	_, err := parse("x.toml", []byte("name = \"x\"\ncolour = \"red\"\n"))
	if err == nil || !strings.Contains(err.Error(), `unknown key "colour"`) {
		t.Fatalf("parse error = %v, want unknown key colour", err)
	}
}
