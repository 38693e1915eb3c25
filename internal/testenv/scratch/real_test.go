package scratch

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRootedCommand(t *testing.T) {
	tests := []struct {
		name, root, exec, bin, want string
	}{
		{name: "consul", root: "/tmp/r", bin: "/opt/consul",
			exec: "/usr/bin/consul agent -config-dir=/etc/consul.d -config-file=/run/bootstrap/consul/secrets.hcl",
			want: "/opt/consul agent -config-dir=/tmp/r/etc/consul.d -config-file=/tmp/r/run/bootstrap/consul/secrets.hcl"},
		{name: "plain_path", root: "/tmp/r", bin: "/opt/x", exec: "/usr/bin/x run /etc/x.hcl -v",
			want: "/opt/x run /tmp/r/etc/x.hcl -v"},
		{name: "hostile_root", root: `/tmp/a b"c\d%e$f`, bin: "/opt/vault", exec: "/usr/bin/vault server -config=/etc/vault.d",
			want: `/opt/vault server "-config=/tmp/a b\"c\\d%%e$$f/etc/vault.d"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := Node{Root: tc.root}
			if diff := cmp.Diff(tc.want, n.rootedCommand(tc.exec, tc.bin)); diff != "" {
				t.Errorf("rootedCommand (-want +got):\n%s", diff)
			}
		})
	}
}
