package tables

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/polyregion/polyregion/internal/kv"
	"github.com/polyregion/polyregion/internal/peer"
	"github.com/polyregion/polyregion/internal/tables/attr"
)

// The backfill of a new replica. The new region asks the source region (the one that ran
// UpdateTable) for a snapshot over the peer transport; the source takes one kv snapshot and
// sends from it, in order:
//
//  1. its log position: the frontier of its change log, taken just before the snapshot, so
//     every record up to it is in the snapshot;
//  2. the cursors it stored for every other replica, which the snapshot's items reflect
//     exactly (a cursor is committed with the records it covers) — the new replica takes
//     them only when the others ship it what they ship the source (no residency attribute,
//     or both in one zone), and pulls the others from the beginning otherwise;
//  3. every item with its stamp (the zero stamp for items older than the table's global
//     life) and every tombstone, in chunks.
//
// The new replica applies the entries with replication.Decide, so nothing it already holds
// is clobbered, then stores its cursors: the position for the source, the source's cursors
// for the others. Its pulls start from there, and every write anywhere is either in the
// snapshot or after a cursor: none made during the backfill is lost (docs/design/0003).
// A backfill interrupted (a restart, a failure) starts over; applying by Decide makes the
// repetition harmless.

// PeerPrefix is where PeerHandler answers on the peer listener.
const PeerPrefix = "/peer/v1/tables/"

// Snapshot frames: uvarint(len) then a frame: type(1) and its body.
const (
	frameHeader  = 'H' // JSON snapshotHeader
	frameEntries = 'E' // uvarint(n) n × (str(key) str(stamp entry, or empty) opt(item))
	frameEnd     = 'Z' // uvarint(entries sent)

	snapshotChunk    = 256     // entries per frame
	maxSnapshotFrame = 8 << 20 // a frame's size bound (256 items of at most 400 KB would be more; chunks are cut by size too)
	snapshotBytes    = 1 << 20 // about how many bytes of entries one frame carries
)

// snapshotHeader opens a snapshot.
type snapshotHeader struct {
	TableID  string                    `json:"tableId"`
	Position uint64                    `json:"position"`
	Cursors  map[string]snapshotCursor `json:"cursors"`
	Entries  int                       `json:"entries"`
}

type snapshotCursor struct {
	Position uint64 `json:"position"`
	ID       string `json:"id"` // the replica incarnation the cursor was stored for
}

// PeerHandler serves the region-to-region requests of the tables service: GET
// PeerPrefix<table>/snapshot, a new replica's backfill. Mount it at PeerPrefix on the peer
// listener.
func (s *Service) PeerHandler() http.Handler {
	return http.HandlerFunc(s.servePeer)
}

// peerCaller names the region a peer request comes from.
func (s *Service) peerCaller(r *http.Request) (string, bool) {
	if s.opts.PeerCaller != nil {
		return s.opts.PeerCaller(r)
	}
	return peer.RegionFrom(r.Context())
}

func (s *Service) servePeer(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), PeerPrefix)
	name, op, _ := strings.Cut(rest, "/")
	if !ok || op != "snapshot" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet {
		http.Error(w, "tables: GET only", http.StatusMethodNotAllowed)
		return
	}
	name, err := url.PathUnescape(name)
	if err != nil {
		http.Error(w, "tables: bad table name", http.StatusBadRequest)
		return
	}
	caller, ok := s.peerCaller(r)
	if !ok {
		http.Error(w, "tables: the calling region is unknown", http.StatusForbidden)
		return
	}
	t, g, err := s.globalTableNamed(name, caller)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	if g.replicaOf(s.opts.Region).Status != replicaActive || caller == s.opts.Region {
		http.Error(w, fmt.Sprintf("tables: %s is not an active replica of %s", s.opts.Region, name), http.StatusServiceUnavailable)
		return
	}
	if err := s.writeSnapshot(w, t, g, caller); err != nil {
		s.logger.Warn("global table: sending a backfill snapshot failed", "table", name, "to", caller, "err", err)
	}
}

// writeSnapshot streams the snapshot of t for region to.
func (s *Service) writeSnapshot(w http.ResponseWriter, t *table, g *globalLocal, to string) error {
	frontier, _, _ := t.log.position(nil)
	snap, err := s.store.Snapshot()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return err
	}
	defer snap.Close()
	h := snapshotHeader{TableID: t.meta.ID, Position: frontier, Cursors: map[string]snapshotCursor{}}
	for _, r := range g.Record.Replicas {
		if r.Region == s.opts.Region || r.Region == to {
			continue
		}
		pos, err := s.readCursor(snap, t, r.Region, r.ID)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return err
		}
		h.Cursors[r.Region] = snapshotCursor{Position: pos, ID: r.ID}
	}
	res := residencyOf(t.currentSettings().tags)
	allowed := func(item []byte, st stampEntry) (bool, error) {
		zones := st.zones
		if item != nil && res.attribute != "" {
			it, err := attr.DecodeItem(item)
			if err != nil {
				return false, err
			}
			zones, _ = res.pinOf(it)
		}
		return s.pinAllows(zones, to), nil
	}
	if err := s.eachEntry(snap, t, func(_, item []byte, st stampEntry) error {
		ok, err := allowed(item, st)
		if ok {
			h.Entries++
		}
		return err
	}); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return err
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	hb, _ := json.Marshal(h)
	bw := bufio.NewWriter(w)
	if err := writeFrame(bw, frameHeader, hb); err != nil {
		return err
	}
	var body []byte
	n, sent := 0, 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		frame := binary.AppendUvarint(nil, uint64(n))
		if err := writeFrame(bw, frameEntries, append(frame, body...)); err != nil {
			return err
		}
		body, n = body[:0], 0
		if err := bw.Flush(); err != nil {
			return err
		}
		if flusher != nil {
			flusher.Flush()
		}
		return nil
	}
	err = s.eachEntry(snap, t, func(key, item []byte, st stampEntry) error {
		if ok, err := allowed(item, st); err != nil || !ok {
			return err
		}
		body = appendStr(body, key)
		if st.stamp.Version.IsZero() {
			body = appendStr(body, nil)
		} else {
			body = appendStr(body, st.encode())
		}
		if item == nil {
			body = binary.AppendUvarint(body, 0)
		} else {
			body = binary.AppendUvarint(body, uint64(len(item))+1)
			body = append(body, item...)
		}
		n++
		sent++
		if n >= snapshotChunk || len(body) >= snapshotBytes {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	if err := writeFrame(bw, frameEnd, binary.AppendUvarint(nil, uint64(sent))); err != nil {
		return err
	}
	return bw.Flush()
}

// eachEntry calls fn for every key of t in r that has an item, a stamp, or both, in key
// order: its encoding, its item (nil for a tombstone) and its stamp (zero if none).
func (s *Service) eachEntry(r kv.Reader, t *table, fn func(key, item []byte, st stampEntry) error) error {
	items, err := r.Iter(t.items, kv.PrefixEnd(t.items))
	if err != nil {
		return err
	}
	defer items.Close()
	sp := t.stampsPrefix()
	stamps, err := r.Iter(sp, kv.PrefixEnd(sp))
	if err != nil {
		return err
	}
	defer stamps.Close()
	haveItem, haveStamp := items.Next(), stamps.Next()
	for haveItem || haveStamp {
		var ik, sk []byte
		if haveItem {
			ik = items.Key()[len(t.items):]
		}
		if haveStamp {
			sk = stamps.Key()[len(sp):]
		}
		c := 0
		switch {
		case !haveItem:
			c = 1
		case !haveStamp:
			c = -1
		default:
			c = strings.Compare(string(ik), string(sk))
		}
		var key, item []byte
		var st stampEntry
		if c <= 0 {
			key, item = ik, items.Value()
		}
		if c >= 0 {
			key = sk
			if st, err = decodeStampEntry(stamps.Value()); err != nil {
				return fmt.Errorf("stamp %q of %s: %w", stamps.Key(), t.meta.Name, err)
			}
		}
		if err := fn(key, item, st); err != nil {
			return err
		}
		if c <= 0 {
			haveItem = items.Next()
		}
		if c >= 0 {
			haveStamp = stamps.Next()
		}
	}
	if err := items.Close(); err != nil {
		return err
	}
	return stamps.Close()
}

func appendStr(b, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func writeFrame(w io.Writer, typ byte, body []byte) error {
	hdr := binary.AppendUvarint(nil, uint64(len(body)+1))
	hdr = append(hdr, typ)
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	_, err := w.Write(body)
	return err
}

var errBadSnapshot = errors.New("tables: malformed backfill snapshot")

func readFrame(r *bufio.Reader) (byte, []byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return 0, nil, err
	}
	if n == 0 || n > maxSnapshotFrame {
		return 0, nil, fmt.Errorf("%w: frame of %d bytes", errBadSnapshot, n)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return 0, nil, err
	}
	return buf[0], buf[1:], nil
}

// decodeEntries parses an entries frame.
func decodeEntries(b []byte) ([]incomingWrite, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return nil, errBadSnapshot
	}
	b = b[k:]
	str := func() ([]byte, bool) {
		l, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < l {
			return nil, false
		}
		s := b[k : k+int(l)]
		b = b[k+int(l):]
		return s, true
	}
	out := make([]incomingWrite, 0, n)
	for range n {
		key, ok := str()
		if !ok {
			return nil, errBadSnapshot
		}
		stamp, ok := str()
		if !ok {
			return nil, errBadSnapshot
		}
		l, k := binary.Uvarint(b)
		if k <= 0 || l > 0 && uint64(len(b)-k) < l-1 {
			return nil, errBadSnapshot
		}
		w := incomingWrite{key: key}
		if l > 0 {
			w.item = b[k : k+int(l-1)]
			b = b[k+int(l-1):]
		} else {
			b = b[k:]
		}
		if len(stamp) > 0 {
			st, err := decodeStampEntry(stamp)
			if err != nil {
				return nil, fmt.Errorf("%w: %v", errBadSnapshot, err)
			}
			w.version, w.context, w.deleted, w.zones = st.stamp.Version, st.stamp.Context, st.deleted, st.zones
		}
		if w.item == nil {
			w.deleted = true
		}
		out = append(out, w)
	}
	if len(b) != 0 {
		return nil, errBadSnapshot
	}
	return out, nil
}

// backfillReplica fills this region's new replica t from its source, stores its cursors
// and marks it imported. See the top of this file.
func (s *Service) backfillReplica(ctx context.Context, t *table, me replicaState) error {
	if s.opts.Peers == nil {
		return errors.New("no peer transport to backfill from")
	}
	name := t.meta.Name
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, PeerPrefix+url.PathEscape(name)+"/snapshot", nil)
	if err != nil {
		return err
	}
	resp, err := s.opts.Peers.Do(req, me.Source)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("snapshot from %s answered %s: %s", me.Source, resp.Status, strings.TrimSpace(string(msg)))
	}
	br := bufio.NewReader(resp.Body)
	typ, body, err := readFrame(br)
	if err != nil {
		return err
	}
	var h snapshotHeader
	if typ != frameHeader || json.Unmarshal(body, &h) != nil {
		return fmt.Errorf("%w: no header", errBadSnapshot)
	}
	applied, reported := 0, 0
	for chunk := 0; ; chunk++ {
		typ, body, err := readFrame(br)
		if err != nil {
			return fmt.Errorf("reading the snapshot from %s: %w", me.Source, err)
		}
		if typ == frameEnd {
			n, k := binary.Uvarint(body)
			if k <= 0 || int(n) != applied {
				return fmt.Errorf("%w: %d entries announced at the end, %d received", errBadSnapshot, n, applied)
			}
			break
		}
		if typ != frameEntries {
			return fmt.Errorf("%w: frame type %q", errBadSnapshot, typ)
		}
		ws, err := decodeEntries(body)
		if err != nil {
			return err
		}
		if hook := s.replicaBackfillHook.Load(); hook != nil {
			if err := (*hook)(name, chunk); err != nil {
				return err
			}
		}
		n, err := s.applyIncoming(t, ws, false, nil)
		if err != nil {
			return err
		}
		s.opts.ReplicationMetrics.CountConflicts(replicationService, name, n)
		applied += len(ws)
		if h.Entries > 0 {
			if pct := applied * 100 / h.Entries; pct/25 > reported/25 && pct < 100 {
				reported = pct
				s.reportProgress(ctx, name, me.ID, pct)
			}
		}
	}
	// The cursors: the source's position, and the source's cursors for the others.
	if err := s.finishBackfill(t, me, &h); err != nil {
		return err
	}
	s.logger.Info("global table: backfill applied", "table", name, "source", me.Source, "entries", applied, "position", h.Position)
	s.refreshSubscriptions()
	return nil
}

// finishBackfill stores the cursors a snapshot brought and marks the replica imported.
func (s *Service) finishBackfill(t *table, me replicaState, h *snapshotHeader) error {
	name := t.meta.Name
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := t.currentSettings()
	if s.tables[name] != t || cur.global == nil {
		return fmt.Errorf("table %s went away during its backfill", name)
	}
	rec := cur.global.Record
	b := s.store.NewBatch()
	setCursor(b, t, me.Source, rec.replica(me.Source).ID, h.Position)
	// The source's cursors are good for this region only if the other regions shipped the
	// source everything they ship here: with pinned items, only within one zone. Otherwise
	// this region pulls the others from their beginning (what it already holds is stale).
	if residencyOf(cur.tags).attribute == "" || s.zoneOf(me.Source) == s.zoneOf(s.opts.Region) {
		for region, c := range h.Cursors {
			if region != s.opts.Region && region != me.Source && rec.replica(region).ID == c.ID && c.ID != "" {
				setCursor(b, t, region, c.ID, c.Position)
			}
		}
	}
	if err := s.store.Commit(b, kv.CommitOptions{Sync: true}); err != nil {
		return fmt.Errorf("storing the cursors of %s: %w", name, err)
	}
	g := *cur.global
	g.Imported = true
	return s.saveSettings(t, withGlobal(cur, &g))
}

// withGlobal returns set with global g.
func withGlobal(set tableSettings, g *globalLocal) tableSettings {
	set.global = g
	return set
}

// reportProgress records a backfill's progress in the membership record (best effort).
func (s *Service) reportProgress(ctx context.Context, name, id string, pct int) {
	if s.opts.Control == nil {
		return
	}
	_, _, err := s.updateRecord(ctx, name, func(g *globalTable) (bool, error) {
		for i := range g.Replicas {
			if g.Replicas[i].Region == s.opts.Region && g.Replicas[i].ID == id && g.Replicas[i].Status == replicaCreating {
				g.Replicas[i].Progress = pct
			}
		}
		return false, nil
	})
	if err != nil && ctx.Err() == nil {
		s.logger.Debug("global table: reporting backfill progress failed", "table", name, "err", err)
	}
}
