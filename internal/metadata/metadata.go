// Package metadata owns the metadata stage: it reads what the agent needs
// to know about its EC2 instance from IMDSv2 (identity document, user-data,
// instance tags, Auto Scaling target lifecycle state) and returns it as a
// [node.Instance]. When instance metadata tags are disabled it reads the
// tags with ec2:DescribeTags instead.
//
// It never falls back to IMDSv1, never passes an empty required value on as
// if it were real, and never logs user-data or tag values.
//
// Retries are this package's own, not the SDK's. Both SDK clients get
// [aws.NopRetryer], and the package retries with a capped exponential
// backoff and full jitter, logging every retry with its cause through the
// injected logger, which the SDK's retryer cannot do. It never retries a
// 401 or a 404.
package metadata

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/hashistack/bootstrap/internal/node"
)

// IMDS paths, as they appear in errors and logs.
const (
	pathIdentity  = "/latest/dynamic/instance-identity/document"
	pathUserData  = "/latest/user-data"
	pathTags      = "/latest/meta-data/tags/instance"
	pathLifecycle = "/latest/meta-data/autoscaling/target-lifecycle-state"
)

// Defaults for the zero values of [Fetcher] fields.
const (
	// DefaultRetryWindow bounds the retries of one path when the context
	// has no deadline.
	DefaultRetryWindow  = 60 * time.Second
	DefaultTimeout      = 2 * time.Second
	DefaultTagsPageSize = 100
	// ec2Timeout bounds one ec2:DescribeTags request.
	ec2Timeout = 10 * time.Second
	// maxParallel bounds the concurrent requests for tag values.
	maxParallel = 8
)

// IMDSAPI is the part of *imds.Client that the fetcher uses. The identity
// document is read with GetDynamicData, so that its body is read under a
// size limit.
type IMDSAPI interface {
	GetDynamicData(ctx context.Context, in *imds.GetDynamicDataInput,
		optFns ...func(*imds.Options)) (*imds.GetDynamicDataOutput, error)
	GetMetadata(ctx context.Context, in *imds.GetMetadataInput,
		optFns ...func(*imds.Options)) (*imds.GetMetadataOutput, error)
	GetUserData(ctx context.Context, in *imds.GetUserDataInput,
		optFns ...func(*imds.Options)) (*imds.GetUserDataOutput, error)
}

// TagsAPI is the part of *ec2.Client that the fetcher uses.
type TagsAPI interface {
	DescribeTags(ctx context.Context, in *ec2.DescribeTagsInput,
		optFns ...func(*ec2.Options)) (*ec2.DescribeTagsOutput, error)
}

// Fetcher reads the instance's metadata. The zero values of RetryWindow,
// Timeout and TagsPageSize select the defaults above.
type Fetcher struct {
	// IMDS should come from [NewIMDSClient]. Another client works, but a
	// refused token is then reported as a plain error, not ErrTokenRefused.
	IMDS IMDSAPI
	// NewEC2 returns a client for region, used only when instance metadata
	// tags are disabled.
	NewEC2 func(region string) TagsAPI
	Logger *slog.Logger
	// MaxAttempts, when above zero, bounds the requests made for each path,
	// first one included. Zero retries until the context's deadline, or for
	// RetryWindow when the context has none.
	MaxAttempts int
	// RetryWindow bounds the retries of one path when the context has no
	// deadline.
	RetryWindow time.Duration
	// Timeout bounds one IMDS request, reading its body included.
	Timeout time.Duration
	// TagsPageSize is the MaxResults of each ec2:DescribeTags page (5 to 1000).
	TagsPageSize int32
}

// NewFetcher returns a fetcher with real clients built from cfg, which
// usually comes from config.LoadDefaultConfig. The SDK reads the endpoint
// overrides AWS_EC2_METADATA_SERVICE_ENDPOINT and AWS_ENDPOINT_URL_EC2 (or
// AWS_ENDPOINT_URL) while loading cfg.
func NewFetcher(cfg aws.Config, log *slog.Logger) *Fetcher {
	return &Fetcher{
		IMDS: NewIMDSClient(cfg),
		NewEC2: func(region string) TagsAPI {
			return newDescribeTagsClient(cfg, region)
		},
		Logger: log,
	}
}

// NewIMDSClient returns an IMDSv2-only client with the SDK's retries turned
// off and the trace middleware that lets the fetcher classify failures.
//
// The client gets its own HTTP client without the SDK's IMDS timeouts
// (feature/ec2/imds v1.20.9: 250 ms to connect, 500 ms to the response
// headers, 5 s per operation), so that the fetcher's per-attempt Timeout
// is the one that applies. A slow IMDS then fails as a timeout of the
// request that was slow, not as a missing token.
func NewIMDSClient(cfg aws.Config, optFns ...func(*imds.Options)) *imds.Client {
	opts := append([]func(*imds.Options){func(o *imds.Options) {
		o.EnableFallback = aws.FalseTernary
		o.Retryer = aws.NopRetryer{}
		o.APIOptions = append(o.APIOptions, addTrace)
		o.DisableDefaultTimeout = true
		o.HTTPClient = newIMDSHTTPClient()
	}}, optFns...)
	return imds.NewFromConfig(cfg, opts...)
}

// newIMDSHTTPClient returns a plain *http.Client, which the SDK leaves as it
// is, unlike its own buildable client, whose timeouts it overrides. It uses
// no proxy: IMDS is link-local, and a proxy would see the token.
func newIMDSHTTPClient() *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = nil
	return &http.Client{Transport: transport}
}

// Fetch reads the identity document first, which makes the SDK obtain the
// token, and then user-data, tags and the target lifecycle state in
// parallel. It returns every failure, joined, and no partial instance.
func (f *Fetcher) Fetch(ctx context.Context) (node.Instance, error) {
	inst, err := f.identity(ctx)
	if err != nil {
		return node.Instance{}, err
	}
	// The goroutines write disjoint fields of inst, so tags gets a copy of
	// the identity to read.
	identity := inst
	var wg sync.WaitGroup
	var userErr, tagsErr, stateErr error
	wg.Go(func() { inst.UserData, userErr = f.userData(ctx) })
	wg.Go(func() { inst.Tags, inst.TagsSource, tagsErr = f.tags(ctx, identity) })
	wg.Go(func() { inst.TargetLifecycleState, stateErr = f.lifecycleState(ctx) })
	wg.Wait()
	if err := errors.Join(userErr, tagsErr, stateErr); err != nil {
		return node.Instance{}, err
	}
	f.logger().Info("fetched instance metadata", "instance_id", inst.InstanceID,
		"account", inst.AccountID, "region", inst.Region, "tags", len(inst.Tags),
		"tags_source", inst.TagsSource, "user_data_bytes", len(inst.UserData),
		"target_lifecycle_state", inst.TargetLifecycleState)
	return inst, nil
}

// Patterns of the identity values that later stages put into endpoints,
// file paths and API calls.
var (
	instanceIDPattern = regexp.MustCompile(`^i-[0-9a-f]{8,17}$`)
	accountIDPattern  = regexp.MustCompile(`^[0-9]{12}$`)
	regionPattern     = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
)

func (f *Fetcher) identity(ctx context.Context) (node.Instance, error) {
	doc, err := retry(ctx, f, pathIdentity, f.imdsPolicy(),
		func(ctx context.Context) (imds.InstanceIdentityDocument, error) {
			var doc imds.InstanceIdentityDocument
			out, err := f.IMDS.GetDynamicData(ctx, &imds.GetDynamicDataInput{Path: "instance-identity/document"})
			if err != nil {
				return doc, err
			}
			data, err := readLimited(out.Content, maxMetadataBytes)
			if err != nil {
				return doc, err
			}
			if err := json.Unmarshal(data, &doc); err != nil {
				return doc, fmt.Errorf("decode the identity document: %w: %w", ErrInvalidValue, err)
			}
			return doc, nil
		})
	if err != nil {
		return node.Instance{}, err
	}
	required := []struct {
		field, value string
		pattern      *regexp.Regexp
	}{
		{"instanceId", doc.InstanceID, instanceIDPattern},
		{"accountId", doc.AccountID, accountIDPattern},
		{"region", doc.Region, regionPattern},
	}
	for _, r := range required {
		if err := checkValue(r.field, r.value, r.pattern); err != nil {
			return node.Instance{}, &PathError{Path: pathIdentity, Attempts: 1, Err: err}
		}
	}
	return node.Instance{
		InstanceID:       doc.InstanceID,
		AccountID:        doc.AccountID,
		Region:           doc.Region,
		AvailabilityZone: doc.AvailabilityZone,
		PrivateIP:        doc.PrivateIP,
		InstanceType:     doc.InstanceType,
		ImageID:          doc.ImageID,
	}, nil
}

func checkValue(field, value string, pattern *regexp.Regexp) error {
	if value == "" {
		return fmt.Errorf("field %s: %w", field, ErrMissingValue)
	}
	if !pattern.MatchString(value) {
		return fmt.Errorf("field %s %q does not match %s: %w", field, value, pattern, ErrInvalidValue)
	}
	return nil
}

// userData returns nil when the instance has no user-data.
func (f *Fetcher) userData(ctx context.Context) ([]byte, error) {
	data, err := retry(ctx, f, pathUserData, f.imdsPolicy(), func(ctx context.Context) ([]byte, error) {
		out, err := f.IMDS.GetUserData(ctx, &imds.GetUserDataInput{})
		if err != nil {
			return nil, err
		}
		return readLimited(out.Content, maxUserDataBytes)
	})
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return data, err
}

// lifecycleState returns "" when the instance is not in an Auto Scaling
// group.
func (f *Fetcher) lifecycleState(ctx context.Context) (string, error) {
	state, err := f.getMetadata(ctx, pathLifecycle)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if len(state) == 0 {
		return "", &PathError{Path: pathLifecycle, Attempts: 1, Err: ErrMissingValue}
	}
	return string(state), nil
}

// getMetadata reads path, a full path under /latest/meta-data/.
func (f *Fetcher) getMetadata(ctx context.Context, path string) ([]byte, error) {
	const prefix = "/latest/meta-data/"
	in := &imds.GetMetadataInput{Path: path[len(prefix):]}
	return retry(ctx, f, path, f.imdsPolicy(), func(ctx context.Context) ([]byte, error) {
		out, err := f.IMDS.GetMetadata(ctx, in)
		if err != nil {
			return nil, err
		}
		return readLimited(out.Content, maxMetadataBytes)
	})
}

// Body size limits. EC2 limits user-data to 16 KiB before base64 encoding.
// The other responses read here (identity document, tag list, tag value,
// lifecycle state) are a few KiB at most: a tag value is at most 256
// characters, and an instance has at most 50 tags.
const (
	maxUserDataBytes = 16 << 10
	maxMetadataBytes = 256 << 10
)

// readLimited reads body up to limit bytes and closes it. A longer body is
// ErrTooLarge, found after reading limit+1 bytes, not the whole body.
func readLimited(body io.ReadCloser, limit int64) ([]byte, error) {
	defer func() { _ = body.Close() }()
	data, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("body is larger than the limit of %d bytes: %w", limit, ErrTooLarge)
	}
	return data, nil
}

func (f *Fetcher) imdsPolicy() policy {
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return policy{timeout: timeout, classify: classifyIMDS, fix: fixIMDSUnhealthy}
}

func (f *Fetcher) logger() *slog.Logger {
	if f.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return f.Logger.With("component", "metadata")
}
