// Package attr holds DynamoDB attribute values for the tables service: the ten attribute
// types ([Value], [Item]), DynamoDB's 38-digit decimal [Number] with exact arithmetic, the
// DynamoDB JSON 1.0 wire form with DynamoDB's own validation messages, the comparison and
// size rules DynamoDB applies, an order-preserving key encoding ([EncodeKey], [DecodeKey])
// and a compact storage encoding of whole items ([EncodeItem], [DecodeItem]).
//
// Every failure a client can cause is an [*Error] carrying the DynamoDB error shape name
// (ValidationException, SerializationException) and DynamoDB's wording, so the API layer
// answers with it unchanged. Failures that only a programming mistake or corrupt storage
// can cause wrap [ErrNotKey] or [ErrCorrupt].
//
// The package depends on nothing in polyregion and logs nothing.
package attr
