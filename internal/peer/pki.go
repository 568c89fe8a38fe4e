package peer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Names of the CA's files in a PKI directory. A region's files are
// "<region>.crt" and "<region>.key".
const (
	caCertFile = "ca.crt"
	caKeyFile  = "ca.key"
)

// Validity of the certificates EnsurePKI issues. NotBefore is set a little in
// the past so that a peer whose clock is slightly behind accepts a new
// certificate.
const (
	caValidityYears     = 10
	regionValidityYears = 5
	backdate            = 5 * time.Minute
)

// File modes of a PKI directory and its files.
const (
	dirMode  fs.FileMode = 0o700
	keyMode  fs.FileMode = 0o600
	certMode fs.FileMode = 0o644
)

// EnsurePKI makes dir hold a CA and a certificate for each of regions. It
// creates dir (mode 0700) if missing, then the CA if ca.crt and ca.key are
// missing, then for each region that lacks them <region>.key (mode 0600) and
// <region>.crt, an ECDSA P-256 certificate signed by the CA, for common name
// region and DNS name [ServerName](region), usable to serve and to dial.
//
// Files already there are checked and never rewritten, so running it again
// changes nothing. A key without its certificate (a creation that was cut
// short) gets a new certificate for that key; a certificate without its key is
// an error, as is a region certificate that is not signed by the CA in dir
// ([ErrNotSignedByCA]), is for another region, has expired or does not match
// its key. Every problem is reported at once, each naming its file, and
// nothing is written unless all is well.
//
// EnsurePKI must not run concurrently on the same dir; if it does, one of the
// runs fails rather than replace a file the other wrote.
func EnsurePKI(dir string, regions []string) error {
	var errs []error
	for _, region := range regions {
		if err := checkRegion(region); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return fmt.Errorf("peer: create PKI directory: %w", err)
	}

	// Plan every file first, so that a problem with one region leaves the
	// directory as it was.
	now := time.Now()
	ca, pending, err := planCA(dir, now)
	if err != nil {
		return err
	}
	sorted := slices.Clone(regions)
	slices.Sort(sorted)
	for _, region := range slices.Compact(sorted) {
		files, err := planRegion(dir, region, ca, now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		pending = append(pending, files...)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}

	for _, f := range pending {
		if err := writeNewFile(f.path, f.data, f.mode); err != nil {
			return err
		}
	}
	if len(pending) > 0 {
		syncDir(dir)
	}
	return nil
}

// authority is the CA that signs region certificates.
type authority struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// pendingFile is a file EnsurePKI is to create. Keys come before their
// certificates, so that a run cut short leaves a key without a certificate,
// which the next run completes.
type pendingFile struct {
	path string
	data []byte
	mode fs.FileMode
}

// planCA loads the CA in dir, or makes one, returning the files still to
// write.
func planCA(dir string, now time.Time) (*authority, []pendingFile, error) {
	certPath, keyPath := filepath.Join(dir, caCertFile), filepath.Join(dir, caKeyFile)
	certPEM, haveCert, err := readIfExists(certPath)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, haveKey, err := readIfExists(keyPath)
	if err != nil {
		return nil, nil, err
	}
	if haveCert && !haveKey {
		return nil, nil, fmt.Errorf("peer: %s is missing but %s exists; without its key the CA cannot sign (move both away to make a new CA)", keyPath, certPath)
	}

	var pending []pendingFile
	ca := &authority{}
	if haveKey {
		if ca.key, err = parseKey(keyPEM); err != nil {
			return nil, nil, fmt.Errorf("peer: %s: %w", keyPath, err)
		}
	} else {
		if ca.key, keyPEM, err = newKey(); err != nil {
			return nil, nil, err
		}
		pending = append(pending, pendingFile{keyPath, keyPEM, keyMode})
	}

	if !haveCert {
		der, err := newCACert(ca.key, now)
		if err != nil {
			return nil, nil, err
		}
		pending = append(pending, pendingFile{certPath, encodePEM("CERTIFICATE", der), certMode})
		certPEM = pending[len(pending)-1].data
	}
	if ca.cert, err = parseCert(certPEM); err != nil {
		return nil, nil, fmt.Errorf("peer: %s: %w", certPath, err)
	}
	if err := checkCACert(ca.cert, now); err != nil {
		return nil, nil, fmt.Errorf("peer: %s: %w", certPath, err)
	}
	if !keyMatches(ca.cert, ca.key) {
		return nil, nil, fmt.Errorf("peer: %s does not match the key in %s", certPath, keyPath)
	}
	return ca, pending, nil
}

// planRegion checks the files of region in dir, returning those still to
// write.
func planRegion(dir, region string, ca *authority, now time.Time) ([]pendingFile, error) {
	certPath, keyPath := filepath.Join(dir, region+".crt"), filepath.Join(dir, region+".key")
	certPEM, haveCert, err := readIfExists(certPath)
	if err != nil {
		return nil, err
	}
	keyPEM, haveKey, err := readIfExists(keyPath)
	if err != nil {
		return nil, err
	}

	switch {
	case haveCert && !haveKey:
		return nil, fmt.Errorf("peer: %s is missing but %s exists (remove %s to issue a new one)", keyPath, certPath, certPath)
	case haveCert:
		cert, err := parseCert(certPEM)
		if err != nil {
			return nil, fmt.Errorf("peer: %s: %w", certPath, err)
		}
		key, err := parseKey(keyPEM)
		if err != nil {
			return nil, fmt.Errorf("peer: %s: %w", keyPath, err)
		}
		if err := checkRegionCert(cert, ca.cert, region, now); err != nil {
			return nil, fmt.Errorf("peer: %s: %w", certPath, err)
		}
		if !keyMatches(cert, key) {
			return nil, fmt.Errorf("peer: %s does not match the key in %s", certPath, keyPath)
		}
		return nil, nil
	}

	var pending []pendingFile
	var key crypto.Signer
	if haveKey {
		if key, err = parseKey(keyPEM); err != nil {
			return nil, fmt.Errorf("peer: %s: %w", keyPath, err)
		}
	} else {
		if key, keyPEM, err = newKey(); err != nil {
			return nil, err
		}
		pending = append(pending, pendingFile{keyPath, keyPEM, keyMode})
	}
	der, err := newRegionCert(ca, key.Public(), region, now)
	if err != nil {
		return nil, err
	}
	return append(pending, pendingFile{certPath, encodePEM("CERTIFICATE", der), certMode}), nil
}

// newKey makes an ECDSA P-256 key and its PEM (PKCS #8) encoding.
func newKey() (crypto.Signer, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("peer: generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("peer: encode key: %w", err)
	}
	return key, encodePEM("PRIVATE KEY", der), nil
}

// newCACert self-signs a CA certificate for key, valid for ten years.
func newCACert(key crypto.Signer, now time.Time) ([]byte, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "polyregion CA", Organization: []string{"polyregion"}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.AddDate(caValidityYears, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true, // it signs region certificates only
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("peer: create CA certificate: %w", err)
	}
	return der, nil
}

// newRegionCert issues the certificate of region for pub, valid for five
// years or until the CA expires, whichever comes first.
func newRegionCert(ca *authority, pub crypto.PublicKey, region string, now time.Time) ([]byte, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	notAfter := now.AddDate(regionValidityYears, 0, 0)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: region, Organization: []string{"polyregion"}},
		DNSNames:              []string{ServerName(region)},
		NotBefore:             now.Add(-backdate),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
	if err != nil {
		return nil, fmt.Errorf("peer: create certificate for region %q: %w", region, err)
	}
	return der, nil
}

// newSerial returns a random 127-bit serial number: positive, and at most 20
// bytes as RFC 5280 requires.
func newSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("peer: generate serial number: %w", err)
	}
	return serial.Add(serial, big.NewInt(1)), nil
}

// checkCACert reports whether cert can be the CA now.
func checkCACert(cert *x509.Certificate, now time.Time) error {
	if !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return errors.New("not a CA certificate")
	}
	if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return fmt.Errorf("CA certificate not valid now: valid from %s to %s",
			cert.NotBefore.Format(time.RFC3339), cert.NotAfter.Format(time.RFC3339))
	}
	return nil
}

// checkRegionCert reports whether cert is the certificate of region, signed
// by ca and valid now, with the usages a peer needs.
func checkRegionCert(cert, ca *x509.Certificate, region string, now time.Time) error {
	if err := cert.CheckSignatureFrom(ca); err != nil {
		return fmt.Errorf("%w: %w", ErrNotSignedByCA, err)
	}
	got, err := regionOf(cert)
	if err != nil {
		return err
	}
	if got != region {
		return fmt.Errorf("certificate is for region %q, not %q", got, region)
	}
	if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return fmt.Errorf("certificate not valid now: valid from %s to %s",
			cert.NotBefore.Format(time.RFC3339), cert.NotAfter.Format(time.RFC3339))
	}
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if !slices.Contains(cert.ExtKeyUsage, usage) {
			return errors.New("certificate lacks the server or client authentication usage")
		}
	}
	return nil
}

// keyMatches reports whether key is the private key of cert.
func keyMatches(cert *x509.Certificate, key crypto.Signer) bool {
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(cert.PublicKey)
}

// readIfExists returns the content of path and true, or false if there is no
// such file.
func readIfExists(path string) ([]byte, bool, error) {
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("peer: %w", err)
	}
	return data, true, nil
}

// readCert reads and parses the PEM certificate at path.
func readCert(path string) (*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("peer: %w", err)
	}
	cert, err := parseCert(data)
	if err != nil {
		return nil, fmt.Errorf("peer: %s: %w", path, err)
	}
	return cert, nil
}

// readKey reads and parses the PEM private key at path.
func readKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("peer: %w", err)
	}
	key, err := parseKey(data)
	if err != nil {
		return nil, fmt.Errorf("peer: %s: %w", path, err)
	}
	return key, nil
}

// parseCert parses the first PEM block of data, which must be a certificate.
func parseCert(data []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	return x509.ParseCertificate(block.Bytes)
}

// parseKey parses the first PEM block of data, which must be a private key in
// PKCS #8 or SEC 1 form.
func parseKey(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block is %q, not a private key", block.Type)
	}
	if err != nil {
		return nil, err
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported private key type %T", key)
	}
	return signer, nil
}

func encodePEM(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// writeNewFile creates path with data and mode, all at once: it writes a
// temporary file beside it and links it into place, which fails if path
// exists, so no file is ever replaced nor left half written.
func writeNewFile(path string, data []byte, mode fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("peer: create %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("peer: write %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("peer: %s appeared while EnsurePKI was creating it (is another run under way?): %w", path, err)
		}
		return fmt.Errorf("peer: create %s: %w", path, err)
	}
	return nil
}

// syncDir flushes the directory entries of dir to disk, as far as the
// platform allows; failing that, the files are still complete, only perhaps
// not yet durable.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
