package metadata_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/hashistack/bootstrap/internal/metadata"
	"github.com/hashistack/bootstrap/internal/standin/awsapi"
	"github.com/hashistack/bootstrap/internal/standin/imds"
)

const testRegion = "eu-west-1"

var testCredentials = aws.Credentials{
	AccessKeyID:     "AKIAIOSFODNN7EXAMPLE",
	SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}

var testIdentity = imds.Identity{
	InstanceID:       "i-0123456789abcdef0",
	AccountID:        "111122223333",
	Region:           testRegion,
	AvailabilityZone: "eu-west-1b",
	PrivateIP:        "10.1.2.3",
	InstanceType:     "m5.large",
	ImageID:          "ami-0fedcba9876543210",
}

// lockedBuffer is an io.Writer that is safe for the concurrent writes of a
// logger shared by goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the log lines that contain every one of parts.
func (b *lockedBuffer) lines(parts ...string) []string {
	var found []string
	for line := range strings.Lines(b.String()) {
		if containsAll(line, parts) {
			found = append(found, line)
		}
	}
	return found
}

func containsAll(s string, parts []string) bool {
	for _, part := range parts {
		if !strings.Contains(s, part) {
			return false
		}
	}
	return true
}

// newFetcher builds a fetcher the way the agent does, from
// config.LoadDefaultConfig, pointed at the given IMDS and EC2 URLs. Shared
// config files are ignored so the machine's own AWS settings cannot leak in.
func newFetcher(t testing.TB, imdsURL, ec2URL string) (*metadata.Fetcher, *lockedBuffer) {
	t.Helper()
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(testRegion),
		config.WithCredentialsProvider(credentials.StaticCredentialsProvider{Value: testCredentials}),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
		config.WithEC2IMDSEndpoint(imdsURL),
	}
	if ec2URL != "" {
		opts = append(opts, config.WithBaseEndpoint(ec2URL))
	}
	cfg, err := config.LoadDefaultConfig(t.Context(), opts...)
	if err != nil {
		t.Fatalf("load AWS config: %v", err)
	}
	logs := &lockedBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return metadata.NewFetcher(cfg, log), logs
}

func newEC2(t *testing.T, tags map[string]map[string]string) *awsapi.Server {
	t.Helper()
	return awsapi.NewEC2(t, awsapi.Options{Region: testRegion, Credentials: testCredentials, Tags: tags})
}
