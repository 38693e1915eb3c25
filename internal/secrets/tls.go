package secrets

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
)

// checkTLS checks that cert and key form a pair and that ca parses, so a
// broken bundle fails here rather than in the agent. Errors never quote
// the key.
func checkTLS(cert, key, ca string) error {
	if _, err := tls.X509KeyPair([]byte(cert), []byte(key)); err != nil {
		return errors.New("certificate and private key do not form a pair")
	}
	block, _ := pem.Decode([]byte(ca))
	if block == nil {
		return errors.New("CA is not PEM")
	}
	if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		return fmt.Errorf("CA certificate: %w", err)
	}
	return nil
}

// bundleError wraps an error of GetSecretValue for the TLS bundle secret
// id with the fix an operator can apply. region is the node's region,
// which the request uses unless the SDK configuration sets another.
func bundleError(id, region string, err error) error {
	const prefix = "secretsmanager:GetSecretValue %s (vault.tls_bundle)"
	var notFound *types.ResourceNotFoundException
	if errors.As(err, &notFound) {
		return fmt.Errorf(prefix+": secret not found: create the secret in region %s or correct "+
			"vault.tls_bundle: %w", id, region, err)
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode() == "AccessDeniedException" {
		return fmt.Errorf(prefix+": access denied: allow secretsmanager:GetSecretValue on the "+
			"secret to the instance role, and kms:Decrypt on the secret's KMS key: %w", id, err)
	}
	return fmt.Errorf(prefix+": %w", id, err)
}
