package gaapi

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"

	"github.com/polyregion/polyregion/internal/control"
	"github.com/polyregion/polyregion/internal/edge"
)

type acceleratorOutput struct {
	Accelerator acceleratorOut `json:"Accelerator"`
}

type acceleratorArnInput struct {
	AcceleratorArn *string `json:"AcceleratorArn"`
}

// accelerator returns the accelerator an ARN names, from a snapshot.
func (a *api) accelerator(st *control.State, arn *string) (*document, error) {
	if err := required("AcceleratorArn", arn); err != nil {
		return nil, err
	}
	r, ok := a.parseArn(*arn)
	if !ok || r.listenerArn != "" {
		return nil, acceleratorNotFound(*arn)
	}
	doc, _, ok, err := load(st, r.acceleratorID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, acceleratorNotFound(*arn)
	}
	return doc, nil
}

// acceleratorIDOf returns the id of the accelerator an ARN names.
func (a *api) acceleratorIDOf(arn *string) (string, error) {
	if err := required("AcceleratorArn", arn); err != nil {
		return "", err
	}
	r, ok := a.parseArn(*arn)
	if !ok || r.listenerArn != "" {
		return "", acceleratorNotFound(*arn)
	}
	return r.acceleratorID, nil
}

func (a *api) createAccelerator(ctx context.Context, rc *requestContext, body []byte) (any, error) {
	var in struct {
		Name             *string  `json:"Name"`
		IpAddressType    *string  `json:"IpAddressType"`
		IpAddresses      []string `json:"IpAddresses"`
		Enabled          *bool    `json:"Enabled"`
		IdempotencyToken *string  `json:"IdempotencyToken"`
		Tags             []tag    `json:"Tags"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := required("Name", in.Name); err != nil {
		return nil, err
	}
	if len(in.IpAddresses) > 0 {
		return nil, invalidArgument("IpAddresses: polyregion does not bring your own addresses; an accelerator's addresses are those of the edge locations")
	}
	tags, err := tagMap(nil, in.Tags)
	if err != nil {
		return nil, err
	}
	token := deref(in.IdempotencyToken)
	id := acceleratorID(a.opts.AccountID, token)
	doc := &document{Accelerator: edge.Accelerator{
		AcceleratorArn:   a.acceleratorArn(id),
		Name:             *in.Name,
		Enabled:          in.Enabled == nil || *in.Enabled,
		IpAddressType:    deref(in.IpAddressType),
		CreatedTime:      rc.now.UTC(),
		LastModifiedTime: rc.now.UTC(),
		Tags:             tags,
	}}
	doc.SetDefaults()
	for range maxAttempts {
		st := a.opts.Store.State()
		if existing, _, ok, err := load(st, id); err != nil {
			return nil, err
		} else if ok {
			// The same token: the accelerator its first use created.
			return acceleratorOutput{a.acceleratorOut(existing)}, nil
		}
		if err := a.validate(st, doc); err != nil {
			return nil, err
		}
		v, err := json.Marshal(doc)
		if err != nil {
			return nil, err
		}
		_, err = a.opts.Store.Apply(ctx, control.Batch{Ops: []control.Op{{Kind: edge.Kind, ID: id, Value: v, Expect: control.ExpectAbsent}}})
		if errors.Is(err, control.ErrExists) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return acceleratorOutput{a.acceleratorOut(doc)}, nil
	}
	return nil, errorf(codeTransactionInProgress, "the accelerator of this IdempotencyToken kept changing; try again")
}

func (a *api) describeAccelerator(ctx context.Context, rc *requestContext, body []byte) (any, error) {
	var in acceleratorArnInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	doc, err := a.accelerator(a.opts.Store.State(), in.AcceleratorArn)
	if err != nil {
		return nil, err
	}
	return acceleratorOutput{a.acceleratorOut(doc)}, nil
}

func (a *api) listAccelerators(ctx context.Context, rc *requestContext, body []byte) (any, error) {
	var in struct {
		MaxResults *int    `json:"MaxResults"`
		NextToken  *string `json:"NextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	docs, err := loadAll(a.opts.Store.State())
	if err != nil {
		return nil, err
	}
	// loadAll sorts by id, so by ARN.
	keys := make([]string, len(docs))
	for i, d := range docs {
		keys[i] = d.AcceleratorArn
	}
	from, to, next, err := page(keys, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := struct {
		Accelerators []acceleratorOut `json:"Accelerators"`
		NextToken    *string          `json:"NextToken,omitempty"`
	}{Accelerators: []acceleratorOut{}, NextToken: next}
	for _, d := range docs[from:to] {
		out.Accelerators = append(out.Accelerators, a.acceleratorOut(d))
	}
	return out, nil
}

func (a *api) updateAccelerator(ctx context.Context, rc *requestContext, body []byte) (any, error) {
	var in struct {
		AcceleratorArn *string  `json:"AcceleratorArn"`
		Name           *string  `json:"Name"`
		IpAddressType  *string  `json:"IpAddressType"`
		IpAddresses    []string `json:"IpAddresses"`
		Enabled        *bool    `json:"Enabled"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	id, err := a.acceleratorIDOf(in.AcceleratorArn)
	if err != nil {
		return nil, err
	}
	if len(in.IpAddresses) > 0 {
		return nil, invalidArgument("IpAddresses: polyregion does not bring your own addresses; an accelerator's addresses are those of the edge locations")
	}
	doc, err := a.update(ctx, rc, id, func() error { return acceleratorNotFound(*in.AcceleratorArn) }, func(doc *document) error {
		if in.Name != nil {
			doc.Name = *in.Name
		}
		if in.IpAddressType != nil {
			doc.IpAddressType = *in.IpAddressType
		}
		if in.Enabled != nil {
			doc.Enabled = *in.Enabled
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return acceleratorOutput{a.acceleratorOut(doc)}, nil
}

func (a *api) deleteAccelerator(ctx context.Context, rc *requestContext, body []byte) (any, error) {
	var in acceleratorArnInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	id, err := a.acceleratorIDOf(in.AcceleratorArn)
	if err != nil {
		return nil, err
	}
	err = a.remove(ctx, id, func() error { return acceleratorNotFound(*in.AcceleratorArn) }, func(doc *document) error {
		if doc.Enabled {
			return errorf(codeAcceleratorNotDisabled, "Accelerator %s is enabled: disable it (UpdateAccelerator with Enabled false) before deleting it", doc.AcceleratorArn)
		}
		if len(doc.Listeners) > 0 {
			return errorf(codeAssociatedListenerFound, "Accelerator %s still has %d listeners: delete them first", doc.AcceleratorArn, len(doc.Listeners))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

type attributesOutput struct {
	AcceleratorAttributes attributesOut `json:"AcceleratorAttributes"`
}

func (a *api) describeAcceleratorAttributes(ctx context.Context, rc *requestContext, body []byte) (any, error) {
	var in acceleratorArnInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	doc, err := a.accelerator(a.opts.Store.State(), in.AcceleratorArn)
	if err != nil {
		return nil, err
	}
	return attributesOutput{attributesOutOf(doc)}, nil
}

func (a *api) updateAcceleratorAttributes(ctx context.Context, rc *requestContext, body []byte) (any, error) {
	var in struct {
		AcceleratorArn   *string `json:"AcceleratorArn"`
		FlowLogsEnabled  *bool   `json:"FlowLogsEnabled"`
		FlowLogsS3Bucket *string `json:"FlowLogsS3Bucket"`
		FlowLogsS3Prefix *string `json:"FlowLogsS3Prefix"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	id, err := a.acceleratorIDOf(in.AcceleratorArn)
	if err != nil {
		return nil, err
	}
	doc, err := a.update(ctx, rc, id, func() error { return acceleratorNotFound(*in.AcceleratorArn) }, func(doc *document) error {
		at := attributes{}
		if doc.Attributes != nil {
			at = *doc.Attributes
		}
		if in.FlowLogsEnabled != nil {
			at.FlowLogsEnabled = *in.FlowLogsEnabled
		}
		if in.FlowLogsS3Bucket != nil {
			at.FlowLogsS3Bucket = *in.FlowLogsS3Bucket
		}
		if in.FlowLogsS3Prefix != nil {
			at.FlowLogsS3Prefix = *in.FlowLogsS3Prefix
		}
		if at.FlowLogsEnabled && at.FlowLogsS3Bucket == "" {
			return invalidArgument("FlowLogsS3Bucket is required when FlowLogsEnabled is true")
		}
		if len(at.FlowLogsS3Bucket) > 255 || len(at.FlowLogsS3Prefix) > 255 {
			return invalidArgument("FlowLogsS3Bucket and FlowLogsS3Prefix are at most 255 characters")
		}
		doc.Attributes = &at
		return nil
	})
	if err != nil {
		return nil, err
	}
	return attributesOutput{attributesOutOf(doc)}, nil
}

// Tags. Only accelerators have tags here.

// maxTags bounds an accelerator's tags, as Global Accelerator does.
const maxTags = 200

// tagMap adds tags to have (nil: a new map), checking keys and values as AWS does.
func tagMap(have map[string]string, tags []tag) (map[string]string, error) {
	out := maps.Clone(have)
	if out == nil && len(tags) > 0 {
		out = map[string]string{}
	}
	for i, t := range tags {
		k, v := deref(t.Key), deref(t.Value)
		if k == "" || len(k) > 128 {
			return nil, invalidArgument("Tags[%d].Key must be 1 to 128 characters", i)
		}
		if t.Value == nil || len(v) > 256 {
			return nil, invalidArgument("Tags[%d].Value is required and at most 256 characters", i)
		}
		out[k] = v
	}
	if len(out) > maxTags {
		return nil, errorf(codeLimitExceeded, "an accelerator has at most %d tags", maxTags)
	}
	return out, nil
}

type resourceArnInput struct {
	ResourceArn *string `json:"ResourceArn"`
}

func (a *api) tagResource(ctx context.Context, rc *requestContext, body []byte) (any, error) {
	var in struct {
		ResourceArn *string `json:"ResourceArn"`
		Tags        []tag   `json:"Tags"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := required("ResourceArn", in.ResourceArn); err != nil {
		return nil, err
	}
	id, err := a.acceleratorIDOf(in.ResourceArn)
	if err != nil {
		return nil, err
	}
	_, err = a.update(ctx, rc, id, func() error { return acceleratorNotFound(*in.ResourceArn) }, func(doc *document) error {
		tags, err := tagMap(doc.Tags, in.Tags)
		doc.Tags = tags
		return err
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (a *api) untagResource(ctx context.Context, rc *requestContext, body []byte) (any, error) {
	var in struct {
		ResourceArn *string  `json:"ResourceArn"`
		TagKeys     []string `json:"TagKeys"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := required("ResourceArn", in.ResourceArn); err != nil {
		return nil, err
	}
	id, err := a.acceleratorIDOf(in.ResourceArn)
	if err != nil {
		return nil, err
	}
	_, err = a.update(ctx, rc, id, func() error { return acceleratorNotFound(*in.ResourceArn) }, func(doc *document) error {
		for _, k := range in.TagKeys {
			delete(doc.Tags, k)
		}
		if len(doc.Tags) == 0 {
			doc.Tags = nil
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

func (a *api) listTagsForResource(ctx context.Context, rc *requestContext, body []byte) (any, error) {
	var in resourceArnInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := required("ResourceArn", in.ResourceArn); err != nil {
		return nil, err
	}
	out := struct {
		Tags []tag `json:"Tags"`
	}{Tags: []tag{}}
	st := a.opts.Store.State()
	r, ok := a.parseArn(*in.ResourceArn)
	if !ok {
		return nil, acceleratorNotFound(*in.ResourceArn)
	}
	doc, _, ok, err := load(st, r.acceleratorID)
	if err != nil {
		return nil, err
	}
	switch {
	case !ok && r.groupArn != "":
		return nil, endpointGroupNotFound(r.groupArn)
	case !ok && r.listenerArn != "":
		return nil, listenerNotFound(r.listenerArn)
	case !ok:
		return nil, acceleratorNotFound(*in.ResourceArn)
	case r.groupArn != "":
		// Listeners and groups exist but carry no tags.
		if _, g := doc.group(r); g == nil {
			return nil, endpointGroupNotFound(r.groupArn)
		}
		return out, nil
	case r.listenerArn != "":
		if doc.listener(r.listenerArn) == nil {
			return nil, listenerNotFound(r.listenerArn)
		}
		return out, nil
	}
	for _, k := range slices.Sorted(maps.Keys(doc.Tags)) {
		out.Tags = append(out.Tags, tag{Key: ptr(k), Value: ptr(doc.Tags[k])})
	}
	return out, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func ptr[T any](v T) *T { return &v }
