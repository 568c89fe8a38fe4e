package awsapi

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// Kinds of authentication failure. Every error [Verify] returns is an [*AuthError] that
// wraps one of them.
var (
	// ErrMissingAuth: the request carries neither an Authorization header nor a presigned
	// query string.
	ErrMissingAuth = errors.New("awsapi: missing authentication")
	// ErrMalformedAuth: the Authorization header, the presigned query or X-Amz-Date cannot
	// be parsed.
	ErrMalformedAuth = errors.New("awsapi: malformed authentication")
	// ErrUnknownAccessKey: no configured credentials have the request's access key id.
	ErrUnknownAccessKey = errors.New("awsapi: unknown access key")
	// ErrSignatureMismatch: the signature, or the credential scope, does not match.
	ErrSignatureMismatch = errors.New("awsapi: signature does not match")
	// ErrRequestExpired: X-Amz-Date is more than MaxClockSkew from the server's clock, or a
	// presigned request is past its X-Amz-Expires.
	ErrRequestExpired = errors.New("awsapi: request time outside the allowed window")
	// ErrContentSHA256Mismatch: X-Amz-Content-Sha256 is not the body's hash.
	ErrContentSHA256Mismatch = errors.New("awsapi: x-amz-content-sha256 does not match the body")
	// ErrBodyTooLarge: the body to hash is larger than MaxVerifiedBody.
	ErrBodyTooLarge = errors.New("awsapi: request body too large to verify")
)

// SignatureMismatchMessage is AWS's wording for a signature that does not verify.
const SignatureMismatchMessage = "The request signature we calculated does not match the signature you provided. " +
	"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

// AuthError is a failed verification. Code, Status and Message are what most AWS services
// answer (an API whose service differs may map Err to its own code); Message is safe to send
// to the client. Detail says more for the server's log. Neither ever holds a secret.
type AuthError struct {
	Err     error // one of the Err* sentinels
	Code    string
	Status  int
	Message string
	Detail  string
}

func (e *AuthError) Error() string {
	s := e.Err.Error() + ": " + e.Message
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

// Unwrap returns the sentinel.
func (e *AuthError) Unwrap() error { return e.Err }

func malformed(format string, args ...any) *AuthError {
	return &AuthError{Err: ErrMalformedAuth, Code: "IncompleteSignature", Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

func mismatch(detail string, args ...any) *AuthError {
	return &AuthError{Err: ErrSignatureMismatch, Code: "SignatureDoesNotMatch", Status: http.StatusForbidden,
		Message: SignatureMismatchMessage, Detail: fmt.Sprintf(detail, args...)}
}

func scopeError(format string, args ...any) *AuthError {
	return &AuthError{Err: ErrSignatureMismatch, Code: "SignatureDoesNotMatch", Status: http.StatusForbidden, Message: fmt.Sprintf(format, args...)}
}

func skewed(format string, args ...any) *AuthError {
	return &AuthError{Err: ErrRequestExpired, Code: "SignatureDoesNotMatch", Status: http.StatusForbidden, Message: fmt.Sprintf(format, args...)}
}

// RequestIDHeader is the response header AWS SDKs read the request id from.
const RequestIDHeader = "X-Amzn-Requestid"

// errorType is REST-XML's Error/Type: Sender for client errors, Receiver for server errors.
func errorType(status int) string {
	if status >= 500 {
		return "Receiver"
	}
	return "Sender"
}

type xmlErrorResponse struct {
	XMLName   xml.Name `xml:"ErrorResponse"`
	Xmlns     string   `xml:"xmlns,attr,omitempty"`
	Error     xmlError `xml:"Error"`
	RequestID string   `xml:"RequestId"`
}

type xmlError struct {
	Type    string `xml:"Type"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// WriteXMLError writes the REST-XML error envelope:
//
//	<ErrorResponse xmlns="namespace"><Error><Type>Sender</Type><Code>code</Code>
//	<Message>message</Message></Error><RequestId>id</RequestId></ErrorResponse>
//
// with status, and requestID in the X-Amzn-Requestid header too.
func WriteXMLError(w http.ResponseWriter, namespace string, status int, code, message, requestID string) {
	WriteXML(w, status, requestID, xmlErrorResponse{Xmlns: namespace, Error: xmlError{Type: errorType(status), Code: code, Message: message}, RequestID: requestID})
}

type xmlMessagesError struct {
	XMLName   xml.Name
	Xmlns     string   `xml:"xmlns,attr,omitempty"`
	Messages  []string `xml:"Messages>Message"`
	RequestID string   `xml:"RequestId"`
}

// WriteXMLMessagesError writes an error whose root element names it and lists messages, the
// shape of Route 53's InvalidChangeBatch:
//
//	<InvalidChangeBatch xmlns="namespace"><Messages><Message>...</Message>...</Messages>
//	<RequestId>id</RequestId></InvalidChangeBatch>
func WriteXMLMessagesError(w http.ResponseWriter, namespace, root string, status int, messages []string, requestID string) {
	WriteXML(w, status, requestID, xmlMessagesError{XMLName: xml.Name{Local: root}, Xmlns: namespace, Messages: messages, RequestID: requestID})
}

// WriteXML writes v as an XML document with status; requestID, when set, goes in the
// X-Amzn-Requestid header.
func WriteXML(w http.ResponseWriter, status int, requestID string, v any) {
	body, err := xml.Marshal(v)
	if err != nil {
		// Only a programming error gets here: every value written is a plain struct.
		status = http.StatusInternalServerError
		body, _ = xml.Marshal(xmlErrorResponse{Error: xmlError{Type: "Receiver", Code: "InternalFailure", Message: "response encoding failed"}, RequestID: requestID})
	}
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("Content-Length", strconv.Itoa(len(xml.Header)+len(body)))
	if requestID != "" {
		h.Set(RequestIDHeader, requestID)
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(body)
}

// WriteJSONError writes the JSON 1.0 error of DynamoDB-style APIs:
// {"__type": "typ", "message": "message"}, with Content-Type application/x-amz-json-1.0.
// typ is the error's shape name, e.g.
// "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException".
func WriteJSONError(w http.ResponseWriter, status int, typ, message, requestID string) {
	body, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{typ, message})
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.0")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if requestID != "" {
		h.Set(RequestIDHeader, requestID)
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
