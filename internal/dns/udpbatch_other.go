//go:build !linux

package dns

import (
	"context"
	"net"
)

// serveUDPBatch reads datagrams in batches on Linux only; elsewhere serveUDP reads one at a
// time.
func (s *Server) serveUDPBatch(context.Context, *net.UDPConn) (bool, error) { return false, nil }
