package tables

import (
	"context"
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"pgregory.net/rapid"

	"github.com/polyregion/polyregion/internal/testutil"

	"github.com/polyregion/polyregion/internal/replication"
)

// gack is an acknowledged write of the property test.
type gack struct {
	key     string
	value   string // "" for a removal
	version replication.Version
	context replication.Context
}

// TestGlobalTableRandomHistories draws random writes, deletes, partitions, heals,
// restarts and power losses across three regions of a global table, then heals everything and checks that
// every region holds the same items, that each key holds its largest acknowledged version,
// and that every acknowledged write that neither won, nor is in the winner's history, nor
// was overwritten by a write made after seeing it, is recorded as a conflict's loser.
func TestGlobalTableRandomHistories(t *testing.T) {
	explicit := false
	flag.Visit(func(fl *flag.Flag) { explicit = explicit || fl.Name == "rapid.checks" })
	if fl := flag.Lookup("rapid.checks"); fl != nil && !explicit {
		// Each case builds a global table across three regions: keep the package's test
		// time reasonable unless asked for more with -rapid.checks.
		_ = fl.Value.Set("12")
		defer func() { _ = fl.Value.Set(fl.DefValue) }()
	}
	f := newGFleet(t)
	// Applied writes are synced only with the regions' own writes, so that a power loss
	// loses some.
	f.applySyncDelay = time.Hour
	for _, r := range f.regions {
		f.stop(r)
		f.start(r)
	}
	cases := 0
	rapid.Check(t, func(rt *rapid.T) {
		cases++
		table := fmt.Sprintf("prop%03d", cases)
		for _, r := range f.regions {
			if f.node(r) == nil {
				f.start(r)
			}
		}
		f.healAll()
		f.createTable("us-east", table, nil)
		// Two replicas at first; the third is added at a drawn step (its backfill then runs
		// among the writes, partitions and restarts) or from the start.
		f.makeGlobal(table, "us-east", "eu-west")
		steps := rapid.IntRange(1, 30).Draw(rt, "steps")
		addAt := rapid.IntRange(0, steps).Draw(rt, "addAt")
		added := false
		addThird := func() {
			for _, from := range []string{"us-east", "eu-west"} {
				if f.node(from) != nil {
					if err := f.addReplica(from, table, "ap-southeast"); err != nil {
						rt.Fatalf("adding ap-southeast from %s: %v", from, err)
					}
					added = true
					return
				}
			}
		}
		keys := []string{"k1", "k2", "k3"}
		lastSeq := map[string]uint64{}
		var acks []gack
		for i := range steps {
			if i == addAt && !added {
				addThird()
			}
			region := rapid.SampledFrom(f.regions).Draw(rt, "region")
			n := f.node(region)
			switch op := rapid.IntRange(0, 9).Draw(rt, "op"); {
			case op <= 5 && n != nil && (region != "ap-southeast" || added):
				key := rapid.SampledFrom(keys).Draw(rt, "key")
				value := ""
				var err error
				if op == 5 {
					err = n.del(t, table, key)
				} else {
					value = fmt.Sprintf("%s-%d", region, i)
					err = n.put(t, table, map[string]types.AttributeValue{"pk": sattr(key), "v": sattr(value)})
				}
				if code, _ := apiErrorCodeOf(err); code == "ResourceNotFoundException" && region == "ap-southeast" {
					break // its replica is still being created
				}
				if err != nil {
					rt.Fatalf("write in %s: %v", region, err)
				}
				v, ctx, seq, err := ownVersion(n, table)
				if err != nil {
					rt.Fatal(err)
				}
				if seq > lastSeq[region] { // else a removal of a missing item: no write at all
					lastSeq[region] = seq
					acks = append(acks, gack{key, value, v, ctx})
				}
			case op == 6:
				other := rapid.SampledFrom(f.regions).Draw(rt, "other")
				if other != region {
					f.partition(region, other, true)
				}
			case op == 7:
				f.healAll()
			case op == 8 && n != nil:
				if rapid.Bool().Draw(rt, "powerLoss") {
					f.crashStop(region) // loses the applied writes not yet synced
				} else {
					f.stop(region)
				}
			case op == 9:
				if n == nil {
					f.start(region)
				}
			}
		}
		for _, r := range f.regions {
			if f.node(r) == nil {
				f.start(r)
			}
		}
		f.healAll()
		if !added {
			addThird()
		}
		testutil.WaitFor(rt, 30*time.Second, func() error { return f.activeEverywhere(table) })
		testutil.WaitFor(rt, 30*time.Second, func() error { return f.converged(table, f.regions...) })
		final := map[string]gack{}
		for _, a := range acks {
			if cur, ok := final[a.key]; !ok || a.version.Compare(cur.version) > 0 {
				final[a.key] = a
			}
		}
		for _, r := range f.regions {
			n := f.node(r)
			for k, a := range final {
				st, err := stampOf(n, table, k)
				if err != nil {
					rt.Fatal(err)
				}
				got, err := n.value(t, table, k)
				if err != nil {
					rt.Fatal(err)
				}
				if st.stamp.Version != a.version || got != a.value {
					rt.Fatalf("%s: %s = %q at %v, want %q at %v", r, k, got, st.stamp.Version, a.value, a.version)
				}
			}
		}
		losers := map[replication.Version]bool{}
		for _, r := range f.regions {
			cs, err := f.node(r).svc.Conflicts(table, replication.Timestamp{}, 0)
			if err != nil {
				rt.Fatal(err)
			}
			for _, c := range cs {
				losers[c.Loser] = true
			}
		}
		rt.Logf("%d acknowledged writes, %d losers recorded", len(acks), len(losers))
		superseded := func(a gack) bool {
			for _, b := range acks {
				if b.key == a.key && b.version != a.version && b.context.Covers(a.version) {
					return true
				}
			}
			return false
		}
		for _, a := range acks {
			win := final[a.key]
			if a.version == win.version || win.context.Covers(a.version) || superseded(a) {
				continue
			}
			if !losers[a.version] {
				rt.Fatalf("write %v of %s lost to %v without a conflict record", a.version, a.key, win.version)
			}
		}
		// Leave the fleet as the case found it: DeleteTable in every region (each takes its
		// replica out of the membership), so that later cases do not pull this table.
		for _, r := range f.regions {
			if _, err := f.node(r).ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)}); err != nil {
				rt.Fatalf("%s: DeleteTable: %v", r, err)
			}
		}
	})
}
