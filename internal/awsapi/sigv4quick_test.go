package awsapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"pgregory.net/rapid"
)

// quickServer records, for every request, whether quickSignature covered it and whether
// its signature is the client's (the SDK signer's).
type quickServer struct {
	*httptest.Server
	mu        sync.Mutex
	ok, equal bool
	err       error
}

func newQuickServer(t *testing.T) *quickServer {
	q := &quickServer{}
	q.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := parseAuthorization(r.Header.Get("Authorization"))
		var sig string
		var ok bool
		if err == nil {
			var hash string
			if hash, err = payloadHash(r, "dynamodb", false); err == nil {
				sig, ok = quickSignature(r, a, Credentials{AccessKeyID: testAK, SecretAccessKey: testSecret}, signedTime, hash)
			}
		}
		q.mu.Lock()
		q.ok, q.equal, q.err = ok, sig == a.signature, err
		q.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(q.Close)
	return q
}

func (q *quickServer) do(t interface {
	Fatal(...any)
	Helper()
}, req *http.Request) (ok, equal bool) {
	t.Helper()
	resp, err := q.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.err != nil {
		t.Fatal(q.err)
	}
	return q.ok, q.equal
}

// TestQuickSignatureMatchesSDK: the DynamoDB shape takes the quick path and gives the SDK
// signer's signature; shapes it does not cover are left to the SDK.
func TestQuickSignatureMatchesSDK(t *testing.T) {
	q := newQuickServer(t)
	v := &verifier{Server: q.Server}
	dynamo := http.Header{"X-Amz-Target": {"DynamoDB_20120810.GetItem"}, "Content-Type": {"application/x-amz-json-1.0"}}
	for _, tc := range []struct {
		name   string
		path   string
		body   []byte
		header http.Header
		quick  bool
	}{
		{"dynamodb", "/", []byte(`{"TableName":"t"}`), dynamo, true},
		{"multi-valued header", "/", []byte(`{}`), http.Header{"X-Amz-Meta-Tag": {"a", "b c"}}, true},
		{"empty body", "/", nil, dynamo, true},
		{"excess spaces", "/", []byte(`{}`), http.Header{"X-Amz-Meta-Tag": {"b  c"}}, false},
		{"path", "/x", []byte(`{}`), dynamo, false},
		{"query", "/?a=b", []byte(`{}`), dynamo, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := signed(t, v, http.MethodPost, tc.path, tc.body, tc.header, testSecret, "us-east-1", "dynamodb", signedTime)
			ok, equal := q.do(t, req)
			if ok != tc.quick {
				t.Fatalf("quick path taken: %v, want %v", ok, tc.quick)
			}
			if ok && !equal {
				t.Fatal("quick signature differs from the SDK signer's")
			}
		})
	}
}

// TestQuickSignatureProperty: whatever header values a client signs, the quick path either
// declines or gives the SDK signer's signature.
func TestQuickSignatureProperty(t *testing.T) {
	q := newQuickServer(t)
	v := &verifier{Server: q.Server}
	rapid.Check(t, func(rt *rapid.T) {
		value := rapid.StringMatching(`[ -~\t]{0,12}`).Draw(rt, "value")
		values := []string{value}
		if rapid.Bool().Draw(rt, "two") {
			values = append(values, rapid.StringMatching(`[ -~]{0,6}`).Draw(rt, "second"))
		}
		body := []byte(rapid.StringMatching(`[ -~]{0,20}`).Draw(rt, "body"))
		region := rapid.StringMatching(`[a-z0-9-]{1,12}`).Draw(rt, "region")
		req := signed(t, v, http.MethodPost, "/", body, http.Header{"X-Amz-Meta-V": values}, testSecret, region, "dynamodb", signedTime)
		if ok, equal := q.do(rt, req); ok && !equal {
			rt.Fatalf("quick signature differs from the SDK signer's for %q", values)
		}
	})
}

// BenchmarkVerify measures Verify on a GetItem request signed as the AWS SDK signs it (the
// quick path), body included:
//
//	go test -run XXX -bench Verify -benchmem ./internal/awsapi/
func BenchmarkVerify(b *testing.B) {
	body := []byte(`{"TableName":"usertable","Key":{"p":{"S":"g000000"},"k":{"S":"user0000000042"}}}`)
	r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8000/", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/x-amz-json-1.0")
	r.Header.Set("X-Amz-Target", "DynamoDB_20120810.GetItem")
	r.Header.Set("Amz-Sdk-Invocation-Id", "0b7a9a4e-2f0c-4a8e-9d3e-3f6d1c2b5a77")
	r.Header.Set("Amz-Sdk-Request", "attempt=1; max=1")
	sign := r.Clone(context.Background())
	sign.URL.Host, sign.URL.Scheme, sign.RequestURI = r.Host, "http", ""
	creds := aws.Credentials{AccessKeyID: testAK, SecretAccessKey: testSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, sign, hashOf(body), "dynamodb", "us-east-1", signedTime); err != nil {
		b.Fatal(err)
	}
	r.Header = sign.Header
	b.ReportAllocs()
	for b.Loop() {
		r.Body = io.NopCloser(bytes.NewReader(body))
		if _, err := Verify(r, "dynamodb", testCreds, signedTime); err != nil {
			b.Fatal(err)
		}
	}
}

// TestReadAll: readAll reads the whole body whatever length was declared, short, long,
// unknown or past what it allocates for in advance.
func TestReadAll(t *testing.T) {
	for _, n := range []int{0, 1, 511, 512, 513, 4096, maxPresized - 1, maxPresized, maxPresized + 1, 3 * maxPresized} {
		body := bytes.Repeat([]byte{'x'}, n)
		for _, declared := range []int64{-1, 0, int64(n), int64(n) / 2, int64(n) + 100} {
			got, err := readAll(bytes.NewReader(body), declared)
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("readAll(%d bytes, declared %d) = %d bytes, %v", n, declared, len(got), err)
			}
		}
	}
}
