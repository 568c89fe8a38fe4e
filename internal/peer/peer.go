// Package peer is the region-to-region transport: HTTP/2 over mutual TLS,
// with a certificate authority that polyregion generates itself.
//
// A region's identity is its certificate. [EnsurePKI] creates the CA and one
// certificate per region in a data directory; [LoadIdentity] reads one
// region's certificate back. A [Server] serves an [http.Handler] to the other
// regions and refuses any peer whose certificate was not issued by the same
// CA, or whose region it does not allow; handlers read the calling region
// with [RegionFrom]. A [Client] sends requests to a region by name: the TCP
// dial goes to the address a [Resolver] returns at dial time, and the server
// must present the certificate of the region that was asked for, wherever
// the bytes went.
package peer

import (
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Sentinel errors. They are returned wrapped with the identifying value (a
// file, a region); test for them with errors.Is.
var (
	// ErrInvalidRegion reports a region name that cannot be used in a file
	// name and a DNS name.
	ErrInvalidRegion = errors.New("peer: invalid region name")
	// ErrNotSignedByCA reports a region certificate that does not chain to
	// the CA it is checked against.
	ErrNotSignedByCA = errors.New("peer: certificate not signed by the CA")
	// ErrRegionNotAllowed reports a peer whose region the server refuses.
	ErrRegionNotAllowed = errors.New("peer: region not allowed")
)

// serverNameSuffix follows the region name in the DNS name its certificate
// carries; see [ServerName].
const serverNameSuffix = ".peer.polyregion"

// PingPath is the path the [Server] answers itself for GET; see [Client.Ping].
const PingPath = "/peer/v1/ping"

// Timeouts of the transport.
const (
	// dialTimeout bounds a TCP dial plus the TLS handshake.
	dialTimeout = 5 * time.Second
	// sendPingTimeout is how long a connection may stay silent before an
	// HTTP/2 PING is sent on it, and pingTimeout how long the PING's ack may
	// take before the connection is closed as dead. Together they bound the
	// time to notice a partition that black-holes bytes to about 1.5 s.
	sendPingTimeout = 500 * time.Millisecond
	pingTimeout     = 1 * time.Second
	// idleConnTimeout is how long an unused client connection is kept.
	idleConnTimeout = 90 * time.Second
	// readHeaderTimeout bounds the server side of the TLS handshake.
	readHeaderTimeout = 10 * time.Second
)

// ServerName returns the DNS name a region's certificate carries:
// "<region>.peer.polyregion". It is the TLS server name a [Client] asks for,
// whatever address it dials.
func ServerName(region string) string {
	return region + serverNameSuffix
}

// checkRegion reports whether region can name a region: a DNS label of
// lowercase letters, digits and hyphens (1–63 characters, no hyphen at either
// end), other than "ca", which names the CA's files.
func checkRegion(region string) error {
	ok := len(region) >= 1 && len(region) <= 63 &&
		region[0] != '-' && region[len(region)-1] != '-' &&
		region != "ca"
	for i := 0; ok && i < len(region); i++ {
		c := region[i]
		ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-'
	}
	if !ok {
		return fmt.Errorf("%w: %q (want 1-63 of a-z, 0-9 and '-', not at either end, and not \"ca\")", ErrInvalidRegion, region)
	}
	return nil
}

// regionOf returns the region a certificate issued by [EnsurePKI] is for: its
// common name, which must be a valid region whose [ServerName] the
// certificate also carries as a DNS name. It does not check who signed it.
func regionOf(cert *x509.Certificate) (string, error) {
	region := cert.Subject.CommonName
	if err := checkRegion(region); err != nil {
		return "", fmt.Errorf("certificate common name: %w", err)
	}
	if !slices.Contains(cert.DNSNames, ServerName(region)) {
		return "", fmt.Errorf("certificate for region %q lacks DNS name %q", region, ServerName(region))
	}
	return region, nil
}
