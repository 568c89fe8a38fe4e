package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/polyregion/polyregion/internal/health"
	"github.com/polyregion/polyregion/internal/peer"
)

// observationPath is where a region posts its health observations to the others.
const observationPath = "/peer/v1/health/observations"

// shipper sends this region's health observations to every other region over the peer
// transport. Each peer has its own queue holding the newest observation per check, so a
// slow or partitioned peer never holds up the others or the probes, and memory stays
// bounded by the number of checks.
type shipper struct {
	client *peer.Client
	logger *slog.Logger

	mu      sync.Mutex
	pending map[string]map[string]health.Observation // peer -> check -> newest
	wake    map[string]chan struct{}
}

func newShipper(client *peer.Client, peers []string, logger *slog.Logger) *shipper {
	s := &shipper{client: client, logger: logger, pending: map[string]map[string]health.Observation{}, wake: map[string]chan struct{}{}}
	for _, p := range peers {
		s.pending[p] = map[string]health.Observation{}
		s.wake[p] = make(chan struct{}, 1)
	}
	return s
}

// publish queues an observation for every peer; it never blocks.
func (s *shipper) publish(o health.Observation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for p, q := range s.pending {
		if old, ok := q[o.CheckID]; !ok || !o.CheckedAt.Before(old.CheckedAt) {
			q[o.CheckID] = o
		}
		select {
		case s.wake[p] <- struct{}{}:
		default:
		}
	}
}

func (s *shipper) run(ctx context.Context) {
	var wg sync.WaitGroup
	for p := range s.wake {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.loop(ctx, p)
		}()
	}
	wg.Wait()
}

func (s *shipper) loop(ctx context.Context, p string) {
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake[p]:
		}
		s.mu.Lock()
		batch := s.pending[p]
		s.pending[p] = map[string]health.Observation{}
		s.mu.Unlock()
		if len(batch) == 0 {
			continue
		}
		err := s.send(ctx, p, batch)
		if err == nil {
			if failing {
				s.logger.Info("health observations reach the peer again", "peer", p)
			}
			failing = false
			continue
		}
		if ctx.Err() != nil {
			return
		}
		if !failing {
			s.logger.Warn("cannot ship health observations", "peer", p, "err", err)
		}
		failing = true
		// Put back what was not superseded meanwhile, and try again shortly.
		s.mu.Lock()
		for id, o := range batch {
			if cur, ok := s.pending[p][id]; !ok || cur.CheckedAt.Before(o.CheckedAt) {
				s.pending[p][id] = o
			}
		}
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
		select {
		case s.wake[p] <- struct{}{}:
		default:
		}
	}
}

func (s *shipper) send(ctx context.Context, p string, batch map[string]health.Observation) error {
	obs := make([]health.Observation, 0, len(batch))
	for _, o := range batch {
		obs = append(obs, o)
	}
	body, err := json.Marshal(obs)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, observationPath, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req, p)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusNoContent {
		return &httpStatusError{resp.Status}
	}
	return nil
}

type httpStatusError struct{ status string }

func (e *httpStatusError) Error() string { return "peer answered " + e.status }

// receiveObservations takes another region's observations. A region may only report what it
// saw itself: observations naming another vantage point are dropped.
func receiveObservations(m *health.Monitor, logger *slog.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		from, ok := peer.RegionFrom(r.Context())
		if !ok {
			http.Error(w, "no peer identity", http.StatusForbidden)
			return
		}
		var obs []health.Observation
		if err := json.NewDecoder(io.LimitReader(r.Body, 16<<20)).Decode(&obs); err != nil {
			http.Error(w, "want a JSON array of observations: "+err.Error(), http.StatusBadRequest)
			return
		}
		for _, o := range obs {
			if o.Region != from {
				logger.Warn("dropping a health observation a peer sent for another vantage point", "peer", from, "claimed", o.Region, "check", o.CheckID)
				continue
			}
			m.Observe(o)
		}
		w.WriteHeader(http.StatusNoContent)
	}
}
