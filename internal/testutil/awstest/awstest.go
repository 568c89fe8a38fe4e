// Package awstest holds what the tests that drive polyregion with the AWS SDK for Go share.
package awstest

import (
	"errors"
	"net"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// Retryer retries a request only when the client's own connection was closed under it
// (net.ErrClosed: "use of closed network connection"), at most twice more, at once. That
// is a race in Go's HTTP client, under load, between a pooled connection being closed and
// a response still being read from it (aws/aws-sdk-go-v2#2737; the SDK's default retryer
// retries it since v1.33). Every other error — every answer of the server among them —
// reaches the test on the first attempt, as with RetryMaxAttempts 1.
func Retryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 3
		o.Retryables = []retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
			if errors.Is(err, net.ErrClosed) {
				return aws.TrueTernary
			}
			return aws.FalseTernary
		})}
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
		o.RateLimiter = ratelimit.None
	})
}
