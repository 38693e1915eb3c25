package awsapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hashistack/bootstrap/internal/iampolicy"
)

// SecretsManagerAccount is the account id in the ARNs of the secrets the
// Secrets Manager stand-in serves.
const SecretsManagerAccount = "123456789012"

const (
	secretsManagerSigningName = "secretsmanager"
	jsonContentType           = "application/x-amz-json-1.1"
	stageCurrent              = "AWSCURRENT"
	// Length limits from the GetSecretValue API reference.
	maxSecretIDLength = 2048
	minVersionIDLen   = 32
	maxVersionIDLen   = 64
)

// storedSecret is one secret the stand-in serves, with its only version.
type storedSecret struct {
	arn       string
	name      string
	value     string
	versionID string
	created   time.Time
}

// secretStore maps each secret's name and ARN to the secret.
type secretStore map[string]*storedSecret

// NewSecretsManager starts a Secrets Manager stand-in on 127.0.0.1 that
// serves GetSecretValue for secrets, a map from a secret's name or ARN to
// its SecretString, and stops it when the test ends.
func NewSecretsManager(t testing.TB, opts Options, secrets map[string]string) *Server {
	t.Helper()
	s := ServeSecretsManager(opts, secrets)
	t.Cleanup(s.Close)
	return s
}

// ServeSecretsManager starts the stand-in of [NewSecretsManager] for a
// caller that is not a test, such as the demo. Close stops it.
//
// The stand-in speaks the AWS JSON 1.1 protocol: POST with an X-Amz-Target
// header and a JSON body, SigV4 with signing name "secretsmanager", and
// errors as JSON with a __type field. A secret given by name gets the ARN
// arn:aws:secretsmanager:REGION:[SecretsManagerAccount]:secret:NAME-XXXXXX.
// A request for an ARN in another account is denied, as AWS denies it
// without a resource policy that grants access.
func ServeSecretsManager(opts Options, secrets map[string]string) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, svc: Service{
		SigningName: secretsManagerSigningName,
		// QueryErrors makes verify return the Query codes with status 403,
		// which jsonAuthError translates.
		Errors:   QueryErrors,
		Throttle: &Error{Status: http.StatusBadRequest, Code: "ThrottlingException", Message: "Rate exceeded"},
	}}
	store := newSecretStore(opts, secrets)
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.serveJSON(w, r, store)
	}))
	s.URL = s.srv.URL
	return s
}

func newSecretStore(opts Options, secrets map[string]string) secretStore {
	store := secretStore{}
	for id, value := range secrets {
		secret := &storedSecret{value: value, versionID: requestID(), created: opts.Now().UTC()}
		if name, ok := secretNameFromARN(id); ok {
			secret.arn, secret.name = id, name
		} else {
			sum := sha256.Sum256([]byte(id))
			secret.name = id
			secret.arn = "arn:aws:secretsmanager:" + opts.Region + ":" + SecretsManagerAccount +
				":secret:" + id + "-" + hex.EncodeToString(sum[:3])
		}
		store[secret.arn] = secret
		store[secret.name] = secret
	}
	return store
}

// secretNameFromARN returns the name in a secret ARN, without the six
// characters Secrets Manager appends to it.
func secretNameFromARN(arn string) (string, bool) {
	fields := strings.SplitN(arn, ":", 7)
	if len(fields) != 7 || fields[0] != "arn" || fields[5] != "secret" {
		return "", false
	}
	name := fields[6]
	if i := strings.LastIndex(name, "-"); i >= 0 && len(name)-i == 7 {
		name = name[:i]
	}
	return name, true
}

// getSecretValueInput is the request body of GetSecretValue.
type getSecretValueInput struct {
	SecretID     *string `json:"SecretId"`
	VersionID    *string `json:"VersionId"`
	VersionStage *string `json:"VersionStage"`
}

// getSecretValueOutput is the documented response body of GetSecretValue.
// CreatedDate is in seconds since the epoch, as the JSON protocols encode
// timestamps.
type getSecretValueOutput struct {
	ARN           string   `json:"ARN"`
	Name          string   `json:"Name"`
	SecretString  string   `json:"SecretString"`
	VersionID     string   `json:"VersionId"`
	VersionStages []string `json:"VersionStages"`
	CreatedDate   float64  `json:"CreatedDate"`
}

func (s *Server) serveJSON(w http.ResponseWriter, r *http.Request, store secretStore) {
	call := Call{Params: url.Values{}}
	response, apiErr := s.runJSON(r, store, &call)
	if apiErr != nil {
		call.Error = apiErr.Code
	}
	s.mu.Lock()
	s.calls = append(s.calls, call)
	s.mu.Unlock()

	if apiErr != nil {
		writeJSON(w, apiErr.Status, jsonErrorBody(apiErr))
		return
	}
	writeJSON(w, http.StatusOK, response)
}

// runJSON checks the request in the order AWS does, signature first, then
// runs the operation. It fills call with the action and the request's
// parameters, never the secret value.
func (s *Server) runJSON(r *http.Request, store secretStore, call *Call) (any, *Error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, serializationError("request body could not be read")
	}
	if apiErr := s.verify(r, body); apiErr != nil {
		return nil, jsonAuthError(apiErr)
	}
	if s.takeThrottle() {
		return nil, s.svc.Throttle
	}
	action, apiErr := jsonAction(r)
	call.Action = action
	if apiErr != nil {
		return nil, apiErr
	}
	// The IAM policy check reads what every test run served; see iampolicy.LogEnv.
	_ = iampolicy.Record(secretsManagerSigningName, action)

	var in getSecretValueInput
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, serializationError("request body is not a GetSecretValue request: " + err.Error())
	}
	for key, value := range map[string]*string{"SecretId": in.SecretID,
		"VersionId": in.VersionID, "VersionStage": in.VersionStage} {
		if value != nil {
			call.Params.Set(key, *value)
		}
	}
	return store.getSecretValue(in, s.opts)
}

// jsonAction returns the operation named by X-Amz-Target, and an error
// for any operation but GetSecretValue, the only one served.
func jsonAction(r *http.Request) (string, *Error) {
	target := r.Header.Get("X-Amz-Target")
	action, ok := strings.CutPrefix(target, "secretsmanager.")
	if r.Method != http.MethodPost || !ok || action != "GetSecretValue" {
		return action, &Error{Status: http.StatusBadRequest, Code: "UnknownOperationException",
			Message: "Unknown operation " + target}
	}
	// NOTE: the 400 UnknownOperationException for a wrong Content-Type is
	// an assumption, because the Secrets Manager API reference does not
	// document that case.
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != jsonContentType {
		return action, &Error{Status: http.StatusBadRequest, Code: "UnknownOperationException",
			Message: "Content-Type must be " + jsonContentType}
	}
	return action, nil
}

func (store secretStore) getSecretValue(in getSecretValueInput, opts Options) (any, *Error) {
	id := deref(in.SecretID)
	if id == "" || len(id) > maxSecretIDLength {
		return nil, invalidParameter(fmt.Sprintf("SecretId must be 1 to %d characters long", maxSecretIDLength))
	}
	if v := in.VersionID; v != nil && (len(*v) < minVersionIDLen || len(*v) > maxVersionIDLen) {
		return nil, invalidParameter(fmt.Sprintf("VersionId must be %d to %d characters long",
			minVersionIDLen, maxVersionIDLen))
	}
	secret, ok := store[id]
	if !ok {
		return nil, missingSecret(id, opts.Credentials.AccessKeyID)
	}
	if in.VersionID != nil && *in.VersionID != secret.versionID {
		return nil, resourceNotFound("Secrets Manager can't find the specified secret value for VersionId: " +
			*in.VersionID)
	}
	if in.VersionStage != nil && *in.VersionStage != stageCurrent {
		return nil, resourceNotFound("Secrets Manager can't find the specified secret value for staging label: " +
			*in.VersionStage)
	}
	return getSecretValueOutput{
		ARN: secret.arn, Name: secret.name, SecretString: secret.value,
		VersionID: secret.versionID, VersionStages: []string{stageCurrent},
		CreatedDate: float64(secret.created.UnixMilli()) / 1000,
	}, nil
}

// missingSecret returns AccessDeniedException for an ARN in another
// account, and ResourceNotFoundException for anything else.
func missingSecret(id, accessKeyID string) *Error {
	fields := strings.Split(id, ":")
	if len(fields) > 4 && fields[0] == "arn" && fields[4] != SecretsManagerAccount {
		return &Error{Status: http.StatusBadRequest, Code: "AccessDeniedException",
			Message: "User: " + accessKeyID + " is not authorized to perform: " +
				"secretsmanager:GetSecretValue on resource: " + id +
				" because no resource-based policy allows the secretsmanager:GetSecretValue action"}
	}
	return resourceNotFound("Secrets Manager can't find the specified secret.")
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func resourceNotFound(message string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "ResourceNotFoundException", Message: message}
}

func invalidParameter(message string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "InvalidParameterException", Message: message}
}

func serializationError(message string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "SerializationException", Message: message}
}

// jsonAuthCodes maps the Query protocol's codes that verify returns to
// the codes that JSON-protocol services return.
//
// NOTE: the Secrets Manager common errors page lists the Query names
// (SignatureDoesNotMatch, InvalidClientTokenId) with 403. The names and
// the 400 here are what JSON-protocol endpoints return in published SDK
// error reports, not checked against Secrets Manager itself.
var jsonAuthCodes = map[string]string{
	"MissingAuthenticationToken": "MissingAuthenticationTokenException",
	"IncompleteSignature":        "IncompleteSignatureException",
	"InvalidClientTokenId":       "UnrecognizedClientException",
	"SignatureDoesNotMatch":      "InvalidSignatureException",
	"RequestExpired":             "InvalidSignatureException",
}

// jsonAuthError translates an error of verify into its JSON-protocol form.
func jsonAuthError(e *Error) *Error {
	code, ok := jsonAuthCodes[e.Code]
	if !ok {
		return e
	}
	message := e.Message
	if e.Code == "RequestExpired" {
		message = "Signature expired: " + strings.TrimPrefix(e.Message, "Request has expired. Timestamp date is ")
	}
	return &Error{Status: http.StatusBadRequest, Code: code, Message: message}
}

// jsonErrorBody returns the error document. The service's own errors use
// the key "Message", the member name of its error shapes in the SDK's
// model, and the signature checks use "message".
func jsonErrorBody(e *Error) map[string]string {
	key := "Message"
	for _, code := range jsonAuthCodes {
		if e.Code == code {
			key = "message"
		}
	}
	return map[string]string{"__type": e.Code, key: e.Message}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	out, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", jsonContentType)
	w.Header().Set("X-Amzn-Requestid", requestID())
	w.WriteHeader(status)
	_, _ = w.Write(out)
}
