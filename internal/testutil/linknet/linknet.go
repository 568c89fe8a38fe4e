// Package linknet is the network between the regions of an in-process test fleet: plain
// HTTP from one region to another's peer listener, through links a test can cut and heal.
// A cut link refuses new requests and ends those under way: their response bodies fail as
// soon as it is cut, as bytes in transit would be lost.
package linknet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
)

// Net is the links of one fleet. The zero value is not usable; see New.
type Net struct {
	client *http.Client

	mu    sync.Mutex
	addrs map[string]string // peer listener of each region up
	cut   map[[2]string]bool
	ctx   map[[2]string]context.Context // ended when the link is cut
	end   map[[2]string]context.CancelFunc
}

// New returns a network whose requests go through client, every link up.
func New(client *http.Client) *Net {
	return &Net{client: client, addrs: map[string]string{}, cut: map[[2]string]bool{},
		ctx: map[[2]string]context.Context{}, end: map[[2]string]context.CancelFunc{}}
}

// SetAddr records region's peer listener; "" takes the region off the network.
func (n *Net) SetAddr(region, addr string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.addrs[region] = addr
}

// Cut cuts (or, cut false, heals) the link between a and b, both directions.
func (n *Net) Cut(a, b string, cut bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	l := key(a, b)
	n.cut[l] = cut
	if cut {
		if end := n.end[l]; end != nil {
			end()
		}
		delete(n.ctx, l)
		delete(n.end, l)
	}
}

// Close ends every request under way and closes the client's idle connections.
func (n *Net) Close() {
	n.mu.Lock()
	for l, end := range n.end {
		end()
		delete(n.ctx, l)
		delete(n.end, l)
	}
	n.mu.Unlock()
	n.client.CloseIdleConnections()
}

// Doer is how region from reaches the others: its Do has the signature of the peer
// transport's client (a request and the region it is for).
func (n *Net) Doer(from string) Doer { return Doer{from: from, net: n} }

// Doer sends one region's requests over the network.
type Doer struct {
	from string
	net  *Net
}

// Do sends req to region's peer listener, with the X-Test-Region header naming the caller,
// or fails at once when the link is cut or the region is down.
func (d Doer) Do(req *http.Request, region string) (*http.Response, error) {
	n := d.net
	n.mu.Lock()
	addr := n.addrs[region]
	l := key(d.from, region)
	cut := n.cut[l]
	link, ok := n.ctx[l]
	if !ok {
		link, n.end[l] = context.WithCancel(context.Background())
		n.ctx[l] = link
	}
	n.mu.Unlock()
	if cut || addr == "" {
		return nil, fmt.Errorf("partitioned from %s", region)
	}
	out := req.Clone(req.Context())
	out.URL = &url.URL{Scheme: "http", Host: addr, Path: req.URL.Path, RawPath: req.URL.RawPath, RawQuery: req.URL.RawQuery}
	out.RequestURI = ""
	out.Header = req.Header.Clone()
	out.Header.Set("X-Test-Region", d.from)
	reqCtx, cancel := context.WithCancel(req.Context())
	stop := context.AfterFunc(link, cancel)
	out = out.WithContext(reqCtx)
	resp, err := n.client.Do(out)
	if err != nil {
		stop()
		cancel()
		return nil, err
	}
	resp.Body = &linkBody{ReadCloser: resp.Body, link: link, done: func() { stop(); cancel() }}
	return resp, nil
}

// linkBody is a response body over a link: reads fail as soon as the link is cut (the
// request's cancellation, which follows, is asynchronous), and closing it releases the
// request.
type linkBody struct {
	io.ReadCloser
	link context.Context
	done func()
}

func (b *linkBody) Read(p []byte) (int, error) {
	if b.link.Err() != nil {
		return 0, errPartitioned
	}
	n, err := b.ReadCloser.Read(p)
	if b.link.Err() != nil { // cut while reading: what came is lost in transit
		return 0, errPartitioned
	}
	return n, err
}

func (b *linkBody) Close() error {
	err := b.ReadCloser.Close()
	b.done()
	return err
}

var errPartitioned = errors.New("partitioned")

// key is the link between a and b, whichever way.
func key(a, b string) [2]string {
	if a > b {
		a, b = b, a
	}
	return [2]string{a, b}
}
