// Package expr implements DynamoDB's expressions for the tables service: it parses and
// checks KeyConditionExpression, ConditionExpression, FilterExpression,
// ProjectionExpression and UpdateExpression, with their document paths (a.b[3].c),
// #name and :value placeholders, and evaluates them on items of package attr. It also
// translates the legacy parameters (Expected, KeyConditions, QueryFilter, ScanFilter,
// AttributeUpdates, AttributesToGet) into the same forms, and checks a request's mix of
// parameters.
//
// Parsing is two steps. A hand-written recursive-descent parser turns the tokens into a
// syntax tree and reports the first syntax error as DynamoDB does (Invalid
// ConditionExpression: Syntax error; token: "=", near: "= = b"). A checker then resolves
// placeholders, rejects reserved words, unknown or misused functions, operand types known
// before evaluation, overlapping paths and DynamoDB's limits, and reports the error
// DynamoDB would report first. Every error a client can cause is an *attr.Error
// ValidationException with DynamoDB's wording.
//
// Parsed expressions are immutable and may be shared by goroutines. Evaluation follows
// DynamoDB: comparisons involving missing attributes or values of different types are false
// (<> is then true), updates compute every value from the item as it was, and numbers are
// exact (attr.Number).
//
// The package logs nothing and starts no goroutines.
package expr
