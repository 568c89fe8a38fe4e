package gaapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/globalaccelerator"
	"github.com/aws/aws-sdk-go-v2/service/globalaccelerator/types"

	"github.com/polyregion/polyregion/internal/awsapi"
	"github.com/polyregion/polyregion/internal/control"
	"github.com/polyregion/polyregion/internal/edge"
)

func TestAuthErrors(t *testing.T) {
	e := newEnv(t)
	_, err := e.newClient("AKIDUNKNOWN", testSecretKey).ListAccelerators(ctx(t), &globalaccelerator.ListAcceleratorsInput{})
	wantCode(t, err, "UnrecognizedClientException")
	_, err = e.newClient(testAccessKey, "wrong-secret").CreateAccelerator(ctx(t), &globalaccelerator.CreateAcceleratorInput{Name: aws.String("web")})
	wantCode(t, err, "InvalidSignatureException")
	if n := len(e.node.State().List("accelerator")); n != 0 {
		t.Errorf("%d accelerators stored by unauthenticated requests", n)
	}

	// Unsigned, and signed with another secret, over the wire.
	h := New(Options{Credentials: []awsapi.Credentials{{AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey}}, Store: e.node})
	req := httptest.NewRequest(http.MethodPost, "http://globalaccelerator.test/", strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", TargetPrefix+"ListAccelerators")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	wantJSONError(t, w, http.StatusBadRequest, "UnrecognizedClientException")

	body := []byte("{}")
	req = httptest.NewRequest(http.MethodPost, "http://globalaccelerator.test/", bytes.NewReader(body))
	req.Header.Set("X-Amz-Target", TargetPrefix+"ListAccelerators")
	sign(t, req, body, "another-secret")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, req)
	wantJSONError(t, w, http.StatusBadRequest, "InvalidSignatureException")
}

// wantJSONError checks a JSON 1.1 error answer.
func wantJSONError(t *testing.T, w *httptest.ResponseRecorder, status int, code string) map[string]string {
	t.Helper()
	if w.Code != status {
		t.Errorf("status %d, want %d: %s", w.Code, status, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		t.Errorf("Content-Type %q", ct)
	}
	if w.Header().Get("x-amzn-RequestId") == "" {
		t.Error("no x-amzn-RequestId")
	}
	var doc map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatalf("error body %q: %v", w.Body, err)
	}
	if doc["__type"] != code || doc["message"] == "" {
		t.Errorf("error %v, want %s", doc, code)
	}
	return doc
}

func TestUnknownOperationAndBadBodies(t *testing.T) {
	e := newEnv(t)
	h := New(Options{Credentials: []awsapi.Credentials{{AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey}}, Store: e.node, Regions: testRegions})
	wantJSONError(t, rawCall(t, h, "CreateCustomRoutingAccelerator", []byte(`{"Name":"x"}`)), http.StatusBadRequest, "UnknownOperationException")
	wantJSONError(t, rawCall(t, h, "", []byte(`{}`)), http.StatusBadRequest, "UnknownOperationException")

	req := httptest.NewRequest(http.MethodPost, "http://globalaccelerator.test/", strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.ListTables")
	sign(t, req, []byte("{}"), testSecretKey)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	wantJSONError(t, w, http.StatusBadRequest, "UnknownOperationException")

	for _, body := range []string{`{"Name": 5}`, `[]`, `{"Name":"web"`, `{"Name":"web"} trailing`, `{"Enabled":"yes","Name":"web"}`} {
		doc := wantJSONError(t, rawCall(t, h, "CreateAccelerator", []byte(body)), http.StatusBadRequest, "InvalidArgumentException")
		t.Logf("%s: %s", body, doc["message"])
	}
	wantJSONError(t, rawCall(t, h, "CreateAccelerator", []byte(`{}`)), http.StatusBadRequest, "InvalidArgumentException")
	wantJSONError(t, rawCall(t, h, "CreateAccelerator", []byte(`{"Name":"web","Tags":[{"Key":"k"}]}`)), http.StatusBadRequest, "InvalidArgumentException")
	wantJSONError(t, rawCall(t, h, "DescribeListener", nil), http.StatusBadRequest, "InvalidArgumentException")
	wantJSONError(t, rawCall(t, h, "CreateListener", []byte(`{"AcceleratorArn":"arn:aws:globalaccelerator::000000000000:accelerator/x","Protocol":"TCP","PortRanges":[{"FromPort":1e30,"ToPort":2}]}`)),
		http.StatusBadRequest, "InvalidArgumentException")
	big := []byte(`{"Name":"web","Tags":[` + strings.Repeat(`{"Key":"k","Value":"v"},`, 50000) + `{"Key":"k","Value":"v"}]}`)
	wantJSONError(t, rawCall(t, h, "CreateAccelerator", big), http.StatusBadRequest, "InvalidArgumentException")
	if n := len(e.node.State().List("accelerator")); n != 0 {
		t.Errorf("%d accelerators stored by bad requests", n)
	}
}

// TestCLIRequest sends what `aws globalaccelerator create-accelerator --name web` sends and
// checks the answer as the CLI reads it.
func TestCLIRequest(t *testing.T) {
	e := newEnv(t)
	h := New(Options{Credentials: []awsapi.Credentials{{AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey}}, Store: e.node,
		EdgeAddresses: func() []string { return []string{"203.0.113.1"} }})
	w := rawCall(t, h, "CreateAccelerator", []byte(`{"Name": "web", "IdempotencyToken": "8f4bd0a2-0a5c-4d1c-8b0c-9f0c2a4f0e11"}`))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/x-amz-json-1.1" || w.Header().Get("x-amzn-RequestId") == "" {
		t.Errorf("headers %v", w.Header())
	}
	var out struct {
		Accelerator map[string]any
	}
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	a := out.Accelerator
	if _, ok := a["CreatedTime"].(float64); !ok {
		t.Errorf("CreatedTime %T %v, want epoch seconds", a["CreatedTime"], a["CreatedTime"])
	}
	if a["Status"] != "DEPLOYED" || a["Enabled"] != true || a["IpAddressType"] != "IPV4" || a["Name"] != "web" {
		t.Errorf("accelerator %v", a)
	}
	sets, _ := json.Marshal(a["IpSets"])
	if string(sets) != `[{"IpAddressFamily":"IPv4","IpAddresses":["203.0.113.1"],"IpFamily":"IPv4"}]` {
		t.Errorf("IpSets %s", sets)
	}
}

func TestNoQuorum(t *testing.T) {
	e := newEnv(t)
	acc := e.createAccelerator("web")
	e.store.noQuorum.Store(true)
	_, err := e.client.CreateListener(ctx(t), &globalaccelerator.CreateListenerInput{AcceleratorArn: aws.String(acc), Protocol: types.ProtocolTcp, PortRanges: ports(80, 80)})
	wantCode(t, err, "InternalServiceErrorException")
	if !strings.Contains(err.Error(), "no quorum") {
		t.Errorf("message %v does not say the control plane has no quorum", err)
	}
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusInternalServerError {
		t.Errorf("not a 500: %v", err)
	}
	// Reads still work.
	if _, err := e.client.DescribeAccelerator(ctx(t), &globalaccelerator.DescribeAcceleratorInput{AcceleratorArn: aws.String(acc)}); err != nil {
		t.Error(err)
	}
	e.store.noQuorum.Store(false)
	e.createListener(acc, types.ProtocolTcp, 80, 80)
}

// TestConcurrentChangeRetried races a change to the same accelerator in between the API's
// read and its write: the write fails on the version, is read again and applied on top.
func TestConcurrentChangeRetried(t *testing.T) {
	e := newEnv(t)
	acc := e.createAccelerator("web")
	e.store.setBefore(func() {
		if _, err := e.client.TagResource(ctx(t), &globalaccelerator.TagResourceInput{ResourceArn: aws.String(acc),
			Tags: []types.Tag{{Key: aws.String("raced"), Value: aws.String("in")}}}); err != nil {
			t.Error(err)
		}
	})
	applies := e.store.applies.Load()
	out, err := e.client.UpdateAccelerator(ctx(t), &globalaccelerator.UpdateAcceleratorInput{AcceleratorArn: aws.String(acc), Name: aws.String("renamed")})
	if err != nil {
		t.Fatal(err)
	}
	if *out.Accelerator.Name != "renamed" {
		t.Errorf("name %s", *out.Accelerator.Name)
	}
	stored, _ := e.stored(acc)
	if stored.Name != "renamed" || stored.Tags["raced"] != "in" {
		t.Errorf("stored %+v: a change was lost", stored)
	}
	if n := e.store.applies.Load() - applies; n != 3 {
		t.Errorf("%d writes, want 3 (the raced tag, the conflicting update, its retry)", n)
	}
}

// TestConcurrentPortConflict races a listener of another accelerator onto the same port
// between the API's check and its write: the control plane's validator refuses the write,
// answered as InvalidPortRangeException.
func TestConcurrentPortConflict(t *testing.T) {
	e := newEnv(t)
	a1 := e.createAccelerator("one")
	a2 := e.createAccelerator("two")
	e.store.setBefore(func() { e.createListener(a2, types.ProtocolTcp, 8000, 8000) })
	_, err := e.client.CreateListener(ctx(t), &globalaccelerator.CreateListenerInput{AcceleratorArn: aws.String(a1), Protocol: types.ProtocolTcp, PortRanges: ports(7990, 8010)})
	wantCode(t, err, "InvalidPortRangeException")
	if s1, _ := e.stored(a1); len(s1.Listeners) != 0 {
		t.Errorf("both listeners were written: %+v", s1.Listeners)
	}
	if s2, _ := e.stored(a2); len(s2.Listeners) != 1 {
		t.Errorf("the raced listener is missing: %+v", s2.Listeners)
	}
}

// TestConflictsExhausted makes every attempt of a change lose to another write: after
// maxAttempts the API gives up with TransactionInProgressException.
func TestConflictsExhausted(t *testing.T) {
	e := newEnv(t)
	acc := e.createAccelerator("web")
	id := acc[strings.LastIndexByte(acc, '/')+1:]
	bump := func() {
		r, _ := e.node.State().Get(edge.Kind, id)
		if _, err := e.node.Apply(ctx(t), control.Batch{Ops: []control.Op{{Kind: edge.Kind, ID: id, Value: r.Value}}}); err != nil {
			t.Error(err)
		}
	}
	var bumps []func()
	for range maxAttempts {
		bumps = append(bumps, bump)
	}
	e.store.setBefore(bumps...)
	_, err := e.client.UpdateAccelerator(ctx(t), &globalaccelerator.UpdateAcceleratorInput{AcceleratorArn: aws.String(acc), Name: aws.String("renamed")})
	wantCode(t, err, "TransactionInProgressException")
	if stored, _ := e.stored(acc); stored.Name != "web" {
		t.Errorf("stored %+v", stored)
	}
}
