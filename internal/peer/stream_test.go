package peer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

const testProto = "polyregion-test/1"

// startStreamServer serves HTTP and an echo stream protocol that prefixes each line with the
// calling region.
func startStreamServer(t *testing.T, id *Identity) (*Server, string) {
	t.Helper()
	log := newTestLog(t)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		region, _ := RegionFrom(r.Context())
		fmt.Fprintf(w, "http from %s", region)
	})
	s := NewServer(id, h, nil, log.logger())
	s.HandleStream(testProto, func(c net.Conn, region string) {
		go func() {
			defer c.Close()
			sc := bufio.NewScanner(c)
			for sc.Scan() {
				if _, err := fmt.Fprintf(c, "%s said %s\n", region, sc.Text()); err != nil {
					return
				}
			}
		}()
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		_ = s.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve returned %v, want http.ErrServerClosed", err)
		}
	})
	return s, ln.Addr().String()
}

func TestStreamSharesTheListenerWithHTTP2(t *testing.T) {
	dir := newPKI(t, "us-east", "eu-west")
	_, addr := startStreamServer(t, mustIdentity(t, dir, "eu-west"))
	r := newTestResolver()
	r.set("eu-west", addr)
	c := newTestClient(t, mustIdentity(t, dir, "us-east"), r)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := c.DialStream(ctx, "eu-west", testProto)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(conn, "hello")
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if line != "us-east said hello\n" {
		t.Errorf("stream echo = %q", line)
	}

	resp, body, err := get(ctx, c, "eu-west", "/x")
	if err != nil {
		t.Fatal(err)
	}
	if resp.ProtoMajor != 2 || body != "http from us-east" {
		t.Errorf("HTTP beside the stream: proto %d, body %q", resp.ProtoMajor, body)
	}

	if _, err := c.DialStream(ctx, "eu-west", "polyregion-nothing/1"); err == nil || !strings.Contains(err.Error(), "does not serve") && !strings.Contains(err.Error(), "no application protocol") {
		t.Errorf("dial of an unserved protocol: err = %v", err)
	}
}

func TestStreamRefusesForeignCAAndWrongRegion(t *testing.T) {
	dir := newPKI(t, "us-east", "eu-west", "ap-southeast")
	_, addr := startStreamServer(t, mustIdentity(t, dir, "eu-west"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// A client from another CA.
	foreign := newPKI(t, "us-east", "eu-west")
	r := newTestResolver()
	r.set("eu-west", addr)
	fc := newTestClient(t, mustIdentity(t, foreign, "us-east"), r)
	if conn, err := fc.DialStream(ctx, "eu-west", testProto); err == nil {
		// TLS 1.3 reports a refused client certificate on the first read.
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintln(conn, "hello")
		if _, err := bufio.NewReader(conn).ReadString('\n'); err == nil {
			t.Error("a client with a certificate from a foreign CA got a stream")
		}
		conn.Close()
	}

	// Dialling ap-southeast but reaching eu-west.
	r2 := newTestResolver()
	r2.set("ap-southeast", addr)
	c := newTestClient(t, mustIdentity(t, dir, "us-east"), r2)
	if _, err := c.DialStream(ctx, "ap-southeast", testProto); err == nil {
		t.Error("the client accepted eu-west's certificate when dialling ap-southeast")
	}
}

func TestStreamClosedWithServer(t *testing.T) {
	dir := newPKI(t, "us-east", "eu-west")
	s, addr := startStreamServer(t, mustIdentity(t, dir, "eu-west"))
	r := newTestResolver()
	r.set("eu-west", addr)
	c := newTestClient(t, mustIdentity(t, dir, "us-east"), r)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := c.DialStream(ctx, "eu-west", testProto)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintln(conn, "one")
	br := bufio.NewReader(conn)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(br); err != nil && errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("stream still open after the server closed: %v", err)
	}
}
