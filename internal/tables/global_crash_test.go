package tables

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestGlobalTableReceiverCrash crashes a region whose applied writes were not yet synced
// (lazysync.go): it pulls them again, and the numbers they took in its change log, which a
// peer pulling the region's own writes had already passed, are not handed out again — the
// writes the region makes after the restart reach that peer.
func TestGlobalTableReceiverCrash(t *testing.T) {
	f := globalFleet(t)
	// eu-west, restarted, syncs applied writes only when something else syncs.
	f.applySyncDelay = time.Hour
	f.stop("eu-west")
	f.start("eu-west")
	us := f.node("us-east")
	for i := range 30 {
		if err := us.put(t, "tbl", map[string]types.AttributeValue{"pk": sattr(fmt.Sprint("u", i)), "v": sattr("1")}); err != nil {
			t.Fatal(err)
		}
	}
	f.waitConverged("tbl", f.regions...)
	euCursor, err := f.node("eu-west").svc.Cursor("us-east", "tbl")
	if err != nil {
		t.Fatal(err)
	}
	apCursor, err := f.node("ap-southeast").svc.Cursor("eu-west", "tbl")
	if err != nil {
		t.Fatal(err)
	}

	eu := f.crash("eu-west")
	// The crash lost applied writes: eu-west's cursor went back, and its log ends before
	// the position ap-southeast reached in it.
	if c, err := eu.svc.Cursor("us-east", "tbl"); err != nil || c >= euCursor {
		t.Fatalf("eu-west's cursor of us-east after the crash: %d (%v), before %d: the crash lost nothing", c, err, euCursor)
	}
	tbl, err := eu.svc.lookupAnyTable("tbl")
	if err != nil {
		t.Fatal(err)
	}
	last, _, err := lastLogSeq(f.stores["eu-west"], tbl.meta.ID)
	if err != nil {
		t.Fatal(err)
	}
	if last >= apCursor {
		t.Fatalf("eu-west's log ends at %d after the crash, ap-southeast had reached %d: nothing to reuse", last, apCursor)
	}
	for i := range 5 {
		if err := eu.put(t, "tbl", map[string]types.AttributeValue{"pk": sattr(fmt.Sprint("e", i)), "v": sattr("1")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, seq, err := ownVersion(eu, "tbl"); err != nil || seq <= apCursor {
		t.Fatalf("eu-west's write after the crash took number %d (%v), at or below %d, which ap-southeast passed", seq, err, apCursor)
	}
	f.waitConverged("tbl", f.regions...)
	ap := f.node("ap-southeast")
	for i := range 5 {
		if got, err := ap.value(t, "tbl", fmt.Sprint("e", i)); err != nil || got != "1" {
			t.Fatalf("e%d in ap-southeast: %q %v", i, got, err)
		}
	}
	for i := range 30 {
		if got, err := eu.value(t, "tbl", fmt.Sprint("u", i)); err != nil || got != "1" {
			t.Fatalf("u%d in eu-west: %q %v", i, got, err)
		}
	}
}
