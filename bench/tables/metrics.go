package main

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// handlerHist is polyregion's own histogram of the time it took to answer one operation
// (polyregion_tables_request_duration_seconds: from the request read to the response
// written, not counting the network, HTTP parsing or waiting to be scheduled), read from
// its /metrics: cumulative counts by upper bound in seconds.
type handlerHist struct {
	bounds []float64
	counts []float64
}

// scrapeHandlerHist reads the histogram of one operation; a nil result when there is no
// metrics endpoint (dynalite).
func scrapeHandlerHist(url, operation string) (*handlerHist, error) {
	if url == "" {
		return nil, nil
	}
	cl := &http.Client{Timeout: 5 * time.Second}
	resp, err := cl.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	h := &handlerHist{}
	prefix := `polyregion_tables_request_duration_seconds_bucket{`
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) || !strings.Contains(line, `operation="`+operation+`"`) {
			continue
		}
		_, rest, _ := strings.Cut(line, `le="`)
		le, rest, _ := strings.Cut(rest, `"`)
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %w", url, line, err)
		}
		b, err := strconv.ParseFloat(le, 64) // "+Inf" parses as +Inf
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %w", url, line, err)
		}
		h.bounds = append(h.bounds, b)
		h.counts = append(h.counts, n)
	}
	return h, sc.Err()
}

// over returns, between two scrapes, how many operations were answered and the share
// of them that took longer than each of the given bounds (which must be bucket bounds).
func (h *handlerHist) over(before *handlerHist, bounds ...float64) (total float64, shares []float64) {
	if h == nil || len(h.counts) == 0 {
		return 0, nil
	}
	at := func(x *handlerHist, i int) float64 {
		if x == nil || i >= len(x.counts) {
			return 0
		}
		return x.counts[i]
	}
	last := len(h.counts) - 1
	total = at(h, last) - at(before, last)
	for _, b := range bounds {
		share := 0.0
		for i, hb := range h.bounds {
			if hb == b && total > 0 {
				share = 1 - (at(h, i)-at(before, i))/total
			}
		}
		shares = append(shares, share)
	}
	return total, shares
}
