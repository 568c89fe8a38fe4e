// Package gaapi is polyregion's Global Accelerator-shaped API: the operations of AWS Global
// Accelerator (API version 2018-08-08) that manage standard accelerators, their listeners,
// endpoint groups and endpoints, their attributes and tags, answered in the JSON 1.1
// protocol the AWS SDKs and the AWS CLI speak. [New] returns an http.Handler for POST /
// with X-Amz-Target: GlobalAccelerator_V20180706.<Operation>.
//
// Every request is verified with Signature Version 4 (awsapi.Verify, service
// "globalaccelerator"; any region name). An accelerator, with its listeners, groups and
// endpoints nested, is one control-plane resource of kind edge.Kind whose value is the JSON
// of edge.Accelerator; every change is a read-modify-write of that one document under
// control.ExpectVersion, validated with edge's rules (one accelerator, and the listener
// ports of all of them as a set) before it is written. The application's control-plane
// validator must run the same edge validation, so that concurrent writes cannot combine
// into overlapping ports.
//
// Errors are answered as Global Accelerator does: {"__type": code, "message": ...} with the
// codes of the SDK's types/errors.go.
package gaapi
