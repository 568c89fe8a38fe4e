// Package awsapi holds what every AWS-shaped API of polyregion shares: Signature Version 4
// verification of incoming requests ([Verify]), request ids ([NewRequestID]), and the error
// envelopes AWS clients expect — REST-XML ([WriteXMLError], [WriteXMLMessagesError]) for
// Route 53 and S3, JSON 1.0 ([WriteJSONError]) for DynamoDB.
//
// Verification failures are [*AuthError] values wrapping one of the sentinel errors
// ([ErrMissingAuth], [ErrMalformedAuth], [ErrUnknownAccessKey], [ErrSignatureMismatch],
// [ErrRequestExpired], [ErrContentSHA256Mismatch], [ErrBodyTooLarge]); each carries the code,
// HTTP status and wording AWS uses, so an API can answer in its own envelope. No error ever
// contains a secret access key or a derived signing key.
//
// The package logs nothing: callers log at the top.
package awsapi
