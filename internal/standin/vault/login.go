package vault

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

const serverIDHeader = "X-Vault-AWS-IAM-Server-ID"

type loginRequest struct {
	Role    string `json:"role"`
	Method  string `json:"iam_http_request_method"`
	URL     string `json:"iam_request_url"`
	Body    string `json:"iam_request_body"`
	Headers string `json:"iam_request_headers"`
}

// login runs the IAM login of the AWS auth method in Vault's order: role,
// request fields, server ID header, then the replay to STS.
func (s *Server) login(r *http.Request) response {
	var in loginRequest
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		return errorResponse(http.StatusBadRequest, "failed to parse JSON input: "+err.Error())
	}
	role, ok := s.cfg.Roles[in.Role]
	if !ok {
		return errorResponse(http.StatusBadRequest, fmt.Sprintf("entry for role %s not found", in.Role))
	}
	if in.Method != http.MethodPost {
		return errorResponse(http.StatusBadRequest, "invalid iam_http_request_method; only POST is supported")
	}
	target, body, headers, msg := decodeSigned(in)
	if msg != "" {
		return errorResponse(http.StatusBadRequest, msg)
	}
	if msg := s.checkServerID(headers); msg != "" {
		return errorResponse(http.StatusBadRequest, fmt.Sprintf("error validating %s header: %s",
			serverIDHeader, msg))
	}
	arn, msg := s.replay(r.Context(), target, body, headers)
	if msg != "" {
		return errorResponse(http.StatusBadRequest, "error making upstream request: "+msg)
	}
	if !matchARN(role.BoundARN, arn) {
		return errorResponse(http.StatusBadRequest, fmt.Sprintf(
			"IAM Principal %q does not belong to the role %q", arn, in.Role))
	}
	token, accessor := s.issueToken(role.Policies)
	return authResponse(token, accessor, role.Policies)
}

func decodeSigned(in loginRequest) (*url.URL, []byte, http.Header, string) {
	rawURL, err := base64.StdEncoding.DecodeString(in.URL)
	if err != nil {
		return nil, nil, nil, "failed to base64 decode iam_request_url"
	}
	target, err := url.Parse(string(rawURL))
	if err != nil || target.Host == "" {
		return nil, nil, nil, "error parsing iam_request_url"
	}
	body, err := base64.StdEncoding.DecodeString(in.Body)
	if err != nil {
		return nil, nil, nil, "failed to base64 decode iam_request_body"
	}
	if values, err := url.ParseQuery(string(body)); err != nil ||
		values.Get("Action") != "GetCallerIdentity" {
		return nil, nil, nil, "error parsing iam_request_body: only GetCallerIdentity is accepted"
	}
	rawHeaders, err := base64.StdEncoding.DecodeString(in.Headers)
	if err != nil {
		return nil, nil, nil, "failed to base64 decode iam_request_headers"
	}
	var headers http.Header
	if err := json.Unmarshal(rawHeaders, &headers); err != nil {
		return nil, nil, nil, "failed to JSON decode iam_request_headers"
	}
	return target, body, headers, ""
}

// checkServerID returns why the server ID header is not acceptable, or "".
func (s *Server) checkServerID(h http.Header) string {
	if s.cfg.ServerID == "" {
		return ""
	}
	got := h.Values(serverIDHeader)
	if len(got) == 0 {
		return "missing header " + serverIDHeader
	}
	if len(got) != 1 || got[0] != s.cfg.ServerID {
		return fmt.Sprintf("expected %q but got %q", s.cfg.ServerID, strings.Join(got, ","))
	}
	auth := h.Get("Authorization")
	_, signed, _ := strings.Cut(auth, "SignedHeaders=")
	signed, _, _ = strings.Cut(signed, ",")
	if !slices.Contains(strings.Split(signed, ";"), strings.ToLower(serverIDHeader)) {
		return "vault header wasn't signed"
	}
	return ""
}

// replay sends the signed request to the STS endpoint with the client's
// Host header, as Vault does, and returns the caller's ARN.
func (s *Server) replay(ctx context.Context, target *url.URL, body []byte, h http.Header) (string, string) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		strings.TrimSuffix(s.cfg.STSEndpoint, "/")+target.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return "", err.Error()
	}
	for k, v := range h {
		if !strings.EqualFold(k, "Host") {
			req.Header[k] = v
		}
	}
	req.Host = target.Host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err.Error()
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Sprintf("received error code %d from STS: %s", resp.StatusCode, out)
	}
	var doc struct {
		Arn string `xml:"GetCallerIdentityResult>Arn"`
	}
	if err := xml.Unmarshal(out, &doc); err != nil {
		return "", "error parsing STS response: " + err.Error()
	}
	return doc.Arn, ""
}

func matchARN(pattern, arn string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(arn, prefix)
	}
	return pattern == arn
}
