package harness

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// KMS is a stand-in for the three AWS KMS actions that Vault's awskms seal
// calls (DescribeKey at start, Encrypt at init, Decrypt at every unseal),
// over the JSON 1.1 protocol. Like KMS, it checks the SigV4 signature with
// the test's credentials for service "kms" in Region before anything else,
// and it rejects unknown keys with NotFoundException.
type KMS struct {
	URL         string
	Region      string
	Credentials aws.Credentials
	aead        cipher.AEAD
	mu          sync.Mutex
	calls       []string
	// keyID is the key's id; alias also names it, as "alias/NAME".
	keyID, alias string
}

// StartKMS serves one key under alias until the test ends.
func StartKMS(t testing.TB, region, alias string, creds aws.Credentials) *KMS {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	block, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCM(block)
	k := &KMS{Region: region, Credentials: creds, alias: alias, aead: aead,
		keyID: "1234abcd-12ab-34cd-56ef-1234567890ab"}
	srv := httptest.NewServer(http.HandlerFunc(k.serveHTTP))
	t.Cleanup(srv.Close)
	k.URL = srv.URL
	return k
}

// SetKey names the key: id is its key id, alias an "alias/NAME" that also
// names it.
func (k *KMS) SetKey(id, alias string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keyID, k.alias = id, alias
}

// Calls returns the actions served so far, with the error code of each
// rejected one, as in "Decrypt" or "Encrypt: InvalidSignatureException".
func (k *KMS) Calls() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.calls)
}

type kmsError struct {
	status int
	Type   string `json:"__type"`
	Msg    string `json:"message"`
}

func (k *KMS) serveHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	action := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "TrentService.")
	out, kerr := k.handle(r, body, action)
	k.mu.Lock()
	if kerr != nil {
		k.calls = append(k.calls, action+": "+kerr.Type)
	} else {
		k.calls = append(k.calls, action)
	}
	k.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if kerr != nil {
		w.WriteHeader(kerr.status)
		out = kerr
	}
	_ = json.NewEncoder(w).Encode(out)
}

func (k *KMS) handle(r *http.Request, body []byte, action string) (any, *kmsError) {
	if kerr := k.verify(r, body); kerr != nil {
		return nil, kerr
	}
	var in struct {
		KeyID          string `json:"KeyId"`
		Plaintext      []byte `json:"Plaintext"`
		CiphertextBlob []byte `json:"CiphertextBlob"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, &kmsError{400, "SerializationException", err.Error()}
	}
	switch action {
	case "DescribeKey":
		if !k.known(in.KeyID) {
			return nil, k.notFound(in.KeyID)
		}
		return map[string]any{"KeyMetadata": map[string]any{"KeyId": k.keyIDNow(),
			"Arn": k.arn(), "Enabled": true, "KeyState": "Enabled"}}, nil
	case "Encrypt":
		if !k.known(in.KeyID) {
			return nil, k.notFound(in.KeyID)
		}
		nonce := make([]byte, k.aead.NonceSize())
		_, _ = rand.Read(nonce)
		blob := k.aead.Seal(nonce, nonce, in.Plaintext, nil)
		return map[string]any{"CiphertextBlob": blob, "KeyId": k.arn()}, nil
	case "Decrypt":
		n := k.aead.NonceSize()
		if len(in.CiphertextBlob) < n {
			return nil, &kmsError{400, "InvalidCiphertextException", ""}
		}
		plain, err := k.aead.Open(nil, in.CiphertextBlob[:n], in.CiphertextBlob[n:], nil)
		if err != nil {
			return nil, &kmsError{400, "InvalidCiphertextException", ""}
		}
		return map[string]any{"Plaintext": plain, "KeyId": k.arn()}, nil
	}
	return nil, &kmsError{400, "UnknownOperationException", "unknown action " + action}
}

func (k *KMS) keyIDNow() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.keyID
}

func (k *KMS) arn() string {
	return "arn:aws:kms:" + k.Region + ":" + Account + ":key/" + k.keyIDNow()
}

func (k *KMS) known(id string) bool {
	k.mu.Lock()
	alias := k.alias
	k.mu.Unlock()
	return id == k.keyIDNow() || id == alias || id == k.arn()
}

func (k *KMS) notFound(id string) *kmsError {
	return &kmsError{400, "NotFoundException", fmt.Sprintf("Key '%s' does not exist", id)}
}

// verify recomputes the request's SigV4 signature over the headers the
// client signed and compares it, as KMS does.
func (k *KMS) verify(r *http.Request, body []byte) *kmsError {
	auth := r.Header.Get("Authorization")
	fields := map[string]string{}
	for _, part := range strings.Split(strings.TrimPrefix(auth, "AWS4-HMAC-SHA256 "), ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[name] = value
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || fields["Signature"] == "" {
		return &kmsError{400, "IncompleteSignatureException", "missing or incomplete Authorization"}
	}
	if scope[0] != k.Credentials.AccessKeyID {
		return &kmsError{400, "UnrecognizedClientException", "The security token included in the request is invalid."}
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || time.Since(at).Abs() > 5*time.Minute {
		return &kmsError{400, "InvalidSignatureException", "X-Amz-Date missing or too far from now"}
	}
	if scope[2] != k.Region || scope[3] != "kms" {
		return &kmsError{400, "InvalidSignatureException", "credential scope " + scope[2] + "/" + scope[3] + " is not " + k.Region + "/kms"}
	}
	want, err := k.sign(r, body, strings.Split(fields["SignedHeaders"], ";"), at)
	if err != nil || !hmac.Equal([]byte(want), []byte(fields["Signature"])) {
		return &kmsError{400, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided."}
	}
	return nil
}

func (k *KMS) sign(r *http.Request, body []byte, signed []string, at time.Time) (string, error) {
	req, err := http.NewRequestWithContext(context.Background(), r.Method,
		"http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.ContentLength = 0
	for _, name := range signed {
		switch name {
		case "host":
		case "content-length":
			req.ContentLength = r.ContentLength
		default:
			req.Header[http.CanonicalHeaderKey(name)] = r.Header.Values(name)
		}
	}
	sum := sha256.Sum256(body)
	err = v4.NewSigner().SignHTTP(context.Background(), k.Credentials, req,
		hex.EncodeToString(sum[:]), "kms", k.Region, at)
	if err != nil {
		return "", err
	}
	_, sig, _ := strings.Cut(req.Header.Get("Authorization"), "Signature=")
	return sig, nil
}
