package replication

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// memLog is a Log of one stream held in memory: every record is this region's, and a read
// that reaches the end is caught up (it carries a watermark).
type memLog struct {
	mu      sync.Mutex
	records []Record
}

func (l *memLog) append(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	seq := uint64(len(l.records) + 1)
	l.records = append(l.records, Record{Seq: seq, Version: Version{TS: Timestamp{Wall: int64(seq)}, Region: "us-east"}, Key: []byte(key), Data: []byte("v")})
}

func (l *memLog) Read(stream, to string, after uint64, maxBytes int) (*Batch, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := uint64(len(l.records))
	b := &Batch{Next: n, Head: n, Watermark: Timestamp{Wall: int64(n) + 1}}
	if after < n {
		b.Records = append(b.Records, l.records[after:]...)
	}
	return b, nil
}

// TestPaceGathersCommitsIntoOneFrame: the commits made just after a frame went out wait for
// the pace and go out together in the next frame; a lone commit goes at once.
func TestPaceGathersCommitsIntoOneFrame(t *testing.T) {
	const pace = time.Second // far longer than appending five records takes
	log := &memLog{}
	srv := NewServer(ServerOptions{Pace: pace, Heartbeat: time.Hour, Caller: func(*http.Request) (string, bool) { return "eu-west", true }})
	srv.Register("svc", log)
	hs := httptest.NewServer(srv)
	defer hs.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, hs.URL+pullPath("svc", "s", 0), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body := bufio.NewReader(resp.Body)
	next := func() *Batch {
		t.Helper()
		b, err := ReadBatch(body)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if b := next(); len(b.Records) != 0 {
		t.Fatalf("first frame: %d records, want the empty opening frame", len(b.Records))
	}
	// A lone commit goes out at once.
	began := time.Now()
	log.append("k1")
	srv.Notify("svc", "s")
	if b := next(); len(b.Records) != 1 {
		t.Fatalf("lone commit: frame of %d records", len(b.Records))
	}
	if took := time.Since(began); took >= pace {
		t.Fatalf("a lone commit took %v to go out (pace %v)", took, pace)
	}
	// The five that follow at once wait for the pace (counted from the last frame) and go
	// together.
	after := time.Now()
	for i := range 5 {
		log.append(fmt.Sprint("k", i+2))
		srv.Notify("svc", "s")
	}
	if b := next(); len(b.Records) != 5 {
		t.Fatalf("commits right after a frame: a frame of %d records, want all 5 in one", len(b.Records))
	}
	if took := time.Since(after); took < pace/2 {
		t.Fatalf("commits right after a frame went out %v later, want about the pace (%v)", took, pace)
	}
}

// TestCloseEndsPulls: Close ends the pulls being served (they never end by themselves, and
// a graceful shutdown of the listener would wait for them) and refuses new ones.
func TestCloseEndsPulls(t *testing.T) {
	srv := NewServer(ServerOptions{Heartbeat: time.Hour, Caller: func(*http.Request) (string, bool) { return "eu-west", true }})
	srv.Register("svc", &memLog{})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	resp, err := http.Get(hs.URL + pullPath("svc", "s", 0))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body := bufio.NewReader(resp.Body)
	if _, err := ReadBatch(body); err != nil {
		t.Fatalf("opening frame: %v", err)
	}
	srv.Close()
	if b, err := ReadBatch(body); err != io.EOF {
		t.Fatalf("after Close: %+v, %v; want the pull ended (io.EOF)", b, err)
	}
	resp2, err := http.Get(hs.URL + pullPath("svc", "s", 0))
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a pull after Close: %s, want 503", resp2.Status)
	}
}
