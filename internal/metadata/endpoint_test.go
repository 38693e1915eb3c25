package metadata_test

import (
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/hashistack/bootstrap/internal/metadata"
	"github.com/hashistack/bootstrap/internal/standin/imds"
)

// TestEndpointsFromEnvironment proves that the SDK versions in go.mod read
// the endpoint variables the agent documents, with nothing but the
// environment pointing the clients at the stand-ins.
func TestEndpointsFromEnvironment(t *testing.T) {
	tests := []struct {
		name        string
		ec2Variable string
	}{
		{"service_specific", "AWS_ENDPOINT_URL_EC2"},
		{"global", "AWS_ENDPOINT_URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tags := map[string]string{"hashistack:role": "consul-server"}
			srv := imds.New(t, imds.Config{Identity: testIdentity, TagsDisabled: true})
			ec2 := newEC2(t, map[string]map[string]string{testIdentity.InstanceID: tags})

			missing := filepath.Join(t.TempDir(), "missing")
			t.Setenv("AWS_CONFIG_FILE", missing)
			t.Setenv("AWS_SHARED_CREDENTIALS_FILE", missing)
			t.Setenv("AWS_ACCESS_KEY_ID", testCredentials.AccessKeyID)
			t.Setenv("AWS_SECRET_ACCESS_KEY", testCredentials.SecretAccessKey)
			t.Setenv("AWS_REGION", "us-east-1")
			t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", srv.URL)
			t.Setenv(tc.ec2Variable, ec2.URL)

			cfg, err := config.LoadDefaultConfig(t.Context())
			if err != nil {
				t.Fatalf("load AWS config: %v", err)
			}
			got, err := metadata.NewFetcher(cfg, slog.New(slog.DiscardHandler)).Fetch(t.Context())
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if got.Tags["hashistack:role"] != "consul-server" {
				t.Errorf("Tags = %v, want the tags served by the EC2 stand-in", got.Tags)
			}
			// The stand-in checks the credential scope, so one successful
			// call shows the request was signed for the identity's region
			// (eu-west-1), not AWS_REGION.
			if calls := ec2.Calls(); len(calls) != 1 || calls[0].Error != "" {
				t.Errorf("EC2 calls = %+v, want one successful call", calls)
			}
		})
	}
}
