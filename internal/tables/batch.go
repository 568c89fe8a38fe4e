package tables

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/polyregion/polyregion/internal/tables/attr"
	"github.com/polyregion/polyregion/internal/tables/expr"
)

// Batch limits.
const (
	maxBatchGetKeys      = 100
	maxBatchWriteItems   = 25
	maxBatchGetResponse  = 16 << 20 // bytes of items in one BatchGetItem response
	maxTransactItems     = 100
	maxTransactionBytes  = 4 << 20
	duplicateKeysMessage = "Provided list of item keys contains duplicates"
)

// BatchGetItem

type keysAndAttributes struct {
	exprInput
	Keys                 []attr.Item `json:"Keys"`
	ProjectionExpression *string     `json:"ProjectionExpression"`
	AttributesToGet      []string    `json:"AttributesToGet"`
	ConsistentRead       *bool       `json:"ConsistentRead"`
}

type batchGetItemInput struct {
	RequestItems           map[string]json.RawMessage `json:"RequestItems"`
	ReturnConsumedCapacity *string                    `json:"ReturnConsumedCapacity"`
}

type batchGetItemOutput struct {
	Responses        map[string][]attr.Item        `json:"Responses"`
	UnprocessedKeys  map[string]*keysAndAttributes `json:"UnprocessedKeys"`
	ConsumedCapacity []*consumedCapacity           `json:"ConsumedCapacity,omitempty"`
}

// batchGetTable is one table's part of a BatchGetItem, checked.
type batchGetTable struct {
	name string
	t    *table
	in   *keysAndAttributes
	proj *expr.Projection
	keys [][]byte
}

func (s *Service) batchGetItem(_ *requestContext, body []byte) (any, error) {
	var in batchGetItemInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v violations
	switch {
	case in.RequestItems == nil:
		v.add(nil, "requestItems", "Member must not be null")
	case len(in.RequestItems) == 0:
		v.add("{}", "requestItems", "Member must have length greater than or equal to 1")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	var parts []*batchGetTable
	total := 0
	for _, name := range sortedKeys(in.RequestItems) {
		var ka keysAndAttributes
		if err := decode(in.RequestItems[name], &ka); err != nil {
			return nil, err
		}
		if err := checkTableName(&name); err != nil {
			return nil, err
		}
		switch {
		case ka.Keys == nil:
			v.add(nil, "requestItems."+name+".member.keys", "Member must not be null")
		case len(ka.Keys) == 0:
			v.add("[]", "requestItems."+name+".member.keys", "Member must have length greater than or equal to 1")
		case len(ka.Keys) > maxBatchGetKeys:
			v.add(fmt.Sprintf("[%d keys]", len(ka.Keys)), "requestItems."+name+".member.keys", "Member must have length less than or equal to 100")
		}
		total += len(ka.Keys)
		parts = append(parts, &batchGetTable{name: name, in: &ka})
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if total > maxBatchGetKeys {
		return nil, validationf("Too many items requested for the BatchGetItem call")
	}
	for _, p := range parts {
		e, err := p.in.begin("BatchGetItem", presentMembers(in.RequestItems[p.name]))
		if err != nil {
			return nil, err
		}
		if p.proj, err = e.projection(p.in.ProjectionExpression, p.in.AttributesToGet); err != nil {
			return nil, err
		}
		if err := e.end(p.proj); err != nil {
			return nil, err
		}
	}
	for _, p := range parts {
		t, err := s.lookupTable(tableNameFromARN(p.name))
		if err != nil {
			return nil, errorf("ResourceNotFoundException", "Requested resource not found")
		}
		p.t = t
		for _, k := range p.in.Keys {
			key, err := t.keyParam(k)
			if err != nil {
				return nil, err
			}
			for _, prev := range p.keys {
				if bytes.Equal(prev, key) {
					return nil, validationf(duplicateKeysMessage)
				}
			}
			p.keys = append(p.keys, key)
		}
	}
	// One snapshot for all: the reads see one state of the store.
	snap, err := s.store.Snapshot()
	if err != nil {
		return nil, fmt.Errorf("batch get: %w", err)
	}
	defer snap.Close()
	out := batchGetItemOutput{Responses: map[string][]attr.Item{}, UnprocessedKeys: map[string]*keysAndAttributes{}}
	size := 0
	for _, p := range parts {
		items := []attr.Item{}
		read := 0
		for i, key := range p.keys {
			if size >= maxBatchGetResponse {
				rest := *p.in
				rest.Keys = p.in.Keys[i:]
				out.UnprocessedKeys[p.name] = &rest
				break
			}
			item, err := s.readItem(snap, key)
			if err != nil {
				return nil, err
			}
			if item != nil {
				size += item.Size()
				read += item.Size()
				items = append(items, project(p.proj, item))
			}
		}
		out.Responses[p.name] = items
		if c := capacity(in.ReturnConsumedCapacity, p.t.meta.Name, read, false, p.in.ConsistentRead != nil && *p.in.ConsistentRead); c != nil {
			out.ConsumedCapacity = append(out.ConsumedCapacity, c)
		}
	}
	return out, nil
}

// BatchWriteItem

type writeRequest struct {
	PutRequest *struct {
		Item attr.Item `json:"Item"`
	} `json:"PutRequest"`
	DeleteRequest *struct {
		Key attr.Item `json:"Key"`
	} `json:"DeleteRequest"`
}

type batchWriteItemInput struct {
	RequestItems                map[string][]writeRequest `json:"RequestItems"`
	ReturnConsumedCapacity      *string                   `json:"ReturnConsumedCapacity"`
	ReturnItemCollectionMetrics *string                   `json:"ReturnItemCollectionMetrics"`
}

type batchWriteItemOutput struct {
	UnprocessedItems map[string][]writeRequest `json:"UnprocessedItems"`
	ConsumedCapacity []*consumedCapacity       `json:"ConsumedCapacity,omitempty"`
}

func (s *Service) batchWriteItem(rc *requestContext, body []byte) (any, error) {
	var in batchWriteItemInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v violations
	switch {
	case in.RequestItems == nil:
		v.add(nil, "requestItems", "Member must not be null")
	case len(in.RequestItems) == 0:
		v.add("{}", "requestItems", "Member must have length greater than or equal to 1")
	}
	total := 0
	for _, name := range sortedKeys(in.RequestItems) {
		reqs := in.RequestItems[name]
		if len(reqs) < 1 || len(reqs) > maxBatchWriteItems {
			v.add(fmt.Sprintf("[%d requests]", len(reqs)), "requestItems."+name+".member",
				"Member must have length less than or equal to 25, Member must have length greater than or equal to 1")
		}
		total += len(reqs)
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if total > maxBatchWriteItems {
		return nil, validationf("Too many items requested for the BatchWriteItem call")
	}
	var muts []*mutation
	var tables []*table
	var keys [][]byte
	written := map[*table]int{}
	for _, name := range sortedKeys(in.RequestItems) {
		if err := checkTableName(&name); err != nil {
			return nil, err
		}
		t, err := s.lookupTable(tableNameFromARN(name))
		if err != nil {
			return nil, errorf("ResourceNotFoundException", "Requested resource not found")
		}
		for _, r := range in.RequestItems[name] {
			m := &mutation{t: t}
			switch {
			case (r.PutRequest == nil) == (r.DeleteRequest == nil):
				return nil, validationf("Supplied WriteRequest must contain exactly one of PutRequest or DeleteRequest")
			case r.PutRequest != nil:
				if r.PutRequest.Item == nil {
					return nil, mustNotBeNull("requestItems." + name + ".member.putRequest.item")
				}
				// A batch words a missing or mistyped key as a Key parameter's.
				for _, ka := range t.keyAttrs() {
					if v, ok := r.PutRequest.Item[ka.Name]; !ok || v.Kind != ka.kind() {
						return nil, validationf("The provided key element does not match the schema")
					}
				}
				if m.key, err = t.itemKey(r.PutRequest.Item); err != nil {
					return nil, err
				}
				if err := r.PutRequest.Item.CheckSize(); err != nil {
					return nil, err
				}
				m.new = r.PutRequest.Item
			default:
				if r.DeleteRequest.Key == nil {
					return nil, mustNotBeNull("requestItems." + name + ".member.deleteRequest.key")
				}
				if m.key, err = t.keyParam(r.DeleteRequest.Key); err != nil {
					return nil, err
				}
			}
			if slices.ContainsFunc(keys, func(k []byte) bool { return bytes.Equal(k, m.key) }) {
				return nil, validationf(duplicateKeysMessage)
			}
			keys = append(keys, m.key)
			muts = append(muts, m)
			tables = append(tables, t)
			written[t] += m.new.Size()
		}
	}
	unlock, err := s.lockItems(tables, keys...)
	if err != nil {
		return nil, err
	}
	defer unlock()
	for _, m := range muts {
		if m.old, err = s.readItem(s.store, m.key); err != nil {
			return nil, err
		}
		if m.new == nil {
			written[m.t] += m.old.Size()
		}
	}
	if err := s.commit(rc, muts); err != nil {
		return nil, err
	}
	out := batchWriteItemOutput{UnprocessedItems: map[string][]writeRequest{}}
	for _, t := range dedupTables(tables) {
		if c := capacity(in.ReturnConsumedCapacity, t.meta.Name, written[t], true, true); c != nil {
			out.ConsumedCapacity = append(out.ConsumedCapacity, c)
		}
	}
	return out, nil
}

// dedupTables returns ts without repeats, in first-seen order.
func dedupTables(ts []*table) []*table {
	var out []*table
	for _, t := range ts {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// sortedKeys returns m's keys in order, so that requests are handled deterministically.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
