package metadata

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/hashistack/bootstrap/internal/node"
)

// Values of [node.Instance.TagsSource].
const (
	TagsFromIMDS = "imds"
	TagsFromEC2  = "ec2:DescribeTags"
)

// tagKeyPattern is the set of tag keys that EC2 allows while instance
// metadata tags are enabled: letters, digits and + - = . , _ : @, with no
// space or slash, at most 128 characters.
var tagKeyPattern = regexp.MustCompile(`^[A-Za-z0-9+\-=.,_:@]{1,128}$`)

// tags reads the instance tags from IMDS, or from ec2:DescribeTags when
// IMDS returns 404 because instance metadata tags are disabled.
//
// NOTE: whether IMDS also returns 404 for an instance that has tags enabled
// but no tags at all is not verified here. If it does, such an instance
// falls back to ec2:DescribeTags and needs that permission.
func (f *Fetcher) tags(ctx context.Context, inst node.Instance) (map[string]string, string, error) {
	list, err := f.getMetadata(ctx, pathTags)
	if errors.Is(err, ErrNotFound) {
		f.logger().Info("instance metadata tags disabled, using ec2:DescribeTags",
			"instance_id", inst.InstanceID, "region", inst.Region)
		tags, err := f.describeTags(ctx, inst)
		return tags, TagsFromEC2, err
	}
	if err != nil {
		return nil, "", err
	}
	tags, err := f.tagValues(ctx, strings.Fields(string(list)))
	return tags, TagsFromIMDS, err
}

// tagValues reads the value of every key concurrently, at most maxParallel
// at a time.
func (f *Fetcher) tagValues(ctx context.Context, keys []string) (map[string]string, error) {
	for _, key := range keys {
		if !tagKeyPattern.MatchString(key) || key == "." || key == ".." || key == "_index" {
			return nil, &PathError{Path: pathTags, Attempts: 1,
				Err: fmt.Errorf("tag key %q: %w", key, ErrInvalidValue)}
		}
	}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []error
		sem  = make(chan struct{}, maxParallel)
	)
	tags := make(map[string]string, len(keys))
	for _, key := range keys {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			value, err := f.getMetadata(ctx, pathTags+"/"+key)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			tags[key] = string(value)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return tags, nil
}

// describeTags lists the instance's tags with ec2:DescribeTags in the
// instance's own region, reading every page.
func (f *Fetcher) describeTags(ctx context.Context, inst node.Instance) (map[string]string, error) {
	if f.NewEC2 == nil {
		return nil, &PathError{Path: TagsFromEC2, Attempts: 1,
			Err: errors.New("no EC2 client configured")}
	}
	api := retryingTags{f: f, api: f.NewEC2(inst.Region)}
	pageSize := f.TagsPageSize
	if pageSize == 0 {
		pageSize = DefaultTagsPageSize
	}
	pages := ec2.NewDescribeTagsPaginator(api, &ec2.DescribeTagsInput{
		Filters:    []types.Filter{{Name: aws.String("resource-id"), Values: []string{inst.InstanceID}}},
		MaxResults: aws.Int32(pageSize),
	})
	tags := map[string]string{}
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, tag := range page.Tags {
			if aws.ToString(tag.ResourceId) == inst.InstanceID {
				tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
			}
		}
	}
	return tags, nil
}

// retryingTags retries each DescribeTags page on its own, so a throttled
// page does not restart the listing.
type retryingTags struct {
	f   *Fetcher
	api TagsAPI
}

func (r retryingTags) DescribeTags(ctx context.Context, in *ec2.DescribeTagsInput,
	optFns ...func(*ec2.Options)) (*ec2.DescribeTagsOutput, error) {
	p := policy{timeout: ec2Timeout, classify: classifyAWS, fix: fixEC2Unavailable}
	return retry(ctx, r.f, TagsFromEC2, p, func(ctx context.Context) (*ec2.DescribeTagsOutput, error) {
		return r.api.DescribeTags(ctx, in, optFns...)
	})
}
