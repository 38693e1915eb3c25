package awsapi_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/google/go-cmp/cmp"

	"github.com/hashistack/bootstrap/internal/standin/awsapi"
)

const (
	smName  = "bootstrap/vault-tls"
	smValue = "CANARY-secretsmanager-value-3e1b"
	// smARN is a secret given to the stand-in by ARN.
	smARN      = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ops/other-AbCdEf"
	smARNValue = "CANARY-secretsmanager-arn-value-c07d"
	// smForeignARN is a secret in an account other than the stand-in's.
	smForeignARN = "arn:aws:secretsmanager:eu-west-1:210987654321:secret:bootstrap/vault-tls-Zz9Yx8"
)

func newSecretsManager(t *testing.T) *awsapi.Server {
	t.Helper()
	return awsapi.NewSecretsManager(t, awsapi.Options{Region: region, Credentials: goodCredentials},
		map[string]string{smName: smValue, smARN: smARNValue})
}

// newSMClient returns a real Secrets Manager client aimed at srv, with SDK
// retries off so every response reaches the test.
func newSMClient(srv *awsapi.Server, creds aws.Credentials, signRegion string) *secretsmanager.Client {
	cfg := aws.Config{Region: signRegion, Credentials: aws.NewCredentialsCache(staticProvider(creds)),
		Retryer: func() aws.Retryer { return aws.NopRetryer{} }}
	return secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
	})
}

func secretInput(id string) *secretsmanager.GetSecretValueInput {
	return &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)}
}

// httpStatus returns the HTTP status of an SDK error, or 0.
func httpStatus(err error) int {
	var respErr interface{ HTTPStatusCode() int }
	if !errors.As(err, &respErr) {
		return 0
	}
	return respErr.HTTPStatusCode()
}

func TestGetSecretValueByNameAndARN(t *testing.T) {
	tests := []struct {
		name      string
		id        string
		wantName  string
		wantValue string
	}{
		{"by_name", smName, smName, smValue},
		{"by_arn", smARN, "ops/other", smARNValue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newSecretsManager(t)
			out, err := newSMClient(srv, goodCredentials, region).GetSecretValue(t.Context(), secretInput(tc.id))
			if err != nil {
				t.Fatalf("GetSecretValue: %v", err)
			}
			if got := aws.ToString(out.Name); got != tc.wantName {
				t.Errorf("Name = %q, want %q", got, tc.wantName)
			}
			if got := aws.ToString(out.SecretString); got != tc.wantValue {
				t.Errorf("SecretString = %q, want %q", got, tc.wantValue)
			}
			wantARN := "arn:aws:secretsmanager:" + region + ":" + awsapi.SecretsManagerAccount +
				":secret:" + tc.wantName + "-"
			if got := aws.ToString(out.ARN); !strings.HasPrefix(got, wantARN) || len(got) != len(wantARN)+6 {
				t.Errorf("ARN = %q, want %q and six characters", got, wantARN)
			}
			if diff := cmp.Diff([]string{"AWSCURRENT"}, out.VersionStages); diff != "" {
				t.Errorf("VersionStages mismatch (-want +got):\n%s", diff)
			}
			if len(aws.ToString(out.VersionId)) != 36 {
				t.Errorf("VersionId = %q, want a UUID", aws.ToString(out.VersionId))
			}
			if out.CreatedDate == nil || time.Since(*out.CreatedDate) > time.Hour {
				t.Errorf("CreatedDate = %v, want the server's start time", out.CreatedDate)
			}
		})
	}
}

func TestGetSecretValueVersions(t *testing.T) {
	srv := newSecretsManager(t)
	client := newSMClient(srv, goodCredentials, region)
	current, err := client.GetSecretValue(t.Context(), secretInput(smName))
	if err != nil {
		t.Fatalf("GetSecretValue: %v", err)
	}
	in := secretInput(smName)
	in.VersionId, in.VersionStage = current.VersionId, aws.String("AWSCURRENT")
	out, err := client.GetSecretValue(t.Context(), in)
	if err != nil {
		t.Fatalf("GetSecretValue by version: %v", err)
	}
	if aws.ToString(out.SecretString) != smValue {
		t.Error("SecretString by version differs from the current one")
	}
	params := srv.Calls()[1].Params
	if params.Get("SecretId") != smName || params.Get("VersionStage") != "AWSCURRENT" {
		t.Errorf("recorded parameters = %v, want SecretId and VersionStage", params)
	}
}

func TestGetSecretValueErrors(t *testing.T) {
	tests := []struct {
		name     string
		in       *secretsmanager.GetSecretValueInput
		wantCode string
	}{
		{"unknown_name", secretInput("bootstrap/missing"), "ResourceNotFoundException"},
		{"unknown_arn_same_account",
			secretInput("arn:aws:secretsmanager:eu-west-1:123456789012:secret:gone-AbCdEf"),
			"ResourceNotFoundException"},
		{"arn_other_account", secretInput(smForeignARN), "AccessDeniedException"},
		{"previous_stage", &secretsmanager.GetSecretValueInput{SecretId: aws.String(smName),
			VersionStage: aws.String("AWSPREVIOUS")}, "ResourceNotFoundException"},
		{"unknown_version_id", &secretsmanager.GetSecretValueInput{SecretId: aws.String(smName),
			VersionId: aws.String("00000000-0000-0000-0000-000000000000")}, "ResourceNotFoundException"},
		{"short_version_id", &secretsmanager.GetSecretValueInput{SecretId: aws.String(smName),
			VersionId: aws.String("v1")}, "InvalidParameterException"},
		{"secret_id_too_long", secretInput(strings.Repeat("a", 2049)), "InvalidParameterException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newSecretsManager(t)
			_, err := newSMClient(srv, goodCredentials, region).GetSecretValue(t.Context(), tc.in)
			if got := apiErrorCode(t, err); got != tc.wantCode {
				t.Errorf("error code = %q, want %q", got, tc.wantCode)
			}
			if got := httpStatus(err); got != http.StatusBadRequest {
				t.Errorf("HTTP status = %d, want 400", got)
			}
			calls := srv.Calls()
			if len(calls) != 1 || calls[0].Action != "GetSecretValue" || calls[0].Error != tc.wantCode {
				t.Errorf("calls = %+v, want one GetSecretValue rejected with %s", calls, tc.wantCode)
			}
		})
	}
}

// TestGetSecretValueModeledError checks that the SDK decodes the not-found
// error into its modeled type, message included.
func TestGetSecretValueModeledError(t *testing.T) {
	srv := newSecretsManager(t)
	_, err := newSMClient(srv, goodCredentials, region).GetSecretValue(t.Context(), secretInput("bootstrap/missing"))
	var notFound *types.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		t.Fatalf("error %v is not a *types.ResourceNotFoundException", err)
	}
	if got, want := notFound.ErrorMessage(), "Secrets Manager can't find the specified secret."; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
}

func TestSecretsManagerSignatureChecks(t *testing.T) {
	wrongSecret := goodCredentials
	wrongSecret.SecretAccessKey = "not-the-secret-key"
	wrongKeyID := goodCredentials
	wrongKeyID.AccessKeyID = "AKIAI44QH8DHBEXAMPLE"
	tests := []struct {
		name       string
		creds      aws.Credentials
		signRegion string
		wantCode   string
	}{
		{"wrong_secret_key", wrongSecret, region, "InvalidSignatureException"},
		{"wrong_access_key_id", wrongKeyID, region, "UnrecognizedClientException"},
		{"wrong_region_in_scope", goodCredentials, "us-east-1", "InvalidSignatureException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newSecretsManager(t)
			out, err := newSMClient(srv, tc.creds, tc.signRegion).GetSecretValue(t.Context(), secretInput(smName))
			if got := apiErrorCode(t, err); got != tc.wantCode {
				t.Errorf("error code = %q, want %q", got, tc.wantCode)
			}
			if got := httpStatus(err); got != http.StatusBadRequest {
				t.Errorf("HTTP status = %d, want 400", got)
			}
			if out != nil || strings.Contains(err.Error(), smValue) {
				t.Error("a rejected request returned the secret value")
			}
			calls := srv.Calls()
			if len(calls) != 1 || calls[0].Error != tc.wantCode || len(calls[0].Params) != 0 {
				t.Errorf("calls = %+v, want one call rejected before its body was read", calls)
			}
		})
	}
}

// smRequest builds a GetSecretValue request signed at signingTime for the
// secretsmanager service, as the SDK sends it.
func smRequest(t *testing.T, srv *awsapi.Server, signingTime time.Time, edit func(*http.Request)) *http.Request {
	t.Helper()
	body := `{"SecretId":"` + smName + `"}`
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue")
	if edit != nil {
		edit(req)
	}
	err = v4.NewSigner().SignHTTP(t.Context(), goodCredentials, req, v4SHA256(body), "secretsmanager",
		region, signingTime)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestSecretsManagerRequestChecks(t *testing.T) {
	tests := []struct {
		name        string
		prepare     func(t *testing.T, srv *awsapi.Server) *http.Request
		wantStatus  int
		wantType    string
		wantMessage string
	}{
		{"signed_now", func(t *testing.T, srv *awsapi.Server) *http.Request {
			return smRequest(t, srv, time.Now(), nil)
		}, http.StatusOK, "", ""},
		{"unsigned", func(t *testing.T, srv *awsapi.Server) *http.Request {
			req := smRequest(t, srv, time.Now(), nil)
			req.Header.Del("Authorization")
			return req
		}, http.StatusBadRequest, "MissingAuthenticationTokenException", "Request is missing Authentication Token"},
		{"clock_skew", func(t *testing.T, srv *awsapi.Server) *http.Request {
			return smRequest(t, srv, time.Now().Add(-16*time.Minute), nil)
		}, http.StatusBadRequest, "InvalidSignatureException", "Signature expired: "},
		{"target_changed_after_signing", func(t *testing.T, srv *awsapi.Server) *http.Request {
			req := smRequest(t, srv, time.Now(), nil)
			req.Header.Set("X-Amz-Target", "secretsmanager.DescribeSecret")
			return req
		}, http.StatusBadRequest, "InvalidSignatureException", "The request signature we calculated"},
		{"body_changed_after_signing", func(t *testing.T, srv *awsapi.Server) *http.Request {
			req := smRequest(t, srv, time.Now(), nil)
			body := `{"SecretId":"` + smARN + `"}`
			req.Body, req.ContentLength = readCloser(body), int64(len(body))
			return req
		}, http.StatusBadRequest, "InvalidSignatureException", "The request signature we calculated"},
		{"other_operation", func(t *testing.T, srv *awsapi.Server) *http.Request {
			return smRequest(t, srv, time.Now(), func(r *http.Request) {
				r.Header.Set("X-Amz-Target", "secretsmanager.PutSecretValue")
			})
		}, http.StatusBadRequest, "UnknownOperationException", "Unknown operation"},
		{"form_content_type", func(t *testing.T, srv *awsapi.Server) *http.Request {
			return smRequest(t, srv, time.Now(), func(r *http.Request) {
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			})
		}, http.StatusBadRequest, "UnknownOperationException", "Content-Type"},
		{"secret_id_not_a_string", func(t *testing.T, srv *awsapi.Server) *http.Request {
			req := smRequest(t, srv, time.Now(), nil)
			body := `{"SecretId":42}`
			req.Body, req.ContentLength = readCloser(body), int64(len(body))
			return resign(t, req, body)
		}, http.StatusBadRequest, "SerializationException", "GetSecretValue"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newSecretsManager(t)
			status, body := doJSON(t, tc.prepare(t, srv))
			if status != tc.wantStatus {
				t.Errorf("status = %d, want %d", status, tc.wantStatus)
			}
			if tc.wantType == "" {
				if body["SecretString"] != smValue {
					t.Errorf("SecretString = %v, want the secret", body["SecretString"])
				}
				return
			}
			if body["__type"] != tc.wantType {
				t.Errorf("__type = %v, want %s", body["__type"], tc.wantType)
			}
			message := body["message"]
			if message == nil {
				message = body["Message"]
			}
			if s, _ := message.(string); !strings.Contains(s, tc.wantMessage) {
				t.Errorf("message = %v, want it to contain %q", message, tc.wantMessage)
			}
		})
	}
}

// resign signs req again over body, dropping the old signature.
func resign(t *testing.T, req *http.Request, body string) *http.Request {
	t.Helper()
	req.Header.Del("Authorization")
	req.Header.Del("X-Amz-Date")
	err := v4.NewSigner().SignHTTP(t.Context(), goodCredentials, req, v4SHA256(body), "secretsmanager",
		region, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// doJSON sends req and returns the status and the decoded JSON body,
// after checking the protocol's Content-Type.
func doJSON(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Header.Get("Content-Type"); got != "application/x-amz-json-1.1" {
		t.Errorf("Content-Type = %q, want application/x-amz-json-1.1", got)
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, raw)
	}
	return resp.StatusCode, body
}

func TestSecretsManagerThrottle(t *testing.T) {
	srv := newSecretsManager(t)
	srv.Throttle(1)
	client := newSMClient(srv, goodCredentials, region)

	_, err := client.GetSecretValue(t.Context(), secretInput(smName))
	if got := apiErrorCode(t, err); got != "ThrottlingException" {
		t.Errorf("first call error code = %q, want ThrottlingException", got)
	}
	if got := httpStatus(err); got != http.StatusBadRequest {
		t.Errorf("first call HTTP status = %d, want 400", got)
	}
	if _, err := client.GetSecretValue(t.Context(), secretInput(smName)); err != nil {
		t.Errorf("second call: %v", err)
	}
}
