package tables

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestTransactWriteItems(t *testing.T) {
	e := newEnv(t)
	e.createTable("accounts", "", "")
	c := e.client
	tbl := aws.String("accounts")
	k := func(pk string) map[string]types.AttributeValue { return map[string]types.AttributeValue{"pk": avS(pk)} }
	for _, a := range []struct{ id, bal string }{{"alice", "100"}, {"bob", "0"}, {"bank", "0"}} {
		if _, err := c.PutItem(ctx(t), &dynamodb.PutItemInput{TableName: tbl, Item: map[string]types.AttributeValue{"pk": avS(a.id), "balance": avN(a.bal)}}); err != nil {
			t.Fatal(err)
		}
	}
	transfer := func(amount, token string) error {
		in := &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Update: &types.Update{TableName: tbl, Key: k("alice"), UpdateExpression: aws.String("SET balance = balance - :a"),
				ConditionExpression: aws.String("balance >= :a"), ExpressionAttributeValues: map[string]types.AttributeValue{":a": avN(amount)},
				ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}},
			{Update: &types.Update{TableName: tbl, Key: k("bob"), UpdateExpression: aws.String("SET balance = balance + :a"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":a": avN(amount)}}},
			{Put: &types.Put{TableName: tbl, Item: map[string]types.AttributeValue{"pk": avS("audit#" + amount), "amount": avN(amount)}}},
			{ConditionCheck: &types.ConditionCheck{TableName: tbl, Key: k("bank"), ConditionExpression: aws.String("attribute_exists(pk)")}},
		}}
		if token != "" {
			in.ClientRequestToken = aws.String(token)
		}
		_, err := c.TransactWriteItems(ctx(t), in)
		return err
	}
	balance := func(id string) string {
		t.Helper()
		g, err := c.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: tbl, Key: k(id)})
		if err != nil {
			t.Fatal(err)
		}
		return nOf(t, g.Item, "balance")
	}
	if err := transfer("30", ""); err != nil {
		t.Fatal(err)
	}
	if balance("alice") != "70" || balance("bob") != "30" {
		t.Fatalf("after transfer: %s %s", balance("alice"), balance("bob"))
	}
	// A cancelled transaction changes nothing, and says why, in order.
	err := transfer("500", "")
	wantError(t, err, "TransactionCanceledException", "Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed, None, None, None]")
	var tce *types.TransactionCanceledException
	if !errorsAs(err, &tce) || len(tce.CancellationReasons) != 4 || aws.ToString(tce.CancellationReasons[0].Code) != "ConditionalCheckFailed" ||
		aws.ToString(tce.CancellationReasons[1].Code) != "None" || nOf(t, tce.CancellationReasons[0].Item, "balance") != "70" {
		t.Errorf("cancellation reasons: %+v", tce)
	}
	if balance("alice") != "70" || balance("bob") != "30" {
		t.Fatalf("after cancelled transfer: %s %s", balance("alice"), balance("bob"))
	}
	g, err := c.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: tbl, Key: k("audit#500")})
	if err != nil || g.Item != nil {
		t.Errorf("cancelled transaction's put happened: %v %v", g.Item, err)
	}

	// Idempotency: the same token applies once.
	for range 2 {
		if err := transfer("10", "token-1"); err != nil {
			t.Fatal(err)
		}
	}
	if balance("alice") != "60" {
		t.Errorf("a retried transaction applied twice: alice has %s", balance("alice"))
	}
	err = transfer("11", "token-1")
	wantError(t, err, "IdempotentParameterMismatchException", "")

	// A token older than ten minutes is forgotten by Run's expiry.
	e.svc.tokens.expire(time.Now().Add(11 * time.Minute))
	if err := transfer("11", "token-1"); err != nil {
		t.Errorf("token reused after expiry: %v", err)
	}

	// Request errors.
	_, err = c.TransactWriteItems(ctx(t), &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: tbl, Key: k("bob")}},
		{ConditionCheck: &types.ConditionCheck{TableName: tbl, Key: k("bob"), ConditionExpression: aws.String("attribute_exists(pk)")}},
	}})
	wantError(t, err, "ValidationException", "Transaction request cannot include multiple operations on one item")
	_, err = c.TransactWriteItems(ctx(t), &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Delete: &types.Delete{TableName: aws.String("nope"), Key: k("bob")}},
	}})
	wantError(t, err, "ResourceNotFoundException", "")
	_, err = c.TransactWriteItems(ctx(t), &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{TableName: tbl, Key: k("bob"), UpdateExpression: aws.String("SET a = :a")}},
	}})
	wantError(t, err, "ValidationException", "Invalid UpdateExpression")
	_, err = c.TransactWriteItems(ctx(t), &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{TableName: tbl, Key: k("bob"), UpdateExpression: aws.String("SET pk = :a"), ExpressionAttributeValues: map[string]types.AttributeValue{":a": avS("x")}}},
	}})
	wantError(t, err, "ValidationException", "Cannot update attribute pk")
	if r := e.raw("TransactWriteItems", `{}`); r.errorType() != errorPrefix+"ValidationException" {
		t.Errorf("no TransactItems: %s", r.body)
	}
	if r := e.raw("TransactWriteItems", `{"TransactItems":[]}`); r.errorType() != errorPrefix+"ValidationException" {
		t.Errorf("no TransactItems: %s", r.body)
	}
	r := e.raw("TransactWriteItems", `{"TransactItems":[{"Put":{"TableName":"accounts","Item":{"pk":{"S":"x"}}},"Delete":{"TableName":"accounts","Key":{"pk":{"S":"y"}}}}]}`)
	if r.errorType() != errorPrefix+"ValidationException" {
		t.Errorf("two actions in one item: %s", r.body)
	}
	// An update that fails on the item cancels with ValidationError.
	_, err = c.TransactWriteItems(ctx(t), &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: tbl, Item: map[string]types.AttributeValue{"pk": avS("carol")}}},
		{Update: &types.Update{TableName: tbl, Key: k("bob"), UpdateExpression: aws.String("SET balance = pk + :a"), ExpressionAttributeValues: map[string]types.AttributeValue{":a": avN("1")}}},
	}})
	wantError(t, err, "TransactionCanceledException", "[None, ValidationError]")
	g, err = c.GetItem(ctx(t), &dynamodb.GetItemInput{TableName: tbl, Key: k("carol")})
	if err != nil || g.Item != nil {
		t.Errorf("cancelled transaction's put happened: %v %v", g.Item, err)
	}

	// TransactGetItems reads one consistent state, in request order.
	tg, err := c.TransactGetItems(ctx(t), &dynamodb.TransactGetItemsInput{TransactItems: []types.TransactGetItem{
		{Get: &types.Get{TableName: tbl, Key: k("bob"), ProjectionExpression: aws.String("balance")}},
		{Get: &types.Get{TableName: tbl, Key: k("nobody")}},
		{Get: &types.Get{TableName: tbl, Key: k("alice")}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(tg.Responses) != 3 || nOf(t, tg.Responses[0].Item, "balance") != "51" || len(tg.Responses[0].Item) != 1 ||
		tg.Responses[1].Item != nil || sOf(t, tg.Responses[2].Item, "pk") != "alice" {
		t.Errorf("TransactGetItems: %+v", tg.Responses)
	}
	_, err = c.TransactGetItems(ctx(t), &dynamodb.TransactGetItemsInput{TransactItems: []types.TransactGetItem{
		{Get: &types.Get{TableName: tbl, Key: map[string]types.AttributeValue{"pk": avN("1")}}},
	}})
	wantError(t, err, "ValidationException", "The provided key element does not match the schema")

	// Every change went to the log: 3 puts, 3 per transfer (3 applied), none for cancelled.
	if recs := readLog(t, e, "accounts"); len(recs) != 3+3*3 {
		t.Errorf("%d log records", len(recs))
	}
}
