package app

import (
	"bytes"
	"testing"
	"time"

	"github.com/polyregion/polyregion/internal/replication"
)

// TestPrintReplicationStatus: each pull shows what it has still to apply, in records and
// in bytes of the source's writes, beside its state and last lag.
func TestPrintReplicationStatus(t *testing.T) {
	st := &FleetStatus{Regions: []RegionReport{
		{Name: "eu-west", Status: &RegionStatus{Replication: []replication.Status{
			{Service: "tables", Source: "us-east", Stream: "orders", Connected: true, Pending: 12, PendingBytes: 3500, LastLatency: 1234 * time.Microsecond},
			{Service: "tables", Source: "ap-southeast", Stream: "orders", Pending: 1, PendingBytes: 512, Error: "partitioned"},
		}}},
		{Name: "us-east", Status: &RegionStatus{Replication: []replication.Status{
			{Service: "tables", Source: "eu-west", Stream: "orders", Connected: true},
		}}},
	}}
	var out bytes.Buffer
	printReplicationStatus(&out, st)
	want := `
REPLICATION  FROM          TABLE   STATE                 PENDING              LAST LAG
eu-west      us-east       orders  connected             12 records, 3.4 KiB  1.2ms
eu-west      ap-southeast  orders  cut off: partitioned  1 record, 512 B      0s
us-east      eu-west       orders  connected             0 records, 0 B       0s
`
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[uint64]string{
		0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 3500: "3.4 KiB", 1<<20 - 1: "1.0 MiB",
		5 << 30: "5.0 GiB", 1<<64 - 1: "16.0 EiB",
	} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
