package tables

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestTags(t *testing.T) {
	e := newEnv(t)
	e.createTable("tagged", "", "")
	c := e.client
	arn := aws.String("arn:aws:dynamodb:eu-west:000000000000:table/tagged")
	list := func() map[string]string {
		t.Helper()
		out, err := c.ListTagsOfResource(ctx(t), &dynamodb.ListTagsOfResourceInput{ResourceArn: arn})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, tg := range out.Tags {
			m[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		return m
	}
	if len(list()) != 0 {
		t.Errorf("new table has tags: %v", list())
	}
	if _, err := c.TagResource(ctx(t), &dynamodb.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{
		{Key: aws.String("team"), Value: aws.String("payments")}, {Key: aws.String("env"), Value: aws.String("prod")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TagResource(ctx(t), &dynamodb.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("dev")}}}); err != nil {
		t.Fatal(err)
	}
	if got := list(); len(got) != 2 || got["team"] != "payments" || got["env"] != "dev" {
		t.Errorf("tags: %v", got)
	}
	if _, err := c.UntagResource(ctx(t), &dynamodb.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"team", "absent"}}); err != nil {
		t.Fatal(err)
	}
	if got := list(); len(got) != 1 || got["env"] != "dev" {
		t.Errorf("after untag: %v", got)
	}
	// Tags survive a reload and do not disturb TTL.
	svc2, err := New(Options{Region: testRegion, Store: e.store, Credentials: testCreds})
	if err != nil {
		t.Fatal(err)
	}
	t2, _ := svc2.lookupTable("tagged")
	if t2.currentSettings().tags["env"] != "dev" {
		t.Errorf("tags after reload: %v", t2.currentSettings())
	}

	_, err = c.TagResource(ctx(t), &dynamodb.TagResourceInput{ResourceArn: aws.String("arn:aws:dynamodb:eu-west:000000000000:table/other"),
		Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}})
	wantError(t, err, "ResourceNotFoundException", "not found")
	_, err = c.TagResource(ctx(t), &dynamodb.TagResourceInput{ResourceArn: aws.String("tagged"), Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("b")}}})
	wantError(t, err, "ValidationException", "Invalid TableArn")
	_, err = c.TagResource(ctx(t), &dynamodb.TagResourceInput{ResourceArn: arn, Tags: []types.Tag{}})
	wantError(t, err, "ValidationException", "Atleast one Tag needs to be provided as Input.")
	_, err = c.UntagResource(ctx(t), &dynamodb.UntagResourceInput{ResourceArn: arn, TagKeys: []string{}})
	wantError(t, err, "ValidationException", "Atleast one Tag Key needs to be provided as Input.")
	var many []types.Tag
	for i := range 51 {
		many = append(many, types.Tag{Key: aws.String(string(rune('A'+i%26)) + string(rune('a'+i/26))), Value: aws.String("v")})
	}
	_, err = c.TagResource(ctx(t), &dynamodb.TagResourceInput{ResourceArn: arn, Tags: many})
	wantError(t, err, "LimitExceededException", "")
}

func TestCreateTableWithTags(t *testing.T) {
	e := newEnv(t)
	c := e.client
	if _, err := c.CreateTable(ctx(t), &dynamodb.CreateTableInput{TableName: aws.String("born-tagged"), BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		Tags:                 []types.Tag{{Key: aws.String("team"), Value: aws.String("payments")}}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.ListTagsOfResource(ctx(t), &dynamodb.ListTagsOfResourceInput{ResourceArn: aws.String("arn:aws:dynamodb:eu-west:000000000000:table/born-tagged")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Tags) != 1 || aws.ToString(out.Tags[0].Key) != "team" || aws.ToString(out.Tags[0].Value) != "payments" {
		t.Fatalf("tags %+v", out.Tags)
	}
	_, err = c.CreateTable(ctx(t), &dynamodb.CreateTableInput{TableName: aws.String("bad-tags"), BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		Tags:                 []types.Tag{{Key: aws.String(""), Value: aws.String("x")}}})
	if code, _ := apiErrorCode(t, err); code != "ValidationException" {
		t.Fatalf("empty tag key: %v", err)
	}
}
