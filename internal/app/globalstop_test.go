package app_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/polyregion/polyregion/internal/mtest"
	"github.com/polyregion/polyregion/internal/testutil"
)

// TestStopWithGlobalTable: a region that serves pulls of a global table stops gracefully at
// once — the pulls, which never end by themselves, end with it.
func TestStopWithGlobalTable(t *testing.T) {
	c := mtest.Start(t, mtest.Options{OneWay: 2 * time.Millisecond, ControlTiming: fastControl})
	ddb := func(region string) *dynamodb.Client {
		return dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(c.Region(region).Endpoints().DynamoDB),
			Credentials: credentials.NewStaticCredentialsProvider("AKPRTESTTESTTEST0001", "test-secret-key-0123456789", "")})
	}
	ctx := context.Background()
	us := ddb("us-east")
	if _, err := us.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("orders"), BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := us.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String("orders"),
		ReplicaUpdates: []types.ReplicationGroupUpdate{{Create: &types.CreateReplicationGroupMemberAction{RegionName: aws.String("eu-west")}}}}); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 30*time.Second, func() error {
		_, err := us.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("orders"), Item: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "a"}}})
		if err != nil {
			return err
		}
		_, err = ddb("eu-west").GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("orders"), Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "a"}}})
		return err
	})
	start := time.Now()
	c.Stop("us-east")
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("stopping us-east took %v", d)
	}
}
