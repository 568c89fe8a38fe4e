// Package tables is polyregion's regional table service: a DynamoDB-compatible JSON 1.0 API
// (X-Amz-Target: DynamoDB_20120810.<Op>, SigV4) over the region's ordered key-value store,
// [kv.Store].
//
// A [Service] keeps a catalog of tables (loaded from the store by [New]) and serves, through
// [Service.Handler], the control-plane operations CreateTable, DescribeTable, ListTables,
// DeleteTable, UpdateTable (billing mode and throughput), UpdateTimeToLive,
// DescribeTimeToLive, TagResource, UntagResource, ListTagsOfResource, DescribeEndpoints and
// DescribeLimits, and the data-plane operations
// PutItem, GetItem, UpdateItem, DeleteItem, Query, Scan, BatchGetItem, BatchWriteItem,
// TransactWriteItems and TransactGetItems, and the Streams operations ListStreams,
// DescribeStream, GetShardIterator and GetRecords (X-Amz-Target DynamoDBStreams_20120810),
// read from the change log. [Service.Run] deletes items whose time to live has passed. Attribute values and their encodings are package attr's; expressions are
// package expr's.
//
// Every write puts the item and its change-log record (the sequence number, the event, the
// keys, the old and new images, the time) in one atomic batch, committed with Sync before it
// is acknowledged. The change log is what Streams and global-table replication read.
// Conditional read-modify-write is serialized per item.
//
// The package logs only through the logger it is given, and only at Debug for rejected
// requests and at Warn or Error for failures of its own.
package tables
