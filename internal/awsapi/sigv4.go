package awsapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Credentials are one access key an API accepts.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
}

// String never shows the secret.
func (c Credentials) String() string { return "Credentials{AccessKeyID: " + c.AccessKeyID + "}" }

// Identity is who signed a request that [Verify] accepted, and how.
type Identity struct {
	AccessKeyID string
	// Region and Service are the credential scope's. Region is whatever the client was
	// configured with; it is not checked.
	Region  string
	Service string
	// SignedAt is the request's X-Amz-Date.
	SignedAt time.Time
	// Presigned is true for query-string authentication (a presigned URL).
	Presigned bool
}

// Limits of verification.
const (
	// MaxClockSkew is how far a request's X-Amz-Date may lie from the server's clock.
	MaxClockSkew = 15 * time.Minute
	// MaxPresignExpiry is the longest X-Amz-Expires a presigned request may carry (7 days).
	MaxPresignExpiry = 7 * 24 * time.Hour
	// MaxVerifiedBody is the largest body Verify reads to hash it. Bodies of requests that
	// declare X-Amz-Content-Sha256 UNSIGNED-PAYLOAD or STREAMING-* are never read.
	MaxVerifiedBody = 32 << 20
)

const (
	algorithm     = "AWS4-HMAC-SHA256"
	amzDateFormat = "20060102T150405Z"
	scopeTerminal = "aws4_request"
	// emptySHA256 is the hex SHA-256 of an empty body.
	emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// authorization is the parsed Authorization header (or presigned query).
type authorization struct {
	accessKeyID   string
	date          string // yyyymmdd of the credential scope
	region        string
	service       string
	signedHeaders []string
	// signedHeadersList is signedHeaders as the request gives them: joined with ";".
	signedHeadersList string
	signature         string
}

// ParseAuthorization parses a SigV4 Authorization header value:
//
//	AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/route53/aws4_request, SignedHeaders=host;x-amz-date, Signature=<64 hex>
//
// It returns an error wrapping [ErrMalformedAuth] for anything else.
func ParseAuthorization(header string) (accessKeyID, region, service string, err error) {
	a, err := parseAuthorization(header)
	if err != nil {
		return "", "", "", err
	}
	return a.accessKeyID, a.region, a.service, nil
}

func parseAuthorization(header string) (authorization, error) {
	alg, rest, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || alg != algorithm {
		return authorization{}, malformed("Authorization header must use the %s algorithm", algorithm)
	}
	// The three components, in this order: Credential, SignedHeaders, Signature.
	names := [3]string{"Credential", "SignedHeaders", "Signature"}
	var values [3]string
	var seen [3]bool
	for part := range strings.SplitSeq(rest, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return authorization{}, malformed("Authorization header component %q is not key=value", clip(part))
		}
		i := 0
		for i < len(names) && names[i] != k {
			i++
		}
		if i == len(names) {
			return authorization{}, malformed("Authorization header has an unknown component %q", clip(k))
		}
		if seen[i] {
			return authorization{}, malformed("Authorization header repeats %s", k)
		}
		values[i], seen[i] = v, true
	}
	for i, k := range names {
		if !seen[i] {
			return authorization{}, malformed("Authorization header requires '%s' parameter", k)
		}
	}
	return buildAuthorization(values[0], values[1], values[2])
}

func buildAuthorization(credential, signedHeaders, signature string) (authorization, error) {
	var a authorization
	var parts [5]string
	if strings.Count(credential, "/") == len(parts)-1 {
		rest := credential
		for i := range len(parts) - 1 {
			parts[i], rest, _ = strings.Cut(rest, "/")
		}
		parts[len(parts)-1] = rest
	}
	if parts[0] == "" || parts[2] == "" || parts[3] == "" || parts[4] != scopeTerminal {
		return a, malformed("Credential must have the form <access key>/<yyyymmdd>/<region>/<service>/%s", scopeTerminal)
	}
	if _, err := time.Parse("20060102", parts[1]); err != nil || len(parts[1]) != 8 {
		return a, malformed("Credential has an invalid date %q", clip(parts[1]))
	}
	a.accessKeyID, a.date, a.region, a.service = parts[0], parts[1], parts[2], parts[3]
	if signedHeaders == "" {
		return a, malformed("SignedHeaders is empty")
	}
	a.signedHeaders, a.signedHeadersList = strings.Split(signedHeaders, ";"), signedHeaders
	hasHost := false
	for i, h := range a.signedHeaders {
		if !validHeaderName(h) || strings.ToLower(h) != h {
			return a, malformed("SignedHeaders has an invalid header name %q", clip(h))
		}
		if i > 0 && a.signedHeaders[i-1] >= h {
			return a, malformed("SignedHeaders must be sorted and without duplicates")
		}
		hasHost = hasHost || h == "host"
	}
	if !hasHost {
		return a, malformed("SignedHeaders must include host")
	}
	if len(signature) != 64 || !isLowerHex(signature) {
		return a, malformed("Signature must be 64 lower-case hexadecimal digits")
	}
	a.signature = signature
	return a, nil
}

// Verify checks a request's Signature Version 4 authentication — the Authorization header,
// or a presigned query string (X-Amz-Algorithm and friends) — against creds, for service.
// X-Amz-Date must lie within [MaxClockSkew] of now. The region of the credential scope may
// be anything. When the body's hash is needed (no X-Amz-Content-Sha256, or a hex one that
// must be checked), Verify reads the body, up to [MaxVerifiedBody], and restores r.Body.
//
// Every failure is an [*AuthError]; test its kind with errors.Is against the sentinels.
func Verify(r *http.Request, service string, creds []Credentials, now time.Time) (*Identity, error) {
	if r.URL.RawQuery != "" { // most API requests have none: no need to parse it
		query := r.URL.Query()
		if query.Has("X-Amz-Algorithm") || query.Has("X-Amz-Signature") {
			if r.Header.Get("Authorization") != "" {
				return nil, malformed("a request may carry only one of an Authorization header and a presigned query string")
			}
			return verifyPresigned(r, query, service, creds, now)
		}
	}
	values := r.Header.Values("Authorization")
	switch len(values) {
	case 0:
		return nil, &AuthError{Err: ErrMissingAuth, Code: "MissingAuthenticationToken", Status: http.StatusForbidden,
			Message: "Missing Authentication Token"}
	case 1:
	default:
		return nil, malformed("the request has more than one Authorization header")
	}
	a, err := parseAuthorization(values[0])
	if err != nil {
		return nil, err
	}
	amzDate := r.Header.Get("X-Amz-Date")
	if amzDate == "" {
		return nil, malformed("Authorization header requires existence of a 'X-Amz-Date' header")
	}
	signedAt, err := checkScope(a, amzDate, service, r.Header.Values("X-Amz-Date"))
	if err != nil {
		return nil, err
	}
	cred, err := lookup(creds, a.accessKeyID)
	if err != nil {
		return nil, err
	}
	if err := checkSkew(signedAt, amzDate, now); err != nil {
		return nil, err
	}
	payloadHash, err := payloadHash(r, service, false)
	if err != nil {
		return nil, err
	}
	identity := &Identity{AccessKeyID: a.accessKeyID, Region: a.region, Service: a.service, SignedAt: signedAt}
	var sum, want [sha256.Size]byte
	if quickSum(r, a, cred, signedAt, payloadHash, &sum) {
		// a.signature is 64 lower-case hex digits (buildAuthorization checked).
		if decodeHex(want[:], a.signature) && subtle.ConstantTimeCompare(sum[:], want[:]) == 1 {
			return identity, nil
		}
	}
	// Anything quickSignature does not cover, and every signature that differs, goes
	// through the SDK's signer, which also words the error.
	req, err := canonicalTwin(r, a.signedHeaders, r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	signer := signerFor(cred, a.region, a.service)
	if err := signer.SignHTTP(context.Background(), awsCreds(cred), req, payloadHash, a.service, a.region, signedAt, signerOptions(service)); err != nil {
		return nil, mismatch("signing failed: %v", err)
	}
	recomputed, err := parseAuthorization(req.Header.Get("Authorization"))
	if err != nil {
		return nil, mismatch("recomputed authorization unparsable: %v", err)
	}
	if err := compare(a, recomputed); err != nil {
		return nil, err
	}
	return identity, nil
}

// signers holds an SDK signer per access key, secret, region and service. A signer derives
// the day's signing key (four HMAC-SHA256) once and keeps it; a new signer per request would
// derive it for every request. The signer's own cache is keyed by access key, region and
// service only, hence one signer per secret; and by the client's region, hence the bound.
var signers struct {
	sync.Mutex
	m map[signerKey]*v4.Signer
}

type signerKey struct{ accessKeyID, secret, region, service string }

// maxSigners bounds signers: past it the map starts again (regions are client-chosen).
const maxSigners = 256

func signerFor(c Credentials, region, service string) *v4.Signer {
	k := signerKey{c.AccessKeyID, c.SecretAccessKey, region, service}
	signers.Lock()
	defer signers.Unlock()
	if s, ok := signers.m[k]; ok {
		return s
	}
	if signers.m == nil || len(signers.m) >= maxSigners {
		signers.m = map[signerKey]*v4.Signer{}
	}
	s := v4.NewSigner()
	signers.m[k] = s
	return s
}

// verifyPresigned checks query-string authentication.
func verifyPresigned(r *http.Request, query url.Values, service string, creds []Credentials, now time.Time) (*Identity, error) {
	for _, k := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature"} {
		if len(query[k]) != 1 || query.Get(k) == "" {
			return nil, malformed("a presigned request needs exactly one %s query parameter", k)
		}
	}
	if query.Get("X-Amz-Algorithm") != algorithm {
		return nil, malformed("X-Amz-Algorithm must be %s", algorithm)
	}
	a, err := buildAuthorization(query.Get("X-Amz-Credential"), query.Get("X-Amz-SignedHeaders"), query.Get("X-Amz-Signature"))
	if err != nil {
		return nil, err
	}
	amzDate := query.Get("X-Amz-Date")
	signedAt, err := checkScope(a, amzDate, service, nil)
	if err != nil {
		return nil, err
	}
	expires := 15 * time.Minute
	if query.Has("X-Amz-Expires") {
		n, err := strconv.Atoi(query.Get("X-Amz-Expires"))
		if err != nil || n < 1 || time.Duration(n)*time.Second > MaxPresignExpiry {
			return nil, malformed("X-Amz-Expires must be a number of seconds from 1 to %d", int(MaxPresignExpiry/time.Second))
		}
		expires = time.Duration(n) * time.Second
	}
	cred, err := lookup(creds, a.accessKeyID)
	if err != nil {
		return nil, err
	}
	if signedAt.After(now.Add(MaxClockSkew)) {
		return nil, skewed("Request is not yet valid: %s is later than %s + 15 min.", amzDate, now.UTC().Format(amzDateFormat))
	}
	if now.After(signedAt.Add(expires)) {
		return nil, &AuthError{Err: ErrRequestExpired, Code: "AccessDenied", Status: http.StatusForbidden, Message: "Request has expired"}
	}
	payloadHash, err := payloadHash(r, service, true)
	if err != nil {
		return nil, err
	}
	rest := url.Values{}
	for k, v := range query {
		if k != "X-Amz-Signature" {
			rest[k] = v
		}
	}
	req, err := canonicalTwin(r, a.signedHeaders, rest.Encode())
	if err != nil {
		return nil, err
	}
	signer := v4.NewSigner()
	uri, _, err := signer.PresignHTTP(context.Background(), awsCreds(cred), req, payloadHash, a.service, a.region, signedAt,
		signerOptions(service), func(o *v4.SignerOptions) { o.DisableHeaderHoisting = true })
	if err != nil {
		return nil, mismatch("presigning failed: %v", err)
	}
	u, err := url.Parse(uri)
	if err != nil {
		return nil, mismatch("recomputed presigned URL unparsable: %v", err)
	}
	q := u.Query()
	recomputed, err := buildAuthorization(q.Get("X-Amz-Credential"), q.Get("X-Amz-SignedHeaders"), q.Get("X-Amz-Signature"))
	if err != nil {
		return nil, mismatch("recomputed presigned query unparsable: %v", err)
	}
	if err := compare(a, recomputed); err != nil {
		return nil, err
	}
	return &Identity{AccessKeyID: a.accessKeyID, Region: a.region, Service: a.service, SignedAt: signedAt, Presigned: true}, nil
}

// checkScope parses X-Amz-Date and checks it and the service against the credential scope.
func checkScope(a authorization, amzDate, service string, all []string) (time.Time, error) {
	if len(all) > 1 {
		return time.Time{}, malformed("the request has more than one X-Amz-Date header")
	}
	signedAt, err := time.Parse(amzDateFormat, amzDate)
	if err != nil {
		return time.Time{}, malformed("X-Amz-Date %q is not in the form yyyymmddThhmmssZ", clip(amzDate))
	}
	if a.date != amzDate[:8] {
		return time.Time{}, scopeError("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			a.date, amzDate[:8], amzDate)
	}
	if a.service != service {
		return time.Time{}, scopeError("Credential should be scoped to correct service: '%s'.", service)
	}
	return signedAt, nil
}

func checkSkew(signedAt time.Time, amzDate string, now time.Time) error {
	now = now.UTC()
	switch {
	case signedAt.Before(now.Add(-MaxClockSkew)):
		return skewed("Signature expired: %s is now earlier than %s (%s - 15 min.)",
			amzDate, now.Add(-MaxClockSkew).Format(amzDateFormat), now.Format(amzDateFormat))
	case signedAt.After(now.Add(MaxClockSkew)):
		return skewed("Signature not yet current: %s is still later than %s (%s + 15 min.)",
			amzDate, now.Add(MaxClockSkew).Format(amzDateFormat), now.Format(amzDateFormat))
	}
	return nil
}

func lookup(creds []Credentials, accessKeyID string) (Credentials, error) {
	for _, c := range creds {
		if c.AccessKeyID == accessKeyID && c.AccessKeyID != "" {
			return c, nil
		}
	}
	return Credentials{}, &AuthError{Err: ErrUnknownAccessKey, Code: "InvalidClientTokenId", Status: http.StatusForbidden,
		Message: "The security token included in the request is invalid."}
}

// payloadHash returns the hash the signature covers: X-Amz-Content-Sha256 when given (a hex
// hash there is checked against the body), else the body's SHA-256 (presigned S3 requests:
// UNSIGNED-PAYLOAD).
func payloadHash(r *http.Request, service string, presigned bool) (string, error) {
	declared := r.Header.Get("X-Amz-Content-Sha256")
	if declared != "" && !(len(declared) == 64 && isLowerHex(declared)) {
		// UNSIGNED-PAYLOAD, STREAMING-*: the body is not covered here.
		return declared, nil
	}
	if declared == "" && presigned && service == "s3" {
		return "UNSIGNED-PAYLOAD", nil
	}
	sum, err := hashBody(r)
	if err != nil {
		return "", err
	}
	if declared != "" && declared != sum {
		return "", &AuthError{Err: ErrContentSHA256Mismatch, Code: "XAmzContentSHA256Mismatch", Status: http.StatusBadRequest,
			Message: "The provided 'x-amz-content-sha256' header does not match what was computed."}
	}
	return sum, nil
}

// hashBody reads the body (restoring it) and returns its hex SHA-256.
func hashBody(r *http.Request) (string, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return emptySHA256, nil
	}
	b, err := readAll(io.LimitReader(r.Body, MaxVerifiedBody+1), r.ContentLength)
	if err != nil {
		return "", &AuthError{Err: ErrMalformedAuth, Code: "IncompleteSignature", Status: http.StatusBadRequest,
			Message: "The request body could not be read.", Detail: err.Error()}
	}
	if len(b) > MaxVerifiedBody {
		return "", &AuthError{Err: ErrBodyTooLarge, Code: "RequestEntityTooLarge", Status: http.StatusRequestEntityTooLarge,
			Message: fmt.Sprintf("The request body is larger than %d bytes.", MaxVerifiedBody)}
	}
	body := &bodyReader{}
	body.Reset(b)
	r.Body = body
	sum := sha256.Sum256(b)
	var h [2 * sha256.Size]byte
	hex.Encode(h[:], sum[:])
	return string(h[:]), nil
}

// maxPresized is the largest declared body length readAll allocates for before reading.
const maxPresized = 64 << 10

// bodyReader is the body hashBody puts back: io.NopCloser(bytes.NewReader(b)) in one
// allocation.
type bodyReader struct{ bytes.Reader }

func (*bodyReader) Close() error { return nil }

// readAll is io.ReadAll with a first buffer sized for the declared length (size; 0 or less:
// unknown), up to maxPresized, so that a body is read into one allocation rather than grown
// into several. The bound keeps an unauthenticated client from reserving memory by only
// declaring a length: past it, the buffer grows as the body arrives.
func readAll(r io.Reader, size int64) ([]byte, error) {
	n := int64(512)
	if size > 0 && size < maxPresized {
		n = size + 1 // +1: room to see the end without growing
	}
	b := make([]byte, 0, n)
	for {
		m, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+m]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// canonicalTwin returns a request with r's method, host, path and the given query, and only
// the headers the client signed, for the SDK's signer to sign again.
func canonicalTwin(r *http.Request, signed []string, rawQuery string) (*http.Request, error) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	req := &http.Request{
		Method: r.Method,
		URL:    &url.URL{Scheme: scheme, Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: rawQuery},
		Host:   r.Host,
		Header: http.Header{},
	}
	for _, h := range signed {
		switch h {
		case "host":
			continue
		case "content-length":
			req.ContentLength = r.ContentLength
			continue
		}
		values := r.Header.Values(h)
		if len(values) == 0 {
			return nil, mismatch("signed header %q is not in the request", h)
		}
		req.Header[textproto.CanonicalMIMEHeaderKey(h)] = values
	}
	return req, nil
}

// compare checks the recomputed signature against the client's, in constant time.
func compare(got, want authorization) error {
	if strings.Join(got.signedHeaders, ";") != strings.Join(want.signedHeaders, ";") {
		return mismatch("the client signed headers %q; this verifier can sign only %q (user-agent, expect, "+
			"transfer-encoding and x-amzn-trace-id are never signed)", strings.Join(got.signedHeaders, ";"), strings.Join(want.signedHeaders, ";"))
	}
	if subtle.ConstantTimeCompare([]byte(got.signature), []byte(want.signature)) != 1 {
		return mismatch("signature differs")
	}
	return nil
}

func awsCreds(c Credentials) aws.Credentials {
	return aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, Source: "polyregion"}
}

// signerOptions mirrors the client side: S3 does not escape the path a second time.
func signerOptions(service string) func(*v4.SignerOptions) {
	return func(o *v4.SignerOptions) {
		o.DisableURIPathEscaping = service == "s3"
	}
}

func validHeaderName(h string) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// decodeHex decodes the hexadecimal s into dst, which must be half its length; it reports
// whether s was that.
func decodeHex(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, ok1 := hexDigit(s[2*i])
		lo, ok2 := hexDigit(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// clip shortens client-supplied text quoted in an error.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
