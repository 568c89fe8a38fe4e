package tables

import (
	"encoding/json"
	"time"
)

// UpdateTable: the billing mode, the provisioned throughput, the stream and the global
// secondary indexes (indexwork.go). Replicas are not supported yet.

type updateTableInput struct {
	TableName                   *string                `json:"TableName"`
	BillingMode                 *string                `json:"BillingMode"`
	ProvisionedThroughput       *provisionedThroughput `json:"ProvisionedThroughput"`
	AttributeDefinitions        []*attributeDefinition `json:"AttributeDefinitions"`
	GlobalSecondaryIndexUpdates []*gsiUpdate           `json:"GlobalSecondaryIndexUpdates"`
	StreamSpecification         *streamSpecification   `json:"StreamSpecification"`
	ReplicaUpdates              json.RawMessage        `json:"ReplicaUpdates"`
}

type updateTableOutput struct {
	TableDescription tableDescription `json:"TableDescription"`
}

// given reports whether a raw member was set (not absent, not null).
func given(m json.RawMessage) bool { return len(m) > 0 && string(m) != "null" }

func (s *Service) updateTable(rc *requestContext, body []byte) (any, error) {
	var in updateTableInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := checkTableName(in.TableName); err != nil {
		return nil, err
	}
	var v violations
	if in.BillingMode != nil && !oneOf(*in.BillingMode, "PROVISIONED", "PAY_PER_REQUEST") {
		v.add(*in.BillingMode, "billingMode", enumConstraint("PROVISIONED", "PAY_PER_REQUEST"))
	}
	if pt := in.ProvisionedThroughput; pt != nil {
		for _, f := range []struct {
			path string
			v    *int64
		}{{"provisionedThroughput.writeCapacityUnits", pt.WriteCapacityUnits}, {"provisionedThroughput.readCapacityUnits", pt.ReadCapacityUnits}} {
			if f.v == nil {
				v.add(nil, f.path, "Member must not be null")
			} else if *f.v < 1 {
				v.add(*f.v, f.path, "Member must have value greater than or equal to 1")
			}
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
	if given(in.ReplicaUpdates) {
		if in.BillingMode != nil || in.ProvisionedThroughput != nil || in.StreamSpecification != nil || len(in.GlobalSecondaryIndexUpdates) > 0 || in.AttributeDefinitions != nil {
			return nil, validationf("One or more parameter values were invalid: polyregion does not combine ReplicaUpdates with other table updates in one UpdateTable request")
		}
		return s.replicaUpdates(tableNameFromARN(*in.TableName), in.ReplicaUpdates)
	}
	if err := checkGSIUpdateFields(in.GlobalSecondaryIndexUpdates, in.AttributeDefinitions); err != nil {
		return nil, err
	}
	if in.BillingMode == nil && in.ProvisionedThroughput == nil && in.StreamSpecification == nil && len(in.GlobalSecondaryIndexUpdates) == 0 {
		return nil, validationf("At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required")
	}
	name := tableNameFromARN(*in.TableName)
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables[name]
	if t == nil {
		return nil, tableNotFound(name)
	}
	cur := t.currentSettings()
	if cur.global != nil && (len(in.GlobalSecondaryIndexUpdates) > 0 || in.AttributeDefinitions != nil || in.StreamSpecification != nil) {
		return nil, validationf("One or more parameter values were invalid: polyregion does not yet change the secondary indexes or the stream of a global table; remove its other replicas first")
	}
	next := cur
	if in.BillingMode != nil {
		next.billingMode = *in.BillingMode
	}
	billingChange := in.BillingMode != nil || in.ProvisionedThroughput != nil
	if spec := in.StreamSpecification; spec != nil {
		st := cur.stream
		switch {
		case *spec.StreamEnabled && st != nil && st.Enabled:
			return nil, validationf("Table already has an enabled stream: %s", s.streamARN(name, st))
		case !*spec.StreamEnabled && (st == nil || !st.Enabled):
			return nil, validationf("Table does not have an enabled stream to disable")
		case *spec.StreamEnabled:
			next.stream = newStream(*spec.StreamViewType, rc.now, t.log.next())
			if st != nil && next.stream.Label <= st.Label {
				// Labels name streams: a new one must differ from the last.
				next.stream = newStream(*spec.StreamViewType, st.Created.Add(time.Millisecond), t.log.next())
			}
		default:
			closed := *st
			closed.Enabled, closed.EndSeq = false, t.log.next()-1
			next.stream = &closed
		}
	}
	pt := in.ProvisionedThroughput
	switch {
	case !billingChange:
	case next.billingMode == "PAY_PER_REQUEST":
		if pt != nil {
			return nil, validationf("One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST")
		}
		next.throughput = nil
	default:
		if pt == nil {
			if cur.billingMode != "PROVISIONED" {
				return nil, validationf("One or more parameter values were invalid: ProvisionedThroughput must be specified when BillingMode is PROVISIONED")
			}
			break
		}
		if *pt.ReadCapacityUnits > maxCapacity {
			return nil, validationf("Given value %d for ReadCapacityUnits is out of bounds", *pt.ReadCapacityUnits)
		}
		if *pt.WriteCapacityUnits > maxCapacity {
			return nil, validationf("Given value %d for WriteCapacityUnits is out of bounds", *pt.WriteCapacityUnits)
		}
		if c := cur.throughput; cur.billingMode == "PROVISIONED" && c != nil && in.BillingMode == nil &&
			*c.ReadCapacityUnits == *pt.ReadCapacityUnits && *c.WriteCapacityUnits == *pt.WriteCapacityUnits {
			return nil, validationf("The provisioned throughput for the table will not change. The requested value equals the current value. "+
				"Current ReadCapacityUnits provisioned for the table: %d. Requested ReadCapacityUnits: %d. "+
				"Current WriteCapacityUnits provisioned for the table: %d. Requested WriteCapacityUnits: %d. "+
				"Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits.",
				*c.ReadCapacityUnits, *pt.ReadCapacityUnits, *c.WriteCapacityUnits, *pt.WriteCapacityUnits)
		}
		next.throughput = pt
	}
	structural := false
	if len(in.GlobalSecondaryIndexUpdates) > 0 || in.AttributeDefinitions != nil {
		var err error
		if structural, err = s.applyGSIUpdates(t, &next, in.GlobalSecondaryIndexUpdates, in.AttributeDefinitions); err != nil {
			return nil, err
		}
	}
	if in.BillingMode != nil && *in.BillingMode != cur.billingMode {
		if err := fitBillingMode(t, &next); err != nil {
			return nil, err
		}
	}
	if structural {
		// No write may be in flight with the old index set (see indexes.go).
		t.live.Lock()
		err := s.saveSettings(t, next)
		t.live.Unlock()
		if err != nil {
			return nil, err
		}
		s.wakeIndexWork()
		return updateTableOutput{TableDescription: s.describe(t, "UPDATING")}, nil
	}
	if err := s.saveSettings(t, next); err != nil {
		return nil, err
	}
	return updateTableOutput{TableDescription: s.describe(t, "ACTIVE")}, nil
}
