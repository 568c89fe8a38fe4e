package awsapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	testAK     = "AKIDPOLYREGIONTEST"
	testSecret = "s3cr3t/NEVER+shown+in+errors0123456789ab"
)

var (
	testCreds  = []Credentials{{AccessKeyID: "AKIDOTHER", SecretAccessKey: "other-secret"}, {AccessKeyID: testAK, SecretAccessKey: testSecret}}
	signedTime = time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
)

// verifier is an HTTP server that runs Verify on every request, with a clock the test sets,
// and records the outcome and the body the handler could read afterwards.
type verifier struct {
	*httptest.Server
	service string

	mu   sync.Mutex
	now  time.Time
	id   *Identity
	err  error
	body []byte
}

func newVerifier(t *testing.T, service string) *verifier {
	t.Helper()
	v := &verifier{service: service, now: signedTime}
	v.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v.mu.Lock()
		now := v.now
		v.mu.Unlock()
		id, err := Verify(r, v.service, testCreds, now)
		body, _ := io.ReadAll(r.Body)
		v.mu.Lock()
		v.id, v.err, v.body = id, err, body
		v.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(v.Close)
	return v
}

func (v *verifier) setNow(now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.now = now
}

// do sends req and returns what Verify said about it.
func (v *verifier) do(t *testing.T, req *http.Request) (*Identity, []byte, error) {
	t.Helper()
	resp, err := v.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.id, v.body, v.err
}

func hashOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// signed builds a request to the verifier signed by the SDK's signer.
func signed(t *testing.T, v *verifier, method, path string, body []byte, header http.Header, secret, region, service string, at time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, v.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(body) == 0 {
		req.Body = http.NoBody
		req.ContentLength = 0
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	payload := hashOf(body)
	if h := header.Get("X-Amz-Content-Sha256"); h != "" {
		payload = h // what the client declares is what it signs
	}
	creds := aws.Credentials{AccessKeyID: testAK, SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payload, service, region, at); err != nil {
		t.Fatal(err)
	}
	return req
}

func TestVerifyAcceptsSDKSignedRequests(t *testing.T) {
	v := newVerifier(t, "route53")
	for _, tc := range []struct {
		name, method, path, region string
		body                       []byte
		header                     http.Header
	}{
		{"get with query", http.MethodGet, "/2013-04-01/hostedzone?maxitems=2&marker=Z1", "us-east-1", nil, nil},
		{"polyregion region name", http.MethodGet, "/2013-04-01/hostedzone", "eu-west", nil, nil},
		{"post with body", http.MethodPost, "/2013-04-01/hostedzone/ZABC/rrset", "ap-southeast", []byte("<ChangeResourceRecordSetsRequest/>"),
			http.Header{"Content-Type": {"application/xml"}}},
		{"escaped path and query", http.MethodGet, "/2013-04-01/hostedzone/Z1/rrset?name=%2A.example.com.&type=A", "us-east-1", nil, nil},
		{"space in query", http.MethodGet, "/2013-04-01/testdnsanswer?recordname=a%20b&recordtype=TXT", "us-east-1", nil, nil},
		{"declared payload hash", http.MethodPost, "/x", "us-east-1", []byte("abc"), http.Header{"X-Amz-Content-Sha256": {hashOf([]byte("abc"))}}},
		{"unsigned payload", http.MethodPost, "/x", "us-east-1", []byte("abc"), http.Header{"X-Amz-Content-Sha256": {"UNSIGNED-PAYLOAD"}}},
		{"multi-valued header", http.MethodGet, "/x", "us-east-1", nil, http.Header{"X-Amz-Meta-Tag": {"a", "b  c"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := signed(t, v, tc.method, tc.path, tc.body, tc.header, testSecret, tc.region, "route53", signedTime)
			id, body, err := v.do(t, req)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if id.AccessKeyID != testAK || id.Region != tc.region || id.Service != "route53" || !id.SignedAt.Equal(signedTime) || id.Presigned {
				t.Errorf("identity = %+v", id)
			}
			if !bytes.Equal(body, tc.body) {
				t.Errorf("handler read body %q after Verify, want %q", body, tc.body)
			}
		})
	}
}

func TestVerifyRejectsTampering(t *testing.T) {
	v := newVerifier(t, "route53")
	body := []byte("<ChangeBatch><Changes/></ChangeBatch>")
	header := http.Header{"Content-Type": {"application/xml"}}
	fresh := func(t *testing.T) *http.Request {
		return signed(t, v, http.MethodPost, "/2013-04-01/hostedzone/Z1/rrset?a=1", body, header, testSecret, "us-east-1", "route53", signedTime)
	}
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T) *http.Request
		want   error
		code   string
	}{
		{"signed header", func(t *testing.T) *http.Request {
			r := fresh(t)
			r.Header.Set("Content-Type", "text/plain")
			return r
		}, ErrSignatureMismatch, "SignatureDoesNotMatch"},
		{"body", func(t *testing.T) *http.Request {
			r := fresh(t)
			b := bytes.Replace(body, []byte("Changes"), []byte("Chang3s"), 1)
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
			return r
		}, ErrSignatureMismatch, "SignatureDoesNotMatch"},
		{"path", func(t *testing.T) *http.Request {
			r := fresh(t)
			r.URL.Path = "/2013-04-01/hostedzone/Z2/rrset"
			return r
		}, ErrSignatureMismatch, "SignatureDoesNotMatch"},
		{"query", func(t *testing.T) *http.Request {
			r := fresh(t)
			r.URL.RawQuery = "a=2"
			return r
		}, ErrSignatureMismatch, "SignatureDoesNotMatch"},
		{"added query parameter", func(t *testing.T) *http.Request {
			r := fresh(t)
			r.URL.RawQuery += "&b=1"
			return r
		}, ErrSignatureMismatch, "SignatureDoesNotMatch"},
		{"method", func(t *testing.T) *http.Request {
			r := fresh(t)
			r.Method = http.MethodPut
			return r
		}, ErrSignatureMismatch, "SignatureDoesNotMatch"},
		{"date within the same day", func(t *testing.T) *http.Request {
			r := fresh(t)
			r.Header.Set("X-Amz-Date", signedTime.Add(time.Minute).Format(amzDateFormat))
			return r
		}, ErrSignatureMismatch, "SignatureDoesNotMatch"},
		{"date on another day than the scope", func(t *testing.T) *http.Request {
			r := fresh(t)
			r.Header.Set("X-Amz-Date", signedTime.Add(24*time.Hour).Format(amzDateFormat))
			return r
		}, ErrSignatureMismatch, "SignatureDoesNotMatch"},
		{"signature", func(t *testing.T) *http.Request {
			r := fresh(t)
			a := r.Header.Get("Authorization")
			last := a[len(a)-1]
			repl := byte('0')
			if last == '0' {
				repl = '1'
			}
			r.Header.Set("Authorization", a[:len(a)-1]+string(repl))
			return r
		}, ErrSignatureMismatch, "SignatureDoesNotMatch"},
		{"wrong secret", func(t *testing.T) *http.Request {
			return signed(t, v, http.MethodGet, "/x", nil, nil, "not-the-secret", "us-east-1", "route53", signedTime)
		}, ErrSignatureMismatch, "SignatureDoesNotMatch"},
		{"unknown access key", func(t *testing.T) *http.Request {
			r := fresh(t)
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), testAK, "AKIDUNKNOWN", 1))
			return r
		}, ErrUnknownAccessKey, "InvalidClientTokenId"},
		{"other service", func(t *testing.T) *http.Request {
			return signed(t, v, http.MethodGet, "/x", nil, nil, testSecret, "us-east-1", "s3", signedTime)
		}, ErrSignatureMismatch, "SignatureDoesNotMatch"},
		{"missing authorization", func(t *testing.T) *http.Request {
			r := fresh(t)
			r.Header.Del("Authorization")
			return r
		}, ErrMissingAuth, "MissingAuthenticationToken"},
		{"missing date", func(t *testing.T) *http.Request {
			r := fresh(t)
			r.Header.Del("X-Amz-Date")
			return r
		}, ErrMalformedAuth, "IncompleteSignature"},
		{"other algorithm", func(t *testing.T) *http.Request {
			r := fresh(t)
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), algorithm, "AWS4-ECDSA-P256-SHA256", 1))
			return r
		}, ErrMalformedAuth, "IncompleteSignature"},
		{"declared hash differs from the body", func(t *testing.T) *http.Request {
			h := http.Header{"X-Amz-Content-Sha256": {hashOf([]byte("something else"))}}
			return signed(t, v, http.MethodPost, "/x", body, h, testSecret, "us-east-1", "route53", signedTime)
		}, ErrContentSHA256Mismatch, "XAmzContentSHA256Mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := v.do(t, tc.tamper(t))
			checkAuthError(t, err, tc.want, tc.code)
		})
	}
}

func checkAuthError(t *testing.T, err, want error, code string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("Verify = %v, want %v", err, want)
	}
	var ae *AuthError
	if !errors.As(err, &ae) {
		t.Fatalf("Verify = %T, want *AuthError", err)
	}
	if ae.Code != code {
		t.Errorf("code %q, want %q", ae.Code, code)
	}
	if ae.Status != http.StatusForbidden && ae.Status != http.StatusBadRequest {
		t.Errorf("status %d", ae.Status)
	}
	if strings.Contains(err.Error(), testSecret) || strings.Contains(ae.Message, testSecret) {
		t.Errorf("error reveals the secret: %v", err)
	}
	if errors.Is(want, ErrSignatureMismatch) && ae.Message != SignatureMismatchMessage && !strings.Contains(ae.Message, "Credential") {
		t.Errorf("message %q, want AWS's wording", ae.Message)
	}
}

func TestVerifyClockSkew(t *testing.T) {
	v := newVerifier(t, "route53")
	for _, tc := range []struct {
		name   string
		offset time.Duration // server clock minus signing time
		ok     bool
		msg    string
	}{
		{"in sync", 0, true, ""},
		{"14 minutes late", 14 * time.Minute, true, ""},
		{"14 minutes early", -14 * time.Minute, true, ""},
		{"16 minutes late", 16 * time.Minute, false, "Signature expired: 20300506T070809Z is now earlier than"},
		{"16 minutes early", -16 * time.Minute, false, "Signature not yet current: 20300506T070809Z is still later than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v.setNow(signedTime.Add(tc.offset))
			_, _, err := v.do(t, signed(t, v, http.MethodGet, "/x", nil, nil, testSecret, "us-east-1", "route53", signedTime))
			if tc.ok {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			checkAuthError(t, err, ErrRequestExpired, "SignatureDoesNotMatch")
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q lacks %q", err, tc.msg)
			}
		})
	}
}

func TestVerifyPresigned(t *testing.T) {
	v := newVerifier(t, "route53")
	presign := func(t *testing.T, expires string) string {
		req, err := http.NewRequest(http.MethodGet, v.URL+"/2013-04-01/hostedzone?maxitems=1", nil)
		if err != nil {
			t.Fatal(err)
		}
		if expires != "" {
			q := req.URL.Query()
			q.Set("X-Amz-Expires", expires)
			req.URL.RawQuery = q.Encode()
		}
		creds := aws.Credentials{AccessKeyID: testAK, SecretAccessKey: testSecret}
		uri, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, emptySHA256, "route53", "eu-west", signedTime)
		if err != nil {
			t.Fatal(err)
		}
		return uri
	}
	get := func(t *testing.T, uri string) error {
		req, err := http.NewRequest(http.MethodGet, uri, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = v.do(t, req)
		return err
	}
	v.setNow(signedTime.Add(time.Minute))
	if err := get(t, presign(t, "300")); err != nil {
		t.Fatalf("presigned request: %v", err)
	}
	if id, _, _ := v.do(t, mustGet(t, presign(t, ""))); id == nil || !id.Presigned || id.Region != "eu-west" {
		t.Errorf("identity = %+v", id)
	}
	tampered := strings.Replace(presign(t, "300"), "maxitems=1", "maxitems=2", 1)
	checkAuthError(t, get(t, tampered), ErrSignatureMismatch, "SignatureDoesNotMatch")

	v.setNow(signedTime.Add(10 * time.Minute))
	checkAuthError(t, get(t, presign(t, "300")), ErrRequestExpired, "AccessDenied")

	u, _ := url.Parse(presign(t, "300"))
	q := u.Query()
	q.Set("X-Amz-Expires", "9999999")
	u.RawQuery = q.Encode()
	checkAuthError(t, get(t, u.String()), ErrMalformedAuth, "IncompleteSignature")
}

func mustGet(t *testing.T, uri string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, uri, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestVerifyBodyLimit(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/x", io.LimitReader(zeros{}, MaxVerifiedBody+10))
	r.Header.Set("X-Amz-Date", signedTime.Format(amzDateFormat))
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+testAK+"/20300506/us-east-1/route53/aws4_request, SignedHeaders=host;x-amz-date, Signature="+strings.Repeat("0", 64))
	_, err := Verify(r, "route53", testCreds, signedTime)
	if !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("Verify = %v, want ErrBodyTooLarge", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestParseAuthorization(t *testing.T) {
	good := "AWS4-HMAC-SHA256 Credential=AK/20300506/eu-west/route53/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + strings.Repeat("ab", 32)
	ak, region, service, err := ParseAuthorization(good)
	if err != nil || ak != "AK" || region != "eu-west" || service != "route53" {
		t.Fatalf("ParseAuthorization(good) = %q %q %q %v", ak, region, service, err)
	}
	for _, bad := range []string{
		"",
		"AWS4-HMAC-SHA256",
		"Bearer x",
		strings.Replace(good, "Credential=", "Credentials=", 1),
		strings.Replace(good, "/aws4_request", "/aws4", 1),
		strings.Replace(good, "20300506", "2030-05-06", 1),
		strings.Replace(good, "host;x-amz-date", "x-amz-date;host", 1),
		strings.Replace(good, "host;x-amz-date", "x-amz-date", 1),
		strings.Replace(good, "host;x-amz-date", "host;X-Amz-Date", 1),
		strings.Replace(good, "host;x-amz-date", "host;host", 1),
		good + ", Signature=" + strings.Repeat("ab", 32),
		good[:len(good)-1],
		strings.Replace(good, "ab", "AB", 1),
		strings.Replace(good, "Signature=", "Signature", 1),
	} {
		if _, _, _, err := ParseAuthorization(bad); !errors.Is(err, ErrMalformedAuth) {
			t.Errorf("ParseAuthorization(%q) = %v, want ErrMalformedAuth", bad, err)
		}
	}
}

func TestCredentialsStringHidesSecret(t *testing.T) {
	if s := (Credentials{AccessKeyID: "AK", SecretAccessKey: testSecret}).String(); strings.Contains(s, testSecret) {
		t.Errorf("String() = %q shows the secret", s)
	}
}
