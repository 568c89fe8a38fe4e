package peer

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"path/filepath"
	"time"
)

// Identity is one region's certificate and key, and the CA its peers'
// certificates must chain to. Make it with [LoadIdentity].
type Identity struct {
	// Region is the name of the region the certificate is for.
	Region string

	cert  tls.Certificate // this region's; empty only in tests
	roots *x509.CertPool  // the CA alone
}

// LoadIdentity reads the identity of region from dir, as [EnsurePKI] left
// it: ca.crt, <region>.crt and <region>.key. It does not need the CA's key.
// The certificate must be signed by ca.crt, be for region, be valid now and
// match the key; errors name the missing or bad file.
func LoadIdentity(dir, region string) (*Identity, error) {
	if err := checkRegion(region); err != nil {
		return nil, err
	}
	caPath := filepath.Join(dir, caCertFile)
	certPath, keyPath := filepath.Join(dir, region+".crt"), filepath.Join(dir, region+".key")

	now := time.Now()
	ca, err := readCert(caPath)
	if err != nil {
		return nil, err
	}
	if err := checkCACert(ca, now); err != nil {
		return nil, fmt.Errorf("peer: %s: %w", caPath, err)
	}
	cert, err := readCert(certPath)
	if err != nil {
		return nil, err
	}
	key, err := readKey(keyPath)
	if err != nil {
		return nil, err
	}
	if err := checkRegionCert(cert, ca, region, now); err != nil {
		return nil, fmt.Errorf("peer: %s: %w", certPath, err)
	}
	if !keyMatches(cert, key) {
		return nil, fmt.Errorf("peer: %s does not match the key in %s", certPath, keyPath)
	}

	roots := x509.NewCertPool()
	roots.AddCert(ca)
	return &Identity{
		Region: region,
		cert:   tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert},
		roots:  roots,
	}, nil
}

// ServerTLSConfig returns the TLS configuration of a server of this region:
// TLS 1.3, HTTP/2 (ALPN "h2") only. A client must present a certificate that
// chains to the CA, and allowed must accept the region it is for; nil
// allowed accepts every region. A refused client fails its handshake.
func (id *Identity) ServerTLSConfig(allowed func(region string) bool) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: id.certificates(),
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    id.roots,
		NextProtos:   []string{"h2"},
		// Connections are long-lived; without resumption every connection
		// has its client certificate verified in full.
		SessionTicketsDisabled: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			region, err := verifiedRegion(cs)
			if err != nil {
				return err
			}
			if allowed != nil && !allowed(region) {
				return fmt.Errorf("%w: %q", ErrRegionNotAllowed, region)
			}
			return nil
		},
	}
}

// ClientTLSConfig returns the TLS configuration to dial region: TLS 1.3,
// HTTP/2 only, presenting this region's certificate. The server must present
// a certificate that chains to the CA and carries [ServerName](region),
// whatever address was dialled.
func (id *Identity) ClientTLSConfig(region string) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: id.certificates(),
		RootCAs:      id.roots,
		ServerName:   ServerName(region),
		NextProtos:   []string{"h2"},
	}
}

func (id *Identity) certificates() []tls.Certificate {
	if len(id.cert.Certificate) == 0 {
		return nil
	}
	return []tls.Certificate{id.cert}
}

// verifiedRegion returns the region of the peer of a connection whose
// certificate chain was verified.
func verifiedRegion(cs tls.ConnectionState) (string, error) {
	if len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return "", errors.New("peer: no verified peer certificate")
	}
	region, err := regionOf(cs.VerifiedChains[0][0])
	if err != nil {
		return "", fmt.Errorf("peer: %w", err)
	}
	return region, nil
}
