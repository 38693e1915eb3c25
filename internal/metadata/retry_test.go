package metadata_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashistack/bootstrap/internal/metadata"
	"github.com/hashistack/bootstrap/internal/standin/imds"
)

func TestFetchOutlastsFiveServerErrors(t *testing.T) {
	srv := imds.New(t, imds.Config{Identity: testIdentity, Tags: manyTags(2), FailFirst: 5})
	f, logs := newFetcher(t, srv.URL, "")

	if _, err := f.Fetch(t.Context()); err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if n := len(logs.lines("retrying request", "unexpected HTTP status 500")); n != 5 {
		t.Errorf("got %d retry log lines, want 5:\n%s", n, logs)
	}
}

func TestFetchRetriesUntilDeadline(t *testing.T) {
	srv := imds.New(t, imds.Config{Identity: testIdentity, FailFirst: 1 << 30})
	f, _ := newFetcher(t, srv.URL, "")
	ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
	defer cancel()

	_, err := f.Fetch(ctx)
	var pathErr *metadata.PathError
	if !errors.As(err, &pathErr) {
		t.Fatalf("Fetch error = %v, want a *PathError", err)
	}
	if pathErr.Attempts <= 5 {
		t.Errorf("Attempts = %d, want more than 5 before the deadline", pathErr.Attempts)
	}
	var statusErr *metadata.StatusError
	if !errors.As(err, &statusErr) || statusErr.Code != http.StatusInternalServerError {
		t.Errorf("Fetch error = %v, want the last cause, status 500", err)
	}
	for _, part := range []string{"/latest/dynamic/instance-identity/document",
		"unexpected HTTP status 500", "metadata options"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not contain %q", err, part)
		}
	}
	if errors.Is(err, metadata.ErrTokenUnavailable) {
		t.Errorf("Fetch error = %v, want no token error: the token was issued", err)
	}
}

// TestFetchSlowIMDS checks that a response slower than the SDK's own 500 ms
// response-header timeout, but within the fetcher's Timeout, is accepted.
func TestFetchSlowIMDS(t *testing.T) {
	srv := imds.New(t, imds.Config{Identity: testIdentity, Tags: manyTags(1),
		Latency: 600 * time.Millisecond})
	f, _ := newFetcher(t, srv.URL, "")

	if _, err := f.Fetch(t.Context()); err != nil {
		t.Fatalf("Fetch: %v", err)
	}
}

func TestFetchTokenServerError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	f, _ := newFetcher(t, srv.URL, "")
	f.MaxAttempts = 3

	_, err := f.Fetch(t.Context())
	if err == nil {
		t.Fatal("Fetch succeeded, want an error")
	}
	if strings.Contains(err.Error(), "HttpPutResponseHopLimit") {
		t.Errorf("error %q blames the hop limit, but IMDS responded", err)
	}
	for _, part := range []string{"token request", "unexpected HTTP status 503", "metadata options"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not contain %q", err, part)
		}
	}
}

func TestFetchUserDataSizeLimit(t *testing.T) {
	const limit = 16 << 10
	tests := []struct {
		name    string
		size    int
		wantErr error
	}{
		{"at_limit", limit, nil},
		{"over_limit", limit + 1, metadata.ErrTooLarge},
		{"far_over_limit", 4 << 20, metadata.ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := imds.New(t, imds.Config{Identity: testIdentity,
				UserData: []byte(strings.Repeat("#", tc.size))})
			f, _ := newFetcher(t, srv.URL, "")

			got, err := f.Fetch(t.Context())
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Fetch error = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == nil && len(got.UserData) != tc.size {
				t.Errorf("len(UserData) = %d, want %d", len(got.UserData), tc.size)
			}
			if tc.wantErr != nil && !strings.Contains(err.Error(), "/latest/user-data") {
				t.Errorf("error %q does not name the path", err)
			}
		})
	}
}

func TestFetchDescribeTagsLongThrottling(t *testing.T) {
	srv := imds.New(t, imds.Config{Identity: testIdentity, TagsDisabled: true})
	ec2 := newEC2(t, map[string]map[string]string{testIdentity.InstanceID: manyTags(2)})
	ec2.Throttle(7)
	f, _ := newFetcher(t, srv.URL, ec2.URL)

	got, err := f.Fetch(t.Context())
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if len(got.Tags) != 2 {
		t.Errorf("got %d tags, want 2", len(got.Tags))
	}
}

func TestFetchErrorWhenRetriesRunOut(t *testing.T) {
	srv := imds.New(t, imds.Config{Identity: testIdentity, FailFirst: 1 << 30})
	f, _ := newFetcher(t, srv.URL, "")
	f.MaxAttempts = 2

	_, err := f.Fetch(t.Context())
	want := "get /latest/dynamic/instance-identity/document: after 2 attempts: " +
		"unexpected HTTP status 500: the instance metadata service is unhealthy or overloaded: " +
		"check the instance's metadata options (aws ec2 describe-instances, MetadataOptions) " +
		"and replace the instance if it persists"
	if err == nil || err.Error() != want {
		t.Errorf("Fetch error = %v, want %s", err, want)
	}
}
