package metadata_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hashistack/bootstrap/internal/metadata"
	"github.com/hashistack/bootstrap/internal/node"
	"github.com/hashistack/bootstrap/internal/standin/imds"
	"github.com/hashistack/bootstrap/internal/testenv/imdsmock"
)

var mockConfig = imdsmock.Config{
	InstanceID: "i-0123456789abcdef0",
	AccountID:  "111122223333",
	Region:     testRegion,
	PrivateIP:  "10.1.2.3",
	Tags:       map[string]string{"hashistack:role": "nomad-client", "hashistack:namespace": "payments"},
	UserData:   []byte("role = \"nomad-client\"\nnamespace = \"payments\"\n"),
}

func gzipBytes(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestFetchFromMock(t *testing.T) {
	tests := []struct {
		name     string
		userData []byte
	}{
		{"plain_user_data", mockConfig.UserData},
		{"gzip_user_data", gzipBytes(t, mockConfig.UserData)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mockConfig
			cfg.UserData = tc.userData
			f, _ := newFetcher(t, imdsmock.Start(t, cfg), "")

			got, err := f.Fetch(t.Context())
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			want := node.Instance{
				InstanceID:           cfg.InstanceID,
				AccountID:            cfg.AccountID,
				Region:               cfg.Region,
				AvailabilityZone:     cfg.Region + "a",
				PrivateIP:            cfg.PrivateIP,
				InstanceType:         "m5.large",
				ImageID:              "ami-0123456789abcdef0",
				UserData:             tc.userData,
				Tags:                 cfg.Tags,
				TagsSource:           metadata.TagsFromIMDS,
				TargetLifecycleState: "InService",
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Fetch instance mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFetchFromMockEndpointFromEnvironment(t *testing.T) {
	mockURL := imdsmock.Start(t, mockConfig)
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", mockURL)
	// An empty endpoint option leaves the choice to the SDK, which reads
	// the variable.
	f, _ := newFetcher(t, "", "")

	got, err := f.Fetch(t.Context())
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if got.InstanceID != mockConfig.InstanceID {
		t.Errorf("InstanceID = %q, want %q", got.InstanceID, mockConfig.InstanceID)
	}
}

// TestFetchFromMockWrongToken puts a proxy between the fetcher and the real
// mock that swaps the token on every GET, so the mock's own 401 response is
// what the fetcher classifies.
func TestFetchFromMockWrongToken(t *testing.T) {
	target, err := url.Parse(imdsmock.Start(t, mockConfig))
	if err != nil {
		t.Fatal(err)
	}
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		if r.In.Method == http.MethodGet {
			r.Out.Header.Set(imds.TokenHeader, "AAAAwrongtokenAAAA")
		}
	}}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	f, _ := newFetcher(t, srv.URL, "")

	_, err = f.Fetch(t.Context())
	if !errors.Is(err, metadata.ErrTokenRefused) {
		t.Fatalf("Fetch error = %v, want ErrTokenRefused", err)
	}
	if !strings.Contains(err.Error(), "HttpPutResponseHopLimit") {
		t.Errorf("error %q does not name the hop limit", err)
	}
}
