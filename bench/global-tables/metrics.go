package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// The receiving region's replication metrics, labelled by service, source and stream.
const (
	latencyMetric = "polyregion_replication_latency_seconds"
	appliedMetric = "polyregion_replication_applied_records_total"
	pendingMetric = "polyregion_replication_pending_records"
)

// protoAccept asks a Prometheus handler for the protobuf format, the one that carries
// native histograms.
const protoAccept = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"

// pullStats is what a receiving region's /metrics says of its pull of one source's
// records of the benchmark's table.
type pullStats struct {
	applied uint64
	pending float64 // records the source had after the receiver's position, at its last frame
	// buckets of the native latency histogram: bucket i holds latencies in
	// (base^(i-1), base^i] seconds, base = 2^(2^-schema); zero counts those at or below
	// the zero threshold.
	schema  int32
	buckets map[int]uint64
	zero    uint64
}

// scrapeAll scrapes every region's pulls of the benchmark's table: by receiving region,
// then by source.
func (f *fleet) scrapeAll(ctx context.Context) (map[string]map[string]pullStats, error) {
	all := map[string]map[string]pullStats{}
	for _, r := range regions {
		st, err := f.scrape(ctx, r, "bench")
		if err != nil {
			return nil, err
		}
		all[r] = st
	}
	return all, nil
}

// scrape reads region's /metrics and returns the stats of its pull from each source of the
// table's stream.
func (f *fleet) scrape(ctx context.Context, region, table string) (map[string]pullStats, error) {
	e, ok := f.ef.Region(region)
	if !ok || e.Endpoints["metrics"] == "" {
		return nil, fmt.Errorf("endpoints.json names no metrics endpoint for %s", region)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.Endpoints["metrics"], nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", protoAccept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", e.Endpoints["metrics"], resp.Status)
	}
	if expfmt.ResponseFormat(resp.Header).FormatType() != expfmt.TypeProtoDelim {
		return nil, fmt.Errorf("GET %s answered %q, not the protobuf format", e.Endpoints["metrics"], resp.Header.Get("Content-Type"))
	}
	out := map[string]pullStats{}
	dec := expfmt.NewDecoder(resp.Body, expfmt.NewFormat(expfmt.TypeProtoDelim))
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("decoding %s's metrics: %w", region, err)
		}
		if mf.GetName() != latencyMetric && mf.GetName() != appliedMetric && mf.GetName() != pendingMetric {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["service"] != "tables" || labels["stream"] != table {
				continue
			}
			src := labels["source"]
			st := out[src]
			switch mf.GetName() {
			case appliedMetric:
				st.applied = uint64(m.GetCounter().GetValue())
			case pendingMetric:
				st.pending = m.GetGauge().GetValue()
			default:
				h := m.GetHistogram()
				if len(h.GetPositiveSpan()) == 0 && h.GetZeroThreshold() == 0 {
					return nil, fmt.Errorf("%s's %s has no native buckets (a polyregion older than this benchmark?)", region, latencyMetric)
				}
				st.schema, st.zero, st.buckets = h.GetSchema(), h.GetZeroCount(), nativeBuckets(h)
			}
			out[src] = st
		}
	}
}

// nativeBuckets decodes a native histogram's positive buckets (spans and delta-encoded
// counts) into counts by bucket index.
func nativeBuckets(h *dto.Histogram) map[int]uint64 {
	out := map[int]uint64{}
	deltas := h.GetPositiveDelta()
	idx, d := 0, 0
	var count int64
	for _, sp := range h.GetPositiveSpan() {
		idx += int(sp.GetOffset())
		for range sp.GetLength() {
			if d < len(deltas) {
				count += deltas[d]
			}
			d++
			if count > 0 {
				out[idx] = uint64(count)
			}
			idx++
		}
	}
	return out
}

// latencies is a distribution of replication latencies: the difference of two scrapes.
type latencies struct {
	schema  int32
	buckets map[int]uint64
	zero    uint64
	n       uint64
}

// since returns what was observed between before and after.
func since(before, after pullStats) latencies {
	l := latencies{schema: after.schema, buckets: map[int]uint64{}, zero: after.zero - before.zero}
	if before.buckets != nil && before.schema != after.schema {
		// The histogram lowered its resolution in between; compare whole distributions.
		before = pullStats{}
	}
	for i, c := range after.buckets {
		if d := c - before.buckets[i]; d > 0 {
			l.buckets[i] = d
		}
	}
	l.n = l.zero
	for _, c := range l.buckets {
		l.n += c
	}
	return l
}

// quantile returns the upper bound of the bucket holding the q-quantile (nearest rank): the
// true value is at most that, and at most about 2% (the bucket's width) below it.
func (l latencies) quantile(q float64) time.Duration {
	if l.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(l.n)))
	rank = max(rank, 1)
	seen := l.zero
	if seen >= rank {
		return 0
	}
	idx := make([]int, 0, len(l.buckets))
	for i := range l.buckets {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	for _, i := range idx {
		seen += l.buckets[i]
		if seen >= rank {
			upper := math.Exp2(float64(i) / math.Exp2(float64(l.schema)))
			return time.Duration(upper * float64(time.Second))
		}
	}
	return 0
}
