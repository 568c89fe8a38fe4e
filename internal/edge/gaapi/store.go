package gaapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/polyregion/polyregion/internal/control"
	"github.com/polyregion/polyregion/internal/edge"
)

// document is the stored value of an accelerator: edge.Accelerator, plus the attributes
// only this API reads (flow logs), which other readers of the document ignore.
type document struct {
	edge.Accelerator
	Attributes *attributes `json:"AcceleratorAttributes,omitempty"`
}

// attributes are an accelerator's flow-log settings: accepted and echoed, not acted on.
type attributes struct {
	FlowLogsEnabled  bool   `json:"FlowLogsEnabled"`
	FlowLogsS3Bucket string `json:"FlowLogsS3Bucket,omitempty"`
	FlowLogsS3Prefix string `json:"FlowLogsS3Prefix,omitempty"`
}

// load returns an accelerator's document and its version from a snapshot.
func load(st *control.State, id string) (*document, uint64, bool, error) {
	res, ok := st.Get(edge.Kind, id)
	if !ok {
		return nil, 0, false, nil
	}
	var doc document
	if err := json.Unmarshal(res.Value, &doc); err != nil {
		return nil, 0, false, fmt.Errorf("decoding accelerator %s: %w", id, err)
	}
	return &doc, res.Version, true, nil
}

// loadAll returns every accelerator in the snapshot, sorted by id.
func loadAll(st *control.State) ([]*document, error) {
	var out []*document
	for _, res := range st.List(edge.Kind) {
		var doc document
		if err := json.Unmarshal(res.Value, &doc); err != nil {
			return nil, fmt.Errorf("decoding accelerator %s: %w", res.ID, err)
		}
		out = append(out, &doc)
	}
	return out, nil
}

// acceleratorNotFound is the error for an ARN that names no accelerator.
func acceleratorNotFound(arn string) error {
	return errorf(codeAcceleratorNotFound, "Accelerator %s was not found", arn)
}

// validate checks doc as edge does, alone and with every other accelerator of st.
func (a *api) validate(st *control.State, doc *document) error {
	if err := doc.Validate(a.opts.Regions); err != nil {
		return validationError(err)
	}
	all, err := loadAll(st)
	if err != nil {
		return err
	}
	set := []edge.Accelerator{doc.Accelerator}
	for _, other := range all {
		if other.AcceleratorArn != doc.AcceleratorArn {
			set = append(set, other.Accelerator)
		}
	}
	if err := edge.ValidateSet(set); err != nil {
		return validationError(err)
	}
	return nil
}

// maxAttempts bounds the read-modify-write retries of one change under contention.
const maxAttempts = 8

// errUnchanged, returned by a change function, ends the update without a write (an
// idempotent retry found what it wanted): update returns the document as it is.
var errUnchanged = errors.New("gaapi: unchanged")

// update applies change to the accelerator id's document and writes it back with
// control.ExpectVersion, reading again and retrying when another write came first.
// notFound is the error for a missing accelerator (or one deleted meanwhile).
func (a *api) update(ctx context.Context, rc *requestContext, id string, notFound func() error, change func(doc *document) error) (*document, error) {
	for range maxAttempts {
		st := a.opts.Store.State()
		doc, version, ok, err := load(st, id)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, notFound()
		}
		if err := change(doc); errors.Is(err, errUnchanged) {
			return doc, nil
		} else if err != nil {
			return nil, err
		}
		doc.LastModifiedTime = rc.now.UTC()
		doc.SetDefaults()
		if err := a.validate(st, doc); err != nil {
			return nil, err
		}
		v, err := json.Marshal(doc)
		if err != nil {
			return nil, err
		}
		_, err = a.opts.Store.Apply(ctx, control.Batch{Ops: []control.Op{{Kind: edge.Kind, ID: id, Value: v, Expect: control.ExpectVersion, Version: version}}})
		switch {
		case errors.Is(err, control.ErrConflict):
			continue
		case errors.Is(err, control.ErrNotFound):
			return nil, notFound()
		case err != nil:
			return nil, err
		}
		return doc, nil
	}
	return nil, errorf(codeTransactionInProgress, "other changes to the accelerator kept being applied at the same time; try again")
}

// remove deletes the accelerator id after check accepts its current document.
func (a *api) remove(ctx context.Context, id string, notFound func() error, check func(doc *document) error) error {
	for range maxAttempts {
		doc, version, ok, err := load(a.opts.Store.State(), id)
		if err != nil {
			return err
		}
		if !ok {
			return notFound()
		}
		if err := check(doc); err != nil {
			return err
		}
		_, err = a.opts.Store.Apply(ctx, control.Batch{Ops: []control.Op{{Kind: edge.Kind, ID: id, Delete: true, Expect: control.ExpectVersion, Version: version}}})
		switch {
		case errors.Is(err, control.ErrConflict):
			continue
		case errors.Is(err, control.ErrNotFound):
			return notFound()
		}
		return err
	}
	return errorf(codeTransactionInProgress, "other changes to the accelerator kept being applied at the same time; try again")
}

// listener returns the listener of doc with arn.
func (doc *document) listener(arn string) *edge.Listener {
	for i := range doc.Listeners {
		if doc.Listeners[i].ListenerArn == arn {
			return &doc.Listeners[i]
		}
	}
	return nil
}

// group returns the endpoint group of doc with arn, and its listener.
func (doc *document) group(r resourceArn) (*edge.Listener, *edge.EndpointGroup) {
	l := doc.listener(r.listenerArn)
	if l == nil {
		return nil, nil
	}
	for i := range l.EndpointGroups {
		if l.EndpointGroups[i].EndpointGroupArn == r.groupArn {
			return l, &l.EndpointGroups[i]
		}
	}
	return l, nil
}
