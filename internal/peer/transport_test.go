package peer

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestCallBetweenRegions(t *testing.T) {
	dir := newPKI(t, "alpha", "beta")
	srv := startServer(t, mustIdentity(t, dir, "beta"), "beta-server", nil)
	res := newTestResolver()
	res.set("beta", srv.addr)
	c := newTestClient(t, mustIdentity(t, dir, "alpha"), res)

	req, err := http.NewRequest(http.MethodGet, "http://ignored.example/hello?x=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req, "beta")
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Errorf("response protocol %s, want HTTP/2", resp.Proto)
	}
	if req.URL.String() != "http://ignored.example/hello?x=1" {
		t.Errorf("Do changed the caller's request URL to %s", req.URL)
	}

	// The handler sees the calling region, and the path and query.
	if _, body := mustGet(t, c, "beta", "/hello?x=1"); body != "beta-server alpha /hello?x=1" {
		t.Errorf("body %q, want %q", body, "beta-server alpha /hello?x=1")
	}
	// The server answers pings itself, and passes other methods on.
	if _, body := mustGet(t, c, "beta", PingPath); body != "pong\n" {
		t.Errorf("ping body %q, want %q", body, "pong\n")
	}
	calls := srv.handlerCalls()
	req, _ = http.NewRequest(http.MethodPost, PingPath, strings.NewReader("x"))
	resp, err = c.Do(req, "beta")
	if err != nil {
		t.Fatalf("POST %s: %v", PingPath, err)
	}
	resp.Body.Close()
	if got := srv.handlerCalls(); got != calls+1 {
		t.Errorf("POST %s: handler called %d times, want 1", PingPath, got-calls)
	}
	// One connection served it all.
	if n := res.count("beta"); n != 1 {
		t.Errorf("resolver asked %d times, want 1 (the connection is reused)", n)
	}
}

func TestRegionFromOutsideServer(t *testing.T) {
	if region, ok := RegionFrom(context.Background()); ok {
		t.Errorf("RegionFrom(background) = %q, true; want false", region)
	}
}

func TestDoRejectsInvalidRegion(t *testing.T) {
	dir := newPKI(t, "alpha")
	c := newTestClient(t, mustIdentity(t, dir, "alpha"), newTestResolver())
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	if _, err := c.Do(req, "evil.example:443"); !errors.Is(err, ErrInvalidRegion) {
		t.Errorf("Do to an invalid region: err = %v, want ErrInvalidRegion", err)
	}
}

// TestRefused checks each identity check on its own: every case has a
// control that differs only in the thing checked and must succeed, and the
// refusal must come from the check meant (the server's log, or the client's
// error, says which).
func TestRefused(t *testing.T) {
	dir := newPKI(t, "alpha", "beta", "gamma")
	foreignDir := newPKI(t, "alpha")
	alpha := mustIdentity(t, dir, "alpha")

	refused := func(t *testing.T, c *Client, region string, srv *testServer) error {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resp, _, err := get(ctx, c, region, "/secret")
		if err == nil {
			t.Fatalf("GET /secret from region %q succeeded (%s); want it refused", region, resp.Status)
		}
		if n := srv.handlerCalls(); n != 0 {
			t.Errorf("handler called %d times; want 0", n)
		}
		return err
	}

	t.Run("client cert from a foreign CA", func(t *testing.T) {
		srv := startServer(t, mustIdentity(t, dir, "beta"), "beta", nil)
		res := newTestResolver()
		res.set("beta", srv.addr)

		// The foreign client trusts our CA, so only its own certificate,
		// for the right region but from another CA, is wrong.
		foreign := mustIdentity(t, foreignDir, "alpha")
		foreign.roots = alpha.roots
		refused(t, newTestClient(t, foreign, res), "beta", srv)
		srv.log.waitLogged(t, "certificate signed by unknown authority")

		mustGet(t, newTestClient(t, alpha, res), "beta", "/secret")
	})

	t.Run("no client cert", func(t *testing.T) {
		srv := startServer(t, mustIdentity(t, dir, "beta"), "beta", nil)
		res := newTestResolver()
		res.set("beta", srv.addr)

		anonymous := &Identity{Region: "alpha", roots: alpha.roots}
		refused(t, newTestClient(t, anonymous, res), "beta", srv)
		srv.log.waitLogged(t, "didn't provide a certificate")

		mustGet(t, newTestClient(t, alpha, res), "beta", "/secret")
	})

	t.Run("client region not allowed", func(t *testing.T) {
		onlyGamma := func(region string) bool { return region == "gamma" }
		srv := startServer(t, mustIdentity(t, dir, "beta"), "beta", onlyGamma)
		res := newTestResolver()
		res.set("beta", srv.addr)

		refused(t, newTestClient(t, alpha, res), "beta", srv)
		srv.log.waitLogged(t, ErrRegionNotAllowed.Error()+`: \"alpha\"`)

		_, body := mustGet(t, newTestClient(t, mustIdentity(t, dir, "gamma"), res), "beta", "/secret")
		if body != "beta gamma /secret" {
			t.Errorf("allowed region: body %q", body)
		}
	})

	t.Run("server of another region than dialled", func(t *testing.T) {
		srv := startServer(t, mustIdentity(t, dir, "beta"), "beta", nil)
		res := newTestResolver()
		res.set("beta", srv.addr)
		res.set("gamma", srv.addr) // gamma's address leads to beta
		c := newTestClient(t, alpha, res)

		err := refused(t, c, "gamma", srv)
		var hostErr x509.HostnameError
		if !errors.As(err, &hostErr) {
			t.Errorf("err = %v; want an x509.HostnameError", err)
		}

		mustGet(t, c, "beta", "/secret")
	})
}

func TestPing(t *testing.T) {
	dir := newPKI(t, "alpha", "beta")
	srv := startServer(t, mustIdentity(t, dir, "beta"), "beta", nil)
	res := newTestResolver()
	res.set("beta", srv.addr)
	c := newTestClient(t, mustIdentity(t, dir, "alpha"), res)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 2 {
		rtt, err := c.Ping(ctx, "beta")
		if err != nil {
			t.Fatalf("Ping %d: %v", i, err)
		}
		if rtt <= 0 {
			t.Errorf("Ping %d = %v; want > 0", i, rtt)
		}
		t.Logf("Ping %d: %v", i, rtt)
	}
	if n := res.count("beta"); n != 1 {
		t.Errorf("resolver asked %d times, want 1: pings go over one connection", n)
	}
	if n := srv.handlerCalls(); n != 0 {
		t.Errorf("the handler got %d pings; the server answers them itself", n)
	}

	// Ping's figure leaves out the handshake: the first request on a new
	// connection reports it new, the next one reused.
	fresh := newTestClient(t, mustIdentity(t, dir, "alpha"), res)
	for i, want := range []bool{false, true} {
		if _, reused, err := fresh.ping(ctx, "beta"); err != nil || reused != want {
			t.Errorf("ping %d on a new client: reused = %v, %v; want %v", i, reused, err, want)
		}
	}

	if _, err := c.Ping(ctx, "gamma"); err == nil {
		t.Errorf("Ping of a region the resolver does not know succeeded")
	}
}

func TestDeadlineAgainstSilentPeer(t *testing.T) {
	dir := newPKI(t, "alpha", "beta")
	silent := startSilentListener(t)
	res := newTestResolver()
	res.set("beta", silent.addr())
	c := newTestClient(t, mustIdentity(t, dir, "alpha"), res)

	const deadline = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	_, _, err := get(ctx, c, "beta", "/")
	elapsed := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v; want context.DeadlineExceeded", err)
	}
	if elapsed < deadline || elapsed > deadline+time.Second {
		t.Errorf("failed after %v; want about %v", elapsed, deadline)
	}
}

// TestPartition cuts an established connection the way a partition does:
// bytes vanish and nothing is closed. A request fails at its deadline, the
// client finds the connection dead by itself within about 1.5 s, and once
// the partition heals the next request dials a new connection.
func TestPartition(t *testing.T) {
	dir := newPKI(t, "alpha", "beta")
	srv := startServer(t, mustIdentity(t, dir, "beta"), "beta", nil)
	proxy := startPartitionProxy(t, srv.addr)
	res := newTestResolver()
	res.set("beta", proxy.addr())
	c := newTestClient(t, mustIdentity(t, dir, "alpha"), res)

	mustGet(t, c, "beta", "/before")
	proxy.setPartitioned(true)
	partitioned := time.Now()

	const deadline = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	_, _, err := get(ctx, c, "beta", "/during")
	elapsed := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("during the partition: err = %v; want context.DeadlineExceeded", err)
	}
	if elapsed < deadline || elapsed > deadline+time.Second {
		t.Errorf("during the partition: failed after %v; want about %v", elapsed, deadline)
	}

	// Only the client's PING health check can close the connection: the
	// proxy passes no close on while partitioned.
	waitFor(t, 10*time.Second, func() error {
		if proxy.clientClosed(0).IsZero() {
			return errors.New("the client has not closed the partitioned connection")
		}
		return nil
	})
	if took := proxy.clientClosed(0).Sub(partitioned); took > 3*time.Second {
		t.Errorf("the client closed the dead connection %v after the partition; want about 1.5 s", took)
	}

	proxy.setPartitioned(false)
	if _, body := mustGet(t, c, "beta", "/after"); body != "beta alpha /after" {
		t.Errorf("after the partition: body %q", body)
	}
	if n := proxy.acceptedCount(); n != 2 {
		t.Errorf("proxy accepted %d connections, want 2", n)
	}
	if n := res.count("beta"); n != 2 {
		t.Errorf("resolver asked %d times, want 2 (once per dial)", n)
	}
}

func TestResolverConsultedPerDial(t *testing.T) {
	dir := newPKI(t, "alpha", "beta")
	beta := mustIdentity(t, dir, "beta")
	one := startServer(t, beta, "one", nil)
	two := startServer(t, beta, "two", nil)
	res := newTestResolver()
	res.set("beta", one.addr)
	c := newTestClient(t, mustIdentity(t, dir, "alpha"), res)

	mustGet(t, c, "beta", "/")
	res.set("beta", two.addr)
	if _, body := mustGet(t, c, "beta", "/"); body != "one alpha /" {
		t.Errorf("with a connection open: body %q, want it from server one", body)
	}
	if n := res.count("beta"); n != 1 {
		t.Errorf("with a connection open: resolver asked %d times, want 1", n)
	}

	c.CloseIdleConnections()
	if _, body := mustGet(t, c, "beta", "/"); body != "two alpha /" {
		t.Errorf("after CloseIdleConnections: body %q, want it from server two", body)
	}
	// At least once more: the HTTP/2 transport may race a second dial.
	if n := res.count("beta"); n < 2 {
		t.Errorf("after CloseIdleConnections: resolver asked %d times, want it asked again", n)
	}

	// Server two goes away and beta is back at one's address: the client
	// notices the closed connection and dials again.
	res.set("beta", one.addr)
	if err := two.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, body, err := get(ctx, c, "beta", "/")
		if err != nil {
			return err
		}
		if body != "one alpha /" {
			return errors.New("answer from " + body)
		}
		return nil
	})
	if n := res.count("beta"); n < 3 {
		t.Errorf("after server two closed: resolver asked %d times, want 3 or more", n)
	}
}

func TestShutdown(t *testing.T) {
	dir := newPKI(t, "alpha", "beta")
	srv := startServer(t, mustIdentity(t, dir, "beta"), "beta", nil)
	res := newTestResolver()
	res.set("beta", srv.addr)
	c := newTestClient(t, mustIdentity(t, dir, "alpha"), res)
	mustGet(t, c, "beta", "/")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if _, _, err := get(ctx2, c, "beta", "/"); err == nil {
		t.Errorf("request after Shutdown succeeded")
	}
}
