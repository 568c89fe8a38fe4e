package awsapi

import (
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
	if a.service == "s3" || r.URL.Path != "/" || r.URL.RawPath != "" || r.URL.RawQuery != "" {
		return "", false
	}
	amzDate := signedAt.UTC().Format(amzDateFormat)
	var b strings.Builder
	b.Grow(512)
	b.WriteString(r.Method)
	b.WriteString("\n/\n\n")
	hasDate := false
	for _, h := range a.signedHeaders {
		b.WriteString(h)
		b.WriteByte(':')
		switch h {
		case "host":
			if !plainValue(r.Host) || strings.HasSuffix(r.Host, ":80") || strings.HasSuffix(r.Host, ":443") {
				return "", false
			}
			b.WriteString(r.Host)
		case "content-length":
			if r.ContentLength <= 0 {
				return "", false
			}
			b.WriteString(strconv.FormatInt(r.ContentLength, 10))
		case "x-amz-date":
			// The SDK's signer sets X-Amz-Date from the signing time.
			b.WriteString(amzDate)
			hasDate = true
		case "authorization", "user-agent", "x-amzn-trace-id", "expect", "transfer-encoding", "x-amz-security-token":
			return "", false // the SDK's signer never signs these, or adds them itself
		default:
			values := r.Header.Values(h)
			if len(values) == 0 {
				return "", false
			}
			for i, v := range values {
				if !plainValue(v) {
					return "", false
				}
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(v)
			}
		}
		b.WriteByte('\n')
	}
	if !hasDate {
		return "", false // the SDK's signer would add it to the signed headers
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(a.signedHeaders, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	canonical := sha256.Sum256([]byte(b.String()))

	b.Reset()
	b.WriteString(algorithm + "\n")
	b.WriteString(amzDate)
	b.WriteByte('\n')
	b.WriteString(a.date + "/" + a.region + "/" + a.service + "/" + scopeTerminal + "\n")
	b.WriteString(hex.EncodeToString(canonical[:]))
	mac := hmac.New(sha256.New, signingKey(cred, a.date, a.region, a.service))
	mac.Write([]byte(b.String()))
	return hex.EncodeToString(mac.Sum(nil)), true
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
	m map[signerKey][]byte // signerKey.region holds "date/region"
}

func signingKey(c Credentials, date, region, service string) []byte {
	k := signerKey{c.AccessKeyID, c.SecretAccessKey, date + "/" + region, service}
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
		signingKeys.m = map[signerKey][]byte{}
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
