package tables

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/polyregion/polyregion/internal/tables/attr"
)

// Secondary indexes. An index entry lives under tables/index/<tableID>/<indexID>/ followed
// by the index key's encodings and then the item's table key encodings (so that items with
// equal index keys have distinct entries, ordered by their table key); its value is the
// item's projected image (the whole item for ALL). See README.md, "Storage layout".
//
// Every write maintains the indexes that are CREATING or ACTIVE in the same batch as the
// item (Service.commit). The set of indexes changes only while the table's live lock is held
// exclusively, and every write holds it shared from reading the old item to its commit, so
// a write sees one index set throughout and none is in flight when an index starts
// CREATING or DELETING.

const (
	indexPrefix    = "tables/index/"
	backfillPrefix = "tables/backfill/"

	maxGSIs              = 20
	maxLSIs              = 5
	maxProjectedNonKeys  = 100
	indexStatusCreating  = "CREATING"
	indexStatusActive    = "ACTIVE"
	indexStatusDeleting  = "DELETING"
	projectionAll        = "ALL"
	projectionKeysOnly   = "KEYS_ONLY"
	projectionInclude    = "INCLUDE"
	invalidParamsMessage = "One or more parameter values were invalid: "
)

// projection is the wire and stored shape of an index's projection.
type projection struct {
	ProjectionType   *string  `json:"ProjectionType,omitempty"`
	NonKeyAttributes []string `json:"NonKeyAttributes,omitempty"`
}

// indexMeta is an index's description as stored in its table's tableMeta.
type indexMeta struct {
	Name       string                 `json:"name"`
	ID         string                 `json:"id"` // 16 hex digits, new for every index created
	Global     bool                   `json:"global"`
	KeySchema  []keySchemaElement     `json:"keySchema"`
	Projection projection             `json:"projection"`
	Throughput *provisionedThroughput `json:"throughput,omitempty"` // GSIs of PROVISIONED tables
	Status     string                 `json:"status"`               // CREATING, ACTIVE, DELETING
}

// sortIndexes puts a table's indexes in name order, the order DynamoDB checks them in (a
// write that fits none of several indexes is refused naming the first).
func sortIndexes(xs []*index) {
	slices.SortFunc(xs, func(a, b *index) int { return strings.Compare(a.meta.Name, b.meta.Name) })
}

// index is a secondary index of a table, as compiled from its indexMeta. Never modified
// once made: a change makes a new one.
type index struct {
	meta     indexMeta
	hash     keyAttr
	rng      *keyAttr // nil: no sort key (GSIs only)
	prefix   []byte   // tables/index/<tableID>/<indexID>/
	all      bool     // projection ALL
	included []string // INCLUDE: the projected non-key attributes
}

// newIndex compiles m for table t, whose attribute definitions are defs.
func newIndex(tableID string, m indexMeta, defs []attributeDefinition) (*index, error) {
	x := &index{meta: m, prefix: []byte(indexPrefix + tableID + "/" + m.ID + "/")}
	for _, k := range m.KeySchema {
		ka := keyAttr{Name: *k.AttributeName}
		for _, d := range defs {
			if d.AttributeName == ka.Name {
				ka.Type = d.AttributeType
			}
		}
		if ka.Type == "" {
			return nil, fmt.Errorf("tables: index %s: key attribute %s has no definition", m.Name, ka.Name)
		}
		if *k.KeyType == "HASH" {
			x.hash = ka
		} else {
			x.rng = &ka
		}
	}
	if x.hash.Name == "" {
		return nil, fmt.Errorf("tables: index %s: no HASH key", m.Name)
	}
	switch *m.Projection.ProjectionType {
	case projectionAll:
		x.all = true
	case projectionInclude:
		x.included = m.Projection.NonKeyAttributes
	}
	return x, nil
}

// keyAttrs are the index's key attributes, partition key first.
func (x *index) keyAttrs() []keyAttr {
	if x.rng == nil {
		return []keyAttr{x.hash}
	}
	return []keyAttr{x.hash, *x.rng}
}

// readable reports whether queries may read the index.
func (x *index) readable() bool { return x.meta.Status == indexStatusActive }

// maintained reports whether writes maintain the index.
func (x *index) maintained() bool { return x.meta.Status != indexStatusDeleting }

// projects reports whether the index holds attribute name of its items.
func (x *index) projects(t *table, name string) bool {
	return x.all || t.isKeyAttr(name) || name == x.hash.Name || x.rng != nil && name == x.rng.Name ||
		slices.Contains(x.included, name)
}

// entry returns the store key and value of item's entry in x, or a nil key when the item
// is not in the index (it lacks one of the index's key attributes: indexes are sparse).
// itemKey is the item's table store key. An index key attribute of the wrong type, or an
// empty string or binary one, is DynamoDB's ValidationException.
func (x *index) entry(t *table, itemKey []byte, item attr.Item, encoded []byte) (key, value []byte, err error) {
	key, err = x.entryKey(t, itemKey, item)
	if key == nil || err != nil {
		return nil, nil, err
	}
	if x.all {
		if encoded == nil {
			encoded = attr.EncodeItem(item)
		}
		return key, encoded, nil
	}
	return key, attr.EncodeItem(x.image(t, item)), nil
}

// entryKey is entry's key alone.
func (x *index) entryKey(t *table, itemKey []byte, item attr.Item) (key []byte, err error) {
	key = make([]byte, 0, len(x.prefix)+len(itemKey)+32)
	key = append(key, x.prefix...)
	for _, ka := range x.keyAttrs() {
		v, ok := item[ka.Name]
		if !ok {
			return nil, nil
		}
		if v.Kind != ka.kind() {
			return nil, validationf(invalidParamsMessage+"Type mismatch for Index Key %s Expected: %s Actual: %s IndexName: %s",
				ka.Name, ka.Type, v.Kind, x.meta.Name)
		}
		if v.Kind == attr.KindS && v.S == "" || v.Kind == attr.KindB && len(v.B) == 0 {
			empty := "string"
			if v.Kind == attr.KindB {
				empty = "binary"
			}
			return nil, validationf("One or more parameter values are not valid. A value specified for a secondary index key is not supported. "+
				"The AttributeValue for a key attribute cannot contain an empty %s value. IndexName: %s, IndexKey: %s", empty, x.meta.Name, ka.Name)
		}
		if err := attr.CheckKey(ka.Name, ka.kind(), v, x.rng != nil && ka == *x.rng); err != nil {
			return nil, err
		}
		if key, err = attr.EncodeKey(key, v); err != nil {
			return nil, err
		}
	}
	return append(key, itemKey[len(t.items):]...), nil
}

// image returns the attributes of item that x projects.
func (x *index) image(t *table, item attr.Item) attr.Item {
	if x.all {
		return item
	}
	img := t.keysOf(item)
	for _, ka := range x.keyAttrs() {
		if v, ok := item[ka.Name]; ok {
			img[ka.Name] = v
		}
	}
	for _, name := range x.included {
		if v, ok := item[name]; ok {
			img[name] = v
		}
	}
	return img
}

// lastKey returns the LastEvaluatedKey of an index entry: the index key and the table key.
func (x *index) lastKey(t *table, item attr.Item) attr.Item {
	k := t.keysOf(item)
	for _, ka := range x.keyAttrs() {
		if v, ok := item[ka.Name]; ok {
			k[ka.Name] = v
		}
	}
	return k
}

// startKey checks an ExclusiveStartKey for a read of x (its key and the table's key) and
// returns the store key of that entry.
func (x *index) startKey(t *table, key attr.Item) ([]byte, error) {
	bad := validationf("The provided starting key is invalid: The provided key element does not match the schema")
	names := map[string]keyAttr{}
	for _, ka := range append(t.keyAttrs(), x.keyAttrs()...) {
		names[ka.Name] = ka
	}
	if len(key) != len(names) {
		return nil, bad
	}
	for name, ka := range names {
		if v, ok := key[name]; !ok || v.Kind != ka.kind() {
			return nil, bad
		}
	}
	tk, err := t.startKey(t.keysOf(key))
	if err != nil {
		return nil, err
	}
	k, err := x.entryKey(t, tk, key)
	if err != nil {
		if ae, ok := err.(*apiError); ok {
			return nil, validationf("The provided starting key is invalid: %s", ae.message)
		}
		if ae := asAttrError(err); ae != nil {
			return nil, validationf("The provided starting key is invalid: %s", ae.message)
		}
		return nil, err
	}
	return k, nil
}

// indexWrite is one write to an index: value nil deletes key.
type indexWrite struct {
	key, value []byte
}

// indexWrites returns the index writes of a mutation that changes something, or the
// ValidationException of a new item that cannot be indexed. newEnc is the new item's
// encoding (nil when it is deleted).
func indexWrites(m *mutation, newEnc []byte) ([]indexWrite, error) {
	var out []indexWrite
	for _, x := range m.t.currentSettings().indexes {
		if !x.maintained() {
			continue
		}
		var oldKey []byte
		if m.old != nil {
			// An item stored before the index was created may not fit it; it is then not in
			// the index.
			oldKey, _ = x.entryKey(m.t, m.key, m.old)
		}
		var newKey, newValue []byte
		if m.new != nil {
			var err error
			if newKey, newValue, err = x.entry(m.t, m.key, m.new, newEnc); err != nil {
				if m.origin == nil {
					return nil, err
				}
				// A write pulled from another region was accepted there: it is kept, out of
				// the index it does not fit, as a backfill leaves such items out.
				newKey, newValue = nil, nil
			}
		}
		if oldKey != nil && !bytes.Equal(oldKey, newKey) {
			out = append(out, indexWrite{key: oldKey})
		}
		if newKey != nil {
			out = append(out, indexWrite{key: newKey, value: newValue})
		}
	}
	return out, nil
}

// lookupIndex returns the index of t named name for a read, with DynamoDB's errors.
func (t *table) lookupIndex(name string) (*index, error) {
	for _, x := range t.currentSettings().indexes {
		if x.meta.Name != name || x.meta.Status == indexStatusDeleting {
			continue
		}
		if !x.readable() {
			return nil, validationf("Cannot read from backfilling global secondary index: %s", name)
		}
		return x, nil
	}
	return nil, validationf("The table does not have the specified index: %s", name)
}

// Wire shapes of indexes.

type globalSecondaryIndex struct {
	IndexName             *string                `json:"IndexName"`
	KeySchema             []*keySchemaElement    `json:"KeySchema"`
	Projection            *projection            `json:"Projection"`
	ProvisionedThroughput *provisionedThroughput `json:"ProvisionedThroughput"`
}

type indexDescription struct {
	IndexName             string                 `json:"IndexName"`
	KeySchema             []keySchemaElement     `json:"KeySchema"`
	Projection            projection             `json:"Projection"`
	IndexStatus           string                 `json:"IndexStatus,omitempty"`
	Backfilling           *bool                  `json:"Backfilling,omitempty"`
	ProvisionedThroughput *throughputDescription `json:"ProvisionedThroughput,omitempty"`
	IndexSizeBytes        int64                  `json:"IndexSizeBytes"`
	ItemCount             int64                  `json:"ItemCount"`
	IndexArn              string                 `json:"IndexArn"`
}

// describeIndexes returns the GSI and LSI descriptions of t's indexes.
func (s *Service) describeIndexes(t *table, set tableSettings) (gsis, lsis []indexDescription) {
	for _, x := range set.indexes {
		d := indexDescription{
			IndexName:  x.meta.Name,
			KeySchema:  x.meta.KeySchema,
			Projection: x.meta.Projection,
			IndexArn:   s.tableARN(t.meta.Name) + "/index/" + x.meta.Name,
		}
		if !x.meta.Global {
			lsis = append(lsis, d)
			continue
		}
		d.IndexStatus = x.meta.Status
		if x.meta.Status == indexStatusCreating {
			// Only an index added by UpdateTable is ever CREATING; DynamoDB shows
			// Backfilling for those only.
			d.Backfilling = ptr(true)
		}
		d.ProvisionedThroughput = &throughputDescription{}
		if pt := x.meta.Throughput; pt != nil {
			d.ProvisionedThroughput.ReadCapacityUnits = *pt.ReadCapacityUnits
			d.ProvisionedThroughput.WriteCapacityUnits = *pt.WriteCapacityUnits
		}
		gsis = append(gsis, d)
	}
	return gsis, lsis
}

// Validation of index definitions (CreateTable, UpdateTable's Create).

// checkIndexFields checks the field constraints of a GSI or LSI list element (what is the
// member's path prefix, "globalSecondaryIndexes.1.member") into v.
func checkIndexFields(v *violations, what string, name *string, keySchema []*keySchemaElement, proj *projection, pt *provisionedThroughput) {
	if name == nil {
		v.add(nil, what+".indexName", "Member must not be null")
	} else {
		if len(*name) < 3 {
			v.add(*name, what+".indexName", "Member must have length greater than or equal to 3")
		}
		if len(*name) > 255 {
			v.add(*name, what+".indexName", "Member must have length less than or equal to 255")
		}
		if !namePattern.MatchString(*name) {
			v.add(*name, what+".indexName", "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
		}
	}
	switch {
	case keySchema == nil:
		v.add(nil, what+".keySchema", "Member must not be null")
	case len(keySchema) < 1:
		v.add("[]", what+".keySchema", "Member must have length greater than or equal to 1")
	case len(keySchema) > 2:
		v.add(fmt.Sprintf("[%d elements]", len(keySchema)), what+".keySchema", "Member must have length less than or equal to 2")
	}
	for i, k := range keySchema {
		p := fmt.Sprintf("%s.keySchema.%d", what, i+1)
		if k == nil {
			v.add(nil, p, "Member must not be null")
			continue
		}
		if k.AttributeName == nil {
			v.add(nil, p+".member.attributeName", "Member must not be null")
		} else if len(*k.AttributeName) < 1 || len(*k.AttributeName) > 255 {
			v.add(*k.AttributeName, p+".member.attributeName", "Member must have length less than or equal to 255")
		}
		if k.KeyType == nil {
			v.add(nil, p+".member.keyType", "Member must not be null")
		} else if !oneOf(*k.KeyType, "HASH", "RANGE") {
			v.add(*k.KeyType, p+".member.keyType", enumConstraint("HASH", "RANGE"))
		}
	}
	if proj == nil {
		v.add(nil, what+".projection", "Member must not be null")
	} else {
		if proj.ProjectionType != nil && !oneOf(*proj.ProjectionType, projectionAll, projectionKeysOnly, projectionInclude) {
			v.add(*proj.ProjectionType, what+".projection.projectionType", enumConstraint(projectionAll, projectionKeysOnly, projectionInclude))
		}
		if n := len(proj.NonKeyAttributes); proj.NonKeyAttributes != nil && (n < 1 || n > 20) {
			c := "Member must have length less than or equal to 20"
			if n < 1 {
				c = "Member must have length greater than or equal to 1"
			}
			v.add(fmt.Sprintf("[%d elements]", n), what+".projection.nonKeyAttributes", c)
		}
	}
	checkThroughputFields(v, what+".provisionedThroughput", pt)
}

// checkThroughputFields checks the field constraints of a ProvisionedThroughput at path
// (nil: absent, nothing to check).
func checkThroughputFields(v *violations, path string, pt *provisionedThroughput) {
	if pt == nil {
		return
	}
	for _, f := range []struct {
		path string
		v    *int64
	}{{path + ".writeCapacityUnits", pt.WriteCapacityUnits}, {path + ".readCapacityUnits", pt.ReadCapacityUnits}} {
		if f.v == nil {
			v.add(nil, f.path, "Member must not be null")
		} else if *f.v < 1 {
			v.add(*f.v, f.path, "Member must have value greater than or equal to 1")
		}
	}
}

// indexSpec is an index definition of a request, its fields checked by checkIndexFields.
type indexSpec struct {
	global     bool
	name       string
	keySchema  []*keySchemaElement
	projection *projection
	throughput *provisionedThroughput
}

// checkIndexSpec checks the rules of one index definition against the table's key (hash
// and its sort key name, "" for none), the billing mode and the attribute definitions
// known (defs), and returns its indexMeta (ID and Status left for the caller).
func checkIndexSpec(sp indexSpec, tableHash, tableSort, billing string, defs map[string]string) (indexMeta, error) {
	kind := "GlobalSecondaryIndex"
	if !sp.global {
		kind = "LocalSecondaryIndex"
	}
	var names []string
	for _, k := range sp.keySchema {
		names = append(names, *k.AttributeName)
	}
	for _, n := range names {
		if _, ok := defs[n]; !ok {
			keys := slices.Sorted(func(yield func(string) bool) {
				for k := range defs {
					if !yield(k) {
						return
					}
				}
			})
			return indexMeta{}, validationf(invalidParamsMessage+"Some index key attributes are not defined in AttributeDefinitions. Keys: [%s], AttributeDefinitions: [%s]",
				strings.Join(names, ", "), strings.Join(keys, ", "))
		}
	}
	if *sp.keySchema[0].KeyType != "HASH" {
		return indexMeta{}, validationf("Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
	}
	if len(names) == 2 {
		if *sp.keySchema[1].KeyType != "RANGE" {
			return indexMeta{}, validationf("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type")
		}
		if names[0] == names[1] {
			return indexMeta{}, validationf("Both the Hash Key and the Range Key element in the KeySchema have the same name")
		}
	}
	if !sp.global {
		if tableSort == "" {
			return indexMeta{}, validationf(invalidParamsMessage + "Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex")
		}
		if names[0] != tableHash {
			return indexMeta{}, validationf(invalidParamsMessage+"Index KeySchema does not have the same leading hash key as table KeySchema for index: %s. index hash key: %s, table hash key: %s",
				sp.name, names[0], tableHash)
		}
		if len(names) != 2 {
			return indexMeta{}, validationf(invalidParamsMessage+"Index KeySchema must have a range key for index: %s", sp.name)
		}
		if names[1] == tableSort {
			return indexMeta{}, validationf(invalidParamsMessage+"Index KeySchema has the same range key as table KeySchema for index: %s", sp.name)
		}
	}
	p := sp.projection
	if p.ProjectionType == nil {
		return indexMeta{}, validationf(invalidParamsMessage+"Unknown ProjectionType: null for %s %s", kind, sp.name)
	}
	switch {
	case *p.ProjectionType == projectionInclude && len(p.NonKeyAttributes) == 0:
		return indexMeta{}, validationf(invalidParamsMessage+"ProjectionType is INCLUDE, but NonKeyAttributes is not specified for index: %s", sp.name)
	case *p.ProjectionType != projectionInclude && p.NonKeyAttributes != nil:
		return indexMeta{}, validationf(invalidParamsMessage+"ProjectionType is %s, but NonKeyAttributes is specified for index: %s", *p.ProjectionType, sp.name)
	}
	seen := map[string]bool{}
	for _, a := range p.NonKeyAttributes {
		if seen[a] {
			return indexMeta{}, validationf(invalidParamsMessage+"Duplicate projected attribute: %s for index: %s", a, sp.name)
		}
		seen[a] = true
	}
	pt := sp.throughput
	if sp.global {
		switch {
		case billing == "PAY_PER_REQUEST" && pt != nil:
			return indexMeta{}, validationf(invalidParamsMessage+"ProvisionedThroughput should not be specified for index: %s when BillingMode is PAY_PER_REQUEST", sp.name)
		case billing == "PROVISIONED" && pt == nil:
			return indexMeta{}, validationf(invalidParamsMessage+"ProvisionedThroughput must be specified for index: %s", sp.name)
		case pt != nil && *pt.ReadCapacityUnits > maxCapacity:
			return indexMeta{}, validationf("Given value %d for ReadCapacityUnits is out of bounds for index %s", *pt.ReadCapacityUnits, sp.name)
		case pt != nil && *pt.WriteCapacityUnits > maxCapacity:
			return indexMeta{}, validationf("Given value %d for WriteCapacityUnits is out of bounds for index %s", *pt.WriteCapacityUnits, sp.name)
		}
	} else if pt != nil {
		return indexMeta{}, validationf(invalidParamsMessage+"ProvisionedThroughput is not supported on LocalSecondaryIndex: %s", sp.name)
	}
	m := indexMeta{Name: sp.name, Global: sp.global, Projection: projection{ProjectionType: ptr(*p.ProjectionType)}}
	if *p.ProjectionType == projectionInclude {
		m.Projection.NonKeyAttributes = slices.Clone(p.NonKeyAttributes)
	}
	for _, k := range sp.keySchema {
		m.KeySchema = append(m.KeySchema, keySchemaElement{AttributeName: ptr(*k.AttributeName), KeyType: ptr(*k.KeyType)})
	}
	if sp.global && pt != nil {
		m.Throughput = &provisionedThroughput{ReadCapacityUnits: ptr(*pt.ReadCapacityUnits), WriteCapacityUnits: ptr(*pt.WriteCapacityUnits)}
	}
	return m, nil
}

// projectedNonKeys counts the NonKeyAttributes of indexes.
func projectedNonKeys(ms []indexMeta) int {
	n := 0
	for _, m := range ms {
		n += len(m.Projection.NonKeyAttributes)
	}
	return n
}

// checkDefinitionsUsed refuses attribute definitions that no key schema uses.
func checkDefinitionsUsed(defs []attributeDefinition, tableKeys []keySchemaElement, indexes []indexMeta) error {
	used := map[string]bool{}
	var keys []string
	add := func(ks []keySchemaElement) {
		for _, k := range ks {
			if !used[*k.AttributeName] {
				used[*k.AttributeName] = true
				keys = append(keys, *k.AttributeName)
			}
		}
	}
	add(tableKeys)
	for _, m := range indexes {
		add(m.KeySchema)
	}
	var names []string
	unused := false
	for _, d := range defs {
		names = append(names, d.AttributeName)
		if !used[d.AttributeName] {
			unused = true
		}
	}
	if unused {
		return validationf(invalidParamsMessage+"Some AttributeDefinitions are not used. AttributeDefinitions: [%s], keys used: [%s]",
			strings.Join(names, ", "), strings.Join(keys, ", "))
	}
	return nil
}

// usedDefinitions returns the definitions that the table's key or an index key uses.
func usedDefinitions(defs []attributeDefinition, tableKeys []keySchemaElement, indexes []indexMeta) []attributeDefinition {
	used := map[string]bool{}
	for _, k := range tableKeys {
		used[*k.AttributeName] = true
	}
	for _, m := range indexes {
		for _, k := range m.KeySchema {
			used[*k.AttributeName] = true
		}
	}
	var out []attributeDefinition
	for _, d := range defs {
		if used[d.AttributeName] {
			out = append(out, d)
		}
	}
	return out
}

// newIndexID returns 16 random hex digits.
func newIndexID() string { return newTableID()[:16] }

// checkIndexListFields checks the field constraints of CreateTable's index lists.
func checkIndexListFields(in *createTableInput) error {
	var v violations
	for _, l := range []struct {
		path  string
		list  []*globalSecondaryIndex
		local bool
	}{{"globalSecondaryIndexes", in.GlobalSecondaryIndexes, false}, {"localSecondaryIndexes", in.LocalSecondaryIndexes, true}} {
		for i, x := range l.list {
			what := fmt.Sprintf("%s.%d.member", l.path, i+1)
			if x == nil {
				v.add(nil, what, "Member must not be null")
				continue
			}
			checkIndexFields(&v, what, x.IndexName, x.KeySchema, x.Projection, x.ProvisionedThroughput)
		}
	}
	return v.err()
}

// checkCreateIndexes checks CreateTable's indexes (their fields already checked) and
// returns their descriptions.
func checkCreateIndexes(in *createTableInput, billing string) ([]indexMeta, error) {
	if in.GlobalSecondaryIndexes != nil && len(in.GlobalSecondaryIndexes) == 0 {
		return nil, validationf(invalidParamsMessage + "List of GlobalSecondaryIndexes is empty")
	}
	if in.LocalSecondaryIndexes != nil && len(in.LocalSecondaryIndexes) == 0 {
		return nil, validationf(invalidParamsMessage + "List of LocalSecondaryIndexes is empty")
	}
	if n := len(in.GlobalSecondaryIndexes); n > maxGSIs {
		return nil, validationf(invalidParamsMessage+"GlobalSecondaryIndex count exceeds the per-table limit of %d", maxGSIs)
	}
	if n := len(in.LocalSecondaryIndexes); n > maxLSIs {
		return nil, validationf(invalidParamsMessage+"Number of LocalSecondaryIndexes exceeds per-table limit of %d", maxLSIs)
	}
	defs := map[string]string{}
	for _, d := range in.AttributeDefinitions {
		defs[d.AttributeName] = d.AttributeType
	}
	hash, sort := *in.KeySchema[0].AttributeName, ""
	if len(in.KeySchema) == 2 {
		sort = *in.KeySchema[1].AttributeName
	}
	var out []indexMeta
	names := map[string]bool{}
	for _, l := range []struct {
		list   []*globalSecondaryIndex
		global bool
	}{{in.GlobalSecondaryIndexes, true}, {in.LocalSecondaryIndexes, false}} {
		for _, x := range l.list {
			if names[*x.IndexName] {
				return nil, validationf(invalidParamsMessage+"Duplicate index name: %s", *x.IndexName)
			}
			names[*x.IndexName] = true
			m, err := checkIndexSpec(indexSpec{global: l.global, name: *x.IndexName, keySchema: x.KeySchema,
				projection: x.Projection, throughput: x.ProvisionedThroughput}, hash, sort, billing, defs)
			if err != nil {
				return nil, err
			}
			out = append(out, m)
		}
	}
	if n := projectedNonKeys(out); n > maxProjectedNonKeys {
		return nil, validationf(invalidParamsMessage+"The number of projected attributes in all indexes exceeds the limit of %d, provided: %d",
			maxProjectedNonKeys, n)
	}
	return out, nil
}
