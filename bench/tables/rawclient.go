package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/polyregion/polyregion/bench/internal/presigned"
)

// rawClient sends GetItem requests signed in advance, one per record, over plain net/http
// (-client raw): a diagnostic of how much of the latency is the SDK client's, not a
// replacement of the benchmark's figures. Requests are signed once, at the start; both
// servers accept a signature for 15 minutes (dynalite does not check it).
type rawClient struct {
	endpoint string
	hc       *http.Client
	reqs     []presigned.Request // by record number
}

func newRawClient(s *server, clients, records int) (*rawClient, error) {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        2 * clients,
		MaxIdleConnsPerHost: 2 * clients,
		IdleConnTimeout:     5 * time.Minute,
	}
	c := &rawClient{endpoint: s.endpoint, hc: &http.Client{Transport: tr, Timeout: 10 * time.Second}, reqs: make([]presigned.Request, records)}
	signer := v4.NewSigner()
	creds := aws.Credentials{AccessKeyID: s.akid, SecretAccessKey: s.secret}
	now := time.Now()
	for n := range records {
		body := fmt.Appendf(nil, `{"TableName":%q,"Key":{"p":{"S":%q},"k":{"S":%q}}}`, tableName, group(n), key(n))
		r, err := presigned.Sign(context.Background(), signer, creds, s.endpoint, "GetItem", body, now)
		if err != nil {
			return nil, err
		}
		c.reqs[n] = r
	}
	return c, nil
}

// getItem sends the GetItem of record n and reads the answer.
func (c *rawClient) getItem(ctx context.Context, n int) error {
	status, b, err := c.reqs[n].Send(ctx, c.hc, c.endpoint)
	if err != nil {
		return err
	}
	if status != http.StatusOK || !bytes.Contains(b, []byte(`"field9"`)) {
		return fmt.Errorf("%s: status %d: %.200s", key(n), status, b)
	}
	return nil
}
