package metadata_test

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hashistack/bootstrap/internal/metadata"
	"github.com/hashistack/bootstrap/internal/node"
	"github.com/hashistack/bootstrap/internal/standin/awsapi"
	"github.com/hashistack/bootstrap/internal/standin/imds"
)

func manyTags(n int) map[string]string {
	tags := map[string]string{"hashistack:role": "nomad-client"}
	for i := range n - 1 {
		tags[fmt.Sprintf("team:%02d", i)] = fmt.Sprintf("value-%d", i)
	}
	return tags
}

func wantInstance(cfg imds.Config) node.Instance {
	id := cfg.Identity
	return node.Instance{
		InstanceID:           id.InstanceID,
		AccountID:            id.AccountID,
		Region:               id.Region,
		AvailabilityZone:     id.AvailabilityZone,
		PrivateIP:            id.PrivateIP,
		InstanceType:         id.InstanceType,
		ImageID:              id.ImageID,
		UserData:             cfg.UserData,
		Tags:                 cfg.Tags,
		TagsSource:           metadata.TagsFromIMDS,
		TargetLifecycleState: cfg.TargetLifecycleState,
	}
}

func TestFetchFromStandin(t *testing.T) {
	hostile := map[string]string{
		"quote":       `say "hi" \ 'there'`,
		"newline":     "line one\nline two\r\n",
		"template":    "${jndi:ldap} ${ unbalanced {{ .Secret }}",
		"long":        strings.Repeat("x\"${\n", 820),
		"unicode":     "naïve – ✓",
		"hcl-comment": "# not a comment */ /*",
	}
	tests := []struct {
		name string
		cfg  imds.Config
	}{
		{"thirty_tags", imds.Config{Tags: manyTags(30), UserData: []byte("role = \"nomad-client\"\n"),
			TargetLifecycleState: "InService"}},
		{"warmed_stopped", imds.Config{Tags: manyTags(3), UserData: []byte("x"),
			TargetLifecycleState: "Warmed:Stopped"}},
		{"no_user_data_no_group", imds.Config{Tags: manyTags(1)}},
		{"empty_user_data", imds.Config{Tags: map[string]string{}, UserData: []byte{},
			TargetLifecycleState: "InService"}},
		{"hostile_tag_values", imds.Config{Tags: hostile, UserData: []byte("x"),
			TargetLifecycleState: "InService"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.cfg.Identity = testIdentity
			srv := imds.New(t, tc.cfg)
			f, _ := newFetcher(t, srv.URL, "")

			got, err := f.Fetch(t.Context())
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if diff := cmp.Diff(wantInstance(tc.cfg), got); diff != "" {
				t.Errorf("Fetch instance mismatch (-want +got):\n%s", diff)
			}
			if tc.cfg.UserData == nil && got.UserData != nil {
				t.Errorf("UserData = %q, want nil for 404", got.UserData)
			}
		})
	}
}

func TestFetchTokenBeforeParallelRequests(t *testing.T) {
	srv := imds.New(t, imds.Config{Identity: testIdentity, Tags: manyTags(5)})
	f, _ := newFetcher(t, srv.URL, "")
	if _, err := f.Fetch(t.Context()); err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	requests := srv.Requests()
	want := []string{"PUT /latest/api/token", "GET /latest/dynamic/instance-identity/document"}
	if diff := cmp.Diff(want, requests[:2]); diff != "" {
		t.Errorf("first requests mismatch (-want +got):\n%s", diff)
	}
	for _, r := range requests[1:] {
		if strings.HasPrefix(r, "PUT") {
			t.Errorf("second token request %q: the token must be reused", r)
		}
	}
}

func TestFetchTagsDisabledUsesDescribeTags(t *testing.T) {
	tags := manyTags(11)
	tags["hostile"] = "a \"quoted\" ${value}\r\nwith <xml> & newlines\n"
	srv := imds.New(t, imds.Config{Identity: testIdentity, TagsDisabled: true})
	ec2 := newEC2(t, map[string]map[string]string{
		testIdentity.InstanceID: tags,
		"i-0000000000000000f":   {"hashistack:role": "other-instance"},
	})
	f, logs := newFetcher(t, srv.URL, ec2.URL)
	f.TagsPageSize = 5

	got, err := f.Fetch(t.Context())
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if diff := cmp.Diff(tags, got.Tags); diff != "" {
		t.Errorf("Tags mismatch (-want +got):\n%s", diff)
	}
	if got.TagsSource != metadata.TagsFromEC2 {
		t.Errorf("TagsSource = %q, want %q", got.TagsSource, metadata.TagsFromEC2)
	}
	if len(logs.lines("instance metadata tags disabled")) != 1 {
		t.Errorf("logs lack one line about the fallback:\n%s", logs)
	}

	calls := ec2.Calls()
	if len(calls) != 3 {
		t.Fatalf("got %d DescribeTags calls, want 3 pages: %+v", len(calls), calls)
	}
	for i, call := range calls {
		want := url.Values{
			"Action":           {"DescribeTags"},
			"Version":          {"2016-11-15"},
			"Filter.1.Name":    {"resource-id"},
			"Filter.1.Value.1": {testIdentity.InstanceID},
			"MaxResults":       {"5"},
		}
		if i > 0 {
			want["NextToken"] = calls[i].Params["NextToken"]
		}
		if diff := cmp.Diff(awsapi.Call{Action: "DescribeTags", Params: want}, call); diff != "" {
			t.Errorf("call %d mismatch (-want +got):\n%s", i, diff)
		}
		if i > 0 && call.Params.Get("NextToken") == "" {
			t.Errorf("call %d has no NextToken", i)
		}
	}
}

func TestFetchDescribeTagsThrottled(t *testing.T) {
	srv := imds.New(t, imds.Config{Identity: testIdentity, TagsDisabled: true})
	ec2 := newEC2(t, map[string]map[string]string{testIdentity.InstanceID: manyTags(2)})
	ec2.Throttle(2)
	f, logs := newFetcher(t, srv.URL, ec2.URL)

	if _, err := f.Fetch(t.Context()); err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	var codes []string
	for _, call := range ec2.Calls() {
		codes = append(codes, call.Error)
	}
	if diff := cmp.Diff([]string{"RequestLimitExceeded", "RequestLimitExceeded", ""}, codes); diff != "" {
		t.Errorf("call results mismatch (-want +got):\n%s", diff)
	}
	if n := len(logs.lines("retrying request", "ec2:DescribeTags", "RequestLimitExceeded")); n != 2 {
		t.Errorf("got %d retry log lines, want 2:\n%s", n, logs)
	}
}

func TestFetchEmptyIdentityField(t *testing.T) {
	tests := []struct {
		name  string
		field string
		clear func(*imds.Identity)
	}{
		{"instance_id", "instanceId", func(id *imds.Identity) { id.InstanceID = "" }},
		{"account_id", "accountId", func(id *imds.Identity) { id.AccountID = "" }},
		{"region", "region", func(id *imds.Identity) { id.Region = "" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			id := testIdentity
			tc.clear(&id)
			srv := imds.New(t, imds.Config{Identity: id})
			f, _ := newFetcher(t, srv.URL, "")

			_, err := f.Fetch(t.Context())
			if !errors.Is(err, metadata.ErrMissingValue) {
				t.Fatalf("Fetch error = %v, want ErrMissingValue", err)
			}
			for _, part := range []string{"/latest/dynamic/instance-identity/document", tc.field} {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not name %q", err, part)
				}
			}
		})
	}
}

func TestFetchInvalidIdentityValue(t *testing.T) {
	id := testIdentity
	id.Region = "eu-west-1.attacker.example"
	srv := imds.New(t, imds.Config{Identity: id})
	f, _ := newFetcher(t, srv.URL, "")

	_, err := f.Fetch(t.Context())
	if !errors.Is(err, metadata.ErrInvalidValue) {
		t.Fatalf("Fetch error = %v, want ErrInvalidValue", err)
	}
}

func TestFetchRetriesServerErrors(t *testing.T) {
	srv := imds.New(t, imds.Config{Identity: testIdentity, Tags: manyTags(2), FailFirst: 2})
	f, logs := newFetcher(t, srv.URL, "")

	if _, err := f.Fetch(t.Context()); err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	retries := logs.lines(`"msg":"retrying request"`,
		`"path":"/latest/dynamic/instance-identity/document"`, `"error":"unexpected HTTP status 500"`)
	if len(retries) != 2 {
		t.Fatalf("got %d retry log lines, want 2:\n%s", len(retries), logs)
	}
	for i, line := range retries {
		if want := fmt.Sprintf(`"attempt":%d`, i+1); !strings.Contains(line, want) {
			t.Errorf("retry line %d lacks %s: %s", i, want, line)
		}
	}
}

func TestFetchGivesUpAfterMaxAttempts(t *testing.T) {
	srv := imds.New(t, imds.Config{Identity: testIdentity, FailFirst: 100})
	f, _ := newFetcher(t, srv.URL, "")
	f.MaxAttempts = 3

	_, err := f.Fetch(t.Context())
	var pathErr *metadata.PathError
	if !errors.As(err, &pathErr) {
		t.Fatalf("Fetch error = %v, want a *PathError", err)
	}
	if pathErr.Attempts != 3 {
		t.Errorf("Attempts = %d, want 3", pathErr.Attempts)
	}
	var statusErr *metadata.StatusError
	if !errors.As(err, &statusErr) || statusErr.Code != 500 {
		t.Errorf("Fetch error = %v, want status 500", err)
	}
}

func TestFetchTimeout(t *testing.T) {
	srv := imds.New(t, imds.Config{Identity: testIdentity, Latency: 2 * time.Second})
	f, logs := newFetcher(t, srv.URL, "")
	f.Timeout = 50 * time.Millisecond
	f.MaxAttempts = 2

	_, err := f.Fetch(t.Context())
	if !errors.Is(err, metadata.ErrTimeout) {
		t.Fatalf("Fetch error = %v, want ErrTimeout", err)
	}
	if !strings.Contains(err.Error(), "/latest/dynamic/instance-identity/document") {
		t.Errorf("error %q does not name the path", err)
	}
	if n := len(logs.lines("retrying request")); n != 1 {
		t.Errorf("got %d retry log lines, want 1:\n%s", n, logs)
	}
}

func TestFetchTokenRefused(t *testing.T) {
	srv := imds.New(t, imds.Config{Identity: testIdentity, RefuseToken: true})
	f, logs := newFetcher(t, srv.URL, "")

	_, err := f.Fetch(t.Context())
	if !errors.Is(err, metadata.ErrTokenRefused) {
		t.Fatalf("Fetch error = %v, want ErrTokenRefused", err)
	}
	for _, part := range []string{"HttpPutResponseHopLimit", "/latest/dynamic/instance-identity/document"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not name %q", err, part)
		}
	}
	if n := len(logs.lines("retrying request")); n != 0 {
		t.Errorf("a refused token was retried:\n%s", logs)
	}
	want := []string{"PUT /latest/api/token", "GET /latest/dynamic/instance-identity/document"}
	if diff := cmp.Diff(want, srv.Requests()); diff != "" {
		t.Errorf("requests mismatch (-want +got):\n%s", diff)
	}
}

func TestFetchNoIMDS(t *testing.T) {
	srv := imds.New(t, imds.Config{})
	url := srv.URL
	// A closed port on loopback refuses the connection.
	f, logs := newFetcher(t, url[:strings.LastIndex(url, ":")]+":1", "")
	f.MaxAttempts = 2

	_, err := f.Fetch(t.Context())
	if !errors.Is(err, metadata.ErrTokenUnavailable) {
		t.Fatalf("Fetch error = %v, want ErrTokenUnavailable", err)
	}
	if n := len(logs.lines("retrying request", "connection refused")); n != 1 {
		t.Errorf("got %d retry log lines for the refused connection, want 1:\n%s", n, logs)
	}
}
