package replication

import (
	"fmt"
	"strings"
)

// Version identifies one write: when it was made and where. Writes to one key
// are ordered by Version — by timestamp, then by region name — and the larger
// wins (last writer wins). Two writes never share a Version: one region's clock
// never repeats a timestamp.
type Version struct {
	TS     Timestamp
	Region string
}

// Compare returns -1, 0 or +1 as v loses to, equals or beats w.
func (v Version) Compare(w Version) int {
	if c := v.TS.Compare(w.TS); c != 0 {
		return c
	}
	return strings.Compare(v.Region, w.Region)
}

// IsZero reports whether v is the zero Version: no write.
func (v Version) IsZero() bool { return v.TS.IsZero() && v.Region == "" }

// String formats v as timestamp@region.
func (v Version) String() string {
	if v.IsZero() {
		return "none"
	}
	return fmt.Sprintf("%s@%s", v.TS, v.Region)
}
