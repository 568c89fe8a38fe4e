package tables

import (
	"fmt"

	"github.com/polyregion/polyregion/internal/tables/attr"
)

// kind returns the attr kind of a key attribute's declared type.
func (k keyAttr) kind() attr.Kind {
	kind, _ := attr.KindFromString(k.Type)
	return kind
}

// itemKey checks the key attributes of a whole item (PutItem, a put in a batch or a
// transaction) and returns its store key.
func (t *table) itemKey(item attr.Item) ([]byte, error) {
	for _, ka := range t.keyAttrs() {
		v, ok := item[ka.Name]
		if !ok {
			return nil, validationf("One or more parameter values were invalid: Missing the key %s in the item", ka.Name)
		}
		if err := attr.CheckKey(ka.Name, ka.kind(), v, ka != t.hash); err != nil {
			return nil, err
		}
	}
	return t.storeKey(item)
}

// keyParam checks a Key parameter (GetItem, DeleteItem, UpdateItem, ...): exactly the key
// attributes, of their declared types, and returns the store key.
func (t *table) keyParam(key attr.Item) ([]byte, error) {
	attrs := t.keyAttrs()
	if len(key) != len(attrs) {
		return nil, validationf("The provided key element does not match the schema")
	}
	for _, ka := range attrs {
		v, ok := key[ka.Name]
		if !ok || v.Kind != ka.kind() {
			return nil, validationf("The provided key element does not match the schema")
		}
		if err := attr.CheckKey(ka.Name, ka.kind(), v, ka != t.hash); err != nil {
			return nil, err
		}
	}
	return t.storeKey(key)
}

// keyAttrs are the table's key attributes, partition key first.
func (t *table) keyAttrs() []keyAttr {
	if t.rng == nil {
		return []keyAttr{t.hash}
	}
	return []keyAttr{t.hash, *t.rng}
}

// storeKey returns the store key of an item whose key attributes were checked:
// tables/item/<tableID>/ EncodeKey(pk) [EncodeKey(sk)].
func (t *table) storeKey(item attr.Item) ([]byte, error) {
	k := make([]byte, 0, len(t.items)+32)
	k = append(k, t.items...)
	k, err := attr.EncodeKey(k, item[t.hash.Name])
	if err != nil {
		return nil, fmt.Errorf("encoding the partition key: %w", err)
	}
	if t.rng != nil {
		if k, err = attr.EncodeKey(k, item[t.rng.Name]); err != nil {
			return nil, fmt.Errorf("encoding the sort key: %w", err)
		}
	}
	return k, nil
}

// partitionPrefix returns the store-key prefix of every item with partition key pk.
func (t *table) partitionPrefix(pk attr.Value) ([]byte, error) {
	k := make([]byte, 0, len(t.items)+32)
	k = append(k, t.items...)
	return attr.EncodeKey(k, pk)
}

// keysOf returns the key attributes of an item.
func (t *table) keysOf(item attr.Item) attr.Item {
	keys := make(attr.Item, 2)
	for _, ka := range t.keyAttrs() {
		if v, ok := item[ka.Name]; ok {
			keys[ka.Name] = v
		}
	}
	return keys
}

// isKeyAttr reports whether name is one of the table's key attributes.
func (t *table) isKeyAttr(name string) bool {
	return name == t.hash.Name || t.rng != nil && name == t.rng.Name
}
