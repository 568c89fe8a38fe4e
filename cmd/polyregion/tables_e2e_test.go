package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/polyregion/polyregion/internal/app"
	"github.com/polyregion/polyregion/internal/testutil/awstest"
)

func dynamoClient(ef *app.EndpointsFile, region string) *dynamodb.Client {
	r, _ := ef.Region(region)
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(r.Endpoints["dynamodb"]),
		Credentials:  credentials.NewStaticCredentialsProvider(ef.Credentials.AccessKeyID, ef.Credentials.SecretAccessKey, ""),
		Retryer:      awstest.Retryer(), // retries only a closed connection (a client-side race)
	})
}

// TestTablesWithUp: the AWS CLI and boto3 reach a region's tables, and kill -9 during a
// write load loses no acknowledged write.
func TestTablesWithUp(t *testing.T) {
	dir := t.TempDir()
	startUp(t, dir)
	waitFor(t, 20*time.Second, func() error {
		_, err := os.Stat(filepath.Join(dir, "endpoints.json"))
		return err
	})
	ef, err := app.ReadEndpointsFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	eu, _ := ef.Region("eu-west")
	env := append(os.Environ(), "AWS_ACCESS_KEY_ID="+ef.Credentials.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+ef.Credentials.SecretAccessKey,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent", "AWS_EC2_METADATA_DISABLED=true")
	cli := func(args ...string) string {
		cmd := exec.Command("aws", append([]string{"dynamodb", "--endpoint-url", eu.Endpoints["dynamodb"], "--output", "json"}, args...)...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws dynamodb %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	cli("create-table", "--table-name", "orders", "--attribute-definitions", "AttributeName=id,AttributeType=S",
		"--key-schema", "AttributeName=id,KeyType=HASH", "--billing-mode", "PAY_PER_REQUEST")
	cli("put-item", "--table-name", "orders", "--item", `{"id":{"S":"cli"},"total":{"N":"12.50"}}`)
	if out := cli("get-item", "--table-name", "orders", "--key", `{"id":{"S":"cli"}}`); !strings.Contains(out, `"12.5"`) {
		t.Errorf("get-item through the CLI: %s", out)
	}
	py := exec.Command("python3", "-c", `
import boto3, sys
d = boto3.client("dynamodb", endpoint_url=sys.argv[1], region_name="eu-west-1")
d.put_item(TableName="orders", Item={"id": {"S": "boto3"}, "n": {"N": "1"}})
r = d.update_item(TableName="orders", Key={"id": {"S": "boto3"}}, UpdateExpression="ADD n :one",
                  ExpressionAttributeValues={":one": {"N": "41"}}, ReturnValues="UPDATED_NEW")
print(r["Attributes"]["n"]["N"])
try:
    d.put_item(TableName="orders", Item={"id": {"S": "boto3"}}, ConditionExpression="attribute_not_exists(id)")
except d.exceptions.ConditionalCheckFailedException:
    print("conditional check failed")
`, eu.Endpoints["dynamodb"])
	py.Env = env
	if out, err := py.CombinedOutput(); err != nil || string(out) != "42\nconditional check failed\n" {
		t.Errorf("boto3: %v\n%s", err, out)
	}

	// A write load, then kill -9: every acknowledged write survives the restart.
	db := dynamoClient(ef, "eu-west")
	ctx, cancel := context.WithCancel(context.Background())
	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
	)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				id := fmt.Sprintf("w%d-%06d", w, i)
				_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("orders"),
					Item: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}}})
				if err != nil {
					return // the region died under us; unacknowledged writes may be lost
				}
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
			}
		}()
	}
	waitFor(t, 20*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(acked) < 200 {
			return fmt.Errorf("%d writes acknowledged", len(acked))
		}
		return nil
	})
	if err := syscall.Kill(eu.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	cancel()
	mu.Lock()
	n := len(acked)
	mu.Unlock()
	mustRun(t, "restart", "eu-west", "--dir", dir)
	ef, _ = app.ReadEndpointsFile(dir)
	db = dynamoClient(ef, "eu-west")
	missing := 0
	for _, id := range acked {
		out, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String("orders"),
			Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}}, ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		if out.Item == nil {
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged writes lost after kill -9", missing, n)
	}
	t.Logf("%d acknowledged writes before kill -9, all present after the restart", n)
	var nf *types.ResourceNotFoundException
	if _, err := dynamoClient(ef, "us-east").DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String("orders")}); !errors.As(err, &nf) {
		t.Errorf("a table is regional until it is made global: DescribeTable in us-east gave %v", err)
	}
}
