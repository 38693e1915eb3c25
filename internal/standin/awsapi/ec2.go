package awsapi

import (
	"cmp"
	"encoding/base64"
	"encoding/xml"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const ec2Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/"

// Limits of DescribeTags' MaxResults, from the EC2 API reference.
const (
	minMaxResults = 5
	maxMaxResults = 1000
)

// NewEC2 starts an EC2 stand-in that serves DescribeTags from opts.Tags.
func NewEC2(t testing.TB, opts Options) *Server {
	t.Helper()
	return New(t, EC2Service(), opts)
}

// EC2Service returns the EC2 service description: signing name "ec2",
// EC2-style errors, RequestLimitExceeded (503) when throttling.
func EC2Service() Service {
	return Service{
		SigningName: "ec2",
		Namespace:   ec2Namespace,
		Errors:      EC2Errors,
		Throttle: &Error{Status: 503, Code: "RequestLimitExceeded",
			Message: "Request limit exceeded."},
		Actions: map[string]Handler{"DescribeTags": describeTags},
	}
}

type tagItem struct {
	ResourceID   string `xml:"resourceId"`
	ResourceType string `xml:"resourceType"`
	Key          string `xml:"key"`
	Value        string `xml:"value"`
}

type describeTagsResponse struct {
	XMLName   xml.Name  `xml:"DescribeTagsResponse"`
	Namespace string    `xml:"xmlns,attr"`
	RequestID string    `xml:"requestId"`
	Tags      []tagItem `xml:"tagSet>item"`
	NextToken string    `xml:"nextToken,omitempty"`
}

func describeTags(s *Server, params url.Values) (any, *Error) {
	filters, apiErr := parseFilters(params)
	if apiErr != nil {
		return nil, apiErr
	}
	limit, apiErr := pageLimit(params, s.opts.PageSize)
	if apiErr != nil {
		return nil, apiErr
	}
	items := matchingTags(s.opts.Tags, filters)
	start, apiErr := decodeNextToken(params.Get("NextToken"), len(items))
	if apiErr != nil {
		return nil, apiErr
	}
	end := len(items)
	if limit > 0 {
		end = min(start+limit, len(items))
	}
	resp := describeTagsResponse{Namespace: ec2Namespace, RequestID: requestID(), Tags: items[start:end]}
	if end < len(items) {
		resp.NextToken = encodeNextToken(end)
	}
	return resp, nil
}

// parseFilters reads Filter.N.Name and Filter.N.Value.M into name → values.
func parseFilters(params url.Values) (map[string][]string, *Error) {
	filters := map[string][]string{}
	for n := 1; ; n++ {
		prefix := "Filter." + strconv.Itoa(n) + "."
		name := params.Get(prefix + "Name")
		values := indexedValues(params, prefix+"Value.")
		if name == "" && len(values) == 0 {
			return filters, nil
		}
		if name == "" {
			return nil, missingParameter(prefix + "Name")
		}
		if !validFilter(name) {
			return nil, invalidParameterValue("The filter '%s' is invalid", name)
		}
		filters[name] = append(filters[name], values...)
	}
}

func validFilter(name string) bool {
	switch name {
	case "key", "resource-id", "resource-type", "value":
		return true
	}
	return strings.HasPrefix(name, "tag:") && len(name) > len("tag:")
}

func indexedValues(params url.Values, prefix string) []string {
	var values []string
	for m := 1; params.Has(prefix + strconv.Itoa(m)); m++ {
		values = append(values, params.Get(prefix+strconv.Itoa(m)))
	}
	return values
}

func pageLimit(params url.Values, serverCap int) (int, *Error) {
	limit := serverCap
	raw := params.Get("MaxResults")
	if raw == "" {
		return limit, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < minMaxResults || n > maxMaxResults {
		return 0, invalidParameterValue("Value ( %s ) for parameter maxResults is invalid. "+
			"Expecting a value between %d and %d.", raw, minMaxResults, maxMaxResults)
	}
	if limit == 0 || n < limit {
		limit = n
	}
	return limit, nil
}

// matchingTags returns the tags that pass every filter, ordered by resource
// id and key so pages are stable.
func matchingTags(all map[string]map[string]string, filters map[string][]string) []tagItem {
	var items []tagItem
	for id, tags := range all {
		for key, value := range tags {
			item := tagItem{ResourceID: id, ResourceType: "instance", Key: key, Value: value}
			if matches(item, filters) {
				items = append(items, item)
			}
		}
	}
	slices.SortFunc(items, func(a, b tagItem) int {
		return cmp.Or(cmp.Compare(a.ResourceID, b.ResourceID), cmp.Compare(a.Key, b.Key))
	})
	return items
}

func matches(item tagItem, filters map[string][]string) bool {
	for name, values := range filters {
		var field string
		switch name {
		case "key":
			field = item.Key
		case "resource-id":
			field = item.ResourceID
		case "resource-type":
			field = item.ResourceType
		case "value":
			field = item.Value
		default:
			if item.Key != strings.TrimPrefix(name, "tag:") {
				return false
			}
			field = item.Value
		}
		if !slices.Contains(values, field) {
			return false
		}
	}
	return true
}

const tokenPrefix = "standin-ec2-tags:"

func encodeNextToken(offset int) string {
	return base64.StdEncoding.EncodeToString([]byte(tokenPrefix + strconv.Itoa(offset)))
}

func decodeNextToken(token string, total int) (int, *Error) {
	if token == "" {
		return 0, nil
	}
	invalid := &Error{Status: 400, Code: "InvalidPaginationToken",
		Message: "The pagination token is not valid or has expired."}
	raw, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		return 0, invalid
	}
	digits, ok := strings.CutPrefix(string(raw), tokenPrefix)
	offset, err := strconv.Atoi(digits)
	if !ok || err != nil || offset <= 0 || offset >= total {
		return 0, invalid
	}
	return offset, nil
}
