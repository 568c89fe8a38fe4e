package netsim

import (
	"math/bits"
	"sync"
)

// Buffers come in power-of-two classes from minBuf to readBuf bytes. A read
// always goes into a readBuf buffer; a short read is copied into the smallest
// class that holds it, so a queued chunk never holds more than twice its
// length and the queue bound, counted in buffer capacity, bounds memory.
const (
	minBufShift = 9 // 512 B
	readBufSize = 64 << 10
	numClasses  = 8 // 512 B ... 64 KiB
)

var bufPools [numClasses]sync.Pool

func classOf(n int) int {
	if n <= 1<<minBufShift {
		return 0
	}
	return bits.Len(uint(n-1)) - minBufShift
}

// getBuf returns a buffer of the class that holds n bytes (n <= readBufSize).
func getBuf(n int) *[]byte {
	c := classOf(n)
	if b, ok := bufPools[c].Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 1<<(c+minBufShift))
	return &b
}

func putBuf(b *[]byte) {
	bufPools[classOf(cap(*b))].Put(b)
}

// fit returns a buffer holding the first n bytes of b that is at most twice
// as large as needed: b itself, or a smaller copy (b then goes back to the
// pool).
func fit(b *[]byte, n int) *[]byte {
	if classOf(n) == classOf(cap(*b)) {
		return b
	}
	s := getBuf(n)
	copy(*s, (*b)[:n])
	putBuf(b)
	return s
}
