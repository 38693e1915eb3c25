package render

import (
	"net"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	gosockaddr "github.com/hashicorp/go-sockaddr"
	sockaddr "github.com/hashicorp/go-sockaddr/template"

	"github.com/hashistack/bootstrap/internal/node"
)

// fixedInterfaces stands in for the machine's interfaces: the templates
// below select from "." (the interfaces passed in) instead of calling
// GetAllInterfaces, so the results do not depend on the host.
func fixedInterfaces(t *testing.T) func(string) (string, error) {
	t.Helper()
	up := net.FlagUp
	ifs := gosockaddr.IfAddrs{
		{SockAddr: gosockaddr.MustIPv4Addr("127.0.0.1/8"), Interface: net.Interface{Name: "lo", Flags: up | net.FlagLoopback}},
		{SockAddr: gosockaddr.MustIPv4Addr("10.1.2.3/16"), Interface: net.Interface{Name: "eth0", Flags: up}},
		{SockAddr: gosockaddr.MustIPv4Addr("10.9.8.7/16"), Interface: net.Interface{Name: "eth1", Flags: up}},
		{SockAddr: gosockaddr.MustIPv6Addr("fd00::5/64"), Interface: net.Interface{Name: "eth0", Flags: up}},
	}
	return func(tmpl string) (string, error) { return sockaddr.ParseIfAddrs(tmpl, ifs) }
}

func TestAddresses(t *testing.T) {
	type result struct{ Bind, Advertise, Client string }
	tests := []struct {
		name    string
		network node.NetworkConfig
		want    result
		wantErr []string
	}{
		{
			name:    "literal_ips",
			network: node.NetworkConfig{Bind: "127.0.0.2", Advertise: "127.0.0.3", Client: "127.0.0.1"},
			want:    result{"127.0.0.2", "127.0.0.3", "127.0.0.1"},
		},
		{
			name:    "advertise_defaults_to_bind",
			network: node.NetworkConfig{Bind: "127.0.0.2", Client: "127.0.0.1"},
			want:    result{"127.0.0.2", "127.0.0.2", "127.0.0.1"},
		},
		{
			name: "templates",
			network: node.NetworkConfig{
				Bind:      `{{ . | include "name" "eth0" | include "type" "IPv4" | attr "address" }}`,
				Advertise: `{{ . | include "network" "10.9.0.0/16" | attr "address" }}`,
				Client:    `{{ . | include "flags" "loopback" | attr "address" }}`,
			},
			want: result{"10.1.2.3", "10.9.8.7", "127.0.0.1"},
		},
		{
			name: "ipv6_template",
			network: node.NetworkConfig{
				Bind:   `{{ . | include "type" "IPv6" | attr "address" }}`,
				Client: "::1",
			},
			want: result{"fd00::5", "fd00::5", "::1"},
		},
		{
			name: "matches_nothing",
			network: node.NetworkConfig{
				Bind:   `{{ . | include "network" "192.0.2.0/24" | attr "address" }}`,
				Client: "127.0.0.1",
			},
			wantErr: []string{"network.bind", `"{{ . | include \"network\" \"192.0.2.0/24\" | attr \"address\" }}"`,
				"matched no address", `GetPrivateInterfaces | include "network" "10.0.0.0/8"`},
		},
		{
			name: "matches_two",
			network: node.NetworkConfig{
				Bind:      "127.0.0.2",
				Advertise: `{{ . | include "network" "10.0.0.0/8" | join "address" " " }}`,
				Client:    "127.0.0.1",
			},
			wantErr: []string{"network.advertise", "matched 2 addresses (10.1.2.3 10.9.8.7), want one", "narrow it"},
		},
		{
			name:    "not_an_address",
			network: node.NetworkConfig{Bind: `{{ . | include "name" "eth1" | attr "name" }}`, Client: "127.0.0.1"},
			wantErr: []string{"network.bind", `returned "eth1", which is not an IP address`},
		},
		{
			name:    "bad_template",
			network: node.NetworkConfig{Bind: "127.0.0.2", Client: "{{ NoSuchFunc }}"},
			wantErr: []string{"network.client", "evaluate go-sockaddr template"},
		},
		{
			name:    "empty_bind",
			network: node.NetworkConfig{Client: "127.0.0.1"},
			wantErr: []string{"network.bind is empty", "GetPrivateInterfaces"},
		},
		{
			name:    "empty_client",
			network: node.NetworkConfig{Bind: "127.0.0.2"},
			wantErr: []string{"network.client is empty"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bind, advertise, client, err := addresses(tc.network, fixedInterfaces(t))
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("addresses succeeded with %s %s %s, want an error", bind, advertise, client)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, result{bind, advertise, client}); diff != "" {
				t.Errorf("addresses (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAddressesOnThisHost runs the exported function against the real
// interfaces, with templates whose result every Linux host shares.
func TestAddressesOnThisHost(t *testing.T) {
	bind, advertise, client, err := Addresses(node.NetworkConfig{
		Bind:   "127.0.0.2",
		Client: `{{ GetAllInterfaces | include "flags" "loopback" | include "type" "IPv4" | attr "address" }}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	if bind != "127.0.0.2" || advertise != "127.0.0.2" || client != "127.0.0.1" {
		t.Errorf("Addresses = %s, %s, %s, want 127.0.0.2, 127.0.0.2, 127.0.0.1", bind, advertise, client)
	}

	_, _, _, err = Addresses(node.NetworkConfig{
		Bind:   `{{ GetAllInterfaces | include "name" "no-such-interface" | attr "address" }}`,
		Client: "127.0.0.1",
	})
	if err == nil || !strings.Contains(err.Error(), "matched no address") {
		t.Errorf("Addresses error = %v, want matched no address", err)
	}
}
