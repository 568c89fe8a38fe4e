package tables

import (
	"context"
	"fmt"
	"time"

	"github.com/polyregion/polyregion/internal/kv"
	"github.com/polyregion/polyregion/internal/tables/attr"
)

// Time to live: a table may name a Number attribute holding an expiry time in epoch
// seconds; Run deletes the items whose time has passed, as DynamoDB does in the background.
// An expired item not yet deleted is still returned by reads, as in DynamoDB.

const (
	// ttlInterval is how often Run looks for expired items.
	ttlInterval = 10 * time.Second
	// ttlMaxAge: DynamoDB leaves alone items whose expiry lies more than five years in the
	// past (the attribute probably holds something else).
	ttlMaxAge = 5 * 365 * 24 * time.Hour
	// ttlBatch is how many expired items one pass collects before deleting them.
	ttlBatch = 100
)

type timeToLiveSpecification struct {
	Enabled       *bool   `json:"Enabled"`
	AttributeName *string `json:"AttributeName"`
}

type updateTimeToLiveInput struct {
	TableName               *string                  `json:"TableName"`
	TimeToLiveSpecification *timeToLiveSpecification `json:"TimeToLiveSpecification"`
}

type updateTimeToLiveOutput struct {
	TimeToLiveSpecification timeToLiveSpecification `json:"TimeToLiveSpecification"`
}

func (s *Service) updateTimeToLive(_ *requestContext, body []byte) (any, error) {
	var in updateTimeToLiveInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := checkTableName(in.TableName); err != nil {
		return nil, err
	}
	var v violations
	spec := in.TimeToLiveSpecification
	if spec == nil {
		v.add(nil, "timeToLiveSpecification", "Member must not be null")
	} else {
		if spec.Enabled == nil {
			v.add(nil, "timeToLiveSpecification.enabled", "Member must not be null")
		}
		switch {
		case spec.AttributeName == nil:
			v.add(nil, "timeToLiveSpecification.attributeName", "Member must not be null")
		case len(*spec.AttributeName) < 1:
			v.add(*spec.AttributeName, "timeToLiveSpecification.attributeName", "Member must have length greater than or equal to 1")
		case len(*spec.AttributeName) > 255:
			v.add(*spec.AttributeName, "timeToLiveSpecification.attributeName", "Member must have length less than or equal to 255")
		}
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	name := tableNameFromARN(*in.TableName)
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables[name]
	if t == nil {
		return nil, tableNotFound(name)
	}
	cur := t.currentSettings()
	next := cur
	if *spec.Enabled {
		if cur.ttlAttribute != "" {
			return nil, validationf("TimeToLive is already enabled")
		}
		next.ttlAttribute = *spec.AttributeName
	} else {
		switch {
		case cur.ttlAttribute == "":
			return nil, validationf("TimeToLive is already disabled")
		case cur.ttlAttribute != *spec.AttributeName:
			return nil, validationf("TimeToLive is active on a different AttributeName: current AttributeName is %s", cur.ttlAttribute)
		}
		next.ttlAttribute = ""
	}
	g, err := s.changeGlobalSettings(t, func(g *globalTable) error {
		g.TTLAttribute = next.ttlAttribute
		return nil
	})
	if err != nil {
		return nil, err
	}
	next.global = g
	if err := s.saveSettings(t, next); err != nil {
		return nil, err
	}
	return updateTimeToLiveOutput{TimeToLiveSpecification: *spec}, nil
}

type timeToLiveDescription struct {
	TimeToLiveStatus string `json:"TimeToLiveStatus"`
	AttributeName    string `json:"AttributeName,omitempty"`
}

type describeTimeToLiveOutput struct {
	TimeToLiveDescription timeToLiveDescription `json:"TimeToLiveDescription"`
}

func (s *Service) describeTimeToLive(_ *requestContext, body []byte) (any, error) {
	var in tableNameInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := checkTableName(in.TableName); err != nil {
		return nil, err
	}
	t, err := s.lookupTable(tableNameFromARN(*in.TableName))
	if err != nil {
		return nil, err
	}
	d := timeToLiveDescription{TimeToLiveStatus: "DISABLED"}
	if a := t.currentSettings().ttlAttribute; a != "" {
		d = timeToLiveDescription{TimeToLiveStatus: "ENABLED", AttributeName: a}
	}
	return describeTimeToLiveOutput{TimeToLiveDescription: d}, nil
}

// expired reports whether item has expired at now under the TTL attribute name.
func expired(item attr.Item, name string, now time.Time) bool {
	v, ok := item[name]
	if !ok || v.Kind != attr.KindN {
		return false
	}
	secs, err := v.N.Int64()
	if err != nil {
		// A fraction, or out of int64's range: whole seconds are close enough.
		f, ferr := v.N.Decimal().Float64()
		if ferr != nil || f > 1e15 || f < -1e15 {
			return false
		}
		secs = int64(f)
	}
	at := time.Unix(secs, 0)
	return !at.After(now) && now.Sub(at) <= ttlMaxAge
}

// expireItems deletes the expired items of every table with TTL enabled, each with a
// REMOVE record marked as made by TTL. It returns how many it deleted.
func (s *Service) expireItems(ctx context.Context, now time.Time) (int, error) {
	s.mu.RLock()
	var tables []*table
	for _, t := range s.tables {
		set := t.currentSettings()
		if set.ttlAttribute == "" {
			continue
		}
		if set.global != nil && set.global.replicaOf(s.opts.Region).Status == replicaCreating {
			continue // a replica still being backfilled writes nothing of its own
		}
		tables = append(tables, t)
	}
	s.mu.RUnlock()
	deleted := 0
	for _, t := range tables {
		n, err := s.expireTable(ctx, t, now)
		deleted += n
		if err != nil {
			return deleted, err
		}
	}
	return deleted, nil
}

// expireTable deletes a table's expired items, in passes of up to ttlBatch.
func (s *Service) expireTable(ctx context.Context, t *table, now time.Time) (int, error) {
	deleted := 0
	start := t.items
	for {
		name := t.currentSettings().ttlAttribute
		if name == "" || ctx.Err() != nil {
			return deleted, nil
		}
		keys, next, err := s.findExpired(t, name, start, now)
		if err != nil {
			return deleted, err
		}
		rc := &requestContext{id: "ttl", now: now}
		for _, key := range keys {
			n, err := s.expireItem(rc, t, key, name)
			if err != nil {
				return deleted, err
			}
			deleted += n
		}
		if next == nil {
			return deleted, nil
		}
		start = next
	}
}

// findExpired returns up to ttlBatch keys of expired items from start on, and the key to
// go on from (nil: the table's end).
func (s *Service) findExpired(t *table, name string, start []byte, now time.Time) (keys [][]byte, next []byte, err error) {
	it, err := s.store.Iter(start, kv.PrefixEnd(t.items))
	if err != nil {
		return nil, nil, err
	}
	defer it.Close()
	for it.Next() {
		if len(keys) == ttlBatch {
			return keys, append([]byte(nil), it.Key()...), it.Close()
		}
		item, err := attr.DecodeItem(it.Value())
		if err != nil {
			return nil, nil, fmt.Errorf("decoding item %q of table %s: %w", it.Key(), t.meta.Name, err)
		}
		if expired(item, name, now) {
			keys = append(keys, append([]byte(nil), it.Key()...))
		}
	}
	return keys, nil, it.Close()
}

// expireItem deletes the item under key if it is still expired, under its lock.
func (s *Service) expireItem(rc *requestContext, t *table, key []byte, name string) (int, error) {
	unlock, err := s.lockItems([]*table{t}, key)
	if err != nil {
		return 0, nil // the table was deleted meanwhile
	}
	defer unlock()
	old, err := s.readItem(s.store, key)
	if err != nil || old == nil || !expired(old, name, rc.now) {
		return 0, err
	}
	if err := s.commit(rc, []*mutation{{t: t, key: key, old: old, ttl: true}}); err != nil {
		return 0, err
	}
	return 1, nil
}
