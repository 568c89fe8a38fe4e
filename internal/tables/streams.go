package tables

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/polyregion/polyregion/internal/tables/attr"
)

// DynamoDB Streams, served from the change log: a table's stream is a view of its log
// from the record at which the stream was enabled. Each stream has one shard. The Streams
// API has its own target prefix on the same endpoint.

// streamsTargetPrefix starts the X-Amz-Target of the Streams operations.
const streamsTargetPrefix = "DynamoDBStreams_20120810."

// streamOperations are the Streams operations served, by name.
var streamOperations = map[string]operation{
	"ListStreams":      (*Service).listStreams,
	"DescribeStream":   (*Service).describeStream,
	"GetShardIterator": (*Service).getShardIterator,
	"GetRecords":       (*Service).getRecords,
}

const (
	// streamRetention is how long stream records are readable.
	streamRetention = 24 * time.Hour
	// maxGetRecords is the most records one GetRecords returns.
	maxGetRecords = 1000
	// maxGetRecordsBytes bounds the size of one GetRecords response.
	maxGetRecordsBytes = 1 << 20
)

var streamViewTypes = []string{"NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY"}

// streamState is a table's stream, kept with its description.
type streamState struct {
	ViewType string    `json:"viewType"`
	Label    string    `json:"label"` // the creation time, as DynamoDB labels streams
	Created  time.Time `json:"created"`
	StartSeq uint64    `json:"startSeq"`         // the first change-log record in the stream
	EndSeq   uint64    `json:"endSeq,omitempty"` // once disabled: the last one
	Enabled  bool      `json:"enabled"`
}

type streamSpecification struct {
	StreamEnabled  *bool   `json:"StreamEnabled"`
	StreamViewType *string `json:"StreamViewType,omitempty"`
}

// checkStreamSpecification validates a StreamSpecification.
func checkStreamSpecification(spec *streamSpecification) error {
	var v violations
	if spec.StreamEnabled == nil {
		v.add(nil, "streamSpecification.streamEnabled", "Member must not be null")
	}
	if spec.StreamViewType != nil && !oneOf(*spec.StreamViewType, streamViewTypes...) {
		v.add(*spec.StreamViewType, "streamSpecification.streamViewType", enumConstraint(streamViewTypes...))
	}
	if err := v.err(); err != nil {
		return err
	}
	if *spec.StreamEnabled && spec.StreamViewType == nil {
		return validationf("One or more parameter values were invalid: StreamViewType must be specified when StreamEnabled is true")
	}
	if !*spec.StreamEnabled && spec.StreamViewType != nil {
		return validationf("One or more parameter values were invalid: StreamViewType can only be specified when StreamEnabled is true")
	}
	return nil
}

// newStream returns an enabled stream starting at record start.
func newStream(viewType string, now time.Time, start uint64) *streamState {
	return &streamState{ViewType: viewType, Label: now.UTC().Format("2006-01-02T15:04:05.000"), Created: now, StartSeq: start, Enabled: true}
}

// streamARN is the ARN of a table's stream.
func (s *Service) streamARN(table string, st *streamState) string {
	return s.tableARN(table) + "/stream/" + st.Label
}

// shardID is the id of a stream's one shard.
func shardID(t *table, st *streamState) string {
	return "shardId-" + fmt.Sprintf("%020d", st.Created.UnixMilli()) + "-" + t.meta.ID[:8]
}

// sequenceNumber formats a change-log sequence number as Streams does: decimal digits.
func sequenceNumber(seq uint64) string { return fmt.Sprintf("%021d", seq) }

// streamByARN returns the table and stream an ARN names, or ResourceNotFoundException.
func (s *Service) streamByARN(arn *string) (*table, *streamState, error) {
	if arn == nil {
		return nil, nil, mustNotBeNull("streamArn")
	}
	tablePart, label, ok := strings.Cut(*arn, "/stream/")
	if ok {
		t, err := s.lookupTable(tableNameFromARN(tablePart))
		if err == nil && s.tableARN(t.meta.Name) == tablePart {
			if st := t.currentSettings().stream; st != nil && st.Label == label {
				return t, st, nil
			}
		}
	}
	return nil, nil, errorf("ResourceNotFoundException", "Requested resource not found: Stream: %s not found", *arn)
}

// ListStreams

type listStreamsInput struct {
	TableName               *string `json:"TableName"`
	Limit                   *int64  `json:"Limit"`
	ExclusiveStartStreamArn *string `json:"ExclusiveStartStreamArn"`
}

type streamSummary struct {
	StreamArn   string `json:"StreamArn"`
	TableName   string `json:"TableName"`
	StreamLabel string `json:"StreamLabel"`
}

type listStreamsOutput struct {
	Streams                []streamSummary `json:"Streams"`
	LastEvaluatedStreamArn *string         `json:"LastEvaluatedStreamArn,omitempty"`
}

func (s *Service) listStreams(_ *requestContext, body []byte) (any, error) {
	var in listStreamsInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	limit := 100
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 100 {
			var v violations
			v.add(*in.Limit, "limit", "Member must have value between 1 and 100")
			return nil, v.err()
		}
		limit = int(*in.Limit)
	}
	if in.TableName != nil {
		if _, err := s.lookupTable(tableNameFromARN(*in.TableName)); err != nil {
			return nil, err
		}
	}
	s.mu.RLock()
	names := sortedKeys(s.tables)
	var all []streamSummary
	for _, name := range names {
		if in.TableName != nil && name != tableNameFromARN(*in.TableName) {
			continue
		}
		if st := s.tables[name].currentSettings().stream; st != nil {
			all = append(all, streamSummary{StreamArn: s.streamARN(name, st), TableName: name, StreamLabel: st.Label})
		}
	}
	s.mu.RUnlock()
	out := listStreamsOutput{Streams: []streamSummary{}}
	started := in.ExclusiveStartStreamArn == nil
	for _, sum := range all {
		if !started {
			started = sum.StreamArn == *in.ExclusiveStartStreamArn
			continue
		}
		if len(out.Streams) == limit {
			last := out.Streams[limit-1].StreamArn
			out.LastEvaluatedStreamArn = &last
			break
		}
		out.Streams = append(out.Streams, sum)
	}
	return out, nil
}

// DescribeStream

type describeStreamInput struct {
	StreamArn             *string `json:"StreamArn"`
	Limit                 *int64  `json:"Limit"`
	ExclusiveStartShardId *string `json:"ExclusiveStartShardId"`
}

type sequenceNumberRange struct {
	StartingSequenceNumber string `json:"StartingSequenceNumber"`
	EndingSequenceNumber   string `json:"EndingSequenceNumber,omitempty"`
}

type shard struct {
	ShardId             string              `json:"ShardId"`
	SequenceNumberRange sequenceNumberRange `json:"SequenceNumberRange"`
}

type streamDescription struct {
	StreamArn               string             `json:"StreamArn"`
	StreamLabel             string             `json:"StreamLabel"`
	StreamStatus            string             `json:"StreamStatus"`
	StreamViewType          string             `json:"StreamViewType"`
	CreationRequestDateTime float64            `json:"CreationRequestDateTime"`
	TableName               string             `json:"TableName"`
	KeySchema               []keySchemaElement `json:"KeySchema"`
	Shards                  []shard            `json:"Shards"`
}

type describeStreamOutput struct {
	StreamDescription streamDescription `json:"StreamDescription"`
}

func (s *Service) describeStream(_ *requestContext, body []byte) (any, error) {
	var in describeStreamInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	t, st, err := s.streamByARN(in.StreamArn)
	if err != nil {
		return nil, err
	}
	d := streamDescription{
		StreamArn: s.streamARN(t.meta.Name, st), StreamLabel: st.Label, StreamStatus: "ENABLED", StreamViewType: st.ViewType,
		CreationRequestDateTime: epochSeconds(st.Created), TableName: t.meta.Name, KeySchema: t.meta.KeySchema, Shards: []shard{},
	}
	sh := shard{ShardId: shardID(t, st), SequenceNumberRange: sequenceNumberRange{StartingSequenceNumber: sequenceNumber(st.StartSeq)}}
	if !st.Enabled {
		d.StreamStatus = "DISABLED"
		sh.SequenceNumberRange.EndingSequenceNumber = sequenceNumber(st.EndSeq)
	}
	if in.ExclusiveStartShardId == nil || *in.ExclusiveStartShardId < sh.ShardId {
		d.Shards = append(d.Shards, sh)
	}
	return describeStreamOutput{StreamDescription: d}, nil
}

// GetShardIterator

type getShardIteratorInput struct {
	StreamArn         *string `json:"StreamArn"`
	ShardId           *string `json:"ShardId"`
	ShardIteratorType *string `json:"ShardIteratorType"`
	SequenceNumber    *string `json:"SequenceNumber"`
}

type getShardIteratorOutput struct {
	ShardIterator string `json:"ShardIterator"`
}

// shardIterator is what a ShardIterator token holds.
type shardIterator struct {
	TableID string `json:"t"`
	Label   string `json:"l"`
	Next    uint64 `json:"n"` // the next sequence number to read
}

func (it shardIterator) token() string {
	b, _ := json.Marshal(it)
	return base64.RawURLEncoding.EncodeToString(b)
}

var iteratorTypes = []string{"TRIM_HORIZON", "LATEST", "AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"}

func (s *Service) getShardIterator(_ *requestContext, body []byte) (any, error) {
	var in getShardIteratorInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	var v violations
	if in.ShardId == nil {
		v.add(nil, "shardId", "Member must not be null")
	}
	if in.ShardIteratorType == nil {
		v.add(nil, "shardIteratorType", "Member must not be null")
	} else if !oneOf(*in.ShardIteratorType, iteratorTypes...) {
		v.add(*in.ShardIteratorType, "shardIteratorType", enumConstraint(iteratorTypes...))
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	t, st, err := s.streamByARN(in.StreamArn)
	if err != nil {
		return nil, err
	}
	if *in.ShardId != shardID(t, st) {
		return nil, errorf("ResourceNotFoundException", "Requested resource not found: Shard does not exist")
	}
	it := shardIterator{TableID: t.meta.ID, Label: st.Label}
	switch *in.ShardIteratorType {
	case "TRIM_HORIZON":
		it.Next = st.StartSeq
	case "LATEST":
		it.Next = t.log.frontier() + 1
		if !st.Enabled {
			it.Next = st.EndSeq + 1
		}
		it.Next = max(it.Next, st.StartSeq)
	default:
		if in.SequenceNumber == nil {
			return nil, validationf("SequenceNumber is required for the ShardIteratorType %s", *in.ShardIteratorType)
		}
		n, err := strconv.ParseUint(*in.SequenceNumber, 10, 64)
		if err != nil || n == 0 {
			return nil, validationf("Invalid SequenceNumber: %s", *in.SequenceNumber)
		}
		if n < st.StartSeq {
			return nil, errorf("TrimmedDataAccessException", "The sequence number %s is before the stream's first record", *in.SequenceNumber)
		}
		if n > t.log.frontier() || !st.Enabled && n > st.EndSeq {
			return nil, validationf("Invalid SequenceNumber: %s is beyond the shard's last record", *in.SequenceNumber)
		}
		it.Next = n
		if *in.ShardIteratorType == "AFTER_SEQUENCE_NUMBER" {
			it.Next++
		}
	}
	return getShardIteratorOutput{ShardIterator: it.token()}, nil
}

// GetRecords

type getRecordsInput struct {
	ShardIterator *string `json:"ShardIterator"`
	Limit         *int64  `json:"Limit"`
}

type streamRecordData struct {
	ApproximateCreationDateTime float64   `json:"ApproximateCreationDateTime"`
	Keys                        attr.Item `json:"Keys"`
	NewImage                    attr.Item `json:"NewImage,omitempty"`
	OldImage                    attr.Item `json:"OldImage,omitempty"`
	SequenceNumber              string    `json:"SequenceNumber"`
	SizeBytes                   int64     `json:"SizeBytes"`
	StreamViewType              string    `json:"StreamViewType"`
}

type userIdentity struct {
	PrincipalId string `json:"PrincipalId"`
	Type        string `json:"Type"`
}

type streamRecord struct {
	EventID      string           `json:"eventID"`
	EventName    string           `json:"eventName"`
	EventVersion string           `json:"eventVersion"`
	EventSource  string           `json:"eventSource"`
	AwsRegion    string           `json:"awsRegion"`
	Dynamodb     streamRecordData `json:"dynamodb"`
	UserIdentity *userIdentity    `json:"userIdentity,omitempty"`
}

type getRecordsOutput struct {
	Records           []streamRecord `json:"Records"`
	NextShardIterator *string        `json:"NextShardIterator,omitempty"`
}

// errBadIterator is the answer to a ShardIterator this service did not make.
var errBadIterator = errors.New("bad iterator")

func (s *Service) getRecords(rc *requestContext, body []byte) (any, error) {
	var in getRecordsInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.ShardIterator == nil {
		return nil, mustNotBeNull("shardIterator")
	}
	limit := maxGetRecords
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > maxGetRecords {
			var v violations
			v.add(*in.Limit, "limit", "Member must have value between 1 and 1000")
			return nil, v.err()
		}
		limit = int(*in.Limit)
	}
	var it shardIterator
	raw, err := base64.RawURLEncoding.DecodeString(*in.ShardIterator)
	if err == nil {
		err = json.Unmarshal(raw, &it)
	}
	if err != nil || it.Next == 0 {
		return nil, validationf("Invalid ShardIterator: %v", errBadIterator)
	}
	t, st := s.tableByID(it.TableID)
	if t == nil || st == nil || st.Label != it.Label {
		return nil, errorf("ResourceNotFoundException", "Requested resource not found: the stream of this ShardIterator no longer exists")
	}
	last := t.log.frontier()
	if !st.Enabled {
		last = min(last, st.EndSeq)
	}
	out := getRecordsOutput{Records: []streamRecord{}}
	next := it.Next
	if next <= last {
		iter, err := s.store.Iter(logKey(t.meta.ID, next), logKey(t.meta.ID, last+1))
		if err != nil {
			return nil, fmt.Errorf("reading the stream of %s: %w", t.meta.Name, err)
		}
		defer iter.Close()
		size := 0
		for len(out.Records) < limit && size < maxGetRecordsBytes && iter.Next() {
			seq := binary.BigEndian.Uint64(iter.Key()[len(iter.Key())-8:])
			next = seq + 1
			rec, err := decodeChangeRecord(iter.Value())
			if err != nil {
				return nil, fmt.Errorf("change-log record %d of %s: %w", seq, t.meta.Name, err)
			}
			if rc.now.Sub(rec.Time) > streamRetention {
				continue
			}
			sr, err := s.streamRecord(t, st, rec)
			if err != nil {
				return nil, err
			}
			size += int(sr.Dynamodb.SizeBytes)
			out.Records = append(out.Records, *sr)
		}
		if err := iter.Close(); err != nil {
			return nil, fmt.Errorf("reading the stream of %s: %w", t.meta.Name, err)
		}
		if len(out.Records) < limit && size < maxGetRecordsBytes {
			next = last + 1 // read to the end: the records between were gaps
		}
	}
	if st.Enabled || next <= st.EndSeq {
		tok := shardIterator{TableID: t.meta.ID, Label: st.Label, Next: next}.token()
		out.NextShardIterator = &tok
	}
	return out, nil
}

// tableByID returns the table with id and its stream.
func (s *Service) tableByID(id string) (*table, *streamState) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, t := range s.tables {
		if t.meta.ID == id {
			return t, t.currentSettings().stream
		}
	}
	return nil, nil
}

// streamRecord renders a change-log record as the stream's view type shows it.
func (s *Service) streamRecord(t *table, st *streamState, rec *changeRecord) (*streamRecord, error) {
	decode := func(b []byte) (attr.Item, error) {
		if b == nil {
			return nil, nil
		}
		return attr.DecodeItem(b)
	}
	keys, err := decode(rec.Keys)
	if err != nil {
		return nil, err
	}
	d := streamRecordData{
		ApproximateCreationDateTime: float64(rec.Time.Unix()), Keys: keys,
		SequenceNumber: sequenceNumber(rec.Seq), StreamViewType: st.ViewType,
		SizeBytes: int64(len(rec.Keys)),
	}
	if st.ViewType == "NEW_IMAGE" || st.ViewType == "NEW_AND_OLD_IMAGES" {
		if d.NewImage, err = decode(rec.New); err != nil {
			return nil, err
		}
		d.SizeBytes += int64(d.NewImage.Size())
	}
	if st.ViewType == "OLD_IMAGE" || st.ViewType == "NEW_AND_OLD_IMAGES" {
		if d.OldImage, err = decode(rec.Old); err != nil {
			return nil, err
		}
		d.SizeBytes += int64(d.OldImage.Size())
	}
	r := &streamRecord{
		EventID: fmt.Sprintf("%s%016x", t.meta.ID[:16], rec.Seq), EventName: rec.Event.String(),
		EventVersion: "1.1", EventSource: "aws:dynamodb", AwsRegion: rec.Region, Dynamodb: d,
	}
	if rec.TTL {
		r.UserIdentity = &userIdentity{PrincipalId: "dynamodb.amazonaws.com", Type: "Service"}
	}
	return r, nil
}
