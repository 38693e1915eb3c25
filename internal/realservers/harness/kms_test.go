package harness

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/google/go-cmp/cmp"
)

// kmsCall signs body for action with creds and region, as the AWS SDK
// does, and returns the status and the decoded response.
func kmsCall(t *testing.T, k *KMS, creds aws.Credentials, region, action string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, k.URL+"/", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "TrentService."+action)
	sum := sha256.Sum256(b)
	err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]),
		"kms", region, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestKMSChecksLikeKMS(t *testing.T) {
	k := StartKMS(t, Region, "alias/vault-unseal", Creds)
	wrong := Creds
	wrong.SecretAccessKey = "another-secret"
	tests := []struct {
		name     string
		creds    aws.Credentials
		region   string
		action   string
		body     any
		wantType string
	}{
		{"describe_alias", Creds, Region, "DescribeKey", map[string]string{"KeyId": "alias/vault-unseal"}, ""},
		{"wrong_secret", wrong, Region, "DescribeKey", map[string]string{"KeyId": "alias/vault-unseal"},
			"InvalidSignatureException"},
		{"wrong_region", Creds, "us-east-1", "DescribeKey", map[string]string{"KeyId": "alias/vault-unseal"},
			"InvalidSignatureException"},
		{"unknown_key", Creds, Region, "Encrypt", map[string]any{"KeyId": "alias/other", "Plaintext": []byte("x")},
			"NotFoundException"},
		{"bad_ciphertext", Creds, Region, "Decrypt", map[string]any{"CiphertextBlob": []byte("not a blob")},
			"InvalidCiphertextException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, out := kmsCall(t, k, tc.creds, tc.region, tc.action, tc.body)
			gotType, _ := out["__type"].(string)
			if gotType != tc.wantType {
				t.Errorf("error type = %q (status %d), want %q", gotType, status, tc.wantType)
			}
		})
	}
}

func TestKMSEncryptDecrypt(t *testing.T) {
	k := StartKMS(t, Region, "alias/vault-unseal", Creds)
	_, enc := kmsCall(t, k, Creds, Region, "Encrypt",
		map[string]any{"KeyId": "alias/vault-unseal", "Plaintext": []byte("root key")})
	blob, _ := enc["CiphertextBlob"].(string)
	status, dec := kmsCall(t, k, Creds, Region, "Decrypt", map[string]any{"CiphertextBlob": blob})
	if status != http.StatusOK {
		t.Fatalf("decrypt status = %d: %v", status, dec)
	}
	want := map[string]any{"Plaintext": "cm9vdCBrZXk=", "KeyId": k.arn()}
	if diff := cmp.Diff(want, dec); diff != "" {
		t.Errorf("decrypt (-want +got):\n%s", diff)
	}
}
