package metadata

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

func TestEC2EndpointDefaultsToRegion(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL_EC2", "")
	t.Setenv("AWS_ENDPOINT_URL", "")
	for region, want := range map[string]string{
		"eu-west-1":  "https://ec2.eu-west-1.amazonaws.com",
		"cn-north-1": "https://ec2.cn-north-1.amazonaws.com.cn",
	} {
		if got := ec2Endpoint(aws.Config{}, region); got != want {
			t.Errorf("ec2Endpoint(%s) = %q, want %q", region, got, want)
		}
	}
}

func TestEC2EndpointOverrides(t *testing.T) {
	base := "http://127.0.0.1:2"
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:3")
	t.Setenv("AWS_ENDPOINT_URL_EC2", "")
	if got := ec2Endpoint(aws.Config{BaseEndpoint: &base}, "eu-west-1"); got != base {
		t.Errorf("with BaseEndpoint: %q, want %q", got, base)
	}
	t.Setenv("AWS_ENDPOINT_URL_EC2", "http://127.0.0.1:1")
	if got := ec2Endpoint(aws.Config{BaseEndpoint: &base}, "eu-west-1"); got != "http://127.0.0.1:1" {
		t.Errorf("with AWS_ENDPOINT_URL_EC2: %q", got)
	}
}
