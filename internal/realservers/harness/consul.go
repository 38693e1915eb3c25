package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// AnonymousTokenID is the accessor id of Consul's anonymous token.
const AnonymousTokenID = "00000000-0000-0000-0000-000000000002"

// ConsulRequest sends one request to the Consul HTTP API at address with
// the ACL token, and decodes a JSON response into out when out is not nil.
func ConsulRequest(ctx context.Context, address, token, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, address+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("X-Consul-Token", token)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("consul %s %s: %s: %s", method, path, resp.Status, data)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

// SetUpConsulACL creates, with the management token, the policy named
// policy that the agent tokens Vault mints carry: node:write on every node,
// service:read, and agent:read, which the agent's consul-member health
// check needs (docs/vault-aws-auth.md). The anonymous token keeps no
// rights, so the checks pass only with the agent token they send.
func SetUpConsulACL(ctx context.Context, address, management, policy string) error {
	rules := `node_prefix "" { policy = "write" } service_prefix "" { policy = "read" } ` +
		`agent_prefix "" { policy = "read" }`
	return ConsulRequest(ctx, address, management, http.MethodPut, "/v1/acl/policy",
		map[string]string{"Name": policy, "Rules": rules}, nil)
}
