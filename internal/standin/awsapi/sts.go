package awsapi

import (
	"encoding/xml"
	"net/url"
	"testing"
)

const stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"

// CallerIdentity is what sts:GetCallerIdentity returns for the signer.
type CallerIdentity struct {
	Arn     string
	UserID  string
	Account string
}

// NewSTS starts an STS stand-in whose GetCallerIdentity returns id to any
// request signed with opts.Credentials for opts.Region. A header the
// client signed, such as X-Vault-AWS-IAM-Server-ID, is covered by the
// signature check, so a request whose signed header was changed or dropped
// fails with SignatureDoesNotMatch, as it does at AWS.
func NewSTS(t testing.TB, opts Options, id CallerIdentity) *Server {
	t.Helper()
	return New(t, STSService(id), opts)
}

// STSService returns the STS service description: signing name "sts",
// Query-style errors, Throttling (400) when throttling.
func STSService(id CallerIdentity) Service {
	return Service{
		SigningName: "sts",
		Namespace:   stsNamespace,
		Errors:      QueryErrors,
		Throttle:    &Error{Status: 400, Code: "Throttling", Message: "Rate exceeded"},
		Actions: map[string]Handler{
			"GetCallerIdentity": func(s *Server, _ url.Values) (any, *Error) {
				return getCallerIdentityResponse{
					Namespace: stsNamespace, Arn: id.Arn, UserID: id.UserID,
					Account: id.Account, RequestID: requestID(),
				}, nil
			},
		},
	}
}

// getCallerIdentityResponse is the documented XML of GetCallerIdentity.
type getCallerIdentityResponse struct {
	XMLName   xml.Name `xml:"GetCallerIdentityResponse"`
	Namespace string   `xml:"xmlns,attr"`
	Arn       string   `xml:"GetCallerIdentityResult>Arn"`
	UserID    string   `xml:"GetCallerIdentityResult>UserId"`
	Account   string   `xml:"GetCallerIdentityResult>Account"`
	RequestID string   `xml:"ResponseMetadata>RequestId"`
}
