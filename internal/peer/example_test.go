package peer_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"

	"github.com/polyregion/polyregion/internal/peer"
)

// Region us-east calls region eu-west, which answers with the caller's name.
func Example() {
	dataDir, err := os.MkdirTemp("", "polyregion")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dataDir)
	pkiDir := filepath.Join(dataDir, "pki")

	// polyregion init: a CA and a certificate per region.
	if err := peer.EnsurePKI(pkiDir, []string{"us-east", "eu-west"}); err != nil {
		log.Fatal(err)
	}

	// The eu-west process serves its API to the other regions.
	euWest, err := peer.LoadIdentity(pkiDir, "eu-west")
	if err != nil {
		log.Fatal(err)
	}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, _ := peer.RegionFrom(r.Context())
		fmt.Fprintf(w, "hello %s", caller)
	})
	srv := peer.NewServer(euWest, api, nil, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	// The us-east process calls eu-west by name; the resolver says where
	// eu-west listens (or the proxy in front of it) at the time of the dial.
	usEast, err := peer.LoadIdentity(pkiDir, "us-east")
	if err != nil {
		log.Fatal(err)
	}
	client := peer.NewClient(usEast, func(region string) (string, error) {
		return ln.Addr().String(), nil
	})
	defer client.CloseIdleConnections()

	req, err := http.NewRequest(http.MethodGet, "/v1/hello", nil)
	if err != nil {
		log.Fatal(err)
	}
	resp, err := client.Do(req, "eu-west")
	if err != nil {
		log.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Proto, string(body))

	if err := srv.Shutdown(context.Background()); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-served)
	// Output:
	// HTTP/2.0 hello us-east
	// http: Server closed
}
