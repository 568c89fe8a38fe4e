package peer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
)

// Server serves an [http.Handler] to the other regions over mutual TLS,
// HTTP/2 only. It answers GET [PingPath] itself and passes every other
// request to the handler, with the calling region in the request's context
// (see [RegionFrom]).
type Server struct {
	srv    *http.Server
	logger *slog.Logger

	mu      sync.Mutex
	streams map[string]func(net.Conn, string)
	raw     net.Listener
	conns   map[*trackedConn]struct{}
	closed  bool
}

// NewServer returns a server of id's region that serves h to the regions
// allowed accepts (nil: every region of the CA). A nil h answers 404. Refused
// handshakes and other connection errors are logged to logger at Warn level;
// scope it to the component (logger.With("component", "peer")). A nil logger
// discards them.
func NewServer(id *Identity, h http.Handler, allowed func(string) bool, logger *slog.Logger) *Server {
	if h == nil {
		h = http.NotFoundHandler()
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var protocols http.Protocols
	protocols.SetHTTP2(true)
	return &Server{logger: logger, srv: &http.Server{
		Handler:   handler{next: h},
		TLSConfig: id.ServerTLSConfig(allowed),
		Protocols: &protocols,
		HTTP2: &http.HTTP2Config{
			SendPingTimeout: sendPingTimeout,
			PingTimeout:     pingTimeout,
		},
		ReadHeaderTimeout: readHeaderTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}}
}

// Serve accepts connections on ln and serves them until [Server.Shutdown] or
// [Server.Close], then returns [http.ErrServerClosed]. It closes ln.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	mux := len(s.streams) > 0
	s.mu.Unlock()
	if mux {
		return s.serveMux(ln)
	}
	err := s.srv.ServeTLS(ln, "", "")
	if errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return fmt.Errorf("peer: serve on %s: %w", ln.Addr(), err)
}

// Shutdown stops accepting connections, lets the requests under way finish,
// and closes the connections; if ctx ends first it returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closeStreams()
	return s.srv.Shutdown(ctx)
}

// Close closes the listener and every connection at once.
func (s *Server) Close() error {
	s.closeStreams()
	return s.srv.Close()
}

// regionKey is the context key of the calling region.
type regionKey struct{}

// RegionFrom returns the calling region from the context of a request that a
// [Server] passes to its handler.
func RegionFrom(ctx context.Context) (string, bool) {
	region, ok := ctx.Value(regionKey{}).(string)
	return region, ok
}

// handler puts the calling region into the request's context, answers pings
// and passes the rest to next.
type handler struct {
	next http.Handler
}

var _ http.Handler = handler{}

func (h handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.TLS == nil {
		http.Error(w, "peer: not a TLS connection", http.StatusForbidden)
		return
	}
	// The handshake verified the chain and the region already; this only
	// reads the region back.
	region, err := verifiedRegion(*r.TLS)
	if err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	r = r.WithContext(context.WithValue(r.Context(), regionKey{}, region))
	if r.URL.Path == PingPath && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "pong\n")
		return
	}
	h.next.ServeHTTP(w, r)
}
