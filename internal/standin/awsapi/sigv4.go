package awsapi

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	sigV4Algorithm = "AWS4-HMAC-SHA256"
	amzDateFormat  = "20060102T150405Z"
	// maxClockSkew is how far the request time may be from the server's
	// clock; AWS returns RequestExpired beyond it.
	maxClockSkew = 15 * time.Minute
)

// authorization is the parsed Authorization header of a SigV4 request.
type authorization struct {
	accessKeyID   string
	date          string
	region        string
	service       string
	terminator    string
	signedHeaders []string
	signature     string
}

// parseAuthorization splits "AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/
// SERVICE/aws4_request, SignedHeaders=a;b, Signature=HEX".
func parseAuthorization(header string) (authorization, bool) {
	rest, ok := strings.CutPrefix(header, sigV4Algorithm+" ")
	if !ok {
		return authorization{}, false
	}
	fields := map[string]string{}
	for part := range strings.SplitSeq(rest, ",") {
		key, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return authorization{}, false
		}
		fields[key] = value
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || fields["SignedHeaders"] == "" || fields["Signature"] == "" {
		return authorization{}, false
	}
	return authorization{
		accessKeyID:   scope[0],
		date:          scope[1],
		region:        scope[2],
		service:       scope[3],
		terminator:    scope[4],
		signedHeaders: strings.Split(fields["SignedHeaders"], ";"),
		signature:     fields["Signature"],
	}, true
}

// verify checks the request's SigV4 signature as AWS does, in the order
// that decides which error a bad request gets.
func (s *Server) verify(r *http.Request, body []byte) *Error {
	header := r.Header.Get("Authorization")
	if header == "" {
		return &Error{Status: http.StatusForbidden, Code: "MissingAuthenticationToken",
			Message: "Request is missing Authentication Token"}
	}
	auth, ok := parseAuthorization(header)
	if !ok {
		return incompleteSignature("Authorization header requires Credential, SignedHeaders and Signature parameters")
	}
	signingTime, apiErr := s.checkScope(r, auth)
	if apiErr != nil {
		return apiErr
	}
	want, err := s.signature(r, body, auth, signingTime)
	if err != nil {
		return &Error{Status: http.StatusInternalServerError, Code: "InternalFailure", Message: err.Error()}
	}
	if !hmac.Equal([]byte(want), []byte(auth.signature)) {
		return s.authError("SignatureDoesNotMatch", "The request signature we calculated "+
			"does not match the signature you provided. Check your AWS Secret Access Key and signing method.")
	}
	return nil
}

// checkScope checks everything but the signature itself and returns the
// request time.
func (s *Server) checkScope(r *http.Request, auth authorization) (time.Time, *Error) {
	creds := s.opts.Credentials
	if auth.accessKeyID != creds.AccessKeyID {
		return time.Time{}, s.authError("InvalidClientTokenId",
			"The security token included in the request is invalid.")
	}
	if creds.SessionToken != "" && r.Header.Get("X-Amz-Security-Token") != creds.SessionToken {
		return time.Time{}, s.authError("InvalidClientTokenId",
			"The security token included in the request is invalid.")
	}
	if !slices.Contains(auth.signedHeaders, "host") || !slices.Contains(auth.signedHeaders, "x-amz-date") {
		return time.Time{}, incompleteSignature("SignedHeaders must include host and x-amz-date")
	}
	signingTime, err := time.Parse(amzDateFormat, r.Header.Get("X-Amz-Date"))
	if err != nil {
		return time.Time{}, incompleteSignature("X-Amz-Date is missing or not in the format YYYYMMDD'T'HHMMSS'Z'")
	}
	if skew := s.opts.Now().Sub(signingTime).Abs(); skew > maxClockSkew {
		return time.Time{}, &Error{Status: 400, Code: "RequestExpired",
			Message: "Request has expired. Timestamp date is " + r.Header.Get("X-Amz-Date")}
	}
	if auth.terminator != "aws4_request" {
		return time.Time{}, incompleteSignature("Credential scope must end with aws4_request")
	}
	if auth.date != signingTime.Format("20060102") || auth.region != s.opts.Region ||
		auth.service != s.svc.SigningName {
		return time.Time{}, s.authError("SignatureDoesNotMatch", "Credential should be scoped to "+
			"a valid region, service and date: "+auth.date+"/"+auth.region+"/"+auth.service)
	}
	return signingTime, nil
}

// signature recomputes the signature with the SDK's signer over a copy of
// the request that carries only the headers the client signed.
func (s *Server) signature(r *http.Request, body []byte, auth authorization, at time.Time) (string, error) {
	req, err := http.NewRequestWithContext(context.Background(), r.Method,
		"http://"+r.Host+normalizedURI(r.URL), bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Host = r.Host
	req.ContentLength = 0
	for _, name := range auth.signedHeaders {
		switch name {
		case "host":
		case "content-length":
			req.ContentLength = r.ContentLength
		default:
			req.Header[http.CanonicalHeaderKey(name)] = r.Header.Values(name)
		}
	}
	sum := sha256.Sum256(body)
	err = v4.NewSigner().SignHTTP(context.Background(), s.opts.Credentials, req,
		hex.EncodeToString(sum[:]), s.svc.SigningName, s.opts.Region, at)
	if err != nil {
		return "", err
	}
	computed, ok := parseAuthorization(req.Header.Get("Authorization"))
	if !ok {
		return "", errUnparsableSignature
	}
	return computed.signature, nil
}

// normalizedURI returns u's path and query with the path normalized as
// AWS services other than S3 do before checking a signature: "//" is "/",
// and "." and ".." segments are resolved. Vault's AWS auth method, for
// one, forwards a login to "//".
func normalizedURI(u *url.URL) string {
	p := path.Clean("/" + u.Path)
	if strings.HasSuffix(u.Path, "/") && p != "/" {
		p += "/"
	}
	n := url.URL{Path: p, RawQuery: u.RawQuery}
	return n.RequestURI()
}

var errUnparsableSignature = errors.New("recomputed Authorization header does not parse")

func incompleteSignature(message string) *Error {
	return &Error{Status: 400, Code: "IncompleteSignature", Message: message}
}
