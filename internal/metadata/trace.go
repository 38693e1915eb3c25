package metadata

import (
	"context"
	"net/http"
	"sync"

	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// trace records the raw HTTP outcome of one attempt: the token request, if
// the SDK made one, and the metadata request.
//
// NOTE: the SDK's IMDS client (feature/ec2/imds v1.20.9) wraps both a 401
// response and a failed token request in an error type without Unwrap, so
// errors.As cannot see their status codes. The trace middleware reads them
// from the responses instead.
type trace struct {
	mu          sync.Mutex
	seen        bool
	tokenStatus int
	tokenErr    error
	status      int
	sendErr     error
}

type traceKey struct{}

func withTrace(ctx context.Context, tr *trace) context.Context {
	return context.WithValue(ctx, traceKey{}, tr)
}

func (tr *trace) record(method string, status int, err error) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.seen = true
	if method == http.MethodPut {
		tr.tokenStatus, tr.tokenErr = status, err
		return
	}
	tr.status, tr.sendErr = status, err
}

// addTrace installs the trace middleware as the innermost deserialize step,
// next to the transport, so it reads each raw response before the SDK turns
// it into an error. It runs for the SDK's own token requests too, because
// those go through the client's options.
func addTrace(stack *middleware.Stack) error {
	return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("bootstrapTrace",
		func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (
			middleware.DeserializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleDeserialize(ctx, in)
			tr, ok := ctx.Value(traceKey{}).(*trace)
			req, isHTTP := in.Request.(*smithyhttp.Request)
			if !ok || !isHTTP {
				return out, md, err
			}
			status := 0
			if resp, ok := out.RawResponse.(*smithyhttp.Response); ok && resp != nil {
				status = resp.StatusCode
			}
			tr.record(req.Method, status, err)
			return out, md, err
		}), middleware.After)
}
