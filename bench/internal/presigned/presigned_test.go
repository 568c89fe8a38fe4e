package presigned

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/polyregion/polyregion/internal/awsapi"
)

// TestSignedRequestVerifies: a request signed in advance and sent later carries its body
// and a signature that polyregion's own SigV4 verification accepts, each time it is sent.
func TestSignedRequestVerifies(t *testing.T) {
	creds := awsapi.Credentials{AccessKeyID: "AKPRTESTTESTTEST0001", SecretAccessKey: "test-secret-key-0123456789"}
	body := []byte(`{"TableName":"t","Key":{"pk":{"S":"a"}}}`)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := awsapi.Verify(r, "dynamodb", []awsapi.Credentials{creds}, time.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		got, _ := io.ReadAll(r.Body)
		if string(got) != string(body) || r.Header.Get("X-Amz-Target") != "DynamoDB_20120810.GetItem" {
			http.Error(w, "wrong request", http.StatusBadRequest)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer hs.Close()
	ctx := context.Background()
	req, err := Sign(ctx, v4.NewSigner(), aws.Credentials{AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey}, hs.URL, "GetItem", body, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		status, answer, err := req.Send(ctx, hs.Client(), hs.URL)
		if err != nil || status != http.StatusOK || string(answer) != "ok" {
			t.Fatalf("send: %d %q %v", status, answer, err)
		}
	}
}
