// Package archtest holds the tests that keep the architecture honest: dependencies point one
// way (cmd → app → services → shared parts), services never import one another, and every
// package says what it is in a doc comment.
package archtest
