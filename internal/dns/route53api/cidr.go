package route53api

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/polyregion/polyregion/internal/awsapi"
	"github.com/polyregion/polyregion/internal/control"
	"github.com/polyregion/polyregion/internal/dns/zone"
)

// KindCidrCollectionCallerRef maps a CreateCidrCollection CallerReference (the id) to the
// collection it created; like the health checks', it outlives the collection.
const KindCidrCollectionCallerRef = "cidrcollection-caller-ref"

type cidrCollectionCallerRef struct {
	CollectionID string `json:"collection_id"`
	Name         string `json:"name"`
}

// Limits of CIDR collections, as Route 53's.
const (
	maxCidrName      = 64
	maxLocationName  = 16
	maxCidrChanges   = 1000
	maxIPv4CIDRBits  = 24
	maxIPv6CIDRBits  = 48
	defaultMaxResult = 100
)

func validCidrName(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func collectionArn(id string) string { return "arn:aws:route53:::cidrcollection/" + id }

func xmlCollection(c *zone.CidrCollection) xmlCidrCollection {
	return xmlCidrCollection{Arn: collectionArn(c.ID), ID: c.ID, Name: c.Name, Version: c.Version}
}

func cidrCollection(st *control.State, id string) (zone.CidrCollection, control.Resource, error) {
	res, ok := st.Get(zone.KindCidrCollection, id)
	if !ok {
		return zone.CidrCollection{}, res, noSuchCidrCollection(id)
	}
	var c zone.CidrCollection
	if err := json.Unmarshal(res.Value, &c); err != nil {
		return c, res, err
	}
	return c, res, nil
}

func (a *api) createCidrCollection(w http.ResponseWriter, r *http.Request, rc *requestContext) error {
	var req createCidrCollectionRequest
	if err := readXML(r, &req); err != nil {
		return err
	}
	switch {
	case !validCidrName(req.Name, maxCidrName):
		return invalidInput("Name must be 1 to %d of the characters 0-9 A-Z a-z - _", maxCidrName)
	case req.CallerReference == "" || len(req.CallerReference) > maxCallerReference:
		return invalidInput("CallerReference must be 1 to %d characters", maxCallerReference)
	}
	for attempt := 0; ; attempt++ {
		st := a.opts.Store.State()
		var ref cidrCollectionCallerRef
		if ok, err := st.Decode(KindCidrCollectionCallerRef, req.CallerReference, &ref); err != nil {
			return err
		} else if ok {
			c, _, err := cidrCollection(st, ref.CollectionID)
			if err != nil || ref.Name != req.Name {
				return errorf(http.StatusBadRequest, "CidrCollectionAlreadyExistsException",
					"A CIDR collection with the caller reference %q already exists, or existed, with another name.", req.CallerReference)
			}
			return a.answerCollection(w, r, rc, c)
		}
		colls, _, err := decodeAll[zone.CidrCollection](st, zone.KindCidrCollection)
		if err != nil {
			return err
		}
		for _, c := range colls {
			if c.Name == req.Name {
				return errorf(http.StatusBadRequest, "CidrCollectionAlreadyExistsException",
					"A CIDR collection with the name %s and a different caller reference already exists.", req.Name)
			}
		}
		c := zone.CidrCollection{ID: awsapi.NewUUID(), Name: req.Name, Version: 1, Locations: map[string][]string{}}
		v, _ := json.Marshal(c)
		rv, _ := json.Marshal(cidrCollectionCallerRef{CollectionID: c.ID, Name: c.Name})
		_, err = a.apply(r.Context(),
			control.Op{Kind: zone.KindCidrCollection, ID: c.ID, Value: v, Expect: control.ExpectAbsent},
			control.Op{Kind: KindCidrCollectionCallerRef, ID: req.CallerReference, Value: rv, Expect: control.ExpectAbsent})
		if errors.Is(err, control.ErrExists) && attempt == 0 {
			continue
		}
		if err != nil {
			return err
		}
		return a.answerCollection(w, r, rc, c)
	}
}

func (a *api) answerCollection(w http.ResponseWriter, r *http.Request, rc *requestContext, c zone.CidrCollection) error {
	w.Header().Set("Location", locationOf(r, Prefix+"cidrcollection/"+c.ID))
	return writeXML(w, rc, http.StatusCreated, createCidrCollectionResponse{Xmlns: Namespace, Collection: xmlCollection(&c)})
}

// page returns the window of n items a NextToken (an offset) and MaxResults select, and the
// next token.
func page(r *http.Request, n int) (from, to int, next string, err error) {
	limit, err := maxItems(r, "maxresults", defaultMaxResult, 1000)
	if err != nil {
		return 0, 0, "", err
	}
	if tok := r.URL.Query().Get("nexttoken"); tok != "" {
		from, err = strconv.Atoi(tok)
		if err != nil || from < 0 {
			return 0, 0, "", errorf(http.StatusBadRequest, "InvalidPaginationToken", "the NextToken %q is not one this API returned", tok)
		}
	}
	from = min(from, n)
	to = min(from+limit, n)
	if to < n {
		next = strconv.Itoa(to)
	}
	return from, to, next, nil
}

func (a *api) listCidrCollections(w http.ResponseWriter, r *http.Request, rc *requestContext) error {
	colls, _, err := decodeAll[zone.CidrCollection](a.opts.Store.State(), zone.KindCidrCollection)
	if err != nil {
		return err
	}
	from, to, next, err := page(r, len(colls))
	if err != nil {
		return err
	}
	resp := listCidrCollectionsResponse{Xmlns: Namespace, NextToken: next}
	for i := from; i < to; i++ {
		resp.CidrCollections = append(resp.CidrCollections, xmlCollection(&colls[i]))
	}
	return writeXML(w, rc, http.StatusOK, resp)
}

// checkCIDR validates a block: a network address, IPv4 /1../24 or IPv6 /1../48.
func checkCIDR(s string) (string, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return "", invalidInput("%q is not a CIDR block", s)
	}
	maxBits := maxIPv6CIDRBits
	if p.Addr().Is4() {
		maxBits = maxIPv4CIDRBits
	}
	switch {
	case p.Bits() < 1 || p.Bits() > maxBits:
		return "", invalidInput("CIDR block %s: the prefix length must be 1 to %d", s, maxBits)
	case p.Masked() != p:
		return "", invalidInput("CIDR block %s has host bits set; write %s", s, p.Masked())
	}
	return p.String(), nil
}

// locationsInUse returns the locations of a collection that record sets use, by location.
func locationsInUse(st *control.State, collectionID string) (map[string][]string, error) {
	used := map[string][]string{}
	for _, r := range st.List(zone.KindRecordSet) {
		var s zone.RecordSet
		if err := json.Unmarshal(r.Value, &s); err != nil {
			return nil, err
		}
		if c := s.CidrRoutingConfig; c != nil && c.CollectionID == collectionID {
			used[c.LocationName] = append(used[c.LocationName], zone.Describe(&s))
		}
	}
	return used, nil
}

func (a *api) changeCidrCollection(w http.ResponseWriter, r *http.Request, rc *requestContext) error {
	var req changeCidrCollectionRequest
	if err := readXML(r, &req); err != nil {
		return err
	}
	if n := len(req.Changes); n == 0 || n > maxCidrChanges {
		return invalidInput("Changes must have 1 to %d changes", maxCidrChanges)
	}
	st := a.opts.Store.State()
	c, res, err := cidrCollection(st, r.PathValue("id"))
	if err != nil {
		return err
	}
	if req.CollectionVersion != nil && *req.CollectionVersion != c.Version {
		return errorf(http.StatusConflict, "CidrCollectionVersionMismatchException",
			"The CIDR collection version you provided (%d) doesn't match the current version (%d).", *req.CollectionVersion, c.Version)
	}
	locations := map[string][]string{}
	for name, blocks := range c.Locations {
		locations[name] = slices.Clone(blocks)
	}
	for i, ch := range req.Changes {
		if !validCidrName(ch.LocationName, maxLocationName) {
			return invalidInput("Changes[%d]: LocationName must be 1 to %d of the characters 0-9 A-Z a-z - _", i, maxLocationName)
		}
		if len(ch.CidrList) == 0 || len(ch.CidrList) > maxCidrChanges {
			return invalidInput("Changes[%d]: CidrList must have 1 to %d blocks", i, maxCidrChanges)
		}
		blocks := locations[ch.LocationName]
		for _, s := range ch.CidrList {
			block, err := checkCIDR(s)
			if err != nil {
				return err
			}
			switch ch.Action {
			case "PUT":
				for other, bs := range locations {
					if other != ch.LocationName && slices.Contains(bs, block) {
						return invalidInput("CIDR block %s is already in location %s of this collection", block, other)
					}
				}
				if !slices.Contains(blocks, block) {
					blocks = append(blocks, block)
				}
			case "DELETE_IF_EXISTS":
				blocks = slices.DeleteFunc(blocks, func(b string) bool { return b == block })
			default:
				return invalidInput("Changes[%d]: Action %q is neither PUT nor DELETE_IF_EXISTS", i, ch.Action)
			}
		}
		if len(blocks) == 0 {
			delete(locations, ch.LocationName)
		} else {
			slices.Sort(blocks)
			locations[ch.LocationName] = blocks
		}
	}
	used, err := locationsInUse(st, c.ID)
	if err != nil {
		return err
	}
	for loc, users := range used {
		if _, ok := locations[loc]; !ok && loc != zone.DefaultCIDRLocation {
			return errorf(http.StatusBadRequest, "CidrBlockInUseException",
				"This change would remove location %s, which record sets use: %s", loc, strings.Join(users, ", "))
		}
	}
	c.Locations = locations
	c.Version++
	v, _ := json.Marshal(c)
	result, err := a.apply(r.Context(), control.Op{Kind: zone.KindCidrCollection, ID: c.ID, Value: v, Expect: control.ExpectVersion, Version: res.Version})
	switch {
	case errors.Is(err, control.ErrConflict):
		return errorf(http.StatusConflict, "CidrCollectionVersionMismatchException", "The CIDR collection was changed by another request at the same time.")
	case errors.Is(err, control.ErrInvalid):
		return errorf(http.StatusBadRequest, "CidrBlockInUseException", "%s", strings.TrimPrefix(err.Error(), control.ErrInvalid.Error()+": "))
	case err != nil:
		return err
	}
	return writeXML(w, rc, http.StatusOK, changeCidrCollectionResponse{Xmlns: Namespace, ID: changeID(result.Index, rc.now)})
}

func (a *api) listCidrBlocks(w http.ResponseWriter, r *http.Request, rc *requestContext) error {
	c, _, err := cidrCollection(a.opts.Store.State(), r.PathValue("id"))
	if err != nil {
		return err
	}
	var blocks []xmlCidrBlock
	only := r.URL.Query().Get("location")
	if only != "" && c.Locations[only] == nil {
		return errorf(http.StatusNotFound, "NoSuchCidrLocationException", "The CIDR collection location %s doesn't match any location in the collection.", only)
	}
	for _, loc := range sortedKeys(c.Locations) {
		if only != "" && loc != only {
			continue
		}
		for _, b := range c.Locations[loc] {
			blocks = append(blocks, xmlCidrBlock{CidrBlock: b, LocationName: loc})
		}
	}
	from, to, next, err := page(r, len(blocks))
	if err != nil {
		return err
	}
	return writeXML(w, rc, http.StatusOK, listCidrBlocksResponse{Xmlns: Namespace, CidrBlocks: blocks[from:to], NextToken: next})
}

func (a *api) listCidrLocations(w http.ResponseWriter, r *http.Request, rc *requestContext) error {
	c, _, err := cidrCollection(a.opts.Store.State(), r.PathValue("id"))
	if err != nil {
		return err
	}
	locs := sortedKeys(c.Locations)
	from, to, next, err := page(r, len(locs))
	if err != nil {
		return err
	}
	resp := listCidrLocationsResponse{Xmlns: Namespace, NextToken: next}
	for _, l := range locs[from:to] {
		resp.CidrLocations = append(resp.CidrLocations, xmlLocation{LocationName: l})
	}
	return writeXML(w, rc, http.StatusOK, resp)
}

func (a *api) deleteCidrCollection(w http.ResponseWriter, r *http.Request, rc *requestContext) error {
	st := a.opts.Store.State()
	c, res, err := cidrCollection(st, r.PathValue("id"))
	if err != nil {
		return err
	}
	used, err := locationsInUse(st, c.ID)
	if err != nil {
		return err
	}
	if len(c.Locations) > 0 || len(used) > 0 {
		return errorf(http.StatusBadRequest, "CidrCollectionInUseException",
			"This CIDR collection is in use, and isn't deletable: it has %d locations and %d record sets use it.", len(c.Locations), len(used))
	}
	_, err = a.apply(r.Context(), control.Op{Kind: zone.KindCidrCollection, ID: c.ID, Delete: true, Expect: control.ExpectVersion, Version: res.Version})
	switch {
	case errors.Is(err, control.ErrConflict):
		return errorf(http.StatusConflict, "CidrCollectionVersionMismatchException", "The CIDR collection was changed by another request at the same time.")
	case errors.Is(err, control.ErrInvalid):
		return errorf(http.StatusBadRequest, "CidrCollectionInUseException", "This CIDR collection came into use while it was being deleted.")
	case err != nil:
		return err
	}
	return writeXML(w, rc, http.StatusOK, emptyResponse{XMLName: xmlName("DeleteCidrCollectionResponse"), Xmlns: Namespace})
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
