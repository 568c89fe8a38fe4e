package tables

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/polyregion/polyregion/internal/awsapi"
	"github.com/polyregion/polyregion/internal/tables/attr"
)

// targetPrefix starts the X-Amz-Target header of every DynamoDB operation.
const targetPrefix = "DynamoDB_20120810."

// errorPrefix starts the __type of every error answered.
const errorPrefix = "com.amazonaws.dynamodb.v20120810#"

// maxBody bounds request bodies: DynamoDB's largest requests (BatchWriteItem,
// TransactWriteItems) are at most 16 MB.
const maxBody = 16 << 20

// operation serves one DynamoDB operation: it decodes body and returns the response value
// (marshalled as JSON) or an error.
type operation func(s *Service, rc *requestContext, body []byte) (any, error)

// operations are the operations served, by name.
var operations = map[string]operation{
	"CreateTable":        (*Service).createTable,
	"DescribeTable":      (*Service).describeTable,
	"ListTables":         (*Service).listTables,
	"DeleteTable":        (*Service).deleteTable,
	"UpdateTable":        (*Service).updateTable,
	"PutItem":            (*Service).putItem,
	"GetItem":            (*Service).getItem,
	"DeleteItem":         (*Service).deleteItem,
	"UpdateItem":         (*Service).updateItem,
	"Query":              (*Service).query,
	"Scan":               (*Service).scan,
	"BatchGetItem":       (*Service).batchGetItem,
	"BatchWriteItem":     (*Service).batchWriteItem,
	"TransactWriteItems": (*Service).transactWriteItems,
	"TransactGetItems":   (*Service).transactGetItems,
	"DescribeEndpoints":  (*Service).describeEndpoints,
	"DescribeLimits":     (*Service).describeLimits,
	"UpdateTimeToLive":   (*Service).updateTimeToLive,
	"DescribeTimeToLive": (*Service).describeTimeToLive,
	"TagResource":        (*Service).tagResource,
	"UntagResource":      (*Service).untagResource,
	"ListTagsOfResource": (*Service).listTagsOfResource,
}

// requestContext is what an operation knows about its request.
type requestContext struct {
	id   string
	now  time.Time
	host string // the Host the request was sent to
	// applied: the commit applies writes pulled from elsewhere, and does not wait for the
	// disk (lazysync.go).
	applied bool
}

// apiError is an error answered with a DynamoDB error type.
type apiError struct {
	typ     string // without errorPrefix
	message string
	status  int // 0: 400
	extra   any // further members of the error body (Item, CancellationReasons); nil: none
}

func (e *apiError) Error() string { return e.typ + ": " + e.message }

func errorf(typ, format string, args ...any) *apiError {
	return &apiError{typ: typ, message: fmt.Sprintf(format, args...)}
}

func validationf(format string, args ...any) *apiError {
	return errorf("ValidationException", format, args...)
}

func (s *Service) serveHTTP(w http.ResponseWriter, r *http.Request) {
	rc := &requestContext{id: awsapi.NewRequestID(), now: s.now(), host: r.Host}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		body := []byte(s.healthBody())
		h := w.Header()
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		h.Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
		h.Set(awsapi.RequestIDHeader, rc.id)
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(body)
		}
		return
	}
	start := time.Now()
	opName := "unknown"
	code := s.serveOperation(w, r, rc, &opName)
	s.metrics.observe(opName, code, time.Since(start))
}

// serveOperation answers a POST and returns the outcome for the metrics: "ok" or the error
// type. *opName is set to the operation once known.
func (s *Service) serveOperation(w http.ResponseWriter, r *http.Request, rc *requestContext, opName *string) string {
	if r.Method != http.MethodPost {
		return s.writeError(w, r, rc, &apiError{typ: "UnknownOperationException", message: "only POST / is served: " + r.Method + " " + r.URL.Path})
	}
	if r.ContentLength > maxBody {
		return s.writeError(w, r, rc, validationf("Request size exceeded %d bytes", maxBody))
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if _, err := awsapi.Verify(r, "dynamodb", s.opts.Credentials, rc.now); err != nil {
		return s.writeError(w, r, rc, authError(err))
	}
	bodyBuf := getBuffer()
	defer putBuffer(bodyBuf)
	body, err := readBody(r.Body, r.ContentLength, (*bodyBuf)[:0])
	*bodyBuf = body
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return s.writeError(w, r, rc, validationf("Request size exceeded %d bytes", maxBody))
		}
		return s.writeError(w, r, rc, errorf("SerializationException", "the request body could not be read: %v", err))
	}
	target := r.Header.Get("X-Amz-Target")
	name, ok := strings.CutPrefix(target, targetPrefix)
	op := operations[name]
	if !ok {
		name, ok = strings.CutPrefix(target, streamsTargetPrefix)
		op = streamOperations[name]
	}
	if !ok || op == nil {
		if target == "" {
			return s.writeError(w, r, rc, errorf("UnknownOperationException", "the request has no X-Amz-Target header naming the operation"))
		}
		return s.writeError(w, r, rc, errorf("UnknownOperationException", "%s is not an operation polyregion's DynamoDB API serves", target))
	}
	*opName = name
	out, err := s.run(op, rc, body)
	if err != nil {
		return s.writeError(w, r, rc, err)
	}
	// attr.Marshal: json.Marshal would re-scan every item it writes (see its doc).
	respBuf := getBuffer()
	defer putBuffer(respBuf)
	resp, err := attr.AppendMarshal((*respBuf)[:0], out)
	if err != nil {
		return s.writeError(w, r, rc, fmt.Errorf("encoding the %s response: %w", name, err))
	}
	*respBuf = resp
	writeJSON(w, http.StatusOK, rc.id, resp)
	return "ok"
}

// buffers hold request bodies and responses between requests (*[]byte). Operations copy
// what they keep of a body (decoding makes new strings), and a response is written before
// its buffer goes back.
var buffers = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledBuffer is the largest buffer kept for another request; larger ones (big pages,
// batch writes) are left to the collector rather than held.
const maxPooledBuffer = 256 << 10

func getBuffer() *[]byte { return buffers.Get().(*[]byte) }

func putBuffer(b *[]byte) {
	if cap(*b) > maxPooledBuffer {
		*b = nil
	}
	buffers.Put(b)
}

// readBody reads r to its end into buf, sized for the declared length (size; -1: unknown)
// at once rather than grown as io.ReadAll grows it.
func readBody(r io.Reader, size int64, buf []byte) ([]byte, error) {
	if size >= 0 && size < maxBody {
		buf = slices.Grow(buf, int(size)+1) // +1: room to see the end without growing
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// run calls op, turning a panic (a bug) into an error answered as InternalServerError, so
// that one bad request never takes the connection or the process down.
func (s *Service) run(op operation, rc *requestContext, body []byte) (out any, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return op(s, rc, body)
}

// authError maps a failed SigV4 verification to DynamoDB's error.
func authError(err error) *apiError {
	var ae *awsapi.AuthError
	if !errors.As(err, &ae) {
		return &apiError{typ: "InternalServerError", message: "signature verification failed", status: http.StatusInternalServerError}
	}
	switch {
	case errors.Is(err, awsapi.ErrMissingAuth):
		return errorf("UnrecognizedClientException", "The request has no SigV4 authentication: %s", ae.Message)
	case errors.Is(err, awsapi.ErrUnknownAccessKey):
		return errorf("UnrecognizedClientException", "The security token included in the request is invalid.")
	case errors.Is(err, awsapi.ErrBodyTooLarge):
		return validationf("%s", ae.Message)
	default:
		return errorf("InvalidSignatureException", "%s", ae.Message)
	}
}

// writeError answers err and returns its type for the metrics. *apiError and *attr.Error
// are the client's fault; anything else is an InternalServerError, logged.
func (s *Service) writeError(w http.ResponseWriter, r *http.Request, rc *requestContext, err error) string {
	var ae *apiError
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &ae):
	case asAttrError(err) != nil:
		ae = asAttrError(err)
	case errors.As(err, &se), errors.As(err, &te):
		ae = errorf("SerializationException", "%v", err)
	default:
		s.logger.Error("dynamodb request failed", "request_id", rc.id, "target", r.Header.Get("X-Amz-Target"), "err", err)
		ae = &apiError{typ: "InternalServerError", message: "Internal server error (request " + rc.id + ")", status: http.StatusInternalServerError}
	}
	status := ae.status
	if status == 0 {
		status = http.StatusBadRequest
	}
	if status < 500 {
		s.logger.Debug("dynamodb request rejected", "request_id", rc.id, "target", r.Header.Get("X-Amz-Target"), "type", ae.typ, "message", ae.message)
	}
	fields := map[string]any{"__type": errorPrefix + ae.typ, "message": ae.message}
	if ae.extra != nil {
		extra, _ := json.Marshal(ae.extra)
		var m map[string]json.RawMessage
		if json.Unmarshal(extra, &m) == nil {
			for k, v := range m {
				fields[k] = v
			}
		}
	}
	body, _ := json.Marshal(fields)
	writeJSON(w, status, rc.id, body)
	return ae.typ
}

// writeJSON writes a JSON 1.0 response with its checksum and request id.
func writeJSON(w http.ResponseWriter, status int, requestID string, body []byte) {
	h := w.Header()
	h["Content-Type"] = contentTypeJSON
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
	h.Set(awsapi.RequestIDHeader, requestID)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// contentTypeJSON is the Content-Type of every JSON response, one slice for all of them
// (the server only reads it).
var contentTypeJSON = []string{"application/x-amz-json-1.0"}

// decode unmarshals a request body into v; a body that is not a JSON object of the right
// shape is a SerializationException.
func decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		if ae := asAttrError(err); ae != nil {
			return ae
		}
		var ae *apiError
		if errors.As(err, &ae) {
			return ae
		}
		return errorf("SerializationException", "%s", serializationMessage(err))
	}
	return nil
}

// serializationMessage words a JSON decoding error for the client.
func serializationMessage(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return fmt.Sprintf("Unexpected value type in payload: %s cannot be a JSON %s", te.Field, te.Value)
		}
		return fmt.Sprintf("Unexpected value type in payload: a JSON %s", te.Value)
	}
	return "Malformed JSON request body: " + err.Error()
}

// presentMembers is presentParams(body) — the top-level members of a JSON object that are
// set (not null) — found by scanning the body once instead of decoding it into a map of
// raw messages (a dozen allocations a request). It takes valid objects whose member names
// are plain ASCII without escapes, each given once; anything else (escapes, repeated names,
// not an object, not JSON) goes to presentParams, so the answer is always presentParams's,
// in some order (callers treat it as a set).
func presentMembers(body []byte) []string {
	if !json.Valid(body) {
		return presentParams(body)
	}
	i := skipJSONSpace(body, 0)
	if i == len(body) || body[i] != '{' {
		return presentParams(body)
	}
	var names [24][2]int // offsets of the names seen; more members: presentParams
	n := 0
	var present [len(names)]bool
	i = skipJSONSpace(body, i+1)
	for body[i] != '}' {
		// A member: "name" : value, then , or }.
		start := i + 1
		end := start
		for body[end] != '"' {
			if body[end] == '\\' || body[end] >= 0x80 {
				return presentParams(body)
			}
			end++
		}
		for _, nm := range names[:n] {
			if bytes.Equal(body[nm[0]:nm[1]], body[start:end]) {
				return presentParams(body) // repeated: the map keeps the last
			}
		}
		if n == len(names) {
			return presentParams(body)
		}
		i = skipJSONSpace(body, end+1) // at ':'
		i = skipJSONSpace(body, i+1)
		names[n], present[n] = [2]int{start, end}, !bytes.HasPrefix(body[i:], []byte("null"))
		n++
		i = skipJSONSpace(body, skipJSONValue(body, i))
		if body[i] == ',' {
			i = skipJSONSpace(body, i+1)
		}
	}
	count := 0
	for _, p := range present[:n] {
		if p {
			count++
		}
	}
	out := make([]string, 0, count)
	if count == 0 {
		return out
	}
	s := string(body) // one string for every name
	for k, nm := range names[:n] {
		if present[k] {
			out = append(out, s[nm[0]:nm[1]])
		}
	}
	return out
}

// skipJSONSpace returns the index of the first byte at or after i that is not JSON white
// space.
func skipJSONSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipJSONValue returns the index just past the value of valid JSON b starting at i (for
// a scalar: of the , or } that ends it).
func skipJSONValue(b []byte, i int) int {
	depth := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
			if depth == 0 {
				return i + 1
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i
			}
			depth--
			if depth == 0 {
				return i + 1
			}
		case ',':
			if depth == 0 {
				return i
			}
		}
	}
	return i
}
