package tables

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"go.uber.org/goleak"

	"github.com/polyregion/polyregion/internal/awsapi"
	"github.com/polyregion/polyregion/internal/kv"
	"github.com/polyregion/polyregion/internal/testutil"
	"github.com/polyregion/polyregion/internal/testutil/awstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	testAccessKey = "AKIDTABLESTEST"
	testSecretKey = "tables-test-secret-key"
	testRegion    = "eu-west"
)

var testCreds = []awsapi.Credentials{{AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey}}

// env is one table service over a store, served on 127.0.0.1:0, with an SDK client.
type env struct {
	t      *testing.T
	store  kv.Store
	svc    *Service
	srv    *httptest.Server
	client *dynamodb.Client
	log    *testutil.Log
	// stop closes the server and stops Run; the test's cleanup calls it too.
	stop func()
}

// newEnv starts a service over a fresh in-memory store.
func newEnv(t *testing.T) *env {
	t.Helper()
	store, err := kv.OpenMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return newEnvOn(t, store)
}

// newEnvOn starts a service over store; the store is the caller's to close.
func newEnvOn(t *testing.T, store kv.Store) *env {
	t.Helper()
	return newEnvWith(t, store, nil)
}

// newEnvWith is newEnvOn calling before (when not nil) with the service before Run starts.
func newEnvWith(t *testing.T, store kv.Store, before func(*Service)) *env {
	t.Helper()
	e := &env{t: t, store: store, log: testutil.NewLog(t)}
	svc, err := New(Options{Region: testRegion, Store: store, Credentials: testCreds, Logger: e.log.Logger().With("component", "tables")})
	if err != nil {
		t.Fatal(err)
	}
	if before != nil {
		before(svc)
	}
	e.svc = svc
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	e.srv = httptest.NewServer(svc.Handler())
	var once sync.Once
	e.stop = func() {
		once.Do(func() {
			e.srv.Close()
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(e.stop)
	e.client = e.newClient(testAccessKey, testSecretKey)
	return e
}

func (e *env) newClient(ak, secret string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(ak, secret, ""),
		BaseEndpoint: aws.String(e.srv.URL),
		HTTPClient:   e.srv.Client(),
		Retryer:      awstest.Retryer(), // retries only a closed connection (a client-side race)
	})
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

// apiErrorCode returns the error code of an SDK error, failing the test if err is not one.
func apiErrorCode(t *testing.T, err error) (code, message string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want an API error, got %v", err)
	}
	return ae.ErrorCode(), ae.ErrorMessage()
}

// wantError fails the test unless err is an API error with code whose message contains
// message (when not empty).
func wantError(t *testing.T, err error, code, message string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s, got success", code)
	}
	c, m := apiErrorCode(t, err)
	if c != code {
		t.Fatalf("want %s, got %s: %s", code, c, m)
	}
	if message != "" && !bytes.Contains([]byte(m), []byte(message)) {
		t.Fatalf("%s message %q does not contain %q", code, m, message)
	}
}

// createTable makes a table with a string partition key pk and, when sk is not empty, a
// sort key sk of type skType.
func (e *env) createTable(name, sk string, skType types.ScalarAttributeType) {
	e.t.Helper()
	in := &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
	}
	if sk != "" {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: aws.String(sk), AttributeType: skType})
		in.KeySchema = append(in.KeySchema, types.KeySchemaElement{AttributeName: aws.String(sk), KeyType: types.KeyTypeRange})
	}
	if _, err := e.client.CreateTable(ctx(e.t), in); err != nil {
		e.t.Fatal(err)
	}
}

// rawResponse is an answer to a raw request.
type rawResponse struct {
	status int
	header http.Header
	body   []byte
}

// errorType returns the __type of an error body.
func (r rawResponse) errorType() string {
	var b struct {
		Type string `json:"__type"`
	}
	_ = json.Unmarshal(r.body, &b)
	return b.Type
}

// signedRequest makes a request for target (an operation of DynamoDB_20120810, or a whole
// X-Amz-Target such as DynamoDBStreams_20120810.GetRecords) with body, signed with the test
// credentials (unsigned when sign is false).
func signedRequest(t testing.TB, url, target string, body []byte, sign bool, now time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	if target != "" {
		if !strings.Contains(target, "_") {
			target = targetPrefix + target
		}
		req.Header.Set("X-Amz-Target", target)
	}
	if sign {
		sum := sha256.Sum256(body)
		creds := aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "dynamodb", "us-east-1", now); err != nil {
			t.Fatal(err)
		}
	}
	return req
}

// raw posts body to target over the network, signed.
func (e *env) raw(target string, body string) rawResponse {
	e.t.Helper()
	return e.rawRequest(signedRequest(e.t, e.srv.URL, target, []byte(body), true, time.Now()))
}

func (e *env) rawRequest(req *http.Request) rawResponse {
	e.t.Helper()
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: b}
}

// apiErrorCodeOf returns the code of an SDK API error, "" for other errors.
func apiErrorCodeOf(err error) (code, message string) {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return "", ""
	}
	return ae.ErrorCode(), ae.ErrorMessage()
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
