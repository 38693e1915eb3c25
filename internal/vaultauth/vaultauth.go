// Package vaultauth logs the node in to Vault with the AWS IAM auth method
// and classifies what Vault and STS return into errors that name the fix.
//
// The login data is built here with aws-sdk-go-v2: the SDK's SigV4 signer
// signs an sts:GetCallerIdentity POST for the STS endpoint of the
// configured region, and Vault replays that request to STS to learn the
// node's IAM principal. The agent itself never sends the request to STS.
// Credentials reach the signer through the aws.CredentialsProvider the
// caller passes; the agent passes the SDK's default chain, which on a node
// reads the instance profile through IMDS at the endpoint that
// AWS_EC2_METADATA_SERVICE_ENDPOINT overrides, as the metadata stage does.
// The Vault `auth/aws` helper module is not used, because it pulls in the
// AWS SDK for Go v1, which has reached end of support.
//
// The package never logs or returns a token, a credential or the signed
// request. Errors carry Vault's and STS's messages only after [Redact] has
// replaced the secrets the caller holds and any text that looks like a
// credential, because a server may echo what it received.
package vaultauth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/hashicorp/vault/api"
)

// ServerIDHeader is the header Vault's AWS auth method compares with its
// configured iam_server_id_header_value.
const ServerIDHeader = "X-Vault-AWS-IAM-Server-ID"

// getCallerIdentityBody is the form body of sts:GetCallerIdentity, the only
// request Vault's AWS auth method accepts.
const getCallerIdentityBody = "Action=GetCallerIdentity&Version=2011-06-15"

// Options configures one login.
type Options struct {
	// Credentials signs the request; the agent passes the SDK's default
	// chain, which reads the instance profile through IMDS.
	Credentials aws.CredentialsProvider
	// STSRegion is the region whose STS endpoint the request is signed for.
	STSRegion string
	// ServerID, when set, is sent and signed as X-Vault-AWS-IAM-Server-ID.
	ServerID string
	// Mount is the mount path of the AWS auth method, such as "aws".
	Mount string
	// Role is the Vault AWS auth role, the node's namespace.
	Role string
	// Address is Vault's URL, for error messages only.
	Address string
	// Now returns the signing time; nil means time.Now.
	Now func() time.Time
	// Secrets collects the values to cut out of Vault's messages. LoginData
	// adds the AWS credentials to it and Login the token it returns. Nil
	// means Login uses a set of its own.
	Secrets *Secrets
}

// STSEndpoint returns the regional STS endpoint URL of region in the aws
// partition.
//
// NOTE: the China and GovCloud partitions use other domains; a node there
// gets an endpoint that Vault cannot reach until this learns partitions.
func STSEndpoint(region string) string {
	return "https://sts." + region + ".amazonaws.com/"
}

// LoginData builds the body of a login to auth/<mount>/login: the signed
// sts:GetCallerIdentity request, base64-encoded as Vault expects.
func LoginData(ctx context.Context, o Options) (map[string]any, error) {
	if o.Credentials == nil {
		return nil, &Error{Class: ErrNoCredentials, Err: errors.New("no credentials provider")}
	}
	creds, err := o.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, &Error{Class: ErrNoCredentials, Err: err}
	}
	if o.Secrets != nil {
		o.Secrets.Add(creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken)
	}
	req, err := signedRequest(ctx, o, creds)
	if err != nil {
		return nil, err
	}
	headers, err := json.Marshal(req.Header)
	if err != nil {
		return nil, fmt.Errorf("encode signed headers: %w", err)
	}
	enc := base64.StdEncoding.EncodeToString
	return map[string]any{
		"role":                    o.Role,
		"iam_http_request_method": req.Method,
		"iam_request_url":         enc([]byte(req.URL.String())),
		"iam_request_body":        enc([]byte(getCallerIdentityBody)),
		"iam_request_headers":     enc(headers),
	}, nil
}

// signedRequest signs sts:GetCallerIdentity for the region's endpoint.
func signedRequest(ctx context.Context, o Options, creds aws.Credentials) (*http.Request, error) {
	body := []byte(getCallerIdentityBody)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, STSEndpoint(o.STSRegion),
		bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build sts:GetCallerIdentity for region %s: %w", o.STSRegion, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if o.ServerID != "" {
		req.Header.Set(ServerIDHeader, o.ServerID)
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	sum := sha256.Sum256(body)
	err = v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "sts",
		o.STSRegion, now())
	if err != nil {
		return nil, fmt.Errorf("sign sts:GetCallerIdentity: %w", err)
	}
	// The signer signs Host from the URL; Vault needs it as a header too.
	req.Header.Set("Host", req.URL.Host)
	return req, nil
}

// Token is the result of a login, without the token itself in any field
// that a logger would print.
type Token struct {
	// Accessor identifies the token in Vault's audit log; it is not secret.
	Accessor string
	Policies []string
	TTL      time.Duration
	value    string
}

// Value returns the Vault token. Callers pass it to the Vault client and to
// nothing else.
func (t *Token) Value() string { return t.value }

// LogValue keeps the token out of structured logs.
func (t *Token) LogValue() slog.Value {
	return slog.GroupValue(slog.String("accessor", t.Accessor),
		slog.Duration("ttl", t.TTL))
}

// Login signs the login data and logs in to auth/<mount>/login, retrying
// what can heal until ctx ends. The client's token is left unchanged.
func Login(ctx context.Context, client *api.Client, o Options, log *slog.Logger) (*Token, error) {
	if o.Address == "" {
		o.Address = client.Address()
	}
	if o.Secrets == nil {
		o.Secrets = &Secrets{}
	}
	path := "auth/" + o.Mount + "/login"
	var secret *api.Secret
	err := Retry(ctx, log, "vault login", func(ctx context.Context) error {
		// Sign on every attempt: a signature is valid for 15 minutes only.
		data, err := LoginData(ctx, o)
		if err != nil {
			return err
		}
		secret, err = client.Logical().WriteWithContext(ctx, path, data)
		return Classify(err, Request{Address: o.Address, Path: path, Role: o.Role,
			Region: o.STSRegion, ServerID: o.ServerID, Secrets: o.Secrets})
	})
	if err != nil {
		return nil, err
	}
	if secret == nil || secret.Auth == nil || secret.Auth.ClientToken == "" {
		return nil, fmt.Errorf("vault login at %s/v1/%s: response has no token", o.Address, path)
	}
	o.Secrets.Add(secret.Auth.ClientToken)
	return &Token{
		Accessor: secret.Auth.Accessor,
		Policies: secret.Auth.Policies,
		TTL:      time.Duration(secret.Auth.LeaseDuration) * time.Second,
		value:    secret.Auth.ClientToken,
	}, nil
}
