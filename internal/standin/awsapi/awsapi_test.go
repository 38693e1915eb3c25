package awsapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/hashistack/bootstrap/internal/standin/awsapi"
)

const (
	region     = "eu-west-1"
	instanceID = "i-0123456789abcdef0"
)

var goodCredentials = aws.Credentials{
	AccessKeyID:     "AKIAIOSFODNN7EXAMPLE",
	SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}

func newServer(t *testing.T, pageSize int) *awsapi.Server {
	t.Helper()
	return awsapi.NewEC2(t, awsapi.Options{
		Region:      region,
		Credentials: goodCredentials,
		PageSize:    pageSize,
		Tags: map[string]map[string]string{
			instanceID:            {"a": "1", "b": "2", "c": "3", "d": "4", "e": "5", "f": "6", "g": "7"},
			"i-0fffffffffffffff0": {"a": "other"},
		},
	})
}

// newClient returns a real EC2 client aimed at srv, with SDK retries off so
// every response reaches the test.
func newClient(srv *awsapi.Server, creds aws.Credentials, signRegion string) *ec2.Client {
	return ec2.New(ec2.Options{
		Region:       signRegion,
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  aws.NewCredentialsCache(staticProvider(creds)),
		Retryer:      aws.NopRetryer{},
	})
}

type staticProvider aws.Credentials

func (p staticProvider) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials(p), nil
}

func byInstance(id string) *ec2.DescribeTagsInput {
	return &ec2.DescribeTagsInput{
		Filters: []types.Filter{{Name: aws.String("resource-id"), Values: []string{id}}},
	}
}

func apiErrorCode(t *testing.T, err error) string {
	t.Helper()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("error %v is not an AWS API error", err)
	}
	return apiErr.ErrorCode()
}

func TestDescribeTagsPaginates(t *testing.T) {
	srv := newServer(t, 0)
	client := newClient(srv, goodCredentials, region)
	in := byInstance(instanceID)
	in.MaxResults = aws.Int32(5)

	var keys []string
	pages := ec2.NewDescribeTagsPaginator(client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(t.Context())
		if err != nil {
			t.Fatalf("NextPage: %v", err)
		}
		for _, tag := range page.Tags {
			keys = append(keys, aws.ToString(tag.Key))
		}
	}
	if diff := cmp.Diff([]string{"a", "b", "c", "d", "e", "f", "g"}, keys); diff != "" {
		t.Errorf("keys mismatch (-want +got):\n%s", diff)
	}
	if n := len(srv.Calls()); n != 2 {
		t.Errorf("got %d calls, want 2 pages of at most 5", n)
	}
}

func TestDescribeTagsServerPageSize(t *testing.T) {
	srv := newServer(t, 3)
	client := newClient(srv, goodCredentials, region)

	out, err := client.DescribeTags(t.Context(), byInstance(instanceID))
	if err != nil {
		t.Fatalf("DescribeTags: %v", err)
	}
	if len(out.Tags) != 3 || aws.ToString(out.NextToken) == "" {
		t.Errorf("got %d tags and NextToken %q, want 3 and a token", len(out.Tags), aws.ToString(out.NextToken))
	}
}

func TestDescribeTagsRejectsBadParameters(t *testing.T) {
	tests := []struct {
		name     string
		in       *ec2.DescribeTagsInput
		wantCode string
	}{
		{"max_results_too_small", &ec2.DescribeTagsInput{MaxResults: aws.Int32(4)}, "InvalidParameterValue"},
		{"max_results_too_large", &ec2.DescribeTagsInput{MaxResults: aws.Int32(1001)}, "InvalidParameterValue"},
		{"unknown_filter", &ec2.DescribeTagsInput{
			Filters: []types.Filter{{Name: aws.String("instance-id"), Values: []string{instanceID}}},
		}, "InvalidParameterValue"},
		{"forged_next_token", &ec2.DescribeTagsInput{NextToken: aws.String("bm90LWEtdG9rZW4=")}, "InvalidPaginationToken"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, 0)
			_, err := newClient(srv, goodCredentials, region).DescribeTags(t.Context(), tc.in)
			if got := apiErrorCode(t, err); got != tc.wantCode {
				t.Errorf("error code = %q, want %q", got, tc.wantCode)
			}
		})
	}
}

func TestSignatureChecks(t *testing.T) {
	wrongSecret := goodCredentials
	wrongSecret.SecretAccessKey = "not-the-secret-key"
	wrongKeyID := goodCredentials
	wrongKeyID.AccessKeyID = "AKIAI44QH8DHBEXAMPLE"
	tests := []struct {
		name       string
		creds      aws.Credentials
		signRegion string
	}{
		{"wrong_secret_key", wrongSecret, region},
		{"wrong_access_key_id", wrongKeyID, region},
		{"wrong_region_in_scope", goodCredentials, "us-east-1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, 0)
			_, err := newClient(srv, tc.creds, tc.signRegion).DescribeTags(t.Context(), byInstance(instanceID))
			if got := apiErrorCode(t, err); got != "AuthFailure" {
				t.Errorf("error code = %q, want AuthFailure", got)
			}
			var respErr interface{ HTTPStatusCode() int }
			if !errors.As(err, &respErr) || respErr.HTTPStatusCode() != http.StatusUnauthorized {
				t.Errorf("error %v, want HTTP status 401", err)
			}
			calls := srv.Calls()
			if len(calls) != 1 || calls[0].Error != "AuthFailure" {
				t.Errorf("calls = %+v, want one rejected call", calls)
			}
		})
	}
}

// signedRequest builds a DescribeTags request signed at signingTime, with
// the headers the SDK's signer chooses.
func signedRequest(t *testing.T, srv *awsapi.Server, signingTime time.Time, unsigned bool) *http.Request {
	t.Helper()
	body := url.Values{"Action": {"DescribeTags"}, "Version": {"2016-11-15"}}.Encode()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if unsigned {
		return req
	}
	hash := v4SHA256(body)
	err = v4.NewSigner().SignHTTP(t.Context(), goodCredentials, req, hash, "ec2", region, signingTime)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestRequestChecks(t *testing.T) {
	tests := []struct {
		name       string
		prepare    func(t *testing.T, srv *awsapi.Server) *http.Request
		wantStatus int
		wantCode   string
	}{
		{"signed_now", func(t *testing.T, srv *awsapi.Server) *http.Request {
			return signedRequest(t, srv, time.Now(), false)
		}, http.StatusOK, ""},
		{"clock_skew", func(t *testing.T, srv *awsapi.Server) *http.Request {
			return signedRequest(t, srv, time.Now().Add(-16*time.Minute), false)
		}, http.StatusBadRequest, "RequestExpired"},
		{"unsigned", func(t *testing.T, srv *awsapi.Server) *http.Request {
			return signedRequest(t, srv, time.Now(), true)
		}, http.StatusForbidden, "MissingAuthenticationToken"},
		{"truncated_authorization", func(t *testing.T, srv *awsapi.Server) *http.Request {
			req := signedRequest(t, srv, time.Now(), false)
			auth := req.Header.Get("Authorization")
			req.Header.Set("Authorization", auth[:strings.Index(auth, ", Signature=")])
			return req
		}, http.StatusBadRequest, "IncompleteSignature"},
		{"body_changed_after_signing", func(t *testing.T, srv *awsapi.Server) *http.Request {
			req := signedRequest(t, srv, time.Now(), false)
			body := "Action=DescribeTags&Version=2016-11-15&MaxResults=6"
			req.Body = readCloser(body)
			req.ContentLength = int64(len(body))
			return req
		}, http.StatusUnauthorized, "AuthFailure"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, 0)
			resp, err := http.DefaultClient.Do(tc.prepare(t, srv))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if calls := srv.Calls(); len(calls) != 1 || calls[0].Error != tc.wantCode {
				t.Errorf("calls = %+v, want one call rejected with %q", calls, tc.wantCode)
			}
		})
	}
}

func TestThrottle(t *testing.T) {
	srv := newServer(t, 0)
	srv.Throttle(1)
	client := newClient(srv, goodCredentials, region)

	_, err := client.DescribeTags(t.Context(), byInstance(instanceID))
	if got := apiErrorCode(t, err); got != "RequestLimitExceeded" {
		t.Errorf("first call error code = %q, want RequestLimitExceeded", got)
	}
	if _, err := client.DescribeTags(t.Context(), byInstance(instanceID)); err != nil {
		t.Errorf("second call: %v", err)
	}
}

func v4SHA256(body string) string {
	sum := sha256.Sum256([]byte(body))
	return hex.EncodeToString(sum[:])
}

func readCloser(s string) io.ReadCloser { return io.NopCloser(strings.NewReader(s)) }

// TestQueryErrorShape checks the <ErrorResponse> shape and the 403 that
// Auto Scaling and STS return for a bad signature, on a service with no
// actions yet.
func TestQueryErrorShape(t *testing.T) {
	svc := awsapi.Service{SigningName: "ec2", Errors: awsapi.QueryErrors,
		Namespace: "http://autoscaling.amazonaws.com/doc/2011-01-01/"}
	srv := awsapi.New(t, svc, awsapi.Options{Region: region, Credentials: goodCredentials})
	req := signedRequest(t, srv, time.Now(), false)
	req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"),
		"Signature=", "Signature=00", 1))

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("status = %d, want 403", resp.StatusCode)
	}
	for _, part := range []string{"<ErrorResponse", "<Type>Sender</Type>",
		"<Code>SignatureDoesNotMatch</Code>", "<RequestId>"} {
		if !strings.Contains(string(body), part) {
			t.Errorf("body lacks %s:\n%s", part, body)
		}
	}
}
