package health_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/polyregion/polyregion/internal/health"
)

// Example is the example of the README: one region's Monitor probing a local endpoint, and
// a consumer that waits for the first known status.
func Example() {
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "status: OK")
	}))
	defer endpoint.Close()
	port := endpoint.Listener.Addr().(*net.TCPAddr).Port

	m, err := health.New(health.Options{
		Region: "eu-west",
		Logger: slog.New(slog.DiscardHandler).With("component", "health"),
		Publish: func(o health.Observation) {
			// Ship o to the other regions; their monitors call Observe(o).
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = m.SetChecks([]health.Check{{
		ID:              "web",
		Type:            health.TypeHTTPStrMatch,
		IPAddress:       "127.0.0.1",
		Port:            port,
		ResourcePath:    "/health",
		SearchString:    "status: OK",
		RequestInterval: health.Duration(10 * time.Second),
	}})
	if err != nil {
		fmt.Println(err)
		return
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()

	for snap := range m.Watch(ctx) {
		healthy, known := snap.Healthy("web")
		if !known {
			fmt.Println("web: initializing, healthy (fail open):", healthy)
			continue
		}
		fmt.Println("web: healthy:", healthy)
		break
	}
	status, _ := m.Status("web")
	fmt.Println(status.Reason)

	cancel()
	<-done
	// Output:
	// web: initializing, healthy (fail open): true
	// web: healthy: true
	// 1 of 1 vantage points report healthy (more than 18% needed)
}
