package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// rawClient sends GetItem requests signed in advance, one per record, over plain net/http
// (-client raw): a diagnostic of how much of the latency is the SDK client's, not a
// replacement of the benchmark's figures. Requests are signed once, at the start; both
// servers accept a signature for 15 minutes (dynalite does not check it).
type rawClient struct {
	endpoint string
	hc       *http.Client
	reqs     []rawRequest // by record number
}

type rawRequest struct {
	body   []byte
	header http.Header
}

func newRawClient(s *server, clients, records int) (*rawClient, error) {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        2 * clients,
		MaxIdleConnsPerHost: 2 * clients,
		IdleConnTimeout:     5 * time.Minute,
	}
	c := &rawClient{endpoint: s.endpoint, hc: &http.Client{Transport: tr, Timeout: 10 * time.Second}, reqs: make([]rawRequest, records)}
	signer := v4.NewSigner()
	creds := aws.Credentials{AccessKeyID: s.akid, SecretAccessKey: s.secret}
	now := time.Now()
	for n := range records {
		body := fmt.Appendf(nil, `{"TableName":%q,"Key":{"p":{"S":%q},"k":{"S":%q}}}`, tableName, group(n), key(n))
		req, err := http.NewRequest(http.MethodPost, s.endpoint+"/", bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		req.Header.Set("X-Amz-Target", "DynamoDB_20120810.GetItem")
		sum := sha256.Sum256(body)
		if err := signer.SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "dynamodb", "us-east-1", now); err != nil {
			return nil, err
		}
		c.reqs[n] = rawRequest{body: body, header: req.Header}
	}
	return c, nil
}

// getItem sends the GetItem of record n and reads the answer.
func (c *rawClient) getItem(ctx context.Context, n int) error {
	r := c.reqs[n]
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/", bytes.NewReader(r.body))
	if err != nil {
		return err
	}
	req.Header = r.header
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte(`"field9"`)) {
		return fmt.Errorf("%s: status %d: %.200s", key(n), resp.StatusCode, b)
	}
	return nil
}
