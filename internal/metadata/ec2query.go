package metadata

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// ec2APIVersion is the EC2 Query API version the client speaks.
const ec2APIVersion = "2016-11-15"

// describeTagsClient calls ec2:DescribeTags through EC2's Query API with the
// SDK's SigV4 signer.
//
// NOTE: it replaces *ec2.Client on purpose. The render stage uses
// text/template, whose reflection makes the linker keep every exported
// method of every reachable type, and the SDK's EC2 client has hundreds:
// with it the agent binary was 45 MB instead of about 15 MB, which costs
// seconds on a fresh instance that reads its AMI blocks lazily.
type describeTagsClient struct {
	cfg      aws.Config
	region   string
	endpoint string
	signer   *v4.Signer
	http     *http.Client
}

// newDescribeTagsClient returns a client for region. The endpoint follows
// the SDK's overrides: AWS_ENDPOINT_URL_EC2, then cfg.BaseEndpoint (which
// config.LoadDefaultConfig sets from AWS_ENDPOINT_URL), then the regional
// EC2 endpoint.
func newDescribeTagsClient(cfg aws.Config, region string) *describeTagsClient {
	return &describeTagsClient{
		cfg:      cfg,
		region:   region,
		endpoint: ec2Endpoint(cfg, region),
		signer:   v4.NewSigner(),
		http:     &http.Client{},
	}
}

func ec2Endpoint(cfg aws.Config, region string) string {
	if os.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS") != "true" {
		if v := os.Getenv("AWS_ENDPOINT_URL_EC2"); v != "" {
			return v
		}
		if cfg.BaseEndpoint != nil && *cfg.BaseEndpoint != "" {
			return *cfg.BaseEndpoint
		}
		if v := os.Getenv("AWS_ENDPOINT_URL"); v != "" {
			return v
		}
	}
	if strings.HasPrefix(region, "cn-") {
		return "https://ec2." + region + ".amazonaws.com.cn"
	}
	return "https://ec2." + region + ".amazonaws.com"
}

// DescribeTags sends one page request. Errors carry the API error code
// (smithy.APIError) and the HTTP status, as the SDK's do, so the retry
// policy classifies both clients alike.
func (c *describeTagsClient) DescribeTags(ctx context.Context, in *ec2.DescribeTagsInput,
	_ ...func(*ec2.Options)) (*ec2.DescribeTagsOutput, error) {
	req, err := c.newRequest(ctx, describeTagsForm(in))
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &smithyhttp.RequestSendError{Err: err}
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, &smithyhttp.RequestSendError{Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, ec2Error(resp.StatusCode, body)
	}
	return parseDescribeTags(body)
}

func describeTagsForm(in *ec2.DescribeTagsInput) url.Values {
	form := url.Values{"Action": {"DescribeTags"}, "Version": {ec2APIVersion}}
	for i, f := range in.Filters {
		prefix := "Filter." + strconv.Itoa(i+1)
		form.Set(prefix+".Name", aws.ToString(f.Name))
		for j, v := range f.Values {
			form.Set(prefix+".Value."+strconv.Itoa(j+1), v)
		}
	}
	if in.MaxResults != nil {
		form.Set("MaxResults", strconv.Itoa(int(*in.MaxResults)))
	}
	if in.NextToken != nil {
		form.Set("NextToken", *in.NextToken)
	}
	return form
}

func (c *describeTagsClient) newRequest(ctx context.Context, form url.Values) (*http.Request, error) {
	body := []byte(form.Encode())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("ec2 endpoint %q: %w", c.endpoint, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if c.cfg.Credentials == nil {
		return nil, fmt.Errorf("sign ec2:DescribeTags: no AWS credentials configured")
	}
	creds, err := c.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("sign ec2:DescribeTags: get credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	err = c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "ec2", c.region, time.Now())
	if err != nil {
		return nil, fmt.Errorf("sign ec2:DescribeTags: %w", err)
	}
	return req, nil
}

type describeTagsResponse struct {
	Items []struct {
		ResourceID   string `xml:"resourceId"`
		ResourceType string `xml:"resourceType"`
		Key          string `xml:"key"`
		Value        string `xml:"value"`
	} `xml:"tagSet>item"`
	NextToken string `xml:"nextToken"`
}

func parseDescribeTags(body []byte) (*ec2.DescribeTagsOutput, error) {
	var r describeTagsResponse
	if err := xml.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("decode DescribeTags response: %w", err)
	}
	out := &ec2.DescribeTagsOutput{}
	for _, it := range r.Items {
		out.Tags = append(out.Tags, types.TagDescription{
			ResourceId:   aws.String(it.ResourceID),
			ResourceType: types.ResourceType(it.ResourceType),
			Key:          aws.String(it.Key),
			Value:        aws.String(it.Value),
		})
	}
	if r.NextToken != "" {
		out.NextToken = aws.String(r.NextToken)
	}
	return out, nil
}

// apiError is an EC2 error response: the API error code and message, and
// the HTTP status.
type apiError struct {
	smithy.GenericAPIError
	status int
}

func (e *apiError) HTTPStatusCode() int { return e.status }

func (e *apiError) Error() string {
	return fmt.Sprintf("ec2:DescribeTags: %s (HTTP %d): %s", e.Code, e.status, e.Message)
}

// ec2Error decodes EC2's <Response><Errors><Error> body.
func ec2Error(status int, body []byte) error {
	var r struct {
		Errors []struct {
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		} `xml:"Errors>Error"`
	}
	e := &apiError{status: status}
	if xml.Unmarshal(body, &r) == nil && len(r.Errors) > 0 {
		e.Code, e.Message = r.Errors[0].Code, r.Errors[0].Message
	} else {
		e.Code, e.Message = http.StatusText(status), "no error document in the response"
	}
	return e
}
