package tables

import (
	"fmt"
	"regexp"
	"strings"
)

// violations collects DynamoDB's field validation errors, worded as DynamoDB words them:
// "Value 'x' at 'tableName' failed to satisfy constraint: Member must ...".
type violations []string

// add records that value (nil: null) at path failed constraint.
func (v *violations) add(value any, path, constraint string) {
	if len(*v) >= 10 {
		return
	}
	shown := "null"
	if value != nil {
		shown = "'" + fmt.Sprint(value) + "'"
	}
	*v = append(*v, fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: %s", shown, path, constraint))
}

// err returns the ValidationException for the violations, or nil.
func (v violations) err() error {
	if len(v) == 0 {
		return nil
	}
	s := ""
	if len(v) > 1 {
		s = "s"
	}
	return validationf("%d validation error%s detected: %s", len(v), s, strings.Join(v, "; "))
}

var namePattern = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)

// checkTableName validates a TableName parameter the way DynamoDB does for the operations
// that name one table.
func checkTableName(name *string) error {
	if name == nil {
		return validationf("The parameter 'TableName' is required but was not present in the request")
	}
	n := tableNameFromARN(*name)
	if len(n) < 3 || len(n) > 255 {
		return validationf("TableName must be at least 3 characters long and at most 255 characters long")
	}
	if !namePattern.MatchString(n) {
		var v violations
		v.add(n, "tableName", "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
		return v.err()
	}
	return nil
}

// oneOf reports whether s is one of values.
func oneOf(s string, values ...string) bool {
	for _, v := range values {
		if s == v {
			return true
		}
	}
	return false
}

// enumConstraint is the constraint text of an enumeration.
func enumConstraint(values ...string) string {
	return "Member must satisfy enum value set: [" + strings.Join(values, ", ") + "]"
}
