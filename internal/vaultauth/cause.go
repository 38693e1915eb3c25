package vaultauth

import (
	"encoding/xml"
	"net/http"
	"strings"
)

// cause is the failure a Vault error response reports, before it is mapped to a
// class and a fix.
type cause int

const (
	causeOther cause = iota
	causeSealed
	causeThrottled
	causeServer
	causeWrongRegion
	causeClockSkew
	causeServerID
	causeUnknownRole
	causeNotBound
	causeDenied
	causeNotFound
	causeBadCredentials
)

// Starts of the messages of Vault's AWS auth method, in lower case.
var (
	prefixServerID = "error validating " + strings.ToLower(ServerIDHeader) + " header"
	prefixNoRole   = "entry for role "
	prefixUpstream = "error making upstream request: "
)

// responseCause returns the cause of a Vault error response from its
// status code and the start of each message.
func responseCause(status int, messages []string) cause {
	switch {
	case status == http.StatusServiceUnavailable && anyHasPrefix(messages, "vault is sealed"):
		return causeSealed
	case status == http.StatusTooManyRequests:
		return causeThrottled
	case status >= 500:
		return causeServer
	}
	if c := messageCause(messages); c != causeOther {
		return c
	}
	switch status {
	case http.StatusForbidden:
		return causeDenied
	case http.StatusNotFound:
		return causeNotFound
	}
	return causeOther
}

func anyHasPrefix(messages []string, prefix string) bool {
	for _, m := range messages {
		if strings.HasPrefix(strings.ToLower(m), prefix) {
			return true
		}
	}
	return false
}

// messageCause returns the cause named by the start of a login error
// message of the AWS auth method.
func messageCause(messages []string) cause {
	for _, m := range messages {
		lower := strings.ToLower(m)
		switch {
		case strings.HasPrefix(lower, prefixServerID):
			return causeServerID
		case strings.HasPrefix(lower, prefixNoRole):
			return causeUnknownRole
		case strings.HasPrefix(lower, "iam principal ") &&
			strings.Contains(lower, " does not belong to the role "):
			return causeNotBound
		case strings.HasPrefix(lower, prefixUpstream):
			if c := stsCause(m[len(prefixUpstream):]); c != causeOther {
				return c
			}
		}
	}
	return causeOther
}

// stsError is the XML error document of STS's query API.
type stsError struct {
	Code    string `xml:"Error>Code"`
	Message string `xml:"Error>Message"`
}

// stsCause returns the cause of an STS rejection that Vault quotes as
// "received error code N from STS: <XML document>".
func stsCause(upstream string) cause {
	_, body, ok := strings.Cut(upstream, " from STS: ")
	if !ok {
		return causeOther
	}
	var doc stsError
	if xml.Unmarshal([]byte(body), &doc) != nil {
		return causeOther
	}
	message := strings.ToLower(doc.Message)
	switch {
	case doc.Code == "RequestExpired":
		return causeClockSkew
	case doc.Code == "SignatureDoesNotMatch" && strings.HasPrefix(message, "signature expired"):
		return causeClockSkew
	case doc.Code == "SignatureDoesNotMatch" &&
		strings.HasPrefix(message, "credential should be scoped"):
		return causeWrongRegion
	case doc.Code == "InvalidClientTokenId" || doc.Code == "ExpiredToken":
		return causeBadCredentials
	}
	return causeOther
}
