package policy

import (
	"slices"

	"github.com/polyregion/polyregion/internal/dns/zone"
)

// Multivalue answers with up to MaxMultivalueAnswers healthy record sets; when more are
// healthy, a random subset of that many (so resolvers see different subsets). When none is
// healthy it answers with up to MaxMultivalueAnswers of the unhealthy ones, chosen the same
// way. The chosen sets keep the group's order. Scope is 0.
func Multivalue(group []*zone.RecordSet, env Env) Result {
	if len(group) == 0 {
		return Result{NoData: true}
	}
	pool := make([]int, 0, len(group))
	for i, rs := range group {
		if env.healthy(rs) {
			pool = append(pool, i)
		}
	}
	if len(pool) == 0 {
		for i := range group {
			pool = append(pool, i)
		}
	}
	if len(pool) > MaxMultivalueAnswers {
		// A partial Fisher–Yates shuffle draws a uniform subset.
		for i := range MaxMultivalueAnswers {
			j := i + env.intn(len(pool)-i)
			pool[i], pool[j] = pool[j], pool[i]
		}
		pool = pool[:MaxMultivalueAnswers]
		slices.Sort(pool)
	}
	sets := make([]*zone.RecordSet, len(pool))
	for k, i := range pool {
		sets[k] = group[i]
	}
	return Result{Sets: sets}
}
