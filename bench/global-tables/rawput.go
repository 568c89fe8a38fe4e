package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/polyregion/polyregion/bench/internal/presigned"
)

// putter writes item i of an open-loop run: key prefix + i, a 100-byte value.
type putter func(ctx context.Context, i int) error

// putter returns how the open-loop runs write n items to table in region, by -writer.
func (f *fleet) putter(ctx context.Context, cfg *config, region, table, prefix string, n int) (putter, error) {
	if cfg.writer == "sdk" {
		return sdkPutter(f.ddb[region], table, prefix), nil
	}
	return f.presignedPutter(ctx, region, table, prefix, n)
}

// sdkPutter writes through the AWS SDK's client.
func sdkPutter(c *dynamodb.Client, table, prefix string) putter {
	return func(ctx context.Context, i int) error {
		_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: fmt.Sprint(prefix, i)}, "v": &types.AttributeValueMemberS{Value: value}}})
		return err
	}
}

// presignedPutter signs all n PutItem requests of a run before it starts (SigV4, with the
// SDK's signer, as the SDK would sign them) and sends each over plain net/http when its
// slot comes: the same requests as sdkPutter's for a fraction of the load generator's CPU,
// which shares the machine with the fleet. Signatures are good for 15 minutes, longer than
// any run.
func (f *fleet) presignedPutter(ctx context.Context, region, table, prefix string, n int) (putter, error) {
	e, ok := f.ef.Region(region)
	if !ok {
		return nil, fmt.Errorf("no region %s in endpoints.json", region)
	}
	endpoint := e.Endpoints["dynamodb"]
	creds := aws.Credentials{AccessKeyID: f.ef.Credentials.AccessKeyID, SecretAccessKey: f.ef.Credentials.SecretAccessKey}
	signer := v4.NewSigner()
	now := time.Now()
	reqs := make([]presigned.Request, n)
	for i := range reqs {
		body, err := json.Marshal(map[string]any{"TableName": table, "Item": map[string]any{
			"pk": map[string]string{"S": fmt.Sprint(prefix, i)}, "v": map[string]string{"S": value}}})
		if err != nil {
			return nil, err
		}
		if reqs[i], err = presigned.Sign(ctx, signer, creds, endpoint, "PutItem", body, now); err != nil {
			return nil, err
		}
	}
	return func(ctx context.Context, i int) error {
		status, b, err := reqs[i].Send(ctx, f.raw, endpoint)
		if err != nil {
			return err
		}
		if status != http.StatusOK {
			return fmt.Errorf("PutItem %s%d: status %d: %.200s", prefix, i, status, b)
		}
		return nil
	}, nil
}
