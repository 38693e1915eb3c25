// Package awsapi is a stand-in for AWS Query APIs in tests, built on
// httptest. It checks what AWS checks before it runs an action: the SigV4
// signature recomputed with the test's credentials, the credential scope,
// the signed headers and the request time. It responds with the status codes
// and XML bodies that AWS documents, in EC2's <Response><Errors> shape or
// the <ErrorResponse> shape of Auto Scaling and STS.
//
// EC2 DescribeTags is implemented. Other services plug in as a [Service]
// value with their own actions. Every call is recorded so tests can assert
// the exact calls made. The stand-in listens on loopback only.
package awsapi

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/hashistack/bootstrap/internal/iampolicy"
)

// ErrorStyle selects the XML shape of error responses.
type ErrorStyle int

const (
	// EC2Errors writes <Response><Errors><Error>, as EC2 does.
	EC2Errors ErrorStyle = iota
	// QueryErrors writes <ErrorResponse><Error>, as Auto Scaling and STS do.
	QueryErrors
)

// Handler runs one action on the parsed request parameters and returns a
// value that encoding/xml turns into the response body.
type Handler func(s *Server, params url.Values) (any, *Error)

// Service describes one AWS service served by a [Server].
type Service struct {
	// SigningName is the service name in the credential scope, such as "ec2".
	SigningName string
	// Namespace is the xmlns of the responses, such as
	// "http://ec2.amazonaws.com/doc/2016-11-15/".
	Namespace string
	Errors    ErrorStyle
	// Throttle is the error returned while the server throttles.
	Throttle *Error
	Actions  map[string]Handler
}

// Options configures a [Server].
type Options struct {
	// Region the requests must be signed for.
	Region string
	// Credentials the requests must be signed with.
	Credentials aws.Credentials
	// Tags are the EC2 tags by resource id, then by key.
	Tags map[string]map[string]string
	// PageSize caps the items in one page of a paginated response; 0 means
	// no cap beyond the request's MaxResults.
	PageSize int
	// Now returns the server's clock; nil means time.Now.
	Now func() time.Time
}

// Call is one request the server received.
type Call struct {
	Action string
	// Params are the request parameters, Action and Version included.
	Params url.Values
	// Error is the error code returned, or "" for success.
	Error string
}

// Server is a running stand-in.
type Server struct {
	// URL is the base URL, such as "http://127.0.0.1:41234".
	URL string

	svc      Service
	opts     Options
	srv      *httptest.Server
	mu       sync.Mutex
	calls    []Call
	throttle int
}

// New starts a stand-in for svc on 127.0.0.1 and stops it when the test
// ends.
func New(t testing.TB, svc Service, opts Options) *Server {
	t.Helper()
	s := Serve(svc, opts)
	t.Cleanup(s.Close)
	return s
}

// Serve starts a stand-in for svc on 127.0.0.1 for a caller that is not
// a test, such as the demo; Close stops it.
func Serve(svc Service, opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{svc: svc, opts: opts}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.srv.URL
	return s
}

// Close stops the stand-in.
func (s *Server) Close() { s.srv.Close() }

// Calls returns every call received so far, in arrival order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Throttle makes the next n signed calls fail with the service's
// throttling error.
func (s *Server) Throttle(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.throttle = n
}

// Options returns the options the server was started with.
func (s *Server) Options() Options { return s.opts }

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.writeError(w, &Error{Status: 400, Code: "MalformedQueryString", Message: err.Error()})
		return
	}
	params, err := requestParams(r, body)
	if err != nil {
		s.writeError(w, &Error{Status: 404, Code: "MalformedQueryString", Message: err.Error()})
		return
	}
	response, apiErr := s.run(r, body, params)
	call := Call{Action: params.Get("Action"), Params: params}
	if apiErr != nil {
		call.Error = apiErr.Code
	}
	s.mu.Lock()
	s.calls = append(s.calls, call)
	s.mu.Unlock()

	if apiErr != nil {
		s.writeError(w, apiErr)
		return
	}
	s.writeXML(w, http.StatusOK, response)
}

func (s *Server) run(r *http.Request, body []byte, params url.Values) (any, *Error) {
	if apiErr := s.verify(r, body); apiErr != nil {
		return nil, apiErr
	}
	if s.takeThrottle() {
		return nil, s.svc.Throttle
	}
	action := params.Get("Action")
	if action == "" {
		return nil, &Error{Status: 400, Code: "MissingAction", Message: "The request must contain the parameter Action"}
	}
	if params.Get("Version") == "" {
		return nil, missingParameter("Version")
	}
	handler, ok := s.svc.Actions[action]
	if !ok {
		return nil, &Error{Status: 400, Code: "InvalidAction",
			Message: fmt.Sprintf("The action %s is not valid for this web service.", action)}
	}
	// The IAM policy check reads what every test run served; see iampolicy.LogEnv.
	_ = iampolicy.Record(s.svc.SigningName, action)
	return handler(s, params)
}

func (s *Server) takeThrottle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.throttle <= 0 {
		return false
	}
	s.throttle--
	return true
}

// requestParams merges the URL query and a form-encoded body, as the Query
// protocol allows both.
func requestParams(r *http.Request, body []byte) (url.Values, error) {
	params := r.URL.Query()
	if r.Method != http.MethodPost {
		return params, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("parse body: %w", err)
	}
	for key, values := range form {
		params[key] = append(params[key], values...)
	}
	return params, nil
}

func (s *Server) writeXML(w http.ResponseWriter, status int, v any) {
	out, err := xml.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	// Exactly what AWS's Query APIs send: Vault's AWS auth method, for one,
	// rejects an STS response of any other content type.
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(out)
}

func requestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
