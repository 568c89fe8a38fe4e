package awsapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// fuzzRequest is the request every FuzzVerify input is tried on; validAuthorization is its
// genuine Authorization header.
func fuzzRequest() *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://route53.example/2013-04-01/hostedzone?maxitems=1", nil)
	r.Header.Set("X-Amz-Date", signedTime.Format(amzDateFormat))
	return r
}

func validAuthorization(t testing.TB) string {
	r := fuzzRequest()
	signReq := r.Clone(context.Background())
	signReq.URL.Host = r.Host
	signReq.URL.Scheme = "http"
	signReq.RequestURI = ""
	creds := aws.Credentials{AccessKeyID: testAK, SecretAccessKey: testSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, signReq, emptySHA256, "route53", "us-east-1", signedTime); err != nil {
		t.Fatal(err)
	}
	return signReq.Header.Get("Authorization")
}

// FuzzVerify feeds arbitrary Authorization headers to Verify: it must never panic, must
// answer every failure with an *AuthError that does not reveal the secret, and must accept
// only headers that carry the genuine signature.
func FuzzVerify(f *testing.F) {
	valid := validAuthorization(f)
	f.Add(valid)
	f.Add(strings.ReplaceAll(valid, ", ", ","))
	f.Add(strings.Replace(valid, "Signature=", "Signature=0", 1))
	f.Add("AWS4-HMAC-SHA256 Credential=//////, SignedHeaders=;;, Signature=")
	f.Fuzz(func(t *testing.T, header string) {
		r := fuzzRequest()
		r.Header.Set("Authorization", header)
		id, err := Verify(r, "route53", testCreds, signedTime)
		if err != nil {
			var ae *AuthError
			if !errors.As(err, &ae) {
				t.Fatalf("Verify = %T %v, want *AuthError", err, err)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Fatalf("error reveals the secret: %v", err)
			}
			if ae.Status < 400 || ae.Status > 499 || ae.Code == "" || ae.Message == "" {
				t.Fatalf("incomplete AuthError %+v", ae)
			}
			return
		}
		got, perr := parseAuthorization(header)
		want, _ := parseAuthorization(valid)
		if perr != nil || got.signature != want.signature || id.AccessKeyID != testAK {
			t.Fatalf("Verify accepted %q", header)
		}
	})
}
