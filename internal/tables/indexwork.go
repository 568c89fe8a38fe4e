package tables

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/polyregion/polyregion/internal/kv"
)

// Online index changes: UpdateTable's GlobalSecondaryIndexUpdates, and the background work
// they start (the backfill of a new GSI, the removal of a deleted one's entries), done by
// Service.Run.
//
// A new GSI is CREATING from the moment UpdateTable answers: every write from then on
// maintains it (commit). The backfill reads the table's items in chunks of backfillChunk
// keys; it locks each chunk's items, reads them again under their locks and writes their
// entries in one batch, so it never overwrites the entry of a newer write with an older
// image. The same batch records the chunk's last item key under
// tables/backfill/<tableID>/<indexID>, so that after a restart the backfill goes on after
// it. It then makes the index ACTIVE. A deleted GSI is DELETING:
// writes stop maintaining it, its entries are removed with one range deletion, and then it
// is dropped from the table's description with the attribute definitions that only it
// used.

// backfillChunk is how many items one backfill batch indexes.
const backfillChunk = 100

// msgOneIndexAtATime is DynamoDB's answer to a second index creation or deletion.
const msgOneIndexAtATime = "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table"

type gsiUpdate struct {
	Create *globalSecondaryIndex `json:"Create"`
	Update *struct {
		IndexName             *string                `json:"IndexName"`
		ProvisionedThroughput *provisionedThroughput `json:"ProvisionedThroughput"`
	} `json:"Update"`
	Delete *struct {
		IndexName *string `json:"IndexName"`
	} `json:"Delete"`
}

// checkGSIUpdateFields checks the field constraints of GlobalSecondaryIndexUpdates and
// AttributeDefinitions.
func checkGSIUpdateFields(updates []*gsiUpdate, defs []*attributeDefinition) error {
	var v violations
	for i, d := range defs {
		what := fmt.Sprintf("attributeDefinitions.%d", i+1)
		if d == nil {
			v.add(nil, what, "Member must not be null")
			continue
		}
		if d.AttributeName == "" {
			v.add(nil, what+".member.attributeName", "Member must not be null")
		}
		if !oneOf(d.AttributeType, "B", "N", "S") {
			var val any
			if d.AttributeType != "" {
				val = d.AttributeType
			}
			v.add(val, what+".member.attributeType", enumConstraint("B", "N", "S"))
		}
	}
	for i, u := range updates {
		what := fmt.Sprintf("globalSecondaryIndexUpdates.%d.member", i+1)
		if u == nil {
			v.add(nil, what, "Member must not be null")
			continue
		}
		if c := u.Create; c != nil {
			checkIndexFields(&v, what+".create", c.IndexName, c.KeySchema, c.Projection, c.ProvisionedThroughput)
		}
		if d := u.Delete; d != nil && d.IndexName == nil {
			v.add(nil, what+".delete.indexName", "Member must not be null")
		}
		if up := u.Update; up != nil {
			if up.IndexName == nil {
				v.add(nil, what+".update.indexName", "Member must not be null")
			}
			if up.ProvisionedThroughput == nil {
				v.add(nil, what+".update.provisionedThroughput", "Member must not be null")
			} else {
				checkThroughputFields(&v, what+".update.provisionedThroughput", up.ProvisionedThroughput)
			}
		}
	}
	if err := v.err(); err != nil {
		return err
	}
	changes, names := 0, map[string]bool{}
	for _, u := range updates {
		n, name := 0, ""
		if u.Create != nil {
			n, name = n+1, *u.Create.IndexName
			changes++
		}
		if u.Delete != nil {
			n, name = n+1, *u.Delete.IndexName
			changes++
		}
		if u.Update != nil {
			n, name = n+1, *u.Update.IndexName
		}
		if n != 1 {
			return validationf(invalidParamsMessage + "One of GlobalSecondaryIndexUpdate.Create, GlobalSecondaryIndexUpdate.Update or GlobalSecondaryIndexUpdate.Delete must be specified, and only one")
		}
		if names[name] {
			return validationf(invalidParamsMessage+"Only one global secondary index update per index is allowed simultaneously. Index: %s", name)
		}
		names[name] = true
	}
	if changes > 1 {
		return errorf("LimitExceededException", msgOneIndexAtATime)
	}
	return nil
}

// applyGSIUpdates applies GlobalSecondaryIndexUpdates (fields checked) and the request's
// AttributeDefinitions to next, the table's settings to be, whose billing mode is already
// the requested one. It reports whether the index set gained or lost an index.
func (s *Service) applyGSIUpdates(t *table, next *tableSettings, updates []*gsiUpdate, reqDefs []*attributeDefinition) (bool, error) {
	indexes := slices.Clone(next.indexes)
	find := func(name string) int {
		return slices.IndexFunc(indexes, func(x *index) bool { return x.meta.Name == name })
	}
	defs := slices.Clone(next.attrDefs)
	types := map[string]string{}
	for _, d := range defs {
		types[d.AttributeName] = d.AttributeType
	}
	for _, d := range reqDefs {
		if typ, ok := types[d.AttributeName]; ok {
			if typ != d.AttributeType {
				return false, validationf(invalidParamsMessage+"Cannot change the type of attribute %s from %s to %s", d.AttributeName, typ, d.AttributeType)
			}
			continue
		}
		types[d.AttributeName] = d.AttributeType
		defs = append(defs, *d)
	}
	structural := false
	for _, u := range updates {
		switch {
		case u.Create != nil:
			c := u.Create
			if slices.ContainsFunc(indexes, func(x *index) bool { return x.meta.Status != indexStatusActive }) {
				return false, errorf("LimitExceededException", msgOneIndexAtATime)
			}
			if find(*c.IndexName) >= 0 {
				return false, validationf(invalidParamsMessage+"Index with name %s already exists", *c.IndexName)
			}
			gsis := 0
			for _, x := range indexes {
				if x.meta.Global {
					gsis++
				}
			}
			if gsis >= maxGSIs {
				return false, errorf("LimitExceededException", "Subscriber limit exceeded: The number of global secondary indexes on table %s would exceed %d", t.meta.Name, maxGSIs)
			}
			sort := ""
			if t.rng != nil {
				sort = t.rng.Name
			}
			m, err := checkIndexSpec(indexSpec{global: true, name: *c.IndexName, keySchema: c.KeySchema, projection: c.Projection,
				throughput: c.ProvisionedThroughput}, t.hash.Name, sort, next.billingMode, types)
			if err != nil {
				return false, err
			}
			m.ID, m.Status = newIndexID(), indexStatusCreating
			x, err := newIndex(t.meta.ID, m, defs)
			if err != nil {
				return false, err
			}
			indexes = append(indexes, x)
			structural = true
		case u.Delete != nil:
			i := find(*u.Delete.IndexName)
			if i < 0 {
				return false, errorf("ResourceNotFoundException", "Requested resource not found: Index: %s not found", *u.Delete.IndexName)
			}
			if !indexes[i].meta.Global {
				return false, validationf(invalidParamsMessage+"Local secondary indexes cannot be deleted: %s", *u.Delete.IndexName)
			}
			// An index may be deleted while it is being created (backfilled), as in
			// DynamoDB; otherwise no other index may be changing.
			if slices.ContainsFunc(indexes, func(x *index) bool {
				return x.meta.Status != indexStatusActive && !(x == indexes[i] && x.meta.Status == indexStatusCreating)
			}) {
				return false, errorf("LimitExceededException", msgOneIndexAtATime)
			}
			m := indexes[i].meta
			m.Status = indexStatusDeleting
			x, err := newIndex(t.meta.ID, m, defs)
			if err != nil {
				return false, err
			}
			indexes[i] = x
			structural = true
		default:
			name, pt := *u.Update.IndexName, u.Update.ProvisionedThroughput
			i := find(name)
			if i < 0 || !indexes[i].meta.Global {
				return false, errorf("ResourceNotFoundException", "Requested resource not found: Index: %s not found", name)
			}
			if next.billingMode == "PAY_PER_REQUEST" {
				return false, validationf(invalidParamsMessage+"ProvisionedThroughput should not be specified for index: %s when BillingMode is PAY_PER_REQUEST", name)
			}
			if *pt.ReadCapacityUnits > maxCapacity || *pt.WriteCapacityUnits > maxCapacity {
				return false, validationf("Given value %d for ReadCapacityUnits is out of bounds for index %s", max(*pt.ReadCapacityUnits, *pt.WriteCapacityUnits), name)
			}
			m := indexes[i].meta
			if c := m.Throughput; c != nil && *c.ReadCapacityUnits == *pt.ReadCapacityUnits && *c.WriteCapacityUnits == *pt.WriteCapacityUnits {
				return false, validationf("The provisioned throughput for the index %s will not change. The requested value equals the current value. "+
					"Current ReadCapacityUnits provisioned for index %s: %d. Requested ReadCapacityUnits: %d. "+
					"Current WriteCapacityUnits provisioned for index %s: %d. Requested WriteCapacityUnits: %d. "+
					"Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits.",
					name, name, *c.ReadCapacityUnits, *pt.ReadCapacityUnits, name, *c.WriteCapacityUnits, *pt.WriteCapacityUnits)
			}
			m.Throughput = &provisionedThroughput{ReadCapacityUnits: ptr(*pt.ReadCapacityUnits), WriteCapacityUnits: ptr(*pt.WriteCapacityUnits)}
			x, err := newIndex(t.meta.ID, m, defs)
			if err != nil {
				return false, err
			}
			indexes[i] = x
		}
	}
	var metas []indexMeta
	for _, x := range indexes {
		metas = append(metas, x.meta)
	}
	if n := projectedNonKeys(metas); n > maxProjectedNonKeys {
		return false, validationf(invalidParamsMessage+"The number of projected attributes in all indexes exceeds the limit of %d, provided: %d",
			maxProjectedNonKeys, n)
	}
	if err := checkDefinitionsUsed(defs, t.meta.KeySchema, metas); err != nil {
		return false, err
	}
	sortIndexes(indexes)
	next.indexes, next.attrDefs = indexes, defs
	return structural, nil
}

// fitBillingMode adjusts the GSIs of next to its billing mode: none has throughput under
// PAY_PER_REQUEST, and every one needs it under PROVISIONED (given in the same request).
func fitBillingMode(t *table, next *tableSettings) error {
	indexes := slices.Clone(next.indexes)
	for i, x := range indexes {
		if !x.meta.Global {
			continue
		}
		switch {
		case next.billingMode == "PAY_PER_REQUEST" && x.meta.Throughput != nil:
			m := x.meta
			m.Throughput = nil
			nx, err := newIndex(t.meta.ID, m, next.attrDefs)
			if err != nil {
				return err
			}
			indexes[i] = nx
		case next.billingMode == "PROVISIONED" && x.meta.Throughput == nil:
			return validationf(invalidParamsMessage+"ProvisionedThroughput must be specified for index: %s", x.meta.Name)
		}
	}
	next.indexes = indexes
	return nil
}

// wakeIndexWork tells Run that an index needs a backfill or a removal.
func (s *Service) wakeIndexWork() {
	select {
	case s.indexWake <- struct{}{}:
	default:
	}
}

// runIndexWork does the index work until ctx ends: at once (work left by a previous run),
// when woken, and every ttlInterval after a failure.
func (s *Service) runIndexWork(ctx context.Context) {
	retry := time.NewTicker(ttlInterval)
	defer retry.Stop()
	for {
		if err := s.indexWork(ctx); err != nil && ctx.Err() == nil {
			s.logger.Warn("index work failed; will retry", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.indexWake:
		case <-retry.C:
		}
	}
}

// indexWork backfills every CREATING index and removes every DELETING one.
func (s *Service) indexWork(ctx context.Context) error {
	type job struct {
		t *table
		x *index
	}
	var jobs []job
	s.mu.RLock()
	for _, t := range s.tables {
		for _, x := range t.currentSettings().indexes {
			if x.meta.Status != indexStatusActive {
				jobs = append(jobs, job{t, x})
			}
		}
	}
	s.mu.RUnlock()
	var errs []error
	for _, j := range jobs {
		if ctx.Err() != nil {
			return nil
		}
		var err error
		if j.x.meta.Status == indexStatusCreating {
			err = s.backfill(ctx, j.t, j.x)
		} else {
			err = s.dropIndex(j.t, j.x)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("index %s of table %s: %w", j.x.meta.Name, j.t.meta.Name, err))
		}
	}
	return errors.Join(errs...)
}

// backfillKey is the store key of the backfill progress of index x of t: the last item key
// indexed.
func backfillKey(t *table, x *index) []byte {
	return []byte(backfillPrefix + t.meta.ID + "/" + x.meta.ID)
}

// backfill indexes the items of t in x, from where a previous backfill stopped, then
// makes x ACTIVE.
func (s *Service) backfill(ctx context.Context, t *table, x *index) error {
	start := t.items
	last, err := s.store.Get(backfillKey(t, x))
	switch {
	case err == nil:
		start = append(last, 0) // the least key after it
	case !errors.Is(err, kv.ErrNotFound):
		return fmt.Errorf("reading the backfill progress: %w", err)
	}
	for chunk := 0; ; chunk++ {
		if hook := s.backfillHook.Load(); hook != nil {
			if err := (*hook)(ctx, x.meta.Name, chunk); err != nil {
				return err
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		keys, next, err := s.itemKeys(t, start, backfillChunk)
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			done, err := s.backfillChunk(t, x, keys)
			if err != nil || !done {
				return err
			}
		}
		if next == nil {
			break
		}
		start = next
	}
	if err := s.replaceIndex(t, x, func(m *indexMeta) {
		if m.Status == indexStatusCreating { // not deleted meanwhile
			m.Status = indexStatusActive
		}
	}); err != nil {
		return err
	}
	return s.forgetBackfill(t, x)
}

// forgetBackfill removes the backfill progress of x (a crash before it leaves the key to
// DeleteTable).
func (s *Service) forgetBackfill(t *table, x *index) error {
	b := s.store.NewBatch()
	b.Delete(backfillKey(t, x))
	if err := s.store.Commit(b, kv.CommitOptions{Sync: true}); err != nil {
		return fmt.Errorf("removing the backfill progress: %w", err)
	}
	return nil
}

// backfillChunk writes the entries of the items under keys, each read under its lock. It
// reports false when the table or the index is gone.
func (s *Service) backfillChunk(t *table, x *index, keys [][]byte) (bool, error) {
	unlock, err := s.lockItems([]*table{t}, keys...)
	if err != nil {
		return false, nil // the table was deleted
	}
	defer unlock()
	if !slices.ContainsFunc(t.currentSettings().indexes, func(y *index) bool { return y.meta.ID == x.meta.ID && y.maintained() }) {
		return false, nil
	}
	b := s.store.NewBatch()
	for _, k := range keys {
		item, err := s.readItem(s.store, k)
		if err != nil {
			return false, err
		}
		if item == nil {
			continue
		}
		// An item whose index key has the wrong type stays out of the index, as DynamoDB
		// leaves it (an index key violation).
		key, value, err := x.entry(t, k, item, nil)
		if err != nil || key == nil {
			continue
		}
		b.Set(key, value)
	}
	b.Set(backfillKey(t, x), keys[len(keys)-1])
	if err := s.store.Commit(b, kv.CommitOptions{Sync: true}); err != nil {
		return false, fmt.Errorf("writing %d index entries: %w", b.Len(), err)
	}
	return true, nil
}

// itemKeys returns up to n item keys of t from start on, and the key to go on from (nil:
// the table's end).
func (s *Service) itemKeys(t *table, start []byte, n int) (keys [][]byte, next []byte, err error) {
	it, err := s.store.Iter(start, kv.PrefixEnd(t.items))
	if err != nil {
		return nil, nil, err
	}
	defer it.Close()
	for it.Next() {
		if len(keys) == n {
			return keys, slices.Clone(it.Key()), it.Close()
		}
		keys = append(keys, slices.Clone(it.Key()))
	}
	return keys, nil, it.Close()
}

// dropIndex removes the entries of x, DELETING, then x itself from t's description.
func (s *Service) dropIndex(t *table, x *index) error {
	unlock, err := s.lockItems([]*table{t})
	if err != nil {
		return nil // the table was deleted, and its index entries with it
	}
	b := s.store.NewBatch()
	b.DeleteRange(x.prefix, kv.PrefixEnd(x.prefix))
	b.Delete(backfillKey(t, x))
	err = s.store.Commit(b, kv.CommitOptions{Sync: true})
	unlock()
	if err != nil {
		return fmt.Errorf("removing the entries: %w", err)
	}
	return s.replaceIndex(t, x, nil)
}

// replaceIndex changes the description of index x of t with change (nil: removes it), if
// t and x still exist.
func (s *Service) replaceIndex(t *table, x *index, change func(*indexMeta)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tables[t.meta.Name] != t {
		return nil
	}
	next := t.currentSettings()
	i := slices.IndexFunc(next.indexes, func(y *index) bool { return y.meta.ID == x.meta.ID })
	if i < 0 {
		return nil
	}
	indexes := slices.Clone(next.indexes)
	if change == nil {
		indexes = slices.Delete(indexes, i, i+1)
		var metas []indexMeta
		for _, y := range indexes {
			metas = append(metas, y.meta)
		}
		next.attrDefs = usedDefinitions(next.attrDefs, t.meta.KeySchema, metas)
	} else {
		m := indexes[i].meta
		change(&m)
		y, err := newIndex(t.meta.ID, m, next.attrDefs)
		if err != nil {
			return err
		}
		indexes[i] = y
	}
	next.indexes = indexes
	return s.saveSettings(t, next)
}
