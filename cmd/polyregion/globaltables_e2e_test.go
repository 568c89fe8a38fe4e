package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/polyregion/polyregion/internal/app"
)

// writer puts items into one region until stopped, and remembers every acknowledged one.
type writer struct {
	region string
	client *dynamodb.Client
	prefix string

	mu    sync.Mutex
	acked map[string]string // id -> value
	stop  chan struct{}
	done  chan struct{}
}

func startWriter(c *dynamodb.Client, region, prefix string) *writer {
	w := &writer{region: region, client: c, prefix: prefix, acked: map[string]string{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			default:
			}
			id, v := fmt.Sprintf("%s-%d", prefix, i), fmt.Sprint(i)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("orders"), Item: map[string]types.AttributeValue{
				"id": &types.AttributeValueMemberS{Value: id}, "v": &types.AttributeValueMemberS{Value: v}}})
			cancel()
			if err == nil {
				w.mu.Lock()
				w.acked[id] = v
				w.mu.Unlock()
			}
		}
	}()
	return w
}

func (w *writer) finish() map[string]string {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.acked
}

func replicaStatuses(ctx context.Context, c *dynamodb.Client) (map[string]types.ReplicaStatus, error) {
	d, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("orders")})
	if err != nil {
		return nil, err
	}
	out := map[string]types.ReplicaStatus{}
	for _, r := range d.Table.Replicas {
		out[*r.RegionName] = r.ReplicaStatus
	}
	return out, nil
}

// addReplica makes region a replica of orders through us-east and waits until it is ACTIVE.
func addReplica(t *testing.T, c *dynamodb.Client, region string) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String("orders"),
		ReplicaUpdates: []types.ReplicationGroupUpdate{{Create: &types.CreateReplicationGroupMemberAction{RegionName: aws.String(region)}}}}); err != nil {
		t.Fatalf("UpdateTable create replica %s: %v", region, err)
	}
	waitFor(t, 60*time.Second, func() error {
		st, err := replicaStatuses(ctx, c)
		if err != nil {
			return err
		}
		if st[region] != types.ReplicaStatusActive {
			return fmt.Errorf("replicas %v", st)
		}
		return nil
	})
}

// converged waits until `polyregion verify tables` (every global table) finds no
// difference.
func converged(t *testing.T, dir string, within time.Duration) {
	t.Helper()
	took := waitFor(t, within, func() error {
		out, err := run(t, "verify", "tables", "--dir", dir)
		if err != nil {
			return fmt.Errorf("%v: %s", err, lastLines(out, 5))
		}
		if !strings.Contains(out, "orders: 0 difference(s)") {
			return fmt.Errorf("verify did not check orders: %s", lastLines(out, 5))
		}
		return nil
	})
	t.Logf("replicas converged (verify: 0 differences) in %v", took)
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// present checks that every acknowledged item is in every region: one paged Scan each.
func present(t *testing.T, clients map[string]*dynamodb.Client, acked map[string]string) {
	t.Helper()
	for region, c := range clients {
		have := map[string]string{}
		p := dynamodb.NewScanPaginator(c, &dynamodb.ScanInput{TableName: aws.String("orders")})
		for p.HasMorePages() {
			page, err := p.NextPage(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range page.Items {
				id, _ := it["id"].(*types.AttributeValueMemberS)
				v, _ := it["v"].(*types.AttributeValueMemberS)
				if id != nil && v != nil {
					have[id.Value] = v.Value
				}
			}
		}
		missing := 0
		for id, v := range acked {
			if have[id] != v {
				missing++
			}
		}
		if missing > 0 {
			t.Errorf("%s lacks %d of %d acknowledged writes", region, missing, len(acked))
		}
	}
}

// TestGlobalTablesWithUp: a table with items made global across up's three regions through
// the AWS SDK; writes during the backfill arrive; concurrent writes of one key resolve by
// last-writer-wins with the loser recorded; a partition and a kill -9 under write load
// converge with nothing acknowledged missing; a pinned item stays in its zone.
func TestGlobalTablesWithUp(t *testing.T) {
	dir := t.TempDir()
	startUp(t, dir)
	waitFor(t, 20*time.Second, func() error {
		_, err := os.Stat(filepath.Join(dir, "endpoints.json"))
		return err
	})
	ef, err := app.ReadEndpointsFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	clients := map[string]*dynamodb.Client{}
	for _, r := range ef.Regions {
		clients[r.Name] = dynamoClient(ef, r.Name)
	}
	us := clients["us-east"]
	if _, err := us.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("orders"), BillingMode: types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		Tags:                 []types.Tag{{Key: aws.String("polyregion:residency-attribute"), Value: aws.String("residency")}}}); err != nil {
		t.Fatal(err)
	}
	acked := map[string]string{}
	for i := range 200 {
		id := fmt.Sprint("before-", i)
		if _, err := us.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("orders"), Item: map[string]types.AttributeValue{
			"id": &types.AttributeValueMemberS{Value: id}, "v": &types.AttributeValueMemberS{Value: "0"}}}); err != nil {
			t.Fatal(err)
		}
		acked[id] = "0"
	}

	// Global, one replica at a time, with writes going on during each backfill.
	w1 := startWriter(us, "us-east", "during-eu")
	addReplica(t, us, "eu-west")
	w2 := startWriter(clients["eu-west"], "eu-west", "during-ap")
	addReplica(t, us, "ap-southeast")
	for _, w := range []*writer{w1, w2} {
		for k, v := range w.finish() {
			acked[k] = v
		}
	}
	converged(t, dir, 60*time.Second)
	present(t, clients, acked)

	// One key, two regions, cut from each other: last writer wins everywhere; the loser is recorded.
	mustRun(t, "chaos", "partition", "us-east", "eu-west", "--dir", dir)
	for _, r := range []string{"us-east", "eu-west"} {
		if _, err := clients[r].PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("orders"), Item: map[string]types.AttributeValue{
			"id": &types.AttributeValueMemberS{Value: "hot"}, "v": &types.AttributeValueMemberS{Value: r}}}); err != nil {
			t.Fatal(err)
		}
	}
	// While they are cut off from each other, verify sees the key differ (and says so by
	// its exit status).
	verify := exec.Command(binary(t), "verify", "tables", "orders", "--dir", dir, "--json")
	stdout, err := verify.Output() // the error goes to stderr
	out := string(stdout)
	var vs []struct {
		Table       string              `json:"table"`
		Differences []app.KeyDifference `json:"differences"`
	}
	if jerr := json.Unmarshal([]byte(out), &vs); jerr != nil || err == nil || len(vs) != 1 || vs[0].Table != "orders" || len(vs[0].Differences) == 0 {
		t.Fatalf("verify tables during the cut: err %v, want differences in orders:\n%s", err, out)
	}
	for _, d := range vs[0].Differences {
		if d.Entries["us-east"] == d.Entries["eu-west"] {
			t.Fatalf("verify listed key %s, the same in us-east and eu-west: %+v", d.Key, d)
		}
	}
	mustRun(t, "chaos", "heal", "us-east", "eu-west", "--dir", dir)
	converged(t, dir, 60*time.Second)
	out = mustRun(t, "tables", "conflicts", "orders", "--dir", dir, "--json")
	var cs []app.ConflictJSON
	if err := json.Unmarshal([]byte(out), &cs); err != nil {
		t.Fatalf("conflicts --json: %v\n%s", err, out)
	}
	if len(cs) != 1 || cs[0].LoserRegion == cs[0].WinnerRegion {
		t.Fatalf("conflicts: %+v", cs)
	}

	// A minute cut off under write load on all sides; then a kill -9 and restart.
	mustRun(t, "chaos", "partition", "ap-southeast", "us-east", "--dir", dir)
	mustRun(t, "chaos", "partition", "ap-southeast", "eu-west", "--dir", dir)
	var ws []*writer
	for r, c := range clients {
		ws = append(ws, startWriter(c, r, "cut-"+r))
	}
	// The cut lasts a minute (the fault under test), while the writers write on all sides.
	cutUntil := time.Now().Add(time.Minute)
	waitFor(t, 70*time.Second, func() error {
		if time.Now().Before(cutUntil) {
			return errors.New("the partition lasts a minute")
		}
		return nil
	})
	mustRun(t, "chaos", "heal", "--all", "--dir", dir)
	for _, w := range ws {
		for k, v := range w.finish() {
			acked[k] = v
		}
	}
	converged(t, dir, 60*time.Second)
	present(t, clients, acked)

	// kill -9 of eu-west under write load in every region (its own writer's acknowledged
	// writes are those made before the kill), then restart it.
	eu, _ := ef.Region("eu-west")
	ws = ws[:0]
	for r, c := range clients {
		ws = append(ws, startWriter(c, r, "kill-"+r))
	}
	waitFor(t, 10*time.Second, func() error { // some writes everywhere first
		for _, w := range ws {
			w.mu.Lock()
			n := len(w.acked)
			w.mu.Unlock()
			if n < 50 {
				return fmt.Errorf("%s: %d writes so far", w.region, n)
			}
		}
		return nil
	})
	if err := syscall.Kill(eu.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "restart", "eu-west", "--dir", dir)
	for _, w := range ws {
		for k, v := range w.finish() {
			acked[k] = v
		}
	}
	if ef, err = app.ReadEndpointsFile(dir); err != nil { // eu-west listens on new ports
		t.Fatal(err)
	}
	clients["eu-west"] = dynamoClient(ef, "eu-west")
	converged(t, dir, 60*time.Second)
	present(t, clients, acked)

	// Residency: an item pinned to eu is stored in eu-west only, and refused in us-east.
	if _, err := clients["eu-west"].PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("orders"), Item: map[string]types.AttributeValue{
		"id": &types.AttributeValueMemberS{Value: "gdpr"}, "residency": &types.AttributeValueMemberS{Value: "eu"}}}); err != nil {
		t.Fatal(err)
	}
	_, err = us.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("orders"), Item: map[string]types.AttributeValue{
		"id": &types.AttributeValueMemberS{Value: "gdpr-2"}, "residency": &types.AttributeValueMemberS{Value: "eu"}}})
	if err == nil || !strings.Contains(err.Error(), "ValidationException") {
		t.Fatalf("pinned write in us-east: %v", err)
	}
	// A write made after it in eu-west reaches the others; the pinned item does not.
	if _, err := clients["eu-west"].PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("orders"), Item: map[string]types.AttributeValue{
		"id": &types.AttributeValueMemberS{Value: "after-gdpr"}, "v": &types.AttributeValueMemberS{Value: "1"}}}); err != nil {
		t.Fatal(err)
	}
	converged(t, dir, 30*time.Second) // pinned items are left out of the digests
	for _, r := range []string{"us-east", "ap-southeast"} {
		for id, want := range map[string]bool{"after-gdpr": true, "gdpr": false} {
			out, err := clients[r].GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("orders"),
				Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}}})
			if err != nil {
				t.Fatal(err)
			}
			if (out.Item != nil) != want {
				t.Errorf("%s holds %s: %v, want %v", r, id, out.Item != nil, want)
			}
		}
	}
	out = mustRun(t, "tables", "residency-report", "orders", "--dir", dir)
	t.Logf("residency-report:\n%s", out)
}
