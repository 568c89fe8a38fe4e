package replication

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/polyregion/polyregion/internal/peer"
)

// PathPrefix is where a [Server] answers on the peer listener:
// GET PathPrefix + <service>/<stream>?after=<position>.
const PathPrefix = "/peer/v1/replication/"

// Log is a service's change log as its peers read it.
type Log interface {
	// Read returns the records of stream after position after that were written in
	// this region and may go to region to — about maxBytes of them at most, but at
	// least one if there is one — with the position reached, the log's head, the
	// bytes of this region's writes after that position and, when caught up with
	// every commit, a watermark (see [Batch]). Records that must not reach to (data
	// pinned to zones it is not in) are skipped, never shipped. It returns an error
	// wrapping ErrUnknownStream when the stream is not served to to.
	Read(stream, to string, after uint64, maxBytes int) (*Batch, error)
}

// ErrUnknownStream is returned (wrapped) by a [Log] for a stream it does not
// serve; the peer gets 404 and retries later.
var ErrUnknownStream = errors.New("replication: unknown stream")

// ServerOptions configure a [Server].
type ServerOptions struct {
	// Heartbeat is how often a caught-up pull gets a frame without records, carrying
	// the source's head and watermark; 0: DefaultHeartbeat.
	Heartbeat time.Duration
	// Pace is how long a pull that has just been sent a frame of records, and has caught
	// up, waits before it reads the log again, so that the commits of that moment go out
	// together; 0: DefaultPace, negative: none (a frame per commit). A lone write is sent
	// at once: only a write that follows a frame within Pace waits, for at most Pace.
	Pace time.Duration
	// BatchBytes is about how many bytes of records go in one frame; 0:
	// DefaultBatchBytes.
	BatchBytes int
	// Logger receives the server's records; nil: discarded.
	Logger *slog.Logger
	// Caller names the region a pull comes from; nil: the region of the peer
	// certificate ([peer.RegionFrom]). A pull without one is refused.
	Caller func(*http.Request) (string, bool)
}

// DefaultHeartbeat is ServerOptions.Heartbeat's default.
const DefaultHeartbeat = 250 * time.Millisecond

// DefaultPace is ServerOptions.Pace's default.
const DefaultPace = time.Millisecond

// Server serves this region's change logs to its peers: each pull is one
// long-lived HTTP/2 response to which the server writes a frame whenever the
// stream has new records, and a heartbeat frame when it has none. It writes at
// the pace the puller reads (HTTP/2 flow control), so a slow peer costs the
// source no memory: the records wait in the log. Mount it on the peer listener
// at PathPrefix.
type Server struct {
	heartbeat  time.Duration
	pace       time.Duration
	batchBytes int
	logger     *slog.Logger
	caller     func(*http.Request) (string, bool)

	mu      sync.Mutex
	logs    map[string]Log              // by service
	waiters map[streamKey]chan struct{} // closed by Notify

	closed context.Context // done once Close was called
	close  context.CancelFunc
}

type streamKey struct{ service, stream string }

// NewServer returns a Server serving no log yet.
func NewServer(opts ServerOptions) *Server {
	s := &Server{
		heartbeat:  opts.Heartbeat,
		pace:       opts.Pace,
		batchBytes: opts.BatchBytes,
		logger:     opts.Logger,
		caller:     opts.Caller,
		logs:       map[string]Log{},
		waiters:    map[streamKey]chan struct{}{},
	}
	s.closed, s.close = context.WithCancel(context.Background())
	if s.heartbeat <= 0 {
		s.heartbeat = DefaultHeartbeat
	}
	if s.pace == 0 {
		s.pace = DefaultPace
	}
	if s.batchBytes <= 0 {
		s.batchBytes = DefaultBatchBytes
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.caller == nil {
		s.caller = func(r *http.Request) (string, bool) { return peer.RegionFrom(r.Context()) }
	}
	return s
}

// Close ends the pulls being served and refuses new ones (503). A pull never ends by
// itself, so a region calls Close before it shuts its peer listener down gracefully, or
// the shutdown would wait for them until its deadline. Pullers reconnect elsewhere in
// time: to this region when it is back.
func (s *Server) Close() { s.close() }

// Register serves service's log.
func (s *Server) Register(service string, log Log) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logs[service] = log
}

// Notify wakes the pulls of stream: the service calls it after each commit that
// added records to the stream's log.
func (s *Server) Notify(service, stream string) {
	k := streamKey{service, stream}
	s.mu.Lock()
	ch, ok := s.waiters[k]
	if ok {
		delete(s.waiters, k)
	}
	s.mu.Unlock()
	if ok {
		close(ch)
	}
}

// changed returns a channel that Notify will close for the stream.
func (s *Server) changed(k streamKey) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.waiters[k]
	if !ok {
		ch = make(chan struct{})
		s.waiters[k] = ch
	}
	return ch
}

// ServeHTTP answers GET PathPrefix<service>/<stream>?after=N.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "replication: GET only", http.StatusMethodNotAllowed)
		return
	}
	k, after, err := parsePull(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	to, ok := s.caller(r)
	if !ok {
		http.Error(w, "replication: the calling region is unknown", http.StatusForbidden)
		return
	}
	s.mu.Lock()
	log := s.logs[k.service]
	s.mu.Unlock()
	if log == nil {
		http.Error(w, fmt.Sprintf("replication: no service %q here", k.service), http.StatusNotFound)
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "replication: streaming unsupported", http.StatusInternalServerError)
		return
	}
	if s.closed.Err() != nil {
		http.Error(w, "replication: the region is stopping", http.StatusServiceUnavailable)
		return
	}
	// The pull ends with the request, or when the server closes.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(s.closed, cancel)()
	ticker := time.NewTicker(s.heartbeat)
	defer ticker.Stop()
	var buf []byte
	first, lastSent := true, time.Now()
	for {
		wake := s.changed(k)
		b, err := log.Read(k.stream, to, after, s.batchBytes)
		if err != nil {
			if !first {
				s.logger.Warn("replication: reading the log", "service", k.service, "stream", k.stream, "after", after, "err", err)
				return // the puller reconnects and meets the error as a status
			}
			status := http.StatusInternalServerError
			if errors.Is(err, ErrUnknownStream) {
				status = http.StatusNotFound
			}
			http.Error(w, err.Error(), status)
			return
		}
		if b.Next < after {
			b.Next = after // a log never goes back; keep the puller's position
		}
		progressed := b.Next > after || len(b.Records) > 0
		if first || progressed || time.Since(lastSent) >= s.heartbeat {
			if first {
				w.Header().Set("Content-Type", "application/octet-stream")
				w.WriteHeader(http.StatusOK)
				first = false
			}
			buf = AppendBatch(buf[:0], b)
			if _, err := w.Write(buf); err != nil {
				return // the puller went away
			}
			flusher.Flush()
			lastSent = time.Now()
			after = b.Next
		}
		if progressed && (b.Watermark.IsZero() || len(b.Records) == 0 || s.pace <= 0) {
			continue // more to send at once (or nothing shipped: nothing to pace)
		}
		if progressed {
			// Caught up right after a frame of records: let the next commits gather for a
			// moment, so that a steady stream of writes goes out in a few larger frames
			// rather than one small frame per commit, each costing a log read, a TLS
			// record, a relay hop and an apply at the receiver.
			t := time.NewTimer(s.pace)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return
			}
			continue
		}
		select {
		case <-wake:
		case <-ticker.C:
		case <-ctx.Done():
			return
		}
	}
}

// pullPath is the path of a pull of stream of service from position after.
func pullPath(service, stream string, after uint64) string {
	return PathPrefix + url.PathEscape(service) + "/" + url.PathEscape(stream) + "?after=" + strconv.FormatUint(after, 10)
}

func parsePull(r *http.Request) (streamKey, uint64, error) {
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), PathPrefix)
	if !ok {
		return streamKey{}, 0, fmt.Errorf("replication: path %q is not under %s", r.URL.Path, PathPrefix)
	}
	svc, stream, ok := strings.Cut(rest, "/")
	if !ok || svc == "" || stream == "" || strings.Contains(stream, "/") {
		return streamKey{}, 0, fmt.Errorf("replication: path %q is not %s<service>/<stream>", r.URL.Path, PathPrefix)
	}
	var k streamKey
	var err error
	if k.service, err = url.PathUnescape(svc); err != nil {
		return streamKey{}, 0, fmt.Errorf("replication: service in %q: %w", r.URL.Path, err)
	}
	if k.stream, err = url.PathUnescape(stream); err != nil {
		return streamKey{}, 0, fmt.Errorf("replication: stream in %q: %w", r.URL.Path, err)
	}
	after, err := strconv.ParseUint(r.URL.Query().Get("after"), 10, 64)
	if err != nil {
		return streamKey{}, 0, fmt.Errorf("replication: after=%q is not a position", r.URL.Query().Get("after"))
	}
	return k, after, nil
}
