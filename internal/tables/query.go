package tables

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/polyregion/polyregion/internal/kv"
	"github.com/polyregion/polyregion/internal/tables/attr"
	"github.com/polyregion/polyregion/internal/tables/expr"
)

// maxPageBytes is the most item data one Query or Scan page reads, as DynamoDB counts it.
const maxPageBytes = 1 << 20

// Select values.
const (
	selectSpecific      = "SPECIFIC_ATTRIBUTES"
	selectCount         = "COUNT"
	selectAll           = "ALL_ATTRIBUTES"
	selectAllProjected  = "ALL_PROJECTED_ATTRIBUTES"
	maxTotalSegments    = 1000000
	attributesToGetName = "AttributesToGet"
)

// pageRequest is one page of a Query or Scan: the store keys [lower, upper) in order.
type pageRequest struct {
	t            *table
	lower, upper []byte
	reverse      bool
	limit        int                   // items evaluated at most; 0: no limit
	skip         func(key []byte) bool // keys not part of the read (another segment); nil: none
	match        func(attr.Item) bool  // items not part of the read (outside the key condition); nil: all
	matchAttrs   []string              // the attributes match looks at (nil: unknown, match needs whole items)
	filter       *expr.Condition       // nil: keep all
	proj         *expr.Projection      // nil: all attributes
	count        bool                  // Select COUNT: no items returned
	consumed     *string               // ReturnConsumedCapacity
	consistent   bool                  // ConsistentRead
	startAfter   []byte                // ExclusiveStartKey's store key; nil: none
	// For a read of an index: lastKey makes the LastEvaluatedKey of an entry (nil: the
	// table's key), fetch replaces an entry by its item in the table (nil: the entry is
	// used as it is; a nil item skips the entry).
	lastKey func(attr.Item) attr.Item
	fetch   func(attr.Item) (attr.Item, error)
	image   func(attr.Item) attr.Item // nil: items are returned whole (then projected)
}

// pageOutput is the response of Query and Scan.
type pageOutput struct {
	// Items is nil for Select COUNT, else present ([] when empty): a *[]attr.Item, or the
	// JSON array of the items as an attr.RawJSON.
	Items            any               `json:"Items,omitempty"`
	Count            int               `json:"Count"`
	ScannedCount     int               `json:"ScannedCount"`
	LastEvaluatedKey attr.Item         `json:"LastEvaluatedKey,omitempty"`
	ConsumedCapacity *consumedCapacity `json:"ConsumedCapacity,omitempty"`
}

// readPage reads one page.
func (s *Service) readPage(r *pageRequest) (*pageOutput, error) {
	lower, upper := r.lower, r.upper
	if r.startAfter != nil {
		if r.reverse {
			if bytes.Compare(r.startAfter, upper) < 0 {
				upper = r.startAfter
			}
		} else {
			after := append(slices.Clone(r.startAfter), 0)
			if bytes.Compare(after, lower) > 0 {
				lower = after
			}
		}
	}
	var it kv.Iterator
	var err error
	if r.reverse {
		it, err = s.store.ReverseIter(lower, upper)
	} else {
		it, err = s.store.Iter(lower, upper)
	}
	if err != nil {
		return nil, fmt.Errorf("reading table %s: %w", r.t.meta.Name, err)
	}
	defer it.Close()
	if r.whole() {
		return s.readWholePage(r, it)
	}
	out := &pageOutput{}
	var items []attr.Item
	if !r.count {
		items = []attr.Item{}
		out.Items = &items
	}
	size := 0
	var last attr.Item
	stopped := false
	for it.Next() {
		if stopped {
			// One more item: the page ends before the data does.
			if r.lastKey != nil {
				out.LastEvaluatedKey = r.lastKey(last)
			} else {
				out.LastEvaluatedKey = r.t.keysOf(last)
			}
			break
		}
		if r.skip != nil && r.skip(it.Key()) {
			continue
		}
		item, err := attr.DecodeItem(it.Value())
		if err != nil {
			return nil, fmt.Errorf("decoding item %q of table %s: %w", it.Key(), r.t.meta.Name, err)
		}
		if r.match != nil && !r.match(item) {
			continue
		}
		entry := item
		if r.fetch != nil {
			if item, err = r.fetch(entry); err != nil {
				return nil, err
			}
			if item == nil {
				continue // deleted since the entry was read
			}
		}
		out.ScannedCount++
		size += item.Size()
		last = entry
		keep := true
		if r.filter != nil {
			if keep, err = r.filter.Eval(item); err != nil {
				return nil, err
			}
		}
		if keep {
			out.Count++
			if !r.count {
				if r.image != nil {
					item = r.image(item)
				}
				items = append(items, project(r.proj, item))
			}
		}
		if r.limit > 0 && out.ScannedCount >= r.limit || size >= maxPageBytes {
			stopped = true
		}
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("reading table %s: %w", r.t.meta.Name, err)
	}
	out.ConsumedCapacity = capacity(r.consumed, r.t.meta.Name, size, false, r.consistent)
	return out, nil
}

// whole reports whether the page returns its items whole, as they are stored (or none, for
// Select COUNT): no filter, projection or index entry to turn into something else, and a key
// condition (if any) that looks at attributes known in advance.
func (r *pageRequest) whole() bool {
	return r.filter == nil && r.proj == nil && r.fetch == nil && r.image == nil &&
		(r.match == nil || r.matchAttrs != nil)
}

// readWholePage is readPage for a page that returns items whole (r.whole()): each item's
// JSON is written straight from its storage encoding into the page's, and only the
// attributes the key condition looks at are decoded.
func (s *Service) readWholePage(r *pageRequest, it kv.Iterator) (*pageOutput, error) {
	out := &pageOutput{}
	var page []byte
	if !r.count {
		page = append(pageBuffer(r.limit), '[')
	}
	size := 0
	var last, keys attr.Item
	stopped := false
	for it.Next() {
		if stopped {
			// One more item: the page ends before the data does.
			if r.lastKey != nil {
				out.LastEvaluatedKey = r.lastKey(last)
			} else {
				out.LastEvaluatedKey = r.t.keysOf(last)
			}
			break
		}
		if r.skip != nil && r.skip(it.Key()) {
			continue
		}
		v := it.Value()
		if r.match != nil {
			var err error
			if keys, err = attr.StoredAttributes(keys, v, r.matchAttrs...); err != nil {
				return nil, fmt.Errorf("decoding item %q of table %s: %w", it.Key(), r.t.meta.Name, err)
			}
			if !r.match(keys) {
				continue
			}
		}
		n, err := attr.StoredSize(v)
		if err != nil {
			return nil, fmt.Errorf("decoding item %q of table %s: %w", it.Key(), r.t.meta.Name, err)
		}
		out.ScannedCount++
		out.Count++
		size += n
		if !r.count {
			if out.Count > 1 {
				page = append(page, ',')
			}
			if page, err = attr.AppendStoredJSON(page, v); err != nil {
				return nil, fmt.Errorf("decoding item %q of table %s: %w", it.Key(), r.t.meta.Name, err)
			}
		}
		if r.limit > 0 && out.ScannedCount >= r.limit || size >= maxPageBytes {
			stopped = true
			// The key of the last item read, in case another follows (the value is
			// valid only until Next).
			if last, err = attr.DecodeItem(v); err != nil {
				return nil, fmt.Errorf("decoding item %q of table %s: %w", it.Key(), r.t.meta.Name, err)
			}
		}
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("reading table %s: %w", r.t.meta.Name, err)
	}
	if !r.count {
		out.Items = attr.RawJSON(append(page, ']'))
	}
	out.ConsumedCapacity = capacity(r.consumed, r.t.meta.Name, size, false, r.consistent)
	return out, nil
}

// pageBuffer returns a buffer for a page of at most limit items (0: no limit), sized for
// short pages of YCSB-like items so that it seldom grows.
func pageBuffer(limit int) []byte {
	const perItem = 1536
	n := 64 << 10
	if limit > 0 && limit*perItem < n {
		n = limit * perItem
	}
	return make([]byte, 0, n)
}

// checkSelect validates Select against the projection given (AttributesToGet or
// ProjectionExpression, named by projParam; empty: none).
func checkSelect(sel *string, projParam string, hasIndex bool) (string, error) {
	if sel == nil {
		if projParam != "" {
			return selectSpecific, nil
		}
		return selectAll, nil
	}
	if !oneOf(*sel, selectSpecific, selectCount, selectAll, selectAllProjected) {
		var v violations
		v.add(*sel, "select", enumConstraint(selectSpecific, selectCount, selectAll, selectAllProjected))
		return "", v.err()
	}
	switch *sel {
	case selectAllProjected:
		if !hasIndex {
			return "", validationf("ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName")
		}
	case selectCount:
		if projParam != "" {
			return "", validationf("Cannot specify the %s when choosing to get only the Count", projParam)
		}
	case selectAll:
		if projParam != "" {
			return "", validationf("Cannot specify the %s when choosing to get ALL_ATTRIBUTES", projParam)
		}
	case selectSpecific:
		if projParam == "" {
			return "", validationf("Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES")
		}
	}
	return *sel, nil
}

// projectionParam names the projection parameter a request uses, "" for none.
func projectionParam(projectionExpression *string, attributesToGet []string) string {
	switch {
	case projectionExpression != nil:
		return "ProjectionExpression"
	case attributesToGet != nil:
		return attributesToGetName
	}
	return ""
}

// checkLimit validates Limit.
func checkLimit(limit *int64) (int, error) {
	if limit == nil {
		return 0, nil
	}
	if *limit < 1 {
		var v violations
		v.add(*limit, "limit", "Member must have value greater than or equal to 1")
		return 0, v.err()
	}
	return int(min(*limit, 1<<31)), nil
}

// checkFilterKeys refuses a Query filter on the key attributes keys of what it reads.
func checkFilterKeys(filter *expr.Condition, legacy bool, keys []keyAttr) error {
	if filter == nil {
		return nil
	}
	name := "Filter Expression"
	if legacy {
		name = "QueryFilter"
	}
	for _, a := range filter.Attributes() {
		if slices.ContainsFunc(keys, func(k keyAttr) bool { return k.Name == a }) {
			return validationf("%s can only contain non-primary key attributes: Primary key attribute: %s", name, a)
		}
	}
	return nil
}

// startKey checks an ExclusiveStartKey and returns its store key.
func (t *table) startKey(key attr.Item) ([]byte, error) {
	if len(key) != len(t.keyAttrs()) {
		return nil, validationf("The provided starting key is invalid: The provided key element does not match the schema")
	}
	k, err := t.keyParam(key)
	if err != nil {
		if ae := asAttrError(err); ae != nil {
			return nil, validationf("The provided starting key is invalid: %s", ae.message)
		}
		if ae, ok := err.(*apiError); ok {
			return nil, validationf("The provided starting key is invalid: %s", ae.message)
		}
		return nil, err
	}
	return k, nil
}

// Query

type queryInput struct {
	exprInput
	TableName              *string                         `json:"TableName"`
	IndexName              *string                         `json:"IndexName"`
	KeyConditionExpression *string                         `json:"KeyConditionExpression"`
	KeyConditions          map[string]expr.LegacyCondition `json:"KeyConditions"`
	FilterExpression       *string                         `json:"FilterExpression"`
	QueryFilter            map[string]expr.LegacyCondition `json:"QueryFilter"`
	ConditionalOperator    *string                         `json:"ConditionalOperator"`
	ProjectionExpression   *string                         `json:"ProjectionExpression"`
	AttributesToGet        []string                        `json:"AttributesToGet"`
	Select                 *string                         `json:"Select"`
	Limit                  *int64                          `json:"Limit"`
	ExclusiveStartKey      attr.Item                       `json:"ExclusiveStartKey"`
	ScanIndexForward       *bool                           `json:"ScanIndexForward"`
	ConsistentRead         *bool                           `json:"ConsistentRead"`
	ReturnConsumedCapacity *string                         `json:"ReturnConsumedCapacity"`
}

func (s *Service) query(_ *requestContext, body []byte) (any, error) {
	var in queryInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := checkTableName(in.TableName); err != nil {
		return nil, err
	}
	if err := checkIndexName(in.IndexName); err != nil {
		return nil, err
	}
	limit, err := checkLimit(in.Limit)
	if err != nil {
		return nil, err
	}
	projParam := projectionParam(in.ProjectionExpression, in.AttributesToGet)
	sel, err := checkSelect(in.Select, projParam, in.IndexName != nil)
	if err != nil {
		return nil, err
	}
	e, err := in.begin("Query", presentMembers(body))
	if err != nil {
		return nil, err
	}
	if in.KeyConditionExpression == nil && in.KeyConditions == nil {
		return nil, validationf("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.")
	}
	t, err := s.lookupTable(tableNameFromARN(*in.TableName))
	if err != nil {
		return nil, err
	}
	consistent := in.ConsistentRead != nil && *in.ConsistentRead
	hash, rng := t.hash, t.rng
	var x *index
	if in.IndexName != nil {
		if x, err = t.lookupIndex(*in.IndexName); err != nil {
			return nil, err
		}
		if x.meta.Global && consistent {
			return nil, validationf("Consistent reads are not supported on global secondary indexes")
		}
		hash, rng = x.hash, x.rng
		if in.Select == nil && projParam == "" {
			sel = selectAllProjected
		}
	}
	sortKey := ""
	sortKind := attr.Kind(0)
	if rng != nil {
		sortKey, sortKind = rng.Name, rng.kind()
	}
	var kc *expr.KeyCondition
	if in.KeyConditionExpression != nil {
		kc, err = expr.ParseKeyCondition(*in.KeyConditionExpression, e.names, e.values, hash.Name, sortKey)
	} else {
		kc, err = expr.KeyConditions(in.KeyConditions, hash.Name, sortKey)
	}
	if err != nil {
		return nil, err
	}
	filter, err := e.filter(in.FilterExpression, "QueryFilter", in.QueryFilter, in.ConditionalOperator)
	if err != nil {
		return nil, err
	}
	proj, err := e.projection(in.ProjectionExpression, in.AttributesToGet)
	if err != nil {
		return nil, err
	}
	if err := e.end(kc, filter, proj); err != nil {
		return nil, err
	}
	if err := kc.CheckTypes(hash.kind(), sortKind); err != nil {
		return nil, err
	}
	if err := attr.CheckKey(hash.Name, hash.kind(), kc.Partition, false); err != nil {
		return nil, err
	}
	keys := t.keyAttrs()
	if x != nil {
		keys = x.keyAttrs()
	}
	if err := checkFilterKeys(filter, in.QueryFilter != nil, keys); err != nil {
		return nil, err
	}
	req := &pageRequest{
		t:       t,
		reverse: in.ScanIndexForward != nil && !*in.ScanIndexForward,
		limit:   limit, match: kc.Match, matchAttrs: keyConditionAttrs(kc), filter: filter, proj: proj, count: sel == selectCount,
		consumed: in.ReturnConsumedCapacity, consistent: consistent,
	}
	if x == nil {
		prefix, err := t.partitionPrefix(kc.Partition)
		if err != nil {
			return nil, err
		}
		req.lower, req.upper = prefix, kv.PrefixEnd(prefix)
		if err := sortBounds(req, prefix, kc.SortRange()); err != nil {
			return nil, err
		}
	} else {
		prefix, err := attr.EncodeKey(slices.Clone(x.prefix), kc.Partition)
		if err != nil {
			return nil, err
		}
		if err := indexSortBounds(req, prefix, kc.SortRange()); err != nil {
			return nil, err
		}
		if err := s.readIndex(req, x, sel, proj, filter); err != nil {
			return nil, err
		}
	}
	if in.ExclusiveStartKey != nil {
		if x == nil {
			req.startAfter, err = t.startKey(in.ExclusiveStartKey)
		} else {
			req.startAfter, err = x.startKey(t, in.ExclusiveStartKey)
		}
		if err != nil {
			return nil, err
		}
		if !attr.Equal(in.ExclusiveStartKey[hash.Name], kc.Partition) {
			return nil, validationf("The provided starting key is outside query boundaries based on provided conditions")
		}
		if kc.Sort != nil && !kc.Sort.Match(in.ExclusiveStartKey[rng.Name]) {
			return nil, validationf("The provided starting key does not match the range key predicate")
		}
	}
	return s.readPage(req)
}

// keyConditionAttrs returns the attributes kc.Match looks at.
func keyConditionAttrs(kc *expr.KeyCondition) []string {
	if kc.Sort == nil {
		return []string{kc.PartitionKey}
	}
	return []string{kc.PartitionKey, kc.Sort.Key}
}

// sortBounds narrows a page request to the sort key range r within the partition at
// prefix. A sort key's encoding ends its store key, so the store key of sort key v is
// prefix+EncodeKey(v), and prefix+EncodeKey(v)+0x00 is the least key after it.
func sortBounds(req *pageRequest, prefix []byte, r expr.KeyRange) error {
	encode := func(v attr.Value) ([]byte, error) {
		return attr.EncodeKey(slices.Clone(prefix), v)
	}
	if r.Start != nil {
		k, err := encode(r.Start.Value)
		if err != nil {
			return err
		}
		if !r.Start.Inclusive {
			k = append(k, 0)
		}
		req.lower = k
	}
	if r.End != nil {
		k, err := encode(r.End.Value)
		if err != nil {
			return err
		}
		if r.End.Inclusive {
			k = append(k, 0)
		}
		req.upper = k
	}
	return nil
}

// Scan

type scanInput struct {
	exprInput
	TableName              *string                         `json:"TableName"`
	IndexName              *string                         `json:"IndexName"`
	FilterExpression       *string                         `json:"FilterExpression"`
	ScanFilter             map[string]expr.LegacyCondition `json:"ScanFilter"`
	ConditionalOperator    *string                         `json:"ConditionalOperator"`
	ProjectionExpression   *string                         `json:"ProjectionExpression"`
	AttributesToGet        []string                        `json:"AttributesToGet"`
	Select                 *string                         `json:"Select"`
	Limit                  *int64                          `json:"Limit"`
	ExclusiveStartKey      attr.Item                       `json:"ExclusiveStartKey"`
	Segment                *int64                          `json:"Segment"`
	TotalSegments          *int64                          `json:"TotalSegments"`
	ConsistentRead         *bool                           `json:"ConsistentRead"`
	ReturnConsumedCapacity *string                         `json:"ReturnConsumedCapacity"`
}

func (s *Service) scan(_ *requestContext, body []byte) (any, error) {
	var in scanInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := checkTableName(in.TableName); err != nil {
		return nil, err
	}
	var v violations
	checkIndexNameInto(&v, in.IndexName)
	if in.Segment != nil && *in.Segment < 0 {
		v.add(*in.Segment, "segment", "Member must have value greater than or equal to 0")
	}
	if in.TotalSegments != nil {
		if *in.TotalSegments < 1 {
			v.add(*in.TotalSegments, "totalSegments", "Member must have value greater than or equal to 1")
		} else if *in.TotalSegments > maxTotalSegments {
			v.add(*in.TotalSegments, "totalSegments", fmt.Sprintf("Member must have value less than or equal to %d", maxTotalSegments))
		}
	}
	if in.Limit != nil && *in.Limit < 1 {
		v.add(*in.Limit, "limit", "Member must have value greater than or equal to 1")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	limit, _ := checkLimit(in.Limit)
	switch {
	case in.Segment != nil && in.TotalSegments == nil:
		return nil, validationf("The TotalSegments parameter is required but was not present in the request when Segment parameter is present")
	case in.TotalSegments != nil && in.Segment == nil:
		return nil, validationf("The Segment parameter is required but was not present in the request when parameter TotalSegments is present")
	case in.Segment != nil && *in.Segment >= *in.TotalSegments:
		return nil, validationf("The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: %d is not less than TotalSegments: %d", *in.Segment, *in.TotalSegments)
	}
	projParam := projectionParam(in.ProjectionExpression, in.AttributesToGet)
	sel, err := checkSelect(in.Select, projParam, in.IndexName != nil)
	if err != nil {
		return nil, err
	}
	e, err := in.begin("Scan", presentMembers(body))
	if err != nil {
		return nil, err
	}
	filter, err := e.filter(in.FilterExpression, "ScanFilter", in.ScanFilter, in.ConditionalOperator)
	if err != nil {
		return nil, err
	}
	proj, err := e.projection(in.ProjectionExpression, in.AttributesToGet)
	if err != nil {
		return nil, err
	}
	if err := e.end(filter, proj); err != nil {
		return nil, err
	}
	t, err := s.lookupTable(tableNameFromARN(*in.TableName))
	if err != nil {
		return nil, err
	}
	consistent := in.ConsistentRead != nil && *in.ConsistentRead
	req := &pageRequest{
		t: t, lower: t.items, upper: kv.PrefixEnd(t.items),
		limit: limit, filter: filter, proj: proj, count: sel == selectCount,
		consumed: in.ReturnConsumedCapacity, consistent: consistent,
	}
	var x *index
	if in.IndexName != nil {
		if x, err = t.lookupIndex(*in.IndexName); err != nil {
			return nil, err
		}
		if x.meta.Global && consistent {
			return nil, validationf("Consistent reads are not supported on global secondary indexes")
		}
		if in.Select == nil && projParam == "" {
			sel = selectAllProjected
		}
		req.lower, req.upper = x.prefix, kv.PrefixEnd(x.prefix)
		if err := s.readIndex(req, x, sel, proj, filter); err != nil {
			return nil, err
		}
	}
	if in.TotalSegments != nil && *in.TotalSegments > 1 {
		req.skip = segmentFilter(len(req.lower), uint32(*in.Segment), uint32(*in.TotalSegments))
	}
	if in.ExclusiveStartKey != nil {
		if x == nil {
			req.startAfter, err = t.startKey(in.ExclusiveStartKey)
		} else {
			req.startAfter, err = x.startKey(t, in.ExclusiveStartKey)
		}
		if err != nil {
			return nil, err
		}
	}
	return s.readPage(req)
}

// segmentFilter returns the skip function of a parallel Scan's segment: an item belongs
// to segment hash(partition key) mod total, so that a partition is never split.
func segmentFilter(prefixLen int, segment, total uint32) func(key []byte) bool {
	return func(key []byte) bool {
		rest := key[prefixLen:]
		_, after, err := attr.DecodeKey(rest)
		if err != nil {
			return false // let the item's decoding report it
		}
		h := fnv.New32a()
		_, _ = h.Write(rest[:len(rest)-len(after)])
		return h.Sum32()%total != segment
	}
}

// indexSortBounds narrows a page request to the sort key range r within the index
// partition at prefix. An entry's key goes on after its sort key (with the item's table
// key), so the entries of sort key v are those under the prefix prefix+EncodeKey(v).
func indexSortBounds(req *pageRequest, prefix []byte, r expr.KeyRange) error {
	req.lower, req.upper = prefix, kv.PrefixEnd(prefix)
	encode := func(v attr.Value) ([]byte, error) {
		return attr.EncodeKey(slices.Clone(prefix), v)
	}
	if r.Start != nil {
		k, err := encode(r.Start.Value)
		if err != nil {
			return err
		}
		if !r.Start.Inclusive {
			k = kv.PrefixEnd(k)
		}
		req.lower = k
	}
	if r.End != nil {
		k, err := encode(r.End.Value)
		if err != nil {
			return err
		}
		if r.End.Inclusive {
			k = kv.PrefixEnd(k)
		}
		req.upper = k
	}
	return nil
}

// readIndex sets up req to read index x of req.t with Select sel, the projection and the
// filter. A GSI returns only what it projects; an LSI fetches the items from the table
// when the request needs attributes it does not project.
func (s *Service) readIndex(req *pageRequest, x *index, sel string, proj *expr.Projection, filter *expr.Condition) error {
	t := req.t
	req.lastKey = func(entry attr.Item) attr.Item { return x.lastKey(t, entry) }
	needed := func(attrs []string) []string {
		var missing []string
		for _, a := range attrs {
			if !x.projects(t, a) && !slices.Contains(missing, a) {
				missing = append(missing, a)
			}
		}
		return missing
	}
	fetch := false
	if sel == selectAll && !x.all {
		if x.meta.Global {
			return validationf("One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index %s because its projection type is not ALL", x.meta.Name)
		}
		fetch = true
	}
	if proj != nil {
		if missing := needed(proj.Attributes()); len(missing) > 0 {
			if x.meta.Global {
				return validationf("One or more parameter values were invalid: Global secondary index %s does not project [%s]", x.meta.Name, strings.Join(missing, ", "))
			}
			fetch = true
		}
	}
	if filter != nil && !x.meta.Global && len(needed(filter.Attributes())) > 0 {
		fetch = true
	}
	if fetch && sel != selectAll && proj == nil {
		// Fetched for the filter only: the answer has the projected attributes.
		req.image = func(item attr.Item) attr.Item { return x.image(t, item) }
	}
	if fetch {
		req.fetch = func(entry attr.Item) (attr.Item, error) {
			key, err := t.storeKey(entry)
			if err != nil {
				return nil, err
			}
			return s.readItem(s.store, key)
		}
	}
	return nil
}

// checkIndexName checks the field constraints of an IndexName parameter (nil: absent).
func checkIndexName(name *string) error {
	var v violations
	checkIndexNameInto(&v, name)
	return v.err()
}

func checkIndexNameInto(v *violations, name *string) {
	if name == nil {
		return
	}
	if len(*name) < 3 {
		v.add(*name, "indexName", "Member must have length greater than or equal to 3")
	}
	if len(*name) > 255 {
		v.add(*name, "indexName", "Member must have length less than or equal to 255")
	}
	if !namePattern.MatchString(*name) {
		v.add(*name, "indexName", "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
	}
}
