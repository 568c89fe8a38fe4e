package route53api

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/polyregion/polyregion/internal/control"
	"github.com/polyregion/polyregion/internal/dns/zone"
)

// newZoneID returns "Z" and 20 random upper-case letters and digits, as Route 53's ids.
func newZoneID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "Z" + string(b)
}

// bareID strips a "/hostedzone/" (or any "/kind/") prefix from an id.
func bareID(id string) string {
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		return id[i+1:]
	}
	return id
}

// Change ids encode the control-plane index and the submission time, so GetChange needs no
// stored state: "C", 16 hex digits of index, 12 of Unix milliseconds.
func changeID(index uint64, at time.Time) string {
	return fmt.Sprintf("C%016X%012X", index, at.UnixMilli())
}

func parseChangeID(id string) (index uint64, at time.Time, ok bool) {
	if len(id) != 29 || id[0] != 'C' {
		return 0, time.Time{}, false
	}
	index, err1 := strconv.ParseUint(id[1:17], 16, 64)
	ms, err2 := strconv.ParseInt(id[17:], 16, 64)
	if err1 != nil || err2 != nil || id[1:] != strings.ToUpper(id[1:]) {
		return 0, time.Time{}, false
	}
	return index, time.UnixMilli(ms).UTC(), true
}

// timestamp formats a time as the API does.
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (a *api) changeInfo(rc *requestContext, index uint64, comment string) xmlChangeInfo {
	return xmlChangeInfo{ID: "/change/" + changeID(index, rc.now), Status: "PENDING", SubmittedAt: timestamp(rc.now), Comment: comment}
}

// decodeAll decodes every resource of a kind.
func decodeAll[T any](st *control.State, kind string) ([]T, []control.Resource, error) {
	rs := st.List(kind)
	out := make([]T, 0, len(rs))
	for _, r := range rs {
		var v T
		if err := json.Unmarshal(r.Value, &v); err != nil {
			return nil, nil, fmt.Errorf("route53api: %s %q: %w", kind, r.ID, err)
		}
		out = append(out, v)
	}
	return out, rs, nil
}

// hostedZone returns a zone by id.
func hostedZone(st *control.State, id string) (zone.HostedZone, control.Resource, error) {
	res, ok := st.Get(zone.KindHostedZone, id)
	if !ok {
		return zone.HostedZone{}, res, noSuchHostedZone(id)
	}
	var z zone.HostedZone
	if err := json.Unmarshal(res.Value, &z); err != nil {
		return z, res, fmt.Errorf("route53api: hosted zone %q: %w", id, err)
	}
	return z, res, nil
}

// recordSets returns a zone's stored record sets, sorted by id, with their resources.
func recordSets(st *control.State, zoneID string) ([]zone.RecordSet, []control.Resource, error) {
	var sets []zone.RecordSet
	var rs []control.Resource
	for _, r := range st.List(zone.KindRecordSet) {
		if !strings.HasPrefix(r.ID, zoneID+"|") {
			continue
		}
		var s zone.RecordSet
		if err := json.Unmarshal(r.Value, &s); err != nil {
			return nil, nil, fmt.Errorf("route53api: record set %q: %w", r.ID, err)
		}
		sets = append(sets, s)
		rs = append(rs, r)
	}
	return sets, rs, nil
}

func (a *api) xmlZone(st *control.State, z zone.HostedZone) (xmlHostedZone, error) {
	sets, _, err := recordSets(st, z.ID)
	if err != nil {
		return xmlHostedZone{}, err
	}
	return xmlHostedZone{
		ID: "/hostedzone/" + z.ID, Name: z.Name, CallerReference: z.CallerReference,
		Config:                 xmlHostedZoneConfig{Comment: z.Comment, PrivateZone: new(bool)},
		ResourceRecordSetCount: int64(len(sets)) + 2, // and the apex SOA and NS
	}, nil
}

func (a *api) delegationSet(z zone.HostedZone) xmlDelegationSet {
	return xmlDelegationSet{NameServers: a.opts.NameServers(z.Name)}
}

// checkDomainName validates and canonicalizes a zone name.
func checkDomainName(name string) (string, error) {
	n := zone.CanonicalName(unescapeName(strings.TrimSpace(name)))
	if name == "" || n == "." {
		return "", invalidInput("Name is required")
	}
	if _, ok := dns.IsDomainName(n); !ok || len(n) > 255 || strings.Contains(n, "..") || strings.Contains(n, "*") {
		return "", errorf(http.StatusBadRequest, "InvalidDomainName", "%s is not a valid domain name", name)
	}
	for label := range strings.SplitSeq(strings.TrimSuffix(n, "."), ".") {
		if len(label) > 63 {
			return "", errorf(http.StatusBadRequest, "InvalidDomainName", "%s has a label longer than 63 characters", name)
		}
	}
	return n, nil
}

func (a *api) createHostedZone(w http.ResponseWriter, r *http.Request, rc *requestContext) error {
	var req createHostedZoneRequest
	if err := readXML(r, &req); err != nil {
		return err
	}
	switch {
	case req.CallerReference == "" || len(req.CallerReference) > 128:
		return invalidInput("CallerReference must be 1 to 128 characters")
	case req.VPC != nil || req.HostedZoneConfig != nil && req.HostedZoneConfig.PrivateZone != nil && *req.HostedZoneConfig.PrivateZone:
		return invalidInput("private hosted zones are not supported: polyregion serves public zones")
	case req.DelegationSetID != "":
		return errorf(http.StatusBadRequest, "NoSuchDelegationSet", "reusable delegation sets are not supported")
	}
	name, err := checkDomainName(req.Name)
	if err != nil {
		return err
	}
	z := zone.HostedZone{ID: newZoneID(), Name: name, CallerReference: req.CallerReference}
	if req.HostedZoneConfig != nil {
		if len(req.HostedZoneConfig.Comment) > 256 {
			return invalidInput("the comment is longer than 256 characters")
		}
		z.Comment = req.HostedZoneConfig.Comment
	}
	for attempt := 0; ; attempt++ {
		st := a.opts.Store.State()
		zones, _, err := decodeAll[zone.HostedZone](st, zone.KindHostedZone)
		if err != nil {
			return err
		}
		for _, other := range zones {
			switch {
			case other.CallerReference == z.CallerReference && other.Name == z.Name:
				// A retry of a create that succeeded: answer as the first time.
				return a.answerCreatedZone(w, r, rc, st, other, st.Index())
			case other.CallerReference == z.CallerReference:
				return errorf(http.StatusConflict, "HostedZoneAlreadyExists",
					"A hosted zone has already been created with the specified caller reference (for %s).", other.Name)
			case other.Name == z.Name:
				return errorf(http.StatusBadRequest, "ConflictingDomainExists",
					"polyregion already serves a hosted zone named %s (%s); it serves one zone per name", z.Name, other.ID)
			}
		}
		v, _ := json.Marshal(z)
		res, err := a.apply(r.Context(), control.Op{Kind: zone.KindHostedZone, ID: z.ID, Value: v, Expect: control.ExpectAbsent})
		if err != nil && attempt < 2 && errors.Is(err, control.ErrInvalid) {
			continue // a concurrent create of the same name or caller reference: answer from the new state
		}
		if err != nil {
			return err
		}
		return a.answerCreatedZone(w, r, rc, a.opts.Store.State(), z, res.Index)
	}
}

func (a *api) answerCreatedZone(w http.ResponseWriter, r *http.Request, rc *requestContext, st *control.State, z zone.HostedZone, index uint64) error {
	xz, err := a.xmlZone(st, z)
	if err != nil {
		return err
	}
	w.Header().Set("Location", locationOf(r, Prefix+"hostedzone/"+z.ID))
	return writeXML(w, rc, http.StatusCreated, createHostedZoneResponse{
		Xmlns: Namespace, HostedZone: xz, ChangeInfo: a.changeInfo(rc, index, ""), DelegationSet: a.delegationSet(z),
	})
}

func (a *api) getHostedZone(w http.ResponseWriter, r *http.Request, rc *requestContext) error {
	st := a.opts.Store.State()
	z, _, err := hostedZone(st, bareID(r.PathValue("id")))
	if err != nil {
		return err
	}
	xz, err := a.xmlZone(st, z)
	if err != nil {
		return err
	}
	return writeXML(w, rc, http.StatusOK, getHostedZoneResponse{Xmlns: Namespace, HostedZone: xz, DelegationSet: a.delegationSet(z)})
}

// maxItems parses a maxitems-style query parameter.
func maxItems(r *http.Request, param string, def, limit int) (int, error) {
	s := r.URL.Query().Get(param)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, invalidInput("%s must be a positive number", param)
	}
	return min(n, limit), nil
}

func (a *api) listHostedZones(w http.ResponseWriter, r *http.Request, rc *requestContext) error {
	q := r.URL.Query()
	limit, err := maxItems(r, "maxitems", 100, 100)
	if err != nil {
		return err
	}
	marker := q.Get("marker")
	resp := listHostedZonesResponse{Xmlns: Namespace, Marker: marker, MaxItems: limit}
	if t := q.Get("hostedzonetype"); t != "" && t != "PublicHostedZone" {
		return writeXML(w, rc, http.StatusOK, resp) // no private zones
	}
	if q.Get("delegationsetid") != "" {
		return errorf(http.StatusBadRequest, "NoSuchDelegationSet", "reusable delegation sets are not supported")
	}
	st := a.opts.Store.State()
	zones, _, err := decodeAll[zone.HostedZone](st, zone.KindHostedZone)
	if err != nil {
		return err
	}
	for _, z := range zones {
		if marker != "" && z.ID < marker {
			continue
		}
		if len(resp.HostedZones) == limit {
			resp.IsTruncated, resp.NextMarker = true, z.ID
			break
		}
		xz, err := a.xmlZone(st, z)
		if err != nil {
			return err
		}
		resp.HostedZones = append(resp.HostedZones, xz)
	}
	return writeXML(w, rc, http.StatusOK, resp)
}

func (a *api) deleteHostedZone(w http.ResponseWriter, r *http.Request, rc *requestContext) error {
	st := a.opts.Store.State()
	id := bareID(r.PathValue("id"))
	z, res, err := hostedZone(st, id)
	if err != nil {
		return err
	}
	if z.FromConfig {
		return invalidInput("hosted zone %s (%s) is declared in polyregion's configuration; remove it there", z.Name, id)
	}
	sets, _, err := recordSets(st, id)
	if err != nil {
		return err
	}
	if len(sets) > 0 {
		return errorf(http.StatusBadRequest, "HostedZoneNotEmpty",
			"The specified hosted zone contains non-required resource record sets and so cannot be deleted (%d record sets besides the apex SOA and NS).", len(sets))
	}
	result, err := a.apply(r.Context(), control.Op{Kind: zone.KindHostedZone, ID: id, Delete: true, Expect: control.ExpectVersion, Version: res.Version})
	if err != nil {
		if errors.Is(err, control.ErrInvalid) {
			return errorf(http.StatusBadRequest, "HostedZoneNotEmpty", "The specified hosted zone contains non-required resource record sets and so cannot be deleted.")
		}
		return err
	}
	return writeXML(w, rc, http.StatusOK, changeInfoResponse{XMLName: xmlName("DeleteHostedZoneResponse"), Xmlns: Namespace, ChangeInfo: a.changeInfo(rc, result.Index, "")})
}

func (a *api) getChange(w http.ResponseWriter, r *http.Request, rc *requestContext) error {
	id := bareID(r.PathValue("id"))
	index, at, ok := parseChangeID(id)
	if !ok {
		return errorf(http.StatusNotFound, "NoSuchChange", "A change with the specified change ID does not exist: %s", id)
	}
	status := "PENDING"
	if a.inSync(r, index) {
		status = "INSYNC"
	}
	return writeXML(w, rc, http.StatusOK, changeInfoResponse{XMLName: xmlName("GetChangeResponse"), Xmlns: Namespace,
		ChangeInfo: xmlChangeInfo{ID: "/change/" + id, Status: status, SubmittedAt: timestamp(at)}})
}

func (a *api) inSync(r *http.Request, index uint64) bool {
	if a.opts.Store.State().Index() < index {
		return false
	}
	return a.opts.Fleet == nil || a.opts.Fleet.InSync(r.Context(), index)
}
