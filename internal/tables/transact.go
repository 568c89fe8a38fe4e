package tables

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/polyregion/polyregion/internal/tables/attr"
	"github.com/polyregion/polyregion/internal/tables/expr"
)

// tokenTTL is how long a TransactWriteItems ClientRequestToken is remembered.
const tokenTTL = 10 * time.Minute

// tokenCache remembers the ClientRequestTokens of recent successful transactions, so that
// a retry is answered without being applied twice. It lives in memory: a restart forgets
// the tokens.
type tokenCache struct {
	mu     sync.Mutex
	tokens map[string]*tokenEntry
}

type tokenEntry struct {
	digest  [32]byte // of the request body without its token
	at      time.Time
	done    bool // the transaction was applied; false while it runs
	outcome any
}

func newTokenCache() *tokenCache { return &tokenCache{tokens: map[string]*tokenEntry{}} }

// begin claims token for a request whose digest is digest. It returns the remembered
// output of an earlier identical request (replay true), or an error when the token was
// used for another request or is in use right now; otherwise the caller runs the
// transaction and calls finish.
func (c *tokenCache) begin(token string, digest [32]byte, now time.Time) (out any, replay bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.tokens[token]; ok && now.Sub(e.at) < tokenTTL {
		switch {
		case e.digest != digest:
			return nil, false, errorf("IdempotentParameterMismatchException",
				"Request parameters do not match the original request for ClientRequestToken %s", token)
		case !e.done:
			return nil, false, errorf("TransactionInProgressException", "Another transaction with ClientRequestToken %s is in progress", token)
		}
		return e.outcome, true, nil
	}
	c.tokens[token] = &tokenEntry{digest: digest, at: now}
	return nil, false, nil
}

// finish records the outcome of the transaction that claimed token: its output when it
// was applied (ok), or forgets the token when it was not, so that a retry runs again.
func (c *tokenCache) finish(token string, out any, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !ok {
		delete(c.tokens, token)
		return
	}
	if e := c.tokens[token]; e != nil {
		e.done, e.outcome = true, out
	}
}

// expire forgets the tokens older than tokenTTL.
func (c *tokenCache) expire(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.tokens {
		if e.done && now.Sub(e.at) >= tokenTTL {
			delete(c.tokens, k)
		}
	}
}

// cancellationReason is one entry of a TransactionCanceledException's CancellationReasons.
type cancellationReason struct {
	Code    string    `json:"Code"`
	Message string    `json:"Message,omitempty"`
	Item    attr.Item `json:"Item,omitempty"`
}

// transactionCanceled is the TransactionCanceledException for reasons, one per action.
func transactionCanceled(reasons []cancellationReason) *apiError {
	codes := make([]string, len(reasons))
	for i, r := range reasons {
		codes[i] = r.Code
	}
	e := errorf("TransactionCanceledException", "Transaction cancelled, please refer cancellation reasons for specific reasons [%s]", strings.Join(codes, ", "))
	e.extra = struct {
		CancellationReasons []cancellationReason `json:"CancellationReasons"`
	}{reasons}
	return e
}

// TransactWriteItems

type transactCommon struct {
	exprInput
	TableName                           *string   `json:"TableName"`
	Key                                 attr.Item `json:"Key"`
	Item                                attr.Item `json:"Item"`
	ConditionExpression                 *string   `json:"ConditionExpression"`
	UpdateExpression                    *string   `json:"UpdateExpression"`
	ReturnValuesOnConditionCheckFailure *string   `json:"ReturnValuesOnConditionCheckFailure"`
}

type transactWriteItem struct {
	ConditionCheck json.RawMessage `json:"ConditionCheck"`
	Put            json.RawMessage `json:"Put"`
	Delete         json.RawMessage `json:"Delete"`
	Update         json.RawMessage `json:"Update"`
}

type transactWriteItemsInput struct {
	TransactItems               []transactWriteItem `json:"TransactItems"`
	ClientRequestToken          *string             `json:"ClientRequestToken"`
	ReturnConsumedCapacity      *string             `json:"ReturnConsumedCapacity"`
	ReturnItemCollectionMetrics *string             `json:"ReturnItemCollectionMetrics"`
}

type transactWriteItemsOutput struct{}

// Kinds of transaction actions.
const (
	actionCheck = iota
	actionPut
	actionDelete
	actionUpdate
)

// writeAction is one checked action of a transaction.
type writeAction struct {
	kind     int
	t        *table
	key      []byte
	keyItem  attr.Item // the Key parameter (check, delete, update)
	item     attr.Item // put
	cond     *expr.Condition
	upd      *expr.Update
	failItem bool
}

// set returns the action's member that is present, or an error unless exactly one is.
func (ti *transactWriteItem) set() (int, json.RawMessage, error) {
	kind, raw, n := 0, json.RawMessage(nil), 0
	for k, r := range []json.RawMessage{ti.ConditionCheck, ti.Put, ti.Delete, ti.Update} {
		if len(r) > 0 && string(r) != "null" {
			kind, raw = k, r
			n++
		}
	}
	if n != 1 {
		return 0, nil, validationf("TransactItems can only contain one of Check, Put, Update or Delete")
	}
	return kind, raw, nil
}

// parseAction checks one action of a transaction.
func (s *Service) parseAction(kind int, raw json.RawMessage) (*writeAction, error) {
	var c transactCommon
	if err := decode(raw, &c); err != nil {
		return nil, err
	}
	if err := checkTableName(c.TableName); err != nil {
		return nil, err
	}
	_, failItem, err := checkReturnValues(nil, c.ReturnValuesOnConditionCheckFailure)
	if err != nil {
		return nil, err
	}
	a := &writeAction{kind: kind, failItem: failItem}
	present := presentParams(raw)
	op := "PutItem" // a ConditionCheck, Put or Delete has PutItem's expression members
	if kind == actionUpdate {
		op = "UpdateItem"
	}
	e, err := c.begin(op, present)
	if err != nil {
		return nil, err
	}
	if kind == actionCheck && c.ConditionExpression == nil {
		return nil, validationf("The parameter 'ConditionExpression' is required but was not present in the request")
	}
	if kind == actionUpdate {
		if c.UpdateExpression == nil {
			return nil, validationf("The parameter 'UpdateExpression' is required but was not present in the request")
		}
		if a.upd, err = expr.ParseUpdate(*c.UpdateExpression, e.names, e.values); err != nil {
			return nil, err
		}
	}
	if a.cond, err = e.condition(c.ConditionExpression, nil, nil); err != nil {
		return nil, err
	}
	if err := e.end(a.upd, a.cond); err != nil {
		return nil, err
	}
	if a.t, err = s.lookupTable(tableNameFromARN(*c.TableName)); err != nil {
		return nil, err
	}
	if kind == actionPut {
		if c.Item == nil {
			return nil, mustNotBeNull("transactItems.member.put.item")
		}
		if a.key, err = a.t.itemKey(c.Item); err != nil {
			return nil, err
		}
		if err := c.Item.CheckSize(); err != nil {
			return nil, err
		}
		a.item = c.Item
		return a, nil
	}
	if c.Key == nil {
		return nil, mustNotBeNull("transactItems.member.key")
	}
	if a.key, err = a.t.keyParam(c.Key); err != nil {
		return nil, err
	}
	a.keyItem = c.Key
	if err := a.t.checkUpdateKeys(a.upd); err != nil {
		return nil, err
	}
	return a, nil
}

// run evaluates the action on the item as it is (old; nil: missing): the mutation to
// commit (nil: none) or the reason to cancel.
func (a *writeAction) run(old attr.Item) (*mutation, *cancellationReason) {
	if a.cond != nil {
		ok, err := a.cond.Eval(old)
		if err != nil {
			return nil, &cancellationReason{Code: "ValidationError", Message: err.Error()}
		}
		if !ok {
			r := &cancellationReason{Code: "ConditionalCheckFailed", Message: "The conditional request failed"}
			if a.failItem {
				r.Item = old
			}
			return nil, r
		}
	}
	m := &mutation{t: a.t, key: a.key, old: old}
	switch a.kind {
	case actionCheck:
		return nil, nil
	case actionPut:
		m.new = a.item
	case actionDelete:
	case actionUpdate:
		updated, err := applyUpdate(a.upd, old, a.keyItem)
		if err != nil {
			msg := err.Error()
			if ae := asAttrError(err); ae != nil {
				msg = ae.message
			}
			return nil, &cancellationReason{Code: "ValidationError", Message: msg}
		}
		m.new = updated
	}
	return m, nil
}

func (s *Service) transactWriteItems(rc *requestContext, body []byte) (any, error) {
	var in transactWriteItemsInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := checkTransactItems(len(in.TransactItems), in.TransactItems == nil); err != nil {
		return nil, err
	}
	if in.ClientRequestToken != nil && (len(*in.ClientRequestToken) < 1 || len(*in.ClientRequestToken) > 36) {
		var v violations
		v.add(*in.ClientRequestToken, "clientRequestToken", "Member must have length less than or equal to 36")
		return nil, v.err()
	}
	if len(body) > maxTransactionBytes {
		return nil, validationf("Transaction request cannot be larger than 4 MB")
	}
	actions := make([]*writeAction, len(in.TransactItems))
	var keys [][]byte
	var tables []*table
	for i := range in.TransactItems {
		kind, raw, err := in.TransactItems[i].set()
		if err != nil {
			return nil, err
		}
		if actions[i], err = s.parseAction(kind, raw); err != nil {
			return nil, err
		}
		for _, k := range keys {
			if bytes.Equal(k, actions[i].key) {
				return nil, validationf("Transaction request cannot include multiple operations on one item")
			}
		}
		keys = append(keys, actions[i].key)
		tables = append(tables, actions[i].t)
	}
	if in.ClientRequestToken != nil {
		digest := requestDigest(body)
		out, replay, err := s.tokens.begin(*in.ClientRequestToken, digest, rc.now)
		if err != nil {
			return nil, err
		}
		if replay {
			return out, nil
		}
		out, err = s.runTransaction(rc, actions, tables, keys)
		s.tokens.finish(*in.ClientRequestToken, out, err == nil)
		return out, err
	}
	return s.runTransaction(rc, actions, tables, keys)
}

// runTransaction applies the actions all or none: under the locks of every item, it
// evaluates each on the current item and commits every change in one batch, or cancels.
func (s *Service) runTransaction(rc *requestContext, actions []*writeAction, tables []*table, keys [][]byte) (any, error) {
	unlock, err := s.lockItems(tables, keys...)
	if err != nil {
		return nil, err
	}
	defer unlock()
	reasons := make([]cancellationReason, len(actions))
	cancelled := false
	var muts []*mutation
	for i, a := range actions {
		old, err := s.readItem(s.store, a.key)
		if err != nil {
			return nil, err
		}
		m, reason := a.run(old)
		if reason != nil {
			reasons[i] = *reason
			cancelled = true
			continue
		}
		reasons[i] = cancellationReason{Code: "None"}
		if m != nil {
			muts = append(muts, m)
		}
	}
	if cancelled {
		return nil, transactionCanceled(reasons)
	}
	if err := s.commit(rc, muts); err != nil {
		return nil, err
	}
	return transactWriteItemsOutput{}, nil
}

// requestDigest is the digest of a request body with its ClientRequestToken left out, to
// tell a retry from another request with the same token.
// Clients write JSON objects in any order, so the digest is of a canonical form: decoded
// and written again, which sorts object keys at every level.
func requestDigest(body []byte) [32]byte {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if dec.Decode(&m) != nil {
		return sha256.Sum256(body)
	}
	delete(m, "ClientRequestToken")
	canon, _ := json.Marshal(m)
	return sha256.Sum256(canon)
}

// checkTransactItems validates the number of TransactItems.
func checkTransactItems(n int, null bool) error {
	var v violations
	switch {
	case null:
		v.add(nil, "transactItems", "Member must not be null")
	case n < 1:
		v.add("[]", "transactItems", "Member must have length greater than or equal to 1")
	case n > maxTransactItems:
		v.add(fmt.Sprintf("[%d items]", n), "transactItems", "Member must have length less than or equal to 100")
	}
	return v.err()
}

// TransactGetItems

type transactGetItemsInput struct {
	TransactItems []struct {
		Get json.RawMessage `json:"Get"`
	} `json:"TransactItems"`
	ReturnConsumedCapacity *string `json:"ReturnConsumedCapacity"`
}

type transactGet struct {
	exprInput
	TableName            *string   `json:"TableName"`
	Key                  attr.Item `json:"Key"`
	ProjectionExpression *string   `json:"ProjectionExpression"`
}

type itemResponse struct {
	Item attr.Item `json:"Item,omitempty"`
}

type transactGetItemsOutput struct {
	Responses []itemResponse `json:"Responses"`
}

func (s *Service) transactGetItems(_ *requestContext, body []byte) (any, error) {
	var in transactGetItemsInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := checkTransactItems(len(in.TransactItems), in.TransactItems == nil); err != nil {
		return nil, err
	}
	keys := make([][]byte, len(in.TransactItems))
	projs := make([]*expr.Projection, len(in.TransactItems))
	for i, ti := range in.TransactItems {
		if len(ti.Get) == 0 || string(ti.Get) == "null" {
			return nil, mustNotBeNull(fmt.Sprintf("transactItems.%d.member.get", i+1))
		}
		var g transactGet
		if err := decode(ti.Get, &g); err != nil {
			return nil, err
		}
		if err := checkTableName(g.TableName); err != nil {
			return nil, err
		}
		e, err := g.begin("GetItem", presentParams(ti.Get))
		if err != nil {
			return nil, err
		}
		if projs[i], err = e.projection(g.ProjectionExpression, nil); err != nil {
			return nil, err
		}
		if err := e.end(projs[i]); err != nil {
			return nil, err
		}
		t, err := s.lookupTable(tableNameFromARN(*g.TableName))
		if err != nil {
			return nil, err
		}
		if g.Key == nil {
			return nil, mustNotBeNull(fmt.Sprintf("transactItems.%d.member.get.key", i+1))
		}
		if keys[i], err = t.keyParam(g.Key); err != nil {
			return nil, err
		}
	}
	snap, err := s.store.Snapshot()
	if err != nil {
		return nil, fmt.Errorf("transact get: %w", err)
	}
	defer snap.Close()
	out := transactGetItemsOutput{Responses: make([]itemResponse, len(keys))}
	for i, k := range keys {
		item, err := s.readItem(snap, k)
		if err != nil {
			return nil, err
		}
		out.Responses[i].Item = project(projs[i], item)
	}
	return out, nil
}
