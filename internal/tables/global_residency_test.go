package tables

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/polyregion/polyregion/internal/kv"
	"github.com/polyregion/polyregion/internal/testutil"
)

// TestGlobalTableResidency pins items to zones with the residency tags: a replica outside
// the allowed zones is refused, a pinned item is written only in its zones, never reaches
// another zone's store, and its pin cannot change.
func TestGlobalTableResidency(t *testing.T) {
	f := newGFleet(t)
	us, eu, ap := f.node("us-east"), f.node("eu-west"), f.node("ap-southeast")
	f.createTable("eu-west", "people", nil)
	arn := "arn:aws:dynamodb:eu-west:" + DefaultAccountID + ":table/people"
	if _, err := eu.ddb.TagResource(context.Background(), &dynamodb.TagResourceInput{ResourceArn: aws.String(arn), Tags: []types.Tag{
		{Key: aws.String(TagResidencyZones), Value: aws.String("eu,us")},
		{Key: aws.String(TagResidencyAttribute), Value: aws.String("home")},
	}}); err != nil {
		t.Fatal(err)
	}
	// A pinned item and an unpinned one before the table is global, one of each after.
	for _, it := range []map[string]types.AttributeValue{
		{"pk": sattr("anna"), "v": sattr("secret-eu-1"), "home": sattr("eu")},
		{"pk": sattr("bob"), "v": sattr("public-1")},
	} {
		if err := eu.put(t, "people", it); err != nil {
			t.Fatal(err)
		}
	}
	err := f.addReplica("eu-west", "people", "ap-southeast")
	wantError(t, err, "ValidationException", `region ap-southeast is in residency zone "ap"`)
	if !strings.Contains(err.Error(), "[eu, us]") {
		t.Errorf("the refusal does not list the allowed zones: %v", err)
	}
	f.makeGlobal("people", "eu-west", "us-east")
	for _, it := range []map[string]types.AttributeValue{
		{"pk": sattr("carl"), "v": sattr("secret-eu-2"), "home": &types.AttributeValueMemberSS{Value: []string{"eu"}}},
		{"pk": sattr("dora"), "v": sattr("public-2")},
		{"pk": sattr("emma"), "v": sattr("both"), "home": &types.AttributeValueMemberL{Value: []types.AttributeValue{sattr("eu"), sattr("us")}}},
	} {
		if err := eu.put(t, "people", it); err != nil {
			t.Fatal(err)
		}
	}
	// Deleting a pinned item ships its removal only inside its zones as well.
	if err := eu.put(t, "people", map[string]types.AttributeValue{"pk": sattr("finn"), "v": sattr("secret-eu-3"), "home": sattr("eu")}); err != nil {
		t.Fatal(err)
	}
	if err := eu.del(t, "people", "finn"); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		for _, k := range []string{"bob", "dora", "emma"} {
			if v, _ := us.value(t, "people", k); v == "" {
				return fmt.Errorf("%s not in us-east yet", k)
			}
		}
		return f.converged("people", "us-east") // caught up
	})
	// Written in the wrong zone: refused, naming attribute, zones, region and zone.
	err = us.put(t, "people", map[string]types.AttributeValue{"pk": sattr("gus"), "home": sattr("eu")})
	wantError(t, err, "ValidationException", `home pins it to zones [eu], but region us-east is in zone "us"`)
	// The pin may not change.
	err = eu.put(t, "people", map[string]types.AttributeValue{"pk": sattr("anna"), "v": sattr("x"), "home": sattr("us")})
	wantError(t, err, "ValidationException", "cannot change")
	err = eu.put(t, "people", map[string]types.AttributeValue{"pk": sattr("bob"), "v": sattr("x"), "home": sattr("eu")})
	wantError(t, err, "ValidationException", "cannot change")
	// us-east's store holds none of the eu-only data: no item, stamp or log record.
	for _, secret := range []string{"secret-eu-1", "secret-eu-2", "secret-eu-3", "anna", "carl", "finn"} {
		if k := findInStore(t, f.stores["us-east"], secret); k != nil {
			t.Errorf("us-east stores %q under %q", secret, k)
		}
	}
	if findInStore(t, f.stores["eu-west"], "secret-eu-2") == nil {
		t.Fatal("the check finds nothing even where the data is")
	}
	if findInStore(t, f.stores["ap-southeast"], "public-1") != nil {
		t.Error("ap-southeast, never a replica, stores the table")
	}
	rep, err := eu.svc.ResidencyReport("people")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Pinned["eu"] != 3 || rep.Pinned["us"] != 1 || len(rep.Violations) != 0 || rep.Items != 5 {
		t.Errorf("eu-west report: %+v", rep)
	}
	rep, err = us.svc.ResidencyReport("people")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Pinned["eu"] != 1 || rep.Pinned["us"] != 1 || len(rep.Violations) != 0 || rep.Items != 3 {
		t.Errorf("us-east report: %+v", rep)
	}
	// Allowed zones that leave out a replica are refused.
	_, err = eu.ddb.TagResource(context.Background(), &dynamodb.TagResourceInput{ResourceArn: aws.String(arn), Tags: []types.Tag{
		{Key: aws.String(TagResidencyZones), Value: aws.String("eu")}}})
	wantError(t, err, "ValidationException", "us-east")
	_ = ap
}

// findInStore returns the key of the first entry of store whose key or value contains s.
func findInStore(t *testing.T, store kv.Store, s string) []byte {
	t.Helper()
	it, err := store.Iter(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	for it.Next() {
		if bytes.Contains(it.Key(), []byte(s)) || bytes.Contains(it.Value(), []byte(s)) {
			return append([]byte(nil), it.Key()...)
		}
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	return nil
}

// TestGlobalTableResidencyBackfillCursors adds a replica in the eu zone from a source in the
// us zone, after an eu-pinned item was written in the other eu region: the source never
// received that item, so its cursor for that region says nothing about it, and the new
// replica must still get it.
func TestGlobalTableResidencyBackfillCursors(t *testing.T) {
	f := newGFleetIn(t, map[string]string{"us-east": "us", "eu-west": "eu", "ap-southeast": "eu"})
	us, eu := f.node("us-east"), f.node("eu-west")
	f.createTable("us-east", "people", nil)
	arn := "arn:aws:dynamodb:us-east:" + DefaultAccountID + ":table/people"
	if _, err := us.ddb.TagResource(context.Background(), &dynamodb.TagResourceInput{ResourceArn: aws.String(arn), Tags: []types.Tag{
		{Key: aws.String(TagResidencyAttribute), Value: aws.String("home")}}}); err != nil {
		t.Fatal(err)
	}
	f.makeGlobal("people", "us-east", "eu-west")
	if err := eu.put(t, "people", map[string]types.AttributeValue{"pk": sattr("anna"), "v": sattr("eu-only"), "home": sattr("eu")}); err != nil {
		t.Fatal(err)
	}
	if err := eu.put(t, "people", map[string]types.AttributeValue{"pk": sattr("bob"), "v": sattr("everywhere")}); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, func() error {
		if v, _ := us.value(t, "people", "bob"); v != "everywhere" {
			return fmt.Errorf("bob not in us-east yet")
		}
		return nil
	})
	if v, _ := us.value(t, "people", "anna"); v != "" {
		t.Fatalf("us-east holds the eu-pinned item: %q", v)
	}
	if err := f.addReplica("us-east", "people", "ap-southeast"); err != nil {
		t.Fatal(err)
	}
	f.waitActive("people", f.regions...)
	ap := f.node("ap-southeast")
	testutil.WaitFor(t, 10*time.Second, func() error {
		for _, k := range []string{"anna", "bob"} {
			if v, _ := ap.value(t, "people", k); v == "" {
				return fmt.Errorf("%s not in ap-southeast", k)
			}
		}
		return nil
	})
}
