package main

import (
	"math"
	"math/rand/v2"
)

// zipfTheta is YCSB's zipfian constant (its "zipfian_constant"): item i (0-based) of n is
// chosen with probability proportional to 1/(i+1)^0.99.
const zipfTheta = 0.99

// zipfian draws ranks 0..n-1 from a zipfian distribution with the method of Gray et al.,
// "Quickly Generating Billion-Record Synthetic Databases" (SIGMOD 1994), the one YCSB uses:
// with zeta(n) = Σ_{i=1..n} 1/i^θ precomputed, a uniform u in [0,1) gives rank 0 when
// u·zeta(n) < 1, rank 1 when it is below 1 + 0.5^θ, and otherwise
// ⌊n·(η·u − η + 1)^α⌋ with α = 1/(1−θ) and η = (1 − (2/n)^(1−θ)) / (1 − zeta(2)/zeta(n)).
// It is immutable once built, so goroutines share one, each with its own *rand.Rand.
type zipfian struct {
	n                        int
	theta, alpha, zetan, eta float64
	halfPowTheta, zeta2theta float64
}

func newZipfian(n int) *zipfian {
	z := &zipfian{n: n, theta: zipfTheta}
	z.alpha = 1 / (1 - z.theta)
	z.zetan = zeta(n, z.theta)
	z.zeta2theta = zeta(2, z.theta)
	z.eta = (1 - math.Pow(2/float64(n), 1-z.theta)) / (1 - z.zeta2theta/z.zetan)
	z.halfPowTheta = 1 + math.Pow(0.5, z.theta)
	return z
}

func zeta(n int, theta float64) float64 {
	var s float64
	for i := 1; i <= n; i++ {
		s += 1 / math.Pow(float64(i), theta)
	}
	return s
}

// rank draws a rank: 0 is the most popular.
func (z *zipfian) rank(r *rand.Rand) int {
	u := r.Float64()
	uz := u * z.zetan
	switch {
	case uz < 1:
		return 0
	case uz < z.halfPowTheta:
		return 1
	}
	v := int(float64(z.n) * math.Pow(z.eta*u-z.eta+1, z.alpha))
	return min(v, z.n-1)
}

// scrambledZipfian is YCSB's "scrambled zipfian": the zipfian rank hashed (64-bit FNV-1a of
// its 8 little-endian bytes) onto the record numbers, so that the popular records are spread
// over the key space instead of being the first ones (which would put every hot key in the
// same scan range and the same partition). Two ranks may hash to one record, as in YCSB.
type scrambledZipfian struct{ z *zipfian }

func newScrambledZipfian(n int) scrambledZipfian { return scrambledZipfian{newZipfian(n)} }

// next draws a record number in [0, n).
func (s scrambledZipfian) next(r *rand.Rand) int {
	return int(fnv64(uint64(s.z.rank(r))) % uint64(s.z.n))
}

func fnv64(v uint64) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for range 8 {
		h ^= v & 0xff
		h *= prime
		v >>= 8
	}
	return h
}
