package tables

import (
	"errors"
	"fmt"
	"maps"
	"math"

	"github.com/polyregion/polyregion/internal/kv"
	"github.com/polyregion/polyregion/internal/tables/attr"
	"github.com/polyregion/polyregion/internal/tables/expr"
)

// asAttrError returns the API error of an *attr.Error in err's chain, or nil.
func asAttrError(err error) *apiError {
	var aerr *attr.Error
	if errors.As(err, &aerr) {
		return &apiError{typ: aerr.Type, message: aerr.Message}
	}
	return nil
}

// Return values.
const (
	returnNone       = "NONE"
	returnAllOld     = "ALL_OLD"
	returnUpdatedOld = "UPDATED_OLD"
	returnAllNew     = "ALL_NEW"
	returnUpdatedNew = "UPDATED_NEW"
)

// checkReturnValues validates ReturnValues against DynamoDB's enumeration and then against
// what the operation allows (allowed; nil: all), and ReturnValuesOnConditionCheckFailure.
func checkReturnValues(rv, onFailure *string, allowed ...string) (string, bool, error) {
	var v violations
	if rv != nil && !oneOf(*rv, returnAllNew, returnUpdatedOld, returnAllOld, returnNone, returnUpdatedNew) {
		v.add(*rv, "returnValues", enumConstraint(returnAllNew, returnUpdatedOld, returnAllOld, returnNone, returnUpdatedNew))
	}
	if onFailure != nil && !oneOf(*onFailure, returnAllOld, returnNone) {
		v.add(*onFailure, "returnValuesOnConditionCheckFailure", enumConstraint(returnAllOld, returnNone))
	}
	if err := v.err(); err != nil {
		return "", false, err
	}
	r := returnNone
	if rv != nil {
		r = *rv
	}
	if allowed != nil && !oneOf(r, allowed...) {
		return "", false, validationf("ReturnValues can only be ALL_OLD or NONE")
	}
	return r, onFailure != nil && *onFailure == returnAllOld, nil
}

// conditionFailed is the ConditionalCheckFailedException, with the item when the request
// asked for it (ReturnValuesOnConditionCheckFailure ALL_OLD).
func conditionFailed(old attr.Item, withItem bool) *apiError {
	e := errorf("ConditionalCheckFailedException", "The conditional request failed")
	if withItem && old != nil {
		e.extra = struct {
			Item attr.Item `json:"Item"`
		}{old}
	}
	return e
}

// consumedCapacity is the ConsumedCapacity of a response.
type consumedCapacity struct {
	TableName     string  `json:"TableName"`
	CapacityUnits float64 `json:"CapacityUnits"`
}

// capacity returns the ConsumedCapacity to report when the request asked for it: a write
// unit per KB, a read unit per 4 KB (half for an eventually consistent read).
func capacity(requested *string, table string, bytes int, write, consistent bool) *consumedCapacity {
	if requested == nil || *requested == "NONE" {
		return nil
	}
	var units float64
	if write {
		units = math.Max(1, math.Ceil(float64(bytes)/1024))
	} else {
		units = math.Max(1, math.Ceil(float64(bytes)/4096))
		if !consistent {
			units /= 2
		}
	}
	return &consumedCapacity{TableName: table, CapacityUnits: units}
}

// PutItem

// conditionalWriteInput is what PutItem and DeleteItem requests have in common.
type conditionalWriteInput struct {
	exprInput
	TableName                           *string                                `json:"TableName"`
	ConditionExpression                 *string                                `json:"ConditionExpression"`
	ReturnValues                        *string                                `json:"ReturnValues"`
	ReturnValuesOnConditionCheckFailure *string                                `json:"ReturnValuesOnConditionCheckFailure"`
	ReturnConsumedCapacity              *string                                `json:"ReturnConsumedCapacity"`
	ReturnItemCollectionMetrics         *string                                `json:"ReturnItemCollectionMetrics"`
	Expected                            map[string]expr.ExpectedAttributeValue `json:"Expected"`
	ConditionalOperator                 *string                                `json:"ConditionalOperator"`
}

// conditionalWrite is a PutItem or DeleteItem request checked, up to the table it writes.
type conditionalWrite struct {
	t        *table
	cond     *expr.Condition // nil: none
	rv       string          // ReturnValues
	failItem bool            // ReturnValuesOnConditionCheckFailure is ALL_OLD
}

// begin checks a PutItem or DeleteItem request in the order DynamoDB does — the table
// name, the item or key (given, a member named member), the return values, the
// expression parameters and the condition — and finds its table.
func (in *conditionalWriteInput) begin(s *Service, operation string, body []byte, given attr.Item, member string) (conditionalWrite, error) {
	var w conditionalWrite
	if err := checkTableName(in.TableName); err != nil {
		return w, err
	}
	if given == nil {
		return w, mustNotBeNull(member)
	}
	var err error
	if w.rv, w.failItem, err = checkReturnValues(in.ReturnValues, in.ReturnValuesOnConditionCheckFailure, returnNone, returnAllOld); err != nil {
		return w, err
	}
	e, err := in.exprInput.begin(operation, presentMembers(body))
	if err != nil {
		return w, err
	}
	if w.cond, err = e.condition(in.ConditionExpression, in.Expected, in.ConditionalOperator); err != nil {
		return w, err
	}
	if err := e.end(w.cond); err != nil {
		return w, err
	}
	w.t, err = s.lookupTable(tableNameFromARN(*in.TableName))
	return w, err
}

type putItemInput struct {
	conditionalWriteInput
	Item attr.Item `json:"Item"`
}

type writeItemOutput struct {
	Attributes       attr.Item         `json:"Attributes,omitempty"`
	ConsumedCapacity *consumedCapacity `json:"ConsumedCapacity,omitempty"`
}

// mustNotBeNull is the ValidationException for a required member that is missing.
func mustNotBeNull(path string) error {
	var v violations
	v.add(nil, path, "Member must not be null")
	return v.err()
}

func (s *Service) putItem(rc *requestContext, body []byte) (any, error) {
	var in putItemInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	w, err := in.begin(s, "PutItem", body, in.Item, "item")
	if err != nil {
		return nil, err
	}
	t, cond, rv, failItem := w.t, w.cond, w.rv, w.failItem
	key, err := t.itemKey(in.Item)
	if err != nil {
		return nil, err
	}
	if err := in.Item.CheckSize(); err != nil {
		return nil, err
	}
	unlock, err := s.lockItems([]*table{t}, key)
	if err != nil {
		return nil, err
	}
	defer unlock()
	old, oldImage, err := s.readItemImage(s.store, key)
	if err != nil {
		return nil, err
	}
	if err := checkCondition(cond, old, failItem); err != nil {
		return nil, err
	}
	if err := s.commit(rc, []*mutation{{t: t, key: key, old: old, oldImage: oldImage, new: in.Item}}); err != nil {
		return nil, err
	}
	out := writeItemOutput{ConsumedCapacity: capacity(in.ReturnConsumedCapacity, t.meta.Name, in.Item.Size(), true, true)}
	if rv == returnAllOld {
		out.Attributes = old
	}
	return out, nil
}

// checkCondition evaluates cond (nil: none) on the current item.
func checkCondition(cond *expr.Condition, old attr.Item, withItem bool) error {
	if cond == nil {
		return nil
	}
	ok, err := cond.Eval(old)
	if err != nil {
		return err
	}
	if !ok {
		return conditionFailed(old, withItem)
	}
	return nil
}

// GetItem

type getItemInput struct {
	exprInput
	TableName              *string   `json:"TableName"`
	Key                    attr.Item `json:"Key"`
	ConsistentRead         *bool     `json:"ConsistentRead"`
	ProjectionExpression   *string   `json:"ProjectionExpression"`
	AttributesToGet        []string  `json:"AttributesToGet"`
	ReturnConsumedCapacity *string   `json:"ReturnConsumedCapacity"`
}

type getItemOutput struct {
	// Item is the item: a *attr.Item (an empty projection gives {}) or its attr.RawJSON;
	// nil when there is none.
	Item             any               `json:"Item,omitempty"`
	ConsumedCapacity *consumedCapacity `json:"ConsumedCapacity,omitempty"`
}

func (s *Service) getItem(_ *requestContext, body []byte) (any, error) {
	var in getItemInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := checkTableName(in.TableName); err != nil {
		return nil, err
	}
	if in.Key == nil {
		return nil, mustNotBeNull("key")
	}
	e, err := in.begin("GetItem", presentMembers(body))
	if err != nil {
		return nil, err
	}
	proj, err := e.projection(in.ProjectionExpression, in.AttributesToGet)
	if err != nil {
		return nil, err
	}
	if err := e.end(proj); err != nil {
		return nil, err
	}
	t, err := s.lookupTable(tableNameFromARN(*in.TableName))
	if err != nil {
		return nil, err
	}
	key, err := t.keyParam(in.Key)
	if err != nil {
		return nil, err
	}
	consistent := in.ConsistentRead != nil && *in.ConsistentRead
	if proj == nil {
		return s.getWholeItem(t, key, in.ReturnConsumedCapacity, consistent)
	}
	item, err := s.readItem(s.store, key)
	if err != nil {
		return nil, err
	}
	out := getItemOutput{ConsumedCapacity: capacity(in.ReturnConsumedCapacity, t.meta.Name, item.Size(), false, consistent)}
	if item != nil {
		p := project(proj, item)
		out.Item = &p
	}
	return out, nil
}

// getWholeItem answers a GetItem without a projection: the stored item is written out as
// JSON straight from its storage encoding, never decoded into an attr.Item.
func (s *Service) getWholeItem(t *table, key []byte, consumed *string, consistent bool) (any, error) {
	b, err := s.store.Get(key)
	if errors.Is(err, kv.ErrNotFound) {
		return getItemOutput{ConsumedCapacity: capacity(consumed, t.meta.Name, 0, false, consistent)}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading item: %w", err)
	}
	item, err := attr.AppendStoredJSON(make([]byte, 0, len(b)+len(b)/4+64), b)
	if err != nil {
		return nil, fmt.Errorf("decoding item %q: %w", key, err)
	}
	out := getItemOutput{Item: attr.RawJSON(item)}
	if consumed != nil && *consumed != "NONE" {
		size, err := attr.StoredSize(b)
		if err != nil {
			return nil, fmt.Errorf("decoding item %q: %w", key, err)
		}
		out.ConsumedCapacity = capacity(consumed, t.meta.Name, size, false, consistent)
	}
	return out, nil
}

// DeleteItem

type deleteItemInput struct {
	conditionalWriteInput
	Key attr.Item `json:"Key"`
}

func (s *Service) deleteItem(rc *requestContext, body []byte) (any, error) {
	var in deleteItemInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	w, err := in.begin(s, "DeleteItem", body, in.Key, "key")
	if err != nil {
		return nil, err
	}
	t, cond, rv, failItem := w.t, w.cond, w.rv, w.failItem
	key, err := t.keyParam(in.Key)
	if err != nil {
		return nil, err
	}
	unlock, err := s.lockItems([]*table{t}, key)
	if err != nil {
		return nil, err
	}
	defer unlock()
	old, oldImage, err := s.readItemImage(s.store, key)
	if err != nil {
		return nil, err
	}
	if err := checkCondition(cond, old, failItem); err != nil {
		return nil, err
	}
	if err := s.commit(rc, []*mutation{{t: t, key: key, old: old, oldImage: oldImage}}); err != nil {
		return nil, err
	}
	out := writeItemOutput{ConsumedCapacity: capacity(in.ReturnConsumedCapacity, t.meta.Name, old.Size(), true, true)}
	if rv == returnAllOld {
		out.Attributes = old
	}
	return out, nil
}

// UpdateItem

type updateItemInput struct {
	exprInput
	TableName                           *string                                `json:"TableName"`
	Key                                 attr.Item                              `json:"Key"`
	UpdateExpression                    *string                                `json:"UpdateExpression"`
	ConditionExpression                 *string                                `json:"ConditionExpression"`
	AttributeUpdates                    map[string]expr.AttributeValueUpdate   `json:"AttributeUpdates"`
	Expected                            map[string]expr.ExpectedAttributeValue `json:"Expected"`
	ConditionalOperator                 *string                                `json:"ConditionalOperator"`
	ReturnValues                        *string                                `json:"ReturnValues"`
	ReturnValuesOnConditionCheckFailure *string                                `json:"ReturnValuesOnConditionCheckFailure"`
	ReturnConsumedCapacity              *string                                `json:"ReturnConsumedCapacity"`
	ReturnItemCollectionMetrics         *string                                `json:"ReturnItemCollectionMetrics"`
}

func (s *Service) updateItem(rc *requestContext, body []byte) (any, error) {
	var in updateItemInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := checkTableName(in.TableName); err != nil {
		return nil, err
	}
	if in.Key == nil {
		return nil, mustNotBeNull("key")
	}
	rv, failItem, err := checkReturnValues(in.ReturnValues, in.ReturnValuesOnConditionCheckFailure)
	if err != nil {
		return nil, err
	}
	e, err := in.begin("UpdateItem", presentMembers(body))
	if err != nil {
		return nil, err
	}
	upd, err := e.update(in.UpdateExpression, in.AttributeUpdates)
	if err != nil {
		return nil, err
	}
	cond, err := e.condition(in.ConditionExpression, in.Expected, in.ConditionalOperator)
	if err != nil {
		return nil, err
	}
	if err := e.end(upd, cond); err != nil {
		return nil, err
	}
	t, err := s.lookupTable(tableNameFromARN(*in.TableName))
	if err != nil {
		return nil, err
	}
	key, err := t.keyParam(in.Key)
	if err != nil {
		return nil, err
	}
	if err := t.checkUpdateKeys(upd); err != nil {
		return nil, err
	}
	unlock, err := s.lockItems([]*table{t}, key)
	if err != nil {
		return nil, err
	}
	defer unlock()
	old, oldImage, err := s.readItemImage(s.store, key)
	if err != nil {
		return nil, err
	}
	if err := checkCondition(cond, old, failItem); err != nil {
		return nil, err
	}
	updated, err := applyUpdate(upd, old, in.Key)
	if err != nil {
		return nil, err
	}
	if err := s.commit(rc, []*mutation{{t: t, key: key, old: old, oldImage: oldImage, new: updated}}); err != nil {
		return nil, err
	}
	out := writeItemOutput{ConsumedCapacity: capacity(in.ReturnConsumedCapacity, t.meta.Name, max(old.Size(), updated.Size()), true, true)}
	switch rv {
	case returnAllOld:
		out.Attributes = old
	case returnAllNew:
		out.Attributes = updated
	case returnUpdatedOld:
		if upd != nil {
			out.Attributes = project(upd.Targets(), old)
		}
	case returnUpdatedNew:
		if upd != nil {
			out.Attributes = project(upd.Targets(), updated)
		}
	}
	return out, nil
}

// update parses an UpdateExpression or translates the legacy AttributeUpdates (nil: no
// update; the item is created with its key alone, or left as it is).
func (e *exprs) update(s *string, attributeUpdates map[string]expr.AttributeValueUpdate) (*expr.Update, error) {
	if s != nil {
		return expr.ParseUpdate(*s, e.names, e.values)
	}
	if attributeUpdates != nil {
		return expr.AttributeUpdates(attributeUpdates)
	}
	return nil, nil
}

// checkUpdateKeys refuses an update that writes a key attribute.
func (t *table) checkUpdateKeys(upd *expr.Update) error {
	if upd == nil {
		return nil
	}
	for _, a := range upd.Attributes() {
		if t.isKeyAttr(a) {
			return validationf("One or more parameter values were invalid: Cannot update attribute %s. This attribute is part of the key", a)
		}
	}
	return nil
}

// applyUpdate returns the item upd (nil: none) makes of old (nil: missing), with the key
// attributes of key; nil when the item is not to exist (an update that only removes,
// applied to a missing item). The result is checked against the item size limit.
func applyUpdate(upd *expr.Update, old, key attr.Item) (attr.Item, error) {
	var updated attr.Item
	if upd == nil {
		updated = old
		if updated == nil {
			updated = attr.Item{}
		}
	} else {
		var err error
		if updated, _, err = upd.Apply(old); err != nil {
			return nil, err
		}
		if updated == nil {
			return nil, nil
		}
	}
	if old == nil {
		updated = maps.Clone(updated)
		maps.Copy(updated, key)
	}
	if err := updated.CheckSize(); err != nil {
		return nil, err
	}
	return updated, nil
}
