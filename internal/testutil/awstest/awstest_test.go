package awstest

import (
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

func TestRetryerRetriesOnlyClosedConnections(t *testing.T) {
	r := Retryer()
	closed := fmt.Errorf("deserialization failed: read tcp: %w", &net.OpError{Op: "read", Err: net.ErrClosed})
	if !r.IsErrorRetryable(closed) {
		t.Error("a read on a closed connection is not retried")
	}
	for _, err := range []error{errors.New("InternalServerError"), &net.OpError{Op: "dial", Err: errors.New("connection refused")}} {
		if r.IsErrorRetryable(err) {
			t.Errorf("%v is retried", err)
		}
	}
	if r.MaxAttempts() != 3 {
		t.Errorf("MaxAttempts %d", r.MaxAttempts())
	}
	var _ aws.Retryer = r
}
