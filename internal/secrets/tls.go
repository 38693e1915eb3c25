package secrets

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
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
