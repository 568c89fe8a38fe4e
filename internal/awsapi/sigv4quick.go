package awsapi

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// quickSignature computes the SigV4 signature of a request signed in its Authorization
// header, for the common shape of the JSON APIs' requests: path "/", no query, signed
// headers that the SDK's signer would sign the same way (host without a default port,
// x-amz-date, content-length when the body is not empty, values without excess spaces),
// not S3. It reports false for anything else, which Verify then gives to the SDK's signer:
// where it answers, it gives the signature the SDK's signer gives, without re-building the
// request, and with the day's signing key cached.
func quickSignature(r *http.Request, a authorization, cred Credentials, signedAt time.Time, payloadHash string) (string, bool) {
	var sum [sha256.Size]byte
	if !quickSum(r, a, cred, signedAt, payloadHash, &sum) {
		return "", false
	}
	return hex.EncodeToString(sum[:]), true
}

// quickScratch is the reusable state of quickSum: the text being hashed and the hashes.
type quickScratch struct {
	buf    []byte
	sha    hash.Hash
	mac    hash.Hash // keyed with macKey
	macKey []byte
	digest [sha256.Size]byte
}

var quickScratches = sync.Pool{New: func() any { return &quickScratch{buf: make([]byte, 0, 1024), sha: sha256.New()} }}

// maxQuickBuffer is the largest canonical request whose buffer is kept for the next one.
const maxQuickBuffer = 16 << 10

// quickSum writes the signature quickSignature computes, as bytes, to sum; it reports false
// for the requests quickSignature does not cover. It allocates nothing in the common case.
func quickSum(r *http.Request, a authorization, cred Credentials, signedAt time.Time, payloadHash string, sum *[sha256.Size]byte) bool {
	if a.service == "s3" || r.URL.Path != "/" || r.URL.RawPath != "" || r.URL.RawQuery != "" {
		return false
	}
	var dateBuf [len(amzDateFormat)]byte
	amzDate := signedAt.UTC().AppendFormat(dateBuf[:0], amzDateFormat)
	s := quickScratches.Get().(*quickScratch)
	defer func() {
		if cap(s.buf) > maxQuickBuffer {
			s.buf = make([]byte, 0, 1024)
		}
		quickScratches.Put(s)
	}()
	b := append(s.buf[:0], r.Method...)
	b = append(b, "\n/\n\n"...)
	hasDate := false
	for _, h := range a.signedHeaders {
		b = append(b, h...)
		b = append(b, ':')
		switch h {
		case "host":
			if !plainValue(r.Host) || strings.HasSuffix(r.Host, ":80") || strings.HasSuffix(r.Host, ":443") {
				return false
			}
			b = append(b, r.Host...)
		case "content-length":
			if r.ContentLength <= 0 {
				return false
			}
			b = strconv.AppendInt(b, r.ContentLength, 10)
		case "x-amz-date":
			// The SDK's signer sets X-Amz-Date from the signing time.
			b = append(b, amzDate...)
			hasDate = true
		case "authorization", "user-agent", "x-amzn-trace-id", "expect", "transfer-encoding", "x-amz-security-token":
			return false // the SDK's signer never signs these, or adds them itself
		default:
			values := headerValues(r.Header, h)
			if len(values) == 0 {
				return false
			}
			for i, v := range values {
				if !plainValue(v) {
					return false
				}
				if i > 0 {
					b = append(b, ',')
				}
				b = append(b, v...)
			}
		}
		b = append(b, '\n')
	}
	if !hasDate {
		return false // the SDK's signer would add it to the signed headers
	}
	b = append(b, '\n')
	b = append(b, a.signedHeadersList...)
	b = append(b, '\n')
	b = append(b, payloadHash...)
	s.sha.Reset()
	s.sha.Write(b)
	canonical := s.sha.Sum(s.digest[:0])

	b = append(b[:0], algorithm+"\n"...)
	b = append(b, amzDate...)
	b = append(b, '\n')
	b = append(b, a.date...)
	b = append(b, '/')
	b = append(b, a.region...)
	b = append(b, '/')
	b = append(b, a.service...)
	b = append(b, "/"+scopeTerminal+"\n"...)
	b = hex.AppendEncode(b, canonical)
	key := signingKey(cred, a.date, a.region, a.service)
	if s.mac == nil || !bytes.Equal(s.macKey, key) {
		s.mac, s.macKey = hmac.New(sha256.New, key), key
	} else {
		s.mac.Reset()
	}
	s.mac.Write(b)
	copy(sum[:], s.mac.Sum(s.digest[:0])) // (sum itself would escape to the heap through the interface)
	s.buf = b
	return true
}

// headerValues is h.Values(name) for a lower-case header name, without allocating the
// canonical form of the name (textproto.CanonicalMIMEHeaderKey does).
func headerValues(h http.Header, name string) []string {
	var buf [64]byte
	if len(name) > len(buf) || !validHeaderName(name) {
		return h.Values(name)
	}
	k := buf[:len(name)]
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		} else if !upper && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		k[i] = c
		upper = c == '-'
	}
	return h[string(k)]
}

// plainValue reports whether a header value is its own canonical form: no leading or
// trailing white space, no run of spaces, only printable ASCII.
func plainValue(v string) bool {
	if v == "" || v[0] == ' ' || v[len(v)-1] == ' ' {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x21 && !(c == ' ' && v[i+1] != ' ') || c > 0x7e {
			return false
		}
	}
	return true
}

// signingKeys caches the day's signing keys: HMAC chains of the secret over the date,
// region, service and "aws4_request". Regions are chosen by the client, hence the bound.
var signingKeys struct {
	sync.Mutex
	m map[scopeKey][]byte
}

// scopeKey identifies a signing key: the credentials and the credential scope.
type scopeKey struct{ accessKeyID, secret, date, region, service string }

func signingKey(c Credentials, date, region, service string) []byte {
	k := scopeKey{c.AccessKeyID, c.SecretAccessKey, date, region, service}
	signingKeys.Lock()
	key, ok := signingKeys.m[k]
	signingKeys.Unlock()
	if ok {
		return key
	}
	key = hmacSHA256([]byte("AWS4"+c.SecretAccessKey), date)
	key = hmacSHA256(key, region)
	key = hmacSHA256(key, service)
	key = hmacSHA256(key, scopeTerminal)
	signingKeys.Lock()
	if signingKeys.m == nil || len(signingKeys.m) >= maxSigners {
		signingKeys.m = map[scopeKey][]byte{}
	}
	signingKeys.m[k] = key
	signingKeys.Unlock()
	return key
}

func hmacSHA256(key []byte, data string) []byte {
	var h hash.Hash = hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}
