package vaultauth_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/hashicorp/vault/api"

	"github.com/hashistack/bootstrap/internal/standin/awsapi"
	"github.com/hashistack/bootstrap/internal/standin/vault"
	"github.com/hashistack/bootstrap/internal/vaultauth"
)

var testCreds = aws.Credentials{AccessKeyID: "AKIDVAULTAUTHTEST", SecretAccessKey: "test-secret",
	SessionToken: "test-session"}

const principal = "arn:aws:sts::123456789012:assumed-role/payments-node/i-0abc"

type credsFunc func(context.Context) (aws.Credentials, error)

func (f credsFunc) Retrieve(ctx context.Context) (aws.Credentials, error) { return f(ctx) }

func staticCreds() aws.CredentialsProvider {
	return credsFunc(func(context.Context) (aws.Credentials, error) { return testCreds, nil })
}

// setup starts an STS stand-in for eu-west-1 and a Vault stand-in that
// replays logins to it.
func setup(t *testing.T, serverID string) *vault.Server {
	t.Helper()
	sts := awsapi.NewSTS(t, awsapi.Options{Region: "eu-west-1", Credentials: testCreds},
		awsapi.CallerIdentity{Arn: principal, UserID: "AROA:i-0abc", Account: "123456789012"})
	return vault.New(t, vault.Config{
		STSEndpoint: sts.URL, ServerID: serverID,
		Roles: map[string]vault.Role{
			"payments": {BoundARN: "arn:aws:sts::123456789012:assumed-role/payments-node/*",
				Policies: []string{"payments"}},
			"other": {BoundARN: "arn:aws:sts::123456789012:assumed-role/other-node/*"},
		},
	})
}

func client(t *testing.T, addr string) *api.Client {
	t.Helper()
	cfg := api.DefaultConfig()
	cfg.Address = addr
	cfg.MaxRetries = 0
	c, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func options() vaultauth.Options {
	return vaultauth.Options{Credentials: staticCreds(), STSRegion: "eu-west-1",
		ServerID: "vault.example.internal", Mount: "aws", Role: "payments"}
}

func TestLoginSucceeds(t *testing.T) {
	srv := setup(t, "vault.example.internal")
	tok, err := vaultauth.Login(t.Context(), client(t, srv.URL), options(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	if !strings.HasPrefix(tok.Value(), "hvs.") {
		t.Errorf("token = %q, want an hvs. token", tok.Value())
	}
	if len(tok.Policies) != 1 || tok.Policies[0] != "payments" {
		t.Errorf("policies = %v, want [payments]", tok.Policies)
	}
}

func TestLoginFailureClasses(t *testing.T) {
	tests := []struct {
		name     string
		serverID string // required by the stand-in
		sealed   bool
		edit     func(o *vaultauth.Options)
		addr     string // overrides the stand-in's URL
		class    error
		fix      string
	}{
		{name: "wrong_region", serverID: "vault.example.internal",
			edit:  func(o *vaultauth.Options) { o.STSRegion = "us-east-1" },
			class: vaultauth.ErrWrongRegion, fix: "set vault.sts_region"},
		{name: "server_id_missing", serverID: "vault.example.internal",
			edit:  func(o *vaultauth.Options) { o.ServerID = "" },
			class: vaultauth.ErrServerID, fix: "set vault.server_id"},
		{name: "server_id_wrong", serverID: "vault.example.internal",
			edit:  func(o *vaultauth.Options) { o.ServerID = "vault.other.internal" },
			class: vaultauth.ErrServerID, fix: `sent "vault.other.internal"`},
		{name: "no_credentials", edit: func(o *vaultauth.Options) {
			o.Credentials = credsFunc(func(context.Context) (aws.Credentials, error) {
				return aws.Credentials{}, errors.New("no EC2 IMDS role found")
			})
		}, class: vaultauth.ErrNoCredentials, fix: "instance profile"},
		{name: "clock_skew", edit: func(o *vaultauth.Options) {
			o.Now = func() time.Time { return time.Now().Add(-20 * time.Minute) }
		}, class: vaultauth.ErrClockSkew, fix: "chrony"},
		{name: "unknown_role", edit: func(o *vaultauth.Options) { o.Role = "payment" },
			class: vaultauth.ErrUnknownRole, fix: `create the role "payment"`},
		{name: "principal_not_bound", edit: func(o *vaultauth.Options) { o.Role = "other" },
			class: vaultauth.ErrPermissionDenied, fix: "bound_iam_principal_arn"},
		{name: "sealed", sealed: true, class: vaultauth.ErrSealed, fix: "unseal Vault"},
		{name: "unreachable", addr: closedAddr(t), class: vaultauth.ErrUnreachable,
			fix: "nothing accepts connections"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := setup(t, tc.serverID)
			srv.SetSealed(tc.sealed)
			addr := srv.URL
			if tc.addr != "" {
				addr = tc.addr
			}
			o := options()
			if tc.edit != nil {
				tc.edit(&o)
			}
			// Sealed and unreachable are retried until the deadline.
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			_, err := vaultauth.Login(ctx, client(t, addr), o, slog.New(slog.DiscardHandler))
			if !errors.Is(err, tc.class) {
				t.Fatalf("error = %v, want class %v", err, tc.class)
			}
			if !strings.Contains(err.Error(), tc.fix) {
				t.Errorf("error %q does not name the fix %q", err, tc.fix)
			}
		})
	}
}

// closedAddr returns the URL of a loopback port with nothing listening.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func TestLoginDataSignsServerID(t *testing.T) {
	data, err := vaultauth.LoginData(t.Context(), options())
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"role", "iam_http_request_method", "iam_request_url",
		"iam_request_body", "iam_request_headers"} {
		if data[key] == "" || data[key] == nil {
			t.Errorf("login data lacks %s", key)
		}
	}
	if data["iam_http_request_method"] != "POST" {
		t.Errorf("method = %v, want POST", data["iam_http_request_method"])
	}
}
