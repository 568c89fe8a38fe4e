package replication

import (
	"crypto/sha256"
	"encoding/binary"
)

// EntryHash is the hash of one entry in a Digest's bucket: SHA-256 of the
// length-prefixed key and the value.
func EntryHash(key, value []byte) [32]byte {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(key)))])
	h.Write(key)
	h.Write(value)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// DigestBuckets is how many buckets a [Digest] has.
const DigestBuckets = 256

// Digest summarises a replica's contents so that two regions can compare them
// without shipping them: keys fall into buckets by hash, and each bucket holds
// the number of its entries and the XOR of their hashes, which does not depend
// on the order they were added in. Equal contents give equal digests; a bucket
// that differs names where to look for the keys that differ.
type Digest struct {
	Count [DigestBuckets]uint64
	Sum   [DigestBuckets][32]byte
}

// Add adds one entry, a key and the bytes that must match across replicas (its
// value, and the version it was written with).
func (d *Digest) Add(key, value []byte) {
	b := DigestBucket(key)
	h := EntryHash(key, value)
	d.Count[b]++
	for i := range h {
		d.Sum[b][i] ^= h[i]
	}
}

// Differ returns the buckets in which d and e differ.
func (d *Digest) Differ(e *Digest) []int {
	var out []int
	for i := range d.Count {
		if d.Count[i] != e.Count[i] || d.Sum[i] != e.Sum[i] {
			out = append(out, i)
		}
	}
	return out
}

// DigestBucket returns the bucket of key.
func DigestBucket(key []byte) int {
	// FNV-1a: cheap, stable, and well enough spread for 256 buckets.
	h := uint32(2166136261)
	for _, c := range key {
		h ^= uint32(c)
		h *= 16777619
	}
	return int(h % DigestBuckets)
}
