package main

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestZipfian: rank 0 comes up with probability 1/zeta(n), rank 1 with 1/(2^θ·zeta(n)),
// and the draws stay in range; the scrambled draws stay in range and keep the skew.
func TestZipfian(t *testing.T) {
	const n, draws = 1000, 200000
	z := newZipfian(n)
	r := rand.New(rand.NewPCG(1, 2))
	counts := make([]int, n)
	for range draws {
		k := z.rank(r)
		if k < 0 || k >= n {
			t.Fatalf("rank %d out of [0, %d)", k, n)
		}
		counts[k]++
	}
	for rank, want := range []float64{1 / z.zetan, 1 / (math.Pow(2, zipfTheta) * z.zetan)} {
		got := float64(counts[rank]) / draws
		if math.Abs(got-want) > 0.01 {
			t.Errorf("rank %d drawn %.4f of the time, want %.4f", rank, got, want)
		}
	}
	if counts[0] < 10*counts[n/2] {
		t.Errorf("rank 0 drawn %d times, rank %d %d times: not skewed", counts[0], n/2, counts[n/2])
	}
	s := newScrambledZipfian(n)
	seen := map[int]int{}
	for range draws {
		k := s.next(r)
		if k < 0 || k >= n {
			t.Fatalf("record %d out of [0, %d)", k, n)
		}
		seen[k]++
	}
	top := 0
	for _, c := range seen {
		top = max(top, c)
	}
	if float64(top)/draws < 0.05 {
		t.Errorf("the most drawn record has %.3f of the draws: the skew was lost", float64(top)/draws)
	}
}
