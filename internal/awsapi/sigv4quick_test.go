package awsapi

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

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
