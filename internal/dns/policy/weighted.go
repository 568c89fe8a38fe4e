package policy

import "github.com/polyregion/polyregion/internal/dns/zone"

// Weighted chooses one record set with probability weight / Σ weights (Route 53 weighted
// routing, weights 0..255), among the healthy sets with weight > 0. Weight-0 sets answer
// only when every weight > 0 set is unhealthy (then uniformly among the healthy weight-0
// sets); when every weight is 0, all sets are equally likely. When nothing is healthy the
// choice is made as if everything were healthy. The choice does not depend on the client:
// Scope is 0.
//
// The draw walks the group in the order given; the server keeps groups in a stable order.
func Weighted(group []*zone.RecordSet, env Env) Result {
	if len(group) == 0 {
		return Result{NoData: true}
	}
	health := make([]bool, len(group))
	for i, rs := range group {
		health[i] = env.healthy(rs)
	}
	steps := []func(i int) bool{
		func(i int) bool { return weightOf(group[i]) > 0 && health[i] },  // healthy, weighted
		func(i int) bool { return weightOf(group[i]) == 0 && health[i] }, // healthy, weight 0
		func(i int) bool { return weightOf(group[i]) > 0 },               // as if all were healthy
		func(int) bool { return true },                                   // every weight 0, nothing healthy
	}
	for _, eligible := range steps {
		if i := weightedPick(group, eligible, &env); i >= 0 {
			return one(group[i])
		}
	}
	return Result{NoData: true} // not reached: the last step accepts every set
}

// weightOf is a set's weight; a missing or negative weight counts as 0.
func weightOf(rs *zone.RecordSet) int64 {
	if rs.Weight == nil || *rs.Weight < 0 {
		return 0
	}
	return *rs.Weight
}

// weightedPick draws one eligible set with probability proportional to its weight, or
// uniformly when every eligible weight is 0. It returns -1 when no set is eligible.
func weightedPick(group []*zone.RecordSet, eligible func(int) bool, env *Env) int {
	var total int64
	n := 0
	for i, rs := range group {
		if eligible(i) {
			total += weightOf(rs)
			n++
		}
	}
	if n == 0 {
		return -1
	}
	if total == 0 {
		r := env.intn(n)
		for i := range group {
			if eligible(i) {
				if r == 0 {
					return i
				}
				r--
			}
		}
	}
	r := int64(env.intn(int(total)))
	for i, rs := range group {
		if !eligible(i) {
			continue
		}
		if r < weightOf(rs) {
			return i
		}
		r -= weightOf(rs)
	}
	return -1 // not reached
}
