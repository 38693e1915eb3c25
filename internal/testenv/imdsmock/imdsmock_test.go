package imdsmock_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/hashistack/bootstrap/internal/testenv/imdsmock"
)

func get(t *testing.T, method, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-aws-ec2-metadata-token", token)
	}
	req.Header.Set("X-aws-ec2-metadata-token-ttl-seconds", "60")
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

func TestStartServesConfig(t *testing.T) {
	url := imdsmock.Start(t, imdsmock.Config{
		InstanceID: "i-0123456789abcdef0",
		AccountID:  "111122223333",
		Region:     "eu-west-1",
		PrivateIP:  "10.1.2.3",
		Tags:       map[string]string{"hashistack:role": "vault-server", "Name": "vault-1"},
		UserData:   []byte{0x1f, 0x8b, 0x00, 0xff},
	})
	_, token := get(t, http.MethodPut, url+"/latest/api/token", "")

	tests := []struct {
		path       string
		token      string
		wantStatus int
		wantBody   string
	}{
		{"/latest/meta-data/instance-id", "", 401, ""},
		{"/latest/meta-data/instance-id", token, 200, "i-0123456789abcdef0"},
		{"/latest/meta-data/tags/instance", token, 200, "Name\nhashistack:role"},
		{"/latest/meta-data/tags/instance/hashistack:role", token, 200, "vault-server"},
		{"/latest/meta-data/autoscaling/target-lifecycle-state", token, 200, "InService"},
		{"/latest/user-data", token, 200, "\x1f\x8b\x00\xff"},
	}
	for _, tc := range tests {
		status, body := get(t, http.MethodGet, url+tc.path, tc.token)
		if status != tc.wantStatus {
			t.Errorf("GET %s: status = %d, want %d", tc.path, status, tc.wantStatus)
		}
		if tc.wantBody != "" && body != tc.wantBody {
			t.Errorf("GET %s: body = %q, want %q", tc.path, body, tc.wantBody)
		}
	}
}

func TestLaunchStop(t *testing.T) {
	p, err := imdsmock.Launch(t.Context(), t.TempDir(), imdsmock.Config{InstanceID: "i-0123456789abcdef0"})
	if err != nil {
		t.Fatalf("Launch: %v", err)
	}
	p.Stop()
	p.Stop()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPut, p.URL+"/latest/api/token", nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("mock still responds after Stop")
	}
}

func TestLaunchRejectsThreeTags(t *testing.T) {
	_, err := imdsmock.Launch(t.Context(), t.TempDir(), imdsmock.Config{
		Tags: map[string]string{"a": "1", "b": "2", "c": "3"},
	})
	if err == nil {
		t.Fatal("Launch with 3 tags: want an error")
	}
}

func TestStartOneTag(t *testing.T) {
	url := imdsmock.Start(t, imdsmock.Config{
		InstanceID: "i-0123456789abcdef0",
		Tags:       map[string]string{"hashistack:role": "consul-server"},
	})
	_, token := get(t, http.MethodPut, url+"/latest/api/token", "")

	status, body := get(t, http.MethodGet, url+"/latest/meta-data/tags/instance", token)
	if status != 200 || body != "hashistack:role" {
		t.Errorf("tag list = %d %q, want 200 and only hashistack:role", status, body)
	}
}
