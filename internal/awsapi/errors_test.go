package awsapi

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
)

const ns = "https://route53.amazonaws.com/doc/2013-04-01/"

func TestWriteXMLError(t *testing.T) {
	w := httptest.NewRecorder()
	WriteXMLError(w, ns, http.StatusNotFound, "NoSuchHostedZone", "No hosted zone found with ID: Z1 & <x>", "req-1")
	want := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Error><Type>Sender</Type><Code>NoSuchHostedZone</Code>` +
		`<Message>No hosted zone found with ID: Z1 &amp; &lt;x&gt;</Message></Error><RequestId>req-1</RequestId></ErrorResponse>`
	if w.Code != http.StatusNotFound || w.Body.String() != want {
		t.Errorf("got %d\n%s\nwant\n%s", w.Code, w.Body, want)
	}
	if w.Header().Get(RequestIDHeader) != "req-1" || w.Header().Get("Content-Type") != "text/xml" {
		t.Errorf("headers %v", w.Header())
	}
	w = httptest.NewRecorder()
	WriteXMLError(w, ns, http.StatusServiceUnavailable, "ServiceUnavailable", "down", "req-2")
	if !regexp.MustCompile(`<Type>Receiver</Type>`).MatchString(w.Body.String()) {
		t.Errorf("5xx is not a Receiver error: %s", w.Body)
	}
}

func TestWriteXMLMessagesError(t *testing.T) {
	w := httptest.NewRecorder()
	WriteXMLMessagesError(w, ns, "InvalidChangeBatch", http.StatusBadRequest, []string{"first", "second"}, "req-3")
	want := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<InvalidChangeBatch xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Messages><Message>first</Message><Message>second</Message></Messages>` +
		`<RequestId>req-3</RequestId></InvalidChangeBatch>`
	if w.Code != http.StatusBadRequest || w.Body.String() != want {
		t.Errorf("got %d\n%s\nwant\n%s", w.Code, w.Body, want)
	}
}

func TestWriteJSONError(t *testing.T) {
	w := httptest.NewRecorder()
	WriteJSONError(w, http.StatusBadRequest, "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException", "Requested resource not found", "req-4")
	want := `{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found"}`
	if w.Body.String() != want || w.Header().Get("Content-Type") != "application/x-amz-json-1.0" || w.Header().Get(RequestIDHeader) != "req-4" {
		t.Errorf("got %s %v", w.Body, w.Header())
	}
}

func TestNewRequestID(t *testing.T) {
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 100 {
		id := NewRequestID()
		if !uuid.MatchString(id) || seen[id] {
			t.Fatalf("NewRequestID() = %q (seen before: %v)", id, seen[id])
		}
		seen[id] = true
	}
}
