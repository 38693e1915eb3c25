package imds_test

import (
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/hashistack/bootstrap/internal/standin/imds"
)

func do(t *testing.T, method, url string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func TestTokenProtocol(t *testing.T) {
	tests := []struct {
		name       string
		header     map[string]string
		wantStatus int
	}{
		{"ttl_min", map[string]string{imds.TokenTTLHeader: "1"}, 200},
		{"ttl_max", map[string]string{imds.TokenTTLHeader: "21600"}, 200},
		{"ttl_zero", map[string]string{imds.TokenTTLHeader: "0"}, 400},
		{"ttl_too_long", map[string]string{imds.TokenTTLHeader: "21601"}, 400},
		{"ttl_missing", nil, 400},
		{"forwarded", map[string]string{imds.TokenTTLHeader: "60", "X-Forwarded-For": "10.0.0.1"}, 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := imds.New(t, imds.Config{})
			status, _ := do(t, http.MethodPut, srv.URL+"/latest/api/token", tc.header)
			if status != tc.wantStatus {
				t.Errorf("status = %d, want %d", status, tc.wantStatus)
			}
		})
	}
}

func TestGetNeedsToken(t *testing.T) {
	srv := imds.New(t, imds.Config{Identity: imds.Identity{InstanceID: "i-0123456789abcdef0"}})
	path := srv.URL + "/latest/meta-data/instance-id"
	_, token := do(t, http.MethodPut, srv.URL+"/latest/api/token",
		map[string]string{imds.TokenTTLHeader: strconv.Itoa(60)})

	tests := []struct {
		name       string
		header     map[string]string
		wantStatus int
	}{
		{"no_token", nil, 401},
		{"wrong_token", map[string]string{imds.TokenHeader: "x" + token}, 401},
		{"valid_token", map[string]string{imds.TokenHeader: token}, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := do(t, http.MethodGet, path, tc.header)
			if status != tc.wantStatus {
				t.Errorf("status = %d, want %d", status, tc.wantStatus)
			}
			if status == 200 && body != "i-0123456789abcdef0" {
				t.Errorf("body = %q, want the instance id", body)
			}
		})
	}
}

func TestInstanceProfileCredentials(t *testing.T) {
	srv := imds.New(t, imds.Config{Role: "nomad-client",
		Credentials: imds.RoleCredentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: "s", SessionToken: "t"}})
	_, token := do(t, http.MethodPut, srv.URL+"/latest/api/token", map[string]string{imds.TokenTTLHeader: "60"})
	auth := map[string]string{imds.TokenHeader: token}

	status, role := do(t, http.MethodGet, srv.URL+"/latest/meta-data/iam/security-credentials/", auth)
	if status != 200 || role != "nomad-client" {
		t.Fatalf("role list = %d %q, want 200 nomad-client", status, role)
	}
	status, _ = do(t, http.MethodGet, srv.URL+"/latest/meta-data/iam/security-credentials/nomad-client", auth)
	if status != 200 {
		t.Errorf("credentials status = %d, want 200", status)
	}
}
