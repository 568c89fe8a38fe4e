package tables

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestReadShipsCommitTimes: the records a source ships of its own writes say when their
// commit returned — after their timestamp was read, and by the time the write was
// acknowledged — so that receivers measure replication's latency from the commit.
func TestReadShipsCommitTimes(t *testing.T) {
	f := globalFleet(t)
	us := f.node("us-east")
	for i := range 3 {
		if err := us.put(t, "tbl", map[string]types.AttributeValue{"pk": sattr(fmt.Sprint("k", i)), "v": sattr("1")}); err != nil {
			t.Fatal(err)
		}
	}
	acked := time.Now().UnixNano()
	b, err := us.svc.Read("tbl", "eu-west", 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Records) != 3 {
		t.Fatalf("%d records shipped, want 3", len(b.Records))
	}
	for _, r := range b.Records {
		if r.Committed < r.Version.TS.Wall || r.Committed > acked {
			t.Errorf("record %d: committed at %d, timestamp %d, acknowledged by %d", r.Seq, r.Committed, r.Version.TS.Wall, acked)
		}
	}
}
