package tables

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/polyregion/polyregion/internal/control"
	"github.com/polyregion/polyregion/internal/kv"
	"github.com/polyregion/polyregion/internal/replication"
	"github.com/polyregion/polyregion/internal/tables/attr"
)

// The global-table parts of the API (UpdateTable ReplicaUpdates, DescribeTable's
// replicas, DeleteTable of a replica, settings that follow the membership) and what the
// rest of polyregion reads: replication status, conflicts, digests, residency reports.

// controlTimeout bounds a membership change made for a request.
const controlTimeout = 10 * time.Second

// replicationGroupUpdate is one member of UpdateTable's ReplicaUpdates.
type replicationGroupUpdate struct {
	Create       *replicaAction  `json:"Create"`
	Update       *replicaAction  `json:"Update"`
	Delete       *replicaAction  `json:"Delete"`
	Disassociate json.RawMessage `json:"Disassociate"`
}

type replicaAction struct {
	RegionName *string `json:"RegionName"`
}

// replicaDescription is the wire shape of types.ReplicaDescription.
type replicaDescription struct {
	RegionName                   string  `json:"RegionName"`
	ReplicaStatus                string  `json:"ReplicaStatus"`
	ReplicaStatusDescription     *string `json:"ReplicaStatusDescription,omitempty"`
	ReplicaStatusPercentProgress *string `json:"ReplicaStatusPercentProgress,omitempty"`
	ReplicaArn                   string  `json:"ReplicaArn,omitempty"`
}

// describeReplicas lists the replicas of g, this region's included, as DynamoDB does.
func (s *Service) describeReplicas(g *globalLocal) []replicaDescription {
	out := make([]replicaDescription, 0, len(g.Record.Replicas))
	for _, r := range g.Record.Replicas {
		d := replicaDescription{RegionName: r.Region, ReplicaStatus: r.Status,
			ReplicaArn: "arn:aws:dynamodb:" + r.Region + ":" + s.opts.AccountID + ":table/" + g.Record.Name}
		if r.Status == replicaCreating {
			d.ReplicaStatusPercentProgress = ptr(strconv.Itoa(r.Progress))
		}
		if r.Message != "" {
			d.ReplicaStatusDescription = ptr(r.Message)
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b replicaDescription) int {
		switch {
		case a.RegionName < b.RegionName:
			return -1
		case a.RegionName > b.RegionName:
			return 1
		}
		return 0
	})
	return out
}

// replicaUpdates serves UpdateTable's ReplicaUpdates: one Create, Update or Delete.
func (s *Service) replicaUpdates(name string, raw json.RawMessage) (any, error) {
	if s.opts.Control == nil {
		return nil, validationf("One or more parameter values were invalid: global tables need a control plane; this region has none")
	}
	var ups []*replicationGroupUpdate
	if err := decode(raw, &ups); err != nil {
		return nil, err
	}
	if len(ups) == 0 {
		var v violations
		v.add("[]", "replicaUpdates", "Member must have length greater than or equal to 1")
		return nil, v.err()
	}
	if len(ups) > 1 {
		return nil, validationf("One or more parameter values were invalid: only one replica can be created or deleted per UpdateTable request")
	}
	u := ups[0]
	if u == nil {
		return nil, mustNotBeNull("replicaUpdates.1")
	}
	n := 0
	var act *replicaAction
	kind := ""
	for _, c := range []struct {
		k string
		a *replicaAction
	}{{"Create", u.Create}, {"Update", u.Update}, {"Delete", u.Delete}} {
		if c.a != nil {
			n, act, kind = n+1, c.a, c.k
		}
	}
	if given(u.Disassociate) {
		return nil, validationf("One or more parameter values were invalid: polyregion does not support the Disassociate replica action")
	}
	if n != 1 {
		return nil, validationf("One or more parameter values were invalid: a ReplicationGroupUpdate must contain exactly one of Create, Update or Delete")
	}
	if act.RegionName == nil || *act.RegionName == "" {
		return nil, mustNotBeNull("replicaUpdates.1.member." + lowerFirst(kind) + ".regionName")
	}
	region := *act.RegionName
	if _, ok := s.opts.Zones[region]; !ok && region != s.opts.Region {
		return nil, validationf("One or more parameter values were invalid: the region %s is not a region of this polyregion fleet (%s)", region, zoneList(sortedKeys(s.opts.Zones)))
	}
	t, err := s.lookupTable(name)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), controlTimeout)
	defer cancel()
	switch kind {
	case "Create":
		err = s.createReplica(ctx, t, region)
	case "Delete":
		err = s.deleteReplica(ctx, t, region)
	default:
		err = s.checkReplica(t, region)
	}
	if err != nil {
		return nil, err
	}
	return updateTableOutput{TableDescription: s.describe(t, "ACTIVE")}, nil
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]+'a'-'A') + s[1:]
}

// inProgress is the ResourceInUseException of a table with a change under way.
func inProgress(name string) *apiError {
	return errorf("ResourceInUseException", "Attempt to change a resource which is still in use: Table is being updated: %s", name)
}

// checkIndexesSettled refuses a replica change while an index is created or deleted.
func checkIndexesSettled(t *table) error {
	for _, x := range t.currentSettings().indexes {
		if x.meta.Status != indexStatusActive {
			return inProgress(t.meta.Name)
		}
	}
	return nil
}

// checkReplica answers an Update action: the region must be a replica.
func (s *Service) checkReplica(t *table, region string) error {
	g := t.currentSettings().global
	if g == nil || !g.Record.has(region) {
		return validationf("One or more parameter values were invalid: Cannot update replica in region %s: the table %s has no replica there", region, t.meta.Name)
	}
	return nil
}

// createReplica adds a replica in region to t's global table (making t global first, with
// this region an ACTIVE replica, if it is not yet).
func (s *Service) createReplica(ctx context.Context, t *table, region string) error {
	name := t.meta.Name
	if err := checkIndexesSettled(t); err != nil {
		return err
	}
	set := t.currentSettings()
	if res := residencyOf(set.tags); !res.allows(s.zoneOf(region)) || !res.allows(s.zoneOf(s.opts.Region)) {
		bad := region
		if res.allows(s.zoneOf(region)) {
			bad = s.opts.Region
		}
		return validationf("One or more parameter values were invalid: region %s is in residency zone %q, but table %s may only have replicas in zones %s (tag %s)",
			bad, s.zoneOf(bad), name, zoneList(res.zones), TagResidencyZones)
	}
	st := s.opts.Control.State()
	r, exists := st.Get(GlobalTableKind, name)
	replica := replicaState{Region: region, ID: newIndexID(), Status: replicaCreating, Source: s.opts.Region}
	var next globalTable
	op := control.Op{Kind: GlobalTableKind, ID: name}
	if !exists {
		if region == s.opts.Region {
			return validationf("One or more parameter values were invalid: Failed to create a replica of table %s in region %s: the table already exists there", name, region)
		}
		if set.global != nil && st.Index() <= set.global.Version {
			return inProgress(name) // the control plane here lags what the table saw
		}
		next = s.recordOf(t, set)
		next.Replicas = []replicaState{{Region: s.opts.Region, ID: newIndexID(), Status: replicaActive}, replica}
		if set.global != nil {
			next.Replicas[0].ID = set.global.replicaOf(s.opts.Region).ID
		}
		op.Expect = control.ExpectAbsent
	} else {
		if err := json.Unmarshal(r.Value, &next); err != nil {
			return fmt.Errorf("membership record of %s: %w", name, err)
		}
		if next.replica(s.opts.Region).Status != replicaActive {
			return inProgress(name)
		}
		if next.changing() {
			return inProgress(name)
		}
		if next.has(region) {
			return validationf("One or more parameter values were invalid: Failed to create a the new replica of table with name: '%s' because one or more replicas already existed as tables.", name)
		}
		next.Replicas = append(next.Replicas, replica)
		op.Expect, op.Version = control.ExpectVersion, r.Version
	}
	var err error
	if op.Value, err = json.Marshal(next); err != nil {
		return err
	}
	res, err := s.opts.Control.Apply(ctx, control.Batch{Ops: []control.Op{op}})
	if errors.Is(err, control.ErrConflict) || errors.Is(err, control.ErrExists) {
		return inProgress(name)
	}
	if err != nil {
		return fmt.Errorf("adding replica %s of %s: %w", region, name, err)
	}
	// This region's table is global from here on: the writes after this are stamped, and
	// the backfill snapshot the new replica asks for covers every write before.
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tables[name] != t {
		return tableNotFound(name)
	}
	cur := t.currentSettings()
	if cur.global == nil || cur.global.Version < res.Index {
		if err := s.setGlobal(t, cur, &globalLocal{Record: next.clone(), Version: res.Index, Imported: true}); err != nil {
			return err
		}
	}
	s.wakeGlobal()
	return nil
}

// recordOf returns the membership record of t, without replicas.
func (s *Service) recordOf(t *table, set tableSettings) globalTable {
	g := globalTable{
		Name: t.meta.Name, Version: globalTableVersion, KeySchema: t.meta.KeySchema, AttributeDefinitions: set.attrDefs,
		BillingMode: set.billingMode, Throughput: set.throughput, TTLAttribute: set.ttlAttribute, Tags: maps.Clone(set.tags),
	}
	for _, x := range set.indexes {
		g.Indexes = append(g.Indexes, x.meta)
	}
	if st := set.stream; st != nil && st.Enabled {
		g.StreamViewType = st.ViewType
	}
	return g
}

// deleteReplica marks region's replica DELETING; that region deletes its table and leaves.
func (s *Service) deleteReplica(ctx context.Context, t *table, region string) error {
	name := t.meta.Name
	if err := checkIndexesSettled(t); err != nil {
		return err
	}
	r, ok := s.opts.Control.State().Get(GlobalTableKind, name)
	var g globalTable
	if ok {
		if err := json.Unmarshal(r.Value, &g); err != nil {
			return fmt.Errorf("membership record of %s: %w", name, err)
		}
	}
	if !ok || !g.has(region) {
		return validationf("One or more parameter values were invalid: Cannot delete replica in region %s: the table %s has no replica there", region, name)
	}
	if g.changing() {
		return inProgress(name)
	}
	for i := range g.Replicas {
		if g.Replicas[i].Region == region {
			g.Replicas[i].Status = replicaDeleting
		}
	}
	value, err := json.Marshal(g)
	if err != nil {
		return err
	}
	res, err := s.opts.Control.Apply(ctx, control.Batch{Ops: []control.Op{{Kind: GlobalTableKind, ID: name, Value: value, Expect: control.ExpectVersion, Version: r.Version}}})
	if errors.Is(err, control.ErrConflict) {
		return inProgress(name)
	}
	if err != nil {
		return fmt.Errorf("deleting replica %s of %s: %w", region, name, err)
	}
	s.mu.Lock()
	if cur := t.currentSettings(); cur.global != nil && cur.global.Version < res.Index && s.tables[name] == t {
		err = s.setGlobal(t, cur, &globalLocal{Record: g.clone(), Version: res.Index, Imported: cur.global.Imported})
	}
	s.mu.Unlock()
	s.wakeGlobal()
	return err
}

// leaveGlobalTable takes this region's replica out of its global table before DeleteTable
// removes it, as DynamoDB's DeleteTable of a replica deletes that replica. Nothing to do
// for a table that is not global.
func (s *Service) leaveGlobalTable(name string) error {
	t, err := s.lookupAnyTable(name)
	if err != nil || t.currentSettings().global == nil || s.opts.Control == nil {
		return nil
	}
	if err := checkIndexesSettled(t); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), controlTimeout)
	defer cancel()
	self := s.opts.Region
	_, _, err = s.updateRecord(ctx, name, func(g *globalTable) (bool, error) {
		if !g.has(self) {
			return false, errNoRecord
		}
		if g.changing() {
			return false, inProgress(name)
		}
		g.Replicas = slices.DeleteFunc(g.Replicas, func(r replicaState) bool { return r.Region == self })
		return len(g.Replicas) == 0, nil
	})
	if errors.Is(err, errNoRecord) {
		return nil
	}
	return err
}

// changeGlobalSettings applies a settings change of a global table to its membership
// record too (TTL, tags), so that every replica follows it, and returns the membership to
// save with the table's settings (nil for a table that is not global). The caller holds
// s.mu, which is released while the control plane answers (so that requests to other
// tables never wait for it), and has checked the change; change edits the record.
func (s *Service) changeGlobalSettings(t *table, change func(*globalTable) error) (*globalLocal, error) {
	cur := t.currentSettings().global
	if cur == nil || s.opts.Control == nil {
		return cur, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), controlTimeout)
	defer cancel()
	s.mu.Unlock()
	g, version, err := s.updateRecord(ctx, t.meta.Name, func(g *globalTable) (bool, error) { return false, change(g) })
	s.mu.Lock()
	if err == nil && s.tables[t.meta.Name] != t {
		return nil, tableNotFound(t.meta.Name)
	}
	if errors.Is(err, errNoRecord) {
		return cur, nil
	}
	if err != nil {
		return nil, err
	}
	next := *cur
	next.Record, next.Version = g.clone(), version
	return &next, nil
}

// GlobalTables returns the names of the tables that are global in this region, sorted.
func (s *Service) GlobalTables() []string {
	s.mu.RLock()
	var names []string
	for name, t := range s.tables {
		if t.currentSettings().global != nil {
			names = append(names, name)
		}
	}
	s.mu.RUnlock()
	slices.Sort(names)
	return names
}

// ReplicationStatus returns the state of every pull of this region's global tables.
func (s *Service) ReplicationStatus() []replication.Status {
	if s.replicator == nil {
		return nil
	}
	return s.replicator.Status()
}

// Conflicts returns the conflicts found in this region for table, oldest first: at most
// limit (0: all) detected after after (zero: from the first). A conflict's Key is the
// item key's encoding (as in BucketEntries) and LoserData the losing item in DynamoDB
// JSON (nil for a removal).
func (s *Service) Conflicts(table string, after replication.Timestamp, limit int) ([]replication.Conflict, error) {
	return replication.ListConflicts(s.store, replicationService, table, after, limit)
}

// Digest summarises this region's copy of table for verify: one entry per item, its key
// encoding and, as value, the version it was written with and its bytes. Removed items
// (tombstones) are left out.
func (s *Service) Digest(table string) (*replication.Digest, error) {
	d := &replication.Digest{}
	err := s.digestEntries(table, -1, func(key, value []byte) { d.Add(key, value) })
	if err != nil {
		return nil, err
	}
	return d, nil
}

// BucketEntries lists the digest entries of one bucket of table: hex of the key encoding
// → the entry's hash.
func (s *Service) BucketEntries(table string, bucket int) (map[string][32]byte, error) {
	if bucket < 0 || bucket >= replication.DigestBuckets {
		return nil, fmt.Errorf("tables: bucket %d is not in [0, %d)", bucket, replication.DigestBuckets)
	}
	out := map[string][32]byte{}
	err := s.digestEntries(table, bucket, func(key, value []byte) {
		out[hex.EncodeToString(key)] = replication.EntryHash(key, value)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// digestEntries calls fn with the digest entry of every item of table (only those of
// bucket, unless it is negative), read from one snapshot. Items pinned by residency are
// left out: only the regions of their zones hold them, so they would differ by design
// (ResidencyReport accounts for them).
func (s *Service) digestEntries(name string, bucket int, fn func(key, value []byte)) error {
	t, err := s.lookupAnyTable(name)
	if err != nil {
		return err
	}
	res := residencyOf(t.currentSettings().tags)
	snap, err := s.store.Snapshot()
	if err != nil {
		return err
	}
	defer snap.Close()
	it, err := snap.Iter(t.items, kv.PrefixEnd(t.items))
	if err != nil {
		return err
	}
	defer it.Close()
	for it.Next() {
		key := it.Key()[len(t.items):]
		if bucket >= 0 && replication.DigestBucket(key) != bucket {
			continue
		}
		if res.attribute != "" {
			item, err := attr.DecodeItem(it.Value())
			if err != nil {
				return fmt.Errorf("tables: decoding item %q: %w", it.Key(), err)
			}
			if pin, err := res.pinOf(item); err != nil || pin != nil {
				continue
			}
		}
		st, err := s.readStamp(snap, t, it.Key())
		if err != nil {
			return err
		}
		v := st.stamp.Version
		value := v.TS.Append(nil)
		value = append(value, v.Region...)
		value = append(value, 0)
		value = append(value, it.Value()...)
		fn(slices.Clone(key), value)
	}
	return it.Close()
}

// ResidencyReport is what a region stores of a table's pinned items, from its own data.
type ResidencyReport struct {
	Table  string `json:"table"`
	Region string `json:"region"`
	Zone   string `json:"zone"` // this region's zone
	// Attribute is the table's residency attribute ("": items are not pinned).
	Attribute string `json:"attribute,omitempty"`
	// AllowedZones are the zones the table may have replicas in (nil: any).
	AllowedZones []string `json:"allowed_zones,omitempty"`
	// Items is how many items are stored here, Pinned how many of them are pinned to each
	// zone (an item pinned to several counts in each).
	Items  int            `json:"items"`
	Pinned map[string]int `json:"pinned"`
	// Violations are the items stored here although this region's zone is not in their
	// pin.
	Violations []ResidencyViolation `json:"violations,omitempty"`
}

// ResidencyViolation is an item stored outside its zones.
type ResidencyViolation struct {
	Key   attr.Item `json:"key"`
	Zones []string  `json:"zones"`
}

// ResidencyReport reports, from local data only, the pinned items of table stored here
// and those that should not be.
func (s *Service) ResidencyReport(table string) (ResidencyReport, error) {
	t, err := s.lookupAnyTable(table)
	if err != nil {
		return ResidencyReport{}, err
	}
	res := residencyOf(t.currentSettings().tags)
	rep := ResidencyReport{Table: table, Region: s.opts.Region, Zone: s.zoneOf(s.opts.Region), Attribute: res.attribute,
		AllowedZones: res.zones, Pinned: map[string]int{}}
	snap, err := s.store.Snapshot()
	if err != nil {
		return rep, err
	}
	defer snap.Close()
	it, err := snap.Iter(t.items, kv.PrefixEnd(t.items))
	if err != nil {
		return rep, err
	}
	defer it.Close()
	for it.Next() {
		rep.Items++
		if res.attribute == "" {
			continue
		}
		item, err := attr.DecodeItem(it.Value())
		if err != nil {
			return rep, fmt.Errorf("item %q of %s: %w", it.Key(), table, err)
		}
		pin, err := res.pinOf(item)
		if err != nil || pin == nil {
			continue
		}
		for _, z := range pin {
			rep.Pinned[z]++
		}
		if !slices.Contains(pin, rep.Zone) {
			rep.Violations = append(rep.Violations, ResidencyViolation{Key: t.keysOf(item), Zones: pin})
		}
	}
	return rep, it.Close()
}
