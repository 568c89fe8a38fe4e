package linknet

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCutRefusesAndEndsRequests(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("X-Test-Region"); got != "a" {
			t.Errorf("X-Test-Region %q", got)
		}
		w.Write([]byte("first"))
		w.(http.Flusher).Flush()
		<-release
	}))
	defer srv.Close()
	defer close(release)
	n := New(srv.Client())
	n.SetAddr("b", srv.Listener.Addr().String())
	get := func() (*http.Response, error) {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://peer/x", nil)
		return n.Doer("a").Do(req, "b")
	}
	resp, err := get()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "first" {
		t.Fatalf("read %q, %v", buf, err)
	}
	n.Cut("b", "a", true) // either way round
	if _, err := resp.Body.Read(buf); err == nil || !strings.Contains(err.Error(), "partitioned") {
		t.Fatalf("read after the cut: %v", err)
	}
	resp.Body.Close()
	if _, err := get(); err == nil {
		t.Fatal("a request over a cut link went through")
	}
	n.Cut("a", "b", false)
	n.SetAddr("b", "")
	if _, err := get(); err == nil {
		t.Fatal("a request to a region that is down went through")
	}
}
