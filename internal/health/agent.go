package health

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// maxBody bounds how much of a response is read. The largest response read
// here, Nomad's /v1/agent/self with the agent's whole config, is tens of
// kilobytes.
const maxBody = 1 << 20

// maxSnippet bounds how much of an error body goes into a reason.
const maxSnippet = 200

// tokenHeaders names the header each product reads its token from.
var tokenHeaders = map[string]string{
	KindVaultHealth:  "X-Vault-Token",
	KindConsulLeader: "X-Consul-Token",
	KindConsulMember: "X-Consul-Token",
	KindNomadLeader:  "X-Nomad-Token",
	KindNomadNode:    "X-Nomad-Token",
}

// agent sends GET requests to one agent's HTTP API.
type agent struct {
	client      *http.Client
	base        string
	tokenHeader string
	token       string
}

// newAgent copies c so that redirects are returned rather than followed:
// Go forwards custom headers such as X-Vault-Token on a redirect, even to
// another host.
func newAgent(c *http.Client, base, tokenHeader, token string) *agent {
	if c == nil {
		c = http.DefaultClient
	}
	noRedirect := *c
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}
	return &agent{
		client:      &noRedirect,
		base:        strings.TrimSuffix(base, "/"),
		tokenHeader: tokenHeader,
		token:       token,
	}
}

// response is one HTTP response, read in full.
type response struct {
	code int
	// url is the request URL without its query, as reasons show it.
	url  string
	body []byte
	// token is the token sent, kept only to scrub it from error bodies.
	token string
}

// get requests path with the query, if any, and sends the token only when
// withToken is set, so endpoints that need none never see it.
func (a *agent) get(ctx context.Context, path string, query url.Values, withToken bool) (response, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	ans := response{url: a.base + path}
	target := ans.url
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return ans, fmt.Errorf("invalid request to %s: %w", ans.url, err)
	}
	if withToken && a.token != "" {
		req.Header.Set(a.tokenHeader, a.token)
		ans.token = a.token
	}
	httpResp, err := a.client.Do(req)
	if err != nil {
		return ans, fmt.Errorf("request to %s failed: %w", ans.url, unwrapURLError(err))
	}
	defer func() { _ = httpResp.Body.Close() }() // the body was read, so a close error changes nothing
	ans.code = httpResp.StatusCode
	ans.body, err = io.ReadAll(io.LimitReader(httpResp.Body, maxBody+1))
	if err != nil {
		return ans, fmt.Errorf("reading the response from %s failed: %w", ans.url, err)
	}
	if len(ans.body) > maxBody {
		return ans, fmt.Errorf("response from %s is larger than %d bytes", ans.url, maxBody)
	}
	return ans, nil
}

// unwrapURLError drops the *url.Error wrapper, whose message repeats the
// method and the URL with its query.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// from describes where the response came from, as in "503 from URL".
func (a response) from() string {
	return fmt.Sprintf("%d from %s", a.code, a.url)
}

// decode parses the JSON body into v.
func (a response) decode(v any) error {
	if err := json.Unmarshal(a.body, v); err != nil {
		return fmt.Errorf("invalid JSON in the response (%s): %w", a.from(), err)
	}
	return nil
}

// unexpected describes a response whose status code the check does not
// expect, with the start of its body, which is where the agents put the
// error message.
func (a response) unexpected() string {
	if s := a.snippet(); s != "" {
		return fmt.Sprintf("unexpected response (%s): %s", a.from(), s)
	}
	return fmt.Sprintf("unexpected response (%s)", a.from())
}

// snippet returns the start of the body on one line. Vault's
// {"errors":[...]} list is joined. The token, should an agent echo it, is
// replaced.
func (a response) snippet() string {
	text := string(a.body)
	var vaultErrors struct {
		Errors []string `json:"errors"`
	}
	if json.Unmarshal(a.body, &vaultErrors) == nil && len(vaultErrors.Errors) > 0 {
		text = strings.Join(vaultErrors.Errors, "; ")
	}
	if a.token != "" {
		text = strings.ReplaceAll(text, a.token, "[redacted]")
	}
	text = strings.Join(strings.Fields(text), " ")
	if len(text) > maxSnippet {
		cut := maxSnippet
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + "..."
	}
	return text
}
