package tables

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/polyregion/polyregion/internal/kv"
	"github.com/polyregion/polyregion/internal/replication"
)

// Key prefixes in the store. See README.md, "Storage layout".
const (
	metaPrefix = "tables/meta/"
	itemPrefix = "tables/item/"
	logPrefix  = "tables/log/"
)

// keyAttr is one attribute of a table's primary key.
type keyAttr struct {
	Name string
	Type string // S, N or B
}

// tableMeta is a table's description as stored under tables/meta/<name>, JSON-encoded.
type tableMeta struct {
	Name                 string                 `json:"name"`
	ID                   string                 `json:"id"` // 32 hex digits; new for every CreateTable
	KeySchema            []keySchemaElement     `json:"keySchema"`
	AttributeDefinitions []attributeDefinition  `json:"attributeDefinitions"`
	BillingMode          string                 `json:"billingMode"`
	Throughput           *provisionedThroughput `json:"throughput,omitempty"`
	Created              time.Time              `json:"created"`
	// BillingMode, Throughput and the settings below change after creation; this is
	// their state as last saved, table.settings their current state.
	TTLAttribute string            `json:"ttlAttribute,omitempty"`
	Tags         map[string]string `json:"tags,omitempty"`
	Stream       *streamState      `json:"stream,omitempty"`
	// Indexes are the table's secondary indexes; AttributeDefinitions change with them.
	Indexes []indexMeta `json:"indexes,omitempty"`
	// Global is the table's global-table membership as this region last saw it; nil: the
	// table is not global.
	Global *globalLocal `json:"global,omitempty"`
}

// table is a table of the catalog.
type table struct {
	meta  tableMeta
	hash  keyAttr
	rng   *keyAttr // nil: the table has a partition key only
	items []byte   // tables/item/<id>/
	log   *changeLog

	// live is held shared by every write to the table and exclusively by DeleteTable, so
	// that no write lands after the table's items were removed.
	live    sync.RWMutex
	deleted bool

	// settings are the table's settings that change after creation (UpdateTimeToLive,
	// TagResource). Writers hold the Service's catalog lock too.
	settingsMu sync.Mutex
	settings   tableSettings
}

// tableSettings are the settings of a table that change after creation.
type tableSettings struct {
	billingMode  string                 // PROVISIONED or PAY_PER_REQUEST
	throughput   *provisionedThroughput // PROVISIONED only; never modified in place
	ttlAttribute string                 // "": TTL disabled
	tags         map[string]string      // never modified in place: replaced
	stream       *streamState           // nil: never had a stream; never modified in place
	attrDefs     []attributeDefinition  // never modified in place
	// indexes are the secondary indexes, in name order; never modified in place.
	// Changed only while t.live is held exclusively (see indexes.go).
	indexes []*index
	// global is the table's membership in a global table (nil: not global); never
	// modified in place. It becomes nil or non-nil only while t.live is held exclusively,
	// so a write is stamped or not throughout.
	global *globalLocal
}

// currentSettings returns the table's settings.
func (t *table) currentSettings() tableSettings {
	t.settingsMu.Lock()
	defer t.settingsMu.Unlock()
	return t.settings
}

// saveSettings persists new settings for t and makes them current. The caller holds s.mu.
func (s *Service) saveSettings(t *table, next tableSettings) error {
	meta := t.meta
	meta.BillingMode, meta.Throughput = next.billingMode, next.throughput
	meta.TTLAttribute, meta.Tags, meta.Stream = next.ttlAttribute, next.tags, next.stream
	meta.AttributeDefinitions, meta.Indexes, meta.Global = next.attrDefs, nil, next.global
	for _, x := range next.indexes {
		meta.Indexes = append(meta.Indexes, x.meta)
	}
	enc, err := json.Marshal(meta)
	if err != nil {
		return err
	}
	b := s.store.NewBatch()
	b.Set([]byte(metaPrefix+meta.Name), enc)
	if err := s.store.Commit(b, kv.CommitOptions{Sync: true}); err != nil {
		return fmt.Errorf("saving the settings of table %s: %w", meta.Name, err)
	}
	t.settingsMu.Lock()
	t.settings = next
	t.settingsMu.Unlock()
	return nil
}

func newTable(meta tableMeta, lastSeq uint64) (*table, error) {
	t := &table{meta: meta, items: []byte(itemPrefix + meta.ID + "/")}
	types := map[string]string{}
	for _, d := range meta.AttributeDefinitions {
		types[d.AttributeName] = d.AttributeType
	}
	for _, k := range meta.KeySchema {
		ka := keyAttr{Name: *k.AttributeName, Type: types[*k.AttributeName]}
		if ka.Type == "" {
			return nil, fmt.Errorf("tables: table %s: key attribute %s has no definition", meta.Name, ka.Name)
		}
		switch *k.KeyType {
		case "HASH":
			t.hash = ka
		case "RANGE":
			t.rng = &ka
		}
	}
	if t.hash.Name == "" {
		return nil, fmt.Errorf("tables: table %s: no HASH key", meta.Name)
	}
	t.log = newChangeLog(meta.ID, lastSeq)
	t.settings = tableSettings{billingMode: meta.BillingMode, throughput: meta.Throughput,
		ttlAttribute: meta.TTLAttribute, tags: meta.Tags, stream: meta.Stream, attrDefs: meta.AttributeDefinitions,
		global: meta.Global}
	for _, im := range meta.Indexes {
		x, err := newIndex(meta.ID, im, meta.AttributeDefinitions)
		if err != nil {
			return nil, fmt.Errorf("tables: table %s: %w", meta.Name, err)
		}
		t.settings.indexes = append(t.settings.indexes, x)
	}
	sortIndexes(t.settings.indexes)
	return t, nil
}

// loadCatalog reads every table description from the store.
func (s *Service) loadCatalog() error {
	it, err := s.store.Iter([]byte(metaPrefix), kv.PrefixEnd([]byte(metaPrefix)))
	if err != nil {
		return fmt.Errorf("tables: loading the catalog: %w", err)
	}
	defer it.Close()
	for it.Next() {
		var meta tableMeta
		if err := json.Unmarshal(it.Value(), &meta); err != nil {
			return fmt.Errorf("tables: loading the catalog: %s: %w", it.Key(), err)
		}
		last, shipped, err := lastLogSeq(s.store, meta.ID)
		if err != nil {
			return fmt.Errorf("tables: loading table %s: %w", meta.Name, err)
		}
		// Numbers up to the ceiling may have gone to applied writes that a crash lost
		// (lazysync.go): they are not handed out again.
		ceiling, err := readLogCeiling(s.store, meta.ID)
		if err != nil {
			return fmt.Errorf("tables: loading table %s: %w", meta.Name, err)
		}
		t, err := newTable(meta, max(last, ceiling))
		if err != nil {
			return err
		}
		t.log.shipped, t.log.ceiling = shipped, ceiling
		s.tables[meta.Name] = t
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("tables: loading the catalog: %w", err)
	}
	return nil
}

// Wire shapes shared by the table operations.

type keySchemaElement struct {
	AttributeName *string `json:"AttributeName"`
	KeyType       *string `json:"KeyType"`
}

type attributeDefinition struct {
	AttributeName string `json:"AttributeName"`
	AttributeType string `json:"AttributeType"`
}

type provisionedThroughput struct {
	ReadCapacityUnits  *int64 `json:"ReadCapacityUnits,omitempty"`
	WriteCapacityUnits *int64 `json:"WriteCapacityUnits,omitempty"`
}

type throughputDescription struct {
	NumberOfDecreasesToday int64 `json:"NumberOfDecreasesToday"`
	ReadCapacityUnits      int64 `json:"ReadCapacityUnits"`
	WriteCapacityUnits     int64 `json:"WriteCapacityUnits"`
}

type billingModeSummary struct {
	BillingMode                       string   `json:"BillingMode"`
	LastUpdateToPayPerRequestDateTime *float64 `json:"LastUpdateToPayPerRequestDateTime,omitempty"`
}

// TableDescription is the wire shape; only what polyregion knows is filled in.
type tableDescription struct {
	AttributeDefinitions      []attributeDefinition `json:"AttributeDefinitions"`
	KeySchema                 []keySchemaElement    `json:"KeySchema"`
	TableName                 string                `json:"TableName"`
	TableStatus               string                `json:"TableStatus"`
	CreationDateTime          float64               `json:"CreationDateTime"`
	ProvisionedThroughput     throughputDescription `json:"ProvisionedThroughput"`
	BillingModeSummary        *billingModeSummary   `json:"BillingModeSummary,omitempty"`
	TableSizeBytes            int64                 `json:"TableSizeBytes"`
	ItemCount                 int64                 `json:"ItemCount"`
	TableArn                  string                `json:"TableArn"`
	TableId                   string                `json:"TableId"`
	DeletionProtectionEnabled bool                  `json:"DeletionProtectionEnabled"`
	StreamSpecification       *streamSpecification  `json:"StreamSpecification,omitempty"`
	LatestStreamLabel         string                `json:"LatestStreamLabel,omitempty"`
	LatestStreamArn           string                `json:"LatestStreamArn,omitempty"`
	GlobalSecondaryIndexes    []indexDescription    `json:"GlobalSecondaryIndexes,omitempty"`
	LocalSecondaryIndexes     []indexDescription    `json:"LocalSecondaryIndexes,omitempty"`
	GlobalTableVersion        string                `json:"GlobalTableVersion,omitempty"`
	Replicas                  []replicaDescription  `json:"Replicas,omitempty"`
}

// epochSeconds is DynamoDB's timestamp encoding: seconds since the epoch, with a fraction.
func epochSeconds(t time.Time) float64 {
	return math.Round(float64(t.UnixMilli())) / 1000
}

// describe returns the table's description with status.
func (s *Service) describe(t *table, status string) tableDescription {
	m := t.meta
	set := t.currentSettings()
	d := tableDescription{
		AttributeDefinitions: set.attrDefs,
		KeySchema:            m.KeySchema,
		TableName:            m.Name,
		TableStatus:          status,
		CreationDateTime:     epochSeconds(m.Created),
		TableArn:             s.tableARN(m.Name),
		TableId:              uuidOf(m.ID),
		BillingModeSummary:   &billingModeSummary{BillingMode: set.billingMode},
	}
	if set.billingMode == "PAY_PER_REQUEST" {
		c := epochSeconds(m.Created)
		d.BillingModeSummary.LastUpdateToPayPerRequestDateTime = &c
	}
	d.GlobalSecondaryIndexes, d.LocalSecondaryIndexes = s.describeIndexes(t, set)
	if g := set.global; g != nil {
		d.GlobalTableVersion, d.Replicas = globalTableVersion, s.describeReplicas(g)
		if status == "ACTIVE" {
			status = g.Record.tableStatus(s.opts.Region)
		}
		d.TableStatus = status
	}
	if set.throughput != nil {
		d.ProvisionedThroughput.ReadCapacityUnits = *set.throughput.ReadCapacityUnits
		d.ProvisionedThroughput.WriteCapacityUnits = *set.throughput.WriteCapacityUnits
	}
	if st := set.stream; st != nil {
		d.LatestStreamLabel, d.LatestStreamArn = st.Label, s.streamARN(m.Name, st)
		if st.Enabled {
			d.StreamSpecification = &streamSpecification{StreamEnabled: ptr(true), StreamViewType: ptr(st.ViewType)}
		}
	}
	return d
}

// uuidOf formats 32 hex digits as a UUID.
func uuidOf(id string) string {
	if len(id) != 32 {
		return id
	}
	return id[0:8] + "-" + id[8:12] + "-" + id[12:16] + "-" + id[16:20] + "-" + id[20:]
}

// newTableID returns 32 random hex digits.
func newTableID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// CreateTable

type createTableInput struct {
	TableName              *string                 `json:"TableName"`
	AttributeDefinitions   []*attributeDefinition  `json:"AttributeDefinitions"`
	KeySchema              []*keySchemaElement     `json:"KeySchema"`
	BillingMode            *string                 `json:"BillingMode"`
	ProvisionedThroughput  *provisionedThroughput  `json:"ProvisionedThroughput"`
	GlobalSecondaryIndexes []*globalSecondaryIndex `json:"GlobalSecondaryIndexes"`
	LocalSecondaryIndexes  []*globalSecondaryIndex `json:"LocalSecondaryIndexes"`
	StreamSpecification    *streamSpecification    `json:"StreamSpecification"`
	Tags                   []tag                   `json:"Tags"`
}

type createTableOutput struct {
	TableDescription tableDescription `json:"TableDescription"`
}

// maxCapacity is the largest capacity DynamoDB accepts.
const maxCapacity = 1000000000000

func (s *Service) createTable(rc *requestContext, body []byte) (any, error) {
	var in createTableInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	meta, err := validateCreateTable(&in)
	if err != nil {
		return nil, err
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	for _, tg := range in.Tags {
		if meta.Tags == nil {
			meta.Tags = map[string]string{}
		}
		meta.Tags[*tg.Key] = *tg.Value
	}
	meta.ID = newTableID()
	meta.Created = rc.now
	if spec := in.StreamSpecification; spec != nil && *spec.StreamEnabled {
		meta.Stream = newStream(*spec.StreamViewType, rc.now, 1)
	}
	t, err := newTable(*meta, 0)
	if err != nil {
		return nil, err
	}
	enc, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tables[meta.Name]; ok {
		return nil, errorf("ResourceInUseException", "Table already exists: %s", meta.Name)
	}
	if err := s.checkResidencyTags(t, meta.Tags); err != nil {
		return nil, err
	}
	b := s.store.NewBatch()
	b.Set([]byte(metaPrefix+meta.Name), enc)
	if err := s.store.Commit(b, kv.CommitOptions{Sync: true}); err != nil {
		return nil, fmt.Errorf("creating table %s: %w", meta.Name, err)
	}
	s.tables[meta.Name] = t
	return createTableOutput{TableDescription: s.describe(t, "ACTIVE")}, nil
}

// validateCreateTable checks a CreateTable request as DynamoDB does, field constraints
// first, then the rules between fields.
func validateCreateTable(in *createTableInput) (*tableMeta, error) {
	if in.TableName == nil {
		return nil, validationf("The parameter 'TableName' is required but was not present in the request")
	}
	if len(*in.TableName) < 3 || len(*in.TableName) > 255 {
		return nil, validationf("TableName must be at least 3 characters long and at most 255 characters long")
	}
	var v violations
	if !namePattern.MatchString(*in.TableName) {
		v.add(*in.TableName, "tableName", "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
	}
	if in.AttributeDefinitions == nil {
		v.add(nil, "attributeDefinitions", "Member must not be null")
	}
	for i, d := range in.AttributeDefinitions {
		if d == nil {
			v.add(nil, fmt.Sprintf("attributeDefinitions.%d", i+1), "Member must not be null")
			continue
		}
		if d.AttributeName == "" {
			v.add(nil, fmt.Sprintf("attributeDefinitions.%d.member.attributeName", i+1), "Member must not be null")
		}
		if !oneOf(d.AttributeType, "B", "N", "S") {
			var val any
			if d.AttributeType != "" {
				val = d.AttributeType
			}
			v.add(val, fmt.Sprintf("attributeDefinitions.%d.member.attributeType", i+1), enumConstraint("B", "N", "S"))
		}
	}
	if in.BillingMode != nil && !oneOf(*in.BillingMode, "PROVISIONED", "PAY_PER_REQUEST") {
		v.add(*in.BillingMode, "billingMode", enumConstraint("PROVISIONED", "PAY_PER_REQUEST"))
	}
	if pt := in.ProvisionedThroughput; pt != nil {
		if pt.WriteCapacityUnits == nil {
			v.add(nil, "provisionedThroughput.writeCapacityUnits", "Member must not be null")
		} else if *pt.WriteCapacityUnits < 1 {
			v.add(*pt.WriteCapacityUnits, "provisionedThroughput.writeCapacityUnits", "Member must have value greater than or equal to 1")
		}
		if pt.ReadCapacityUnits == nil {
			v.add(nil, "provisionedThroughput.readCapacityUnits", "Member must not be null")
		} else if *pt.ReadCapacityUnits < 1 {
			v.add(*pt.ReadCapacityUnits, "provisionedThroughput.readCapacityUnits", "Member must have value greater than or equal to 1")
		}
	}
	switch {
	case in.KeySchema == nil:
		v.add(nil, "keySchema", "Member must not be null")
	case len(in.KeySchema) < 1:
		v.add("[]", "keySchema", "Member must have length greater than or equal to 1")
	case len(in.KeySchema) > 2:
		v.add(fmt.Sprintf("[%d elements]", len(in.KeySchema)), "keySchema", "Member must have length less than or equal to 2")
	}
	for i, k := range in.KeySchema {
		if k == nil {
			v.add(nil, fmt.Sprintf("keySchema.%d", i+1), "Member must not be null")
			continue
		}
		if k.AttributeName == nil {
			v.add(nil, fmt.Sprintf("keySchema.%d.member.attributeName", i+1), "Member must not be null")
		} else if len(*k.AttributeName) < 1 || len(*k.AttributeName) > 255 {
			v.add(*k.AttributeName, fmt.Sprintf("keySchema.%d.member.attributeName", i+1), "Member must have length less than or equal to 255")
		}
		if k.KeyType == nil {
			v.add(nil, fmt.Sprintf("keySchema.%d.member.keyType", i+1), "Member must not be null")
		} else if !oneOf(*k.KeyType, "HASH", "RANGE") {
			v.add(*k.KeyType, fmt.Sprintf("keySchema.%d.member.keyType", i+1), enumConstraint("HASH", "RANGE"))
		}
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	if in.StreamSpecification != nil {
		if err := checkStreamSpecification(in.StreamSpecification); err != nil {
			return nil, err
		}
	}
	if err := checkIndexListFields(in); err != nil {
		return nil, err
	}

	billing := "PROVISIONED"
	if in.BillingMode != nil {
		billing = *in.BillingMode
	}
	pt := in.ProvisionedThroughput
	if billing == "PAY_PER_REQUEST" {
		if pt != nil {
			return nil, validationf("One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST")
		}
	} else {
		if pt == nil {
			return nil, validationf("One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED")
		}
		if *pt.ReadCapacityUnits > maxCapacity {
			return nil, validationf("Given value %d for ReadCapacityUnits is out of bounds", *pt.ReadCapacityUnits)
		}
		if *pt.WriteCapacityUnits > maxCapacity {
			return nil, validationf("Given value %d for WriteCapacityUnits is out of bounds", *pt.WriteCapacityUnits)
		}
	}
	var defs, keys []string
	for _, d := range in.AttributeDefinitions {
		defs = append(defs, d.AttributeName)
	}
	for _, k := range in.KeySchema {
		keys = append(keys, *k.AttributeName)
	}
	if len(keys) > len(defs) {
		return nil, validationf("Invalid KeySchema: Some index key attribute have no definition")
	}
	for _, k := range keys {
		if !slices.Contains(defs, k) {
			return nil, validationf("One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [%s], AttributeDefinitions: [%s]",
				strings.Join(keys, ", "), strings.Join(defs, ", "))
		}
	}
	if len(keys) == 2 && keys[0] == keys[1] {
		return nil, validationf("Both the Hash Key and the Range Key element in the KeySchema have the same name")
	}
	if *in.KeySchema[0].KeyType != "HASH" {
		return nil, validationf("Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
	}
	if len(keys) == 2 && *in.KeySchema[1].KeyType != "RANGE" {
		return nil, validationf("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type")
	}
	indexes, err := checkCreateIndexes(in, billing)
	if err != nil {
		return nil, err
	}
	if len(indexes) > 0 {
		var tableKeys []keySchemaElement
		for _, k := range in.KeySchema {
			tableKeys = append(tableKeys, *k)
		}
		var ds []attributeDefinition
		for _, d := range in.AttributeDefinitions {
			ds = append(ds, *d)
		}
		if err := checkDefinitionsUsed(ds, tableKeys, indexes); err != nil {
			return nil, err
		}
	} else if len(keys) != len(defs) {
		return nil, validationf("One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions")
	}
	meta := &tableMeta{Name: *in.TableName, BillingMode: billing}
	for _, d := range in.AttributeDefinitions {
		meta.AttributeDefinitions = append(meta.AttributeDefinitions, *d)
	}
	for _, k := range in.KeySchema {
		meta.KeySchema = append(meta.KeySchema, *k)
	}
	if billing == "PROVISIONED" {
		meta.Throughput = pt
	}
	for _, m := range indexes {
		m.ID, m.Status = newIndexID(), indexStatusActive
		meta.Indexes = append(meta.Indexes, m)
	}
	return meta, nil
}

// DescribeTable

type tableNameInput struct {
	TableName *string `json:"TableName"`
}

type describeTableOutput struct {
	Table tableDescription `json:"Table"`
}

func (s *Service) describeTable(_ *requestContext, body []byte) (any, error) {
	var in tableNameInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := checkTableName(in.TableName); err != nil {
		return nil, err
	}
	t, err := s.lookupAnyTable(tableNameFromARN(*in.TableName))
	if err != nil {
		return nil, err
	}
	return describeTableOutput{Table: s.describe(t, "ACTIVE")}, nil
}

// ListTables

type listTablesInput struct {
	ExclusiveStartTableName *string `json:"ExclusiveStartTableName"`
	Limit                   *int64  `json:"Limit"`
}

type listTablesOutput struct {
	TableNames             []string `json:"TableNames"`
	LastEvaluatedTableName *string  `json:"LastEvaluatedTableName,omitempty"`
}

func (s *Service) listTables(_ *requestContext, body []byte) (any, error) {
	var in listTablesInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v violations
	limit := int64(100)
	if in.Limit != nil {
		switch {
		case *in.Limit < 1:
			v.add(*in.Limit, "limit", "Member must have value greater than or equal to 1")
		case *in.Limit > 100:
			v.add(*in.Limit, "limit", "Member must have value less than or equal to 100")
		default:
			limit = *in.Limit
		}
	}
	if e := in.ExclusiveStartTableName; e != nil {
		if len(*e) < 3 {
			v.add(*e, "exclusiveStartTableName", "Member must have length greater than or equal to 3")
		}
		if len(*e) > 255 {
			v.add(*e, "exclusiveStartTableName", "Member must have length less than or equal to 255")
		}
		if !namePattern.MatchString(*e) {
			v.add(*e, "exclusiveStartTableName", "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
		}
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	names := make([]string, 0, len(s.tables))
	for name := range s.tables {
		if in.ExclusiveStartTableName == nil || name > *in.ExclusiveStartTableName {
			names = append(names, name)
		}
	}
	s.mu.RUnlock()
	sort.Strings(names)
	out := listTablesOutput{TableNames: names}
	if int64(len(names)) > limit {
		out.TableNames = names[:limit]
		last := names[limit-1]
		out.LastEvaluatedTableName = &last
	}
	return out, nil
}

// DeleteTable

type deleteTableOutput struct {
	TableDescription tableDescription `json:"TableDescription"`
}

func (s *Service) deleteTable(_ *requestContext, body []byte) (any, error) {
	var in tableNameInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := checkTableName(in.TableName); err != nil {
		return nil, err
	}
	name := tableNameFromARN(*in.TableName)
	if err := s.leaveGlobalTable(name); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables[name]
	if t == nil {
		return nil, tableNotFound(name)
	}
	if err := s.dropTable(t); err != nil {
		return nil, err
	}
	return deleteTableOutput{TableDescription: s.describe(t, "DELETING")}, nil
}

// dropTable removes a table with everything stored for it: description, items, change
// log, index entries, and a global table's stamps, cursors and conflict records. The
// caller holds s.mu.
func (s *Service) dropTable(t *table) error {
	name := t.meta.Name
	// Wait for the writes in flight; none start once deleted is set.
	t.live.Lock()
	defer t.live.Unlock()
	b := s.store.NewBatch()
	b.Delete([]byte(metaPrefix + name))
	b.DeleteRange(t.items, kv.PrefixEnd(t.items))
	logKeys := []byte(logPrefix + t.meta.ID + "/")
	b.DeleteRange(logKeys, kv.PrefixEnd(logKeys))
	b.Delete(logCeilingKey(t.meta.ID))
	for _, prefix := range []string{indexPrefix, backfillPrefix, stampPrefix, cursorPrefix} {
		keys := []byte(prefix + t.meta.ID + "/")
		b.DeleteRange(keys, kv.PrefixEnd(keys))
	}
	replication.DeleteConflicts(b, replicationService, name)
	if err := s.store.Commit(b, kv.CommitOptions{Sync: true}); err != nil {
		return fmt.Errorf("deleting table %s: %w", name, err)
	}
	t.deleted = true
	delete(s.tables, name)
	return nil
}

// errTableDeleted is returned by beginWrite for a table deleted since it was looked up.
var errTableDeleted = errors.New("table deleted")

// beginWrite holds t against deletion until the returned func is called; it fails with
// ResourceNotFoundException when t was deleted meanwhile.
func (t *table) beginWrite() (func(), error) {
	t.live.RLock()
	if t.deleted {
		t.live.RUnlock()
		return nil, fmt.Errorf("%w: %w", tableNotFound(t.meta.Name), errTableDeleted)
	}
	return t.live.RUnlock, nil
}
