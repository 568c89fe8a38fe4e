package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/polyregion/polyregion/internal/awsapi"
	"github.com/polyregion/polyregion/internal/tables"
)

// regionTables is a region's DynamoDB-compatible table service and its listener.
type regionTables struct {
	svc *tables.Service
	ln  net.Listener
	srv *http.Server
}

// openTables binds the DynamoDB listener and opens the table service on the region's store.
func (r *Region) openTables() error {
	addr := r.self.Listen.DynamoDB
	if addr == "" {
		return nil
	}
	var creds []awsapi.Credentials
	if c := r.cfg.Credentials; c.AccessKeyID != "" {
		creds = append(creds, awsapi.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey})
	}
	logger := r.logger.With("component", "tables")
	zones := map[string]string{}
	for _, reg := range r.cfg.Regions {
		zones[reg.Name] = reg.Zone
	}
	svc, err := tables.New(tables.Options{Region: r.name, Store: r.db, Credentials: creds, Logger: logger, Registerer: r.registry,
		Control: r.control, Clock: r.clock, Replication: r.replication, Peers: r.client, Zones: zones,
		ReplicationMetrics: r.replicationMetrics})
	if err != nil {
		return fmt.Errorf("region %s: %w", r.name, err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("region %s: dynamodb listener: %w", r.name, err)
	}
	r.tables = &regionTables{svc: svc, ln: ln, srv: &http.Server{
		Handler:           svc.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}}
	url := "http://" + ln.Addr().String()
	r.endpoints.DynamoDB, r.endpoints.DynamoDBStreams = url, url
	return nil
}

// runTables serves the table service until ctx ends.
func (r *Region) runTables(ctx context.Context) {
	if r.tables == nil {
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := r.tables.svc.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			r.logger.Error("tables background work", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = r.tables.srv.Shutdown(sctx)
	}()
	if err := r.tables.srv.Serve(r.tables.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		r.logger.Error("dynamodb server", "err", err)
	}
	<-done
}
