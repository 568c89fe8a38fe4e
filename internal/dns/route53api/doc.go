// Package route53api is polyregion's Route 53-shaped REST-XML API: the operations of the
// Route 53 API version 2013-04-01 that manage hosted zones, record sets, health checks and
// CIDR collections, plus TestDNSAnswer, answered in the shapes the AWS SDKs and the AWS CLI
// expect. [New] returns an http.Handler for the /2013-04-01/ prefix.
//
// Every request is verified with Signature Version 4 (awsapi.Verify, service "route53";
// any region name). What the API writes goes to the replicated control plane through
// [Store] as the kinds package zone and package health define, so the YAML configuration,
// polyregion's own API and this one share one model. A record-set change is one atomic
// control-plane batch; [ValidateState] is the control-plane validator for the DNS kinds and
// must be part of the application's validator so that concurrent changes cannot combine
// into an invalid zone.
//
// Handlers return errors as Route 53 does: the REST-XML ErrorResponse, or the
// InvalidChangeBatch document with one message per problem.
package route53api
