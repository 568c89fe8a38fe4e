// Package presigned sends DynamoDB JSON requests signed in advance, with the AWS SDK's
// SigV4 signer as the SDK would sign them, over plain net/http: the SDK's requests for a
// fraction of its client's CPU, for load generators that share the machine with the
// servers they measure. A signature is good for 15 minutes, longer than any run.
package presigned

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Request is one signed request.
type Request struct {
	body   []byte
	header http.Header
}

// Sign signs the DynamoDB operation op (such as "PutItem") with body, for the root of
// endpoint, in the SDK's default region us-east-1, at the time at.
func Sign(ctx context.Context, signer *v4.Signer, creds aws.Credentials, endpoint, op string, body []byte, at time.Time) (Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return Request{}, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
	sum := sha256.Sum256(body)
	if err := signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "dynamodb", "us-east-1", at); err != nil {
		return Request{}, err
	}
	return Request{body: body, header: req.Header}, nil
}

// Send sends r to the root of endpoint with hc and returns the answer's status and body.
func (r Request) Send(ctx context.Context, hc *http.Client, endpoint string) (status int, body []byte, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/", bytes.NewReader(r.body))
	if err != nil {
		return 0, nil, err
	}
	req.Header = r.header
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}
