package attr

import (
	"errors"
	"fmt"
)

// DynamoDB error shape names used by this package.
const (
	TypeValidation    = "ValidationException"
	TypeSerialization = "SerializationException"
)

// Error is a client error in DynamoDB's terms: Type is the error shape name the API sends as
// __type (without the namespace), Message the text DynamoDB sends.
type Error struct {
	Type    string
	Message string
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

// Validation returns a ValidationException with the formatted message.
func Validation(format string, args ...any) *Error {
	return &Error{Type: TypeValidation, Message: fmt.Sprintf(format, args...)}
}

// serialization returns a SerializationException: the request is not the shape the API
// declares (a string where a list belongs, bad base64).
func serialization(format string, args ...any) *Error {
	return &Error{Type: TypeSerialization, Message: fmt.Sprintf(format, args...)}
}

// Errors for mistakes that no client request can cause.
var (
	// ErrNotKey: a value of a kind other than S, N or B was given to the key encoding.
	ErrNotKey = errors.New("attr: not a key attribute type (S, N or B)")
	// ErrCorrupt: bytes given to DecodeKey or DecodeItem are not an encoding this package
	// wrote.
	ErrCorrupt = errors.New("attr: corrupt encoding")
)

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// DynamoDB's wording, kept in one place. The quirks (the doubled space in "An string set
// may not be empty", "datatypes", the missing space before "of type BS") are DynamoDB's own
// and clients match on them.
const (
	invalidPrefix = "One or more parameter values were invalid: "

	msgEmptyValue   = "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
	msgMultipleType = "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes"
	msgNullFalse    = invalidPrefix + "Null attribute value types must have the value of true"
	msgEmptySS      = invalidPrefix + "An string set  may not be empty"
	msgEmptyNS      = invalidPrefix + "An number set  may not be empty"
	msgEmptyBS      = invalidPrefix + "Binary sets should not be empty"
	msgDupNS        = "Input collection contains duplicates"
	msgNullSS       = invalidPrefix + "An string set may not have a null string as a member"
	msgNullBS       = invalidPrefix + "Binary sets may not contain null values"
	msgNesting      = "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit"

	msgNumberEmpty     = "The parameter cannot be converted to a numeric value"
	msgNumberOverflow  = "Number overflow. Attempting to store a number with magnitude larger than supported range"
	msgNumberUnderflow = "Number underflow. Attempting to store a number with magnitude smaller than supported range"
	msgNumberDigits    = "Attempting to store more than 38 significant digits in a Number"

	msgItemSize = "Item size has exceeded the maximum allowed size"
)
