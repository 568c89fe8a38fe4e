package route53api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/polyregion/polyregion/internal/awsapi"
	"github.com/polyregion/polyregion/internal/control"
	"github.com/polyregion/polyregion/internal/dns/zone"
	"github.com/polyregion/polyregion/internal/health"
)

// KindHealthCheckCallerRef is the control-plane kind that maps a CreateHealthCheck
// CallerReference (the id) to the check it created, written in the same batch as the check.
// It outlives the check, as in Route 53: a caller reference is never reused.
const KindHealthCheckCallerRef = "healthcheck-caller-ref"

// healthCheckCallerRef is the value stored under KindHealthCheckCallerRef.
type healthCheckCallerRef struct {
	HealthCheckID string `json:"health_check_id"`
	// Check is the check as the request defined it, to tell a retry from a reuse.
	Check health.Check `json:"check"`
}

const maxCallerReference = 64

// checkFromConfig converts a HealthCheckConfig into a check with id, defaults set, and
// validates it: health.Check's rules, Route 53's intervals of 10 s or 30 s, but loopback and
// private addresses allowed (polyregion runs on private networks).
func checkFromConfig(id string, c *xmlHealthCheckConfig) (health.Check, error) {
	var unsupported []string
	switch c.Type {
	case "CLOUDWATCH_METRIC", "RECOVERY_CONTROL":
		unsupported = append(unsupported, "Type "+c.Type)
	}
	if c.AlarmIdentifier != nil {
		unsupported = append(unsupported, "AlarmIdentifier")
	}
	if c.RoutingControlArn != "" {
		unsupported = append(unsupported, "RoutingControlArn")
	}
	if c.InsufficientDataHealthStatus != "" {
		unsupported = append(unsupported, "InsufficientDataHealthStatus")
	}
	if c.Regions != nil && len(c.Regions.Regions) > 0 {
		unsupported = append(unsupported, "Regions (every polyregion region probes every check)")
	}
	if c.MeasureLatency != nil && *c.MeasureLatency {
		unsupported = append(unsupported, "MeasureLatency")
	}
	if len(unsupported) > 0 {
		return health.Check{}, invalidInput("not supported by polyregion: %s", strings.Join(unsupported, ", "))
	}
	hc := health.Check{
		ID: id, Type: health.Type(c.Type), IPAddress: c.IPAddress, FQDN: c.FullyQualifiedDomainName,
		ResourcePath: c.ResourcePath, SearchString: c.SearchString,
	}
	if c.Port != nil {
		hc.Port = int(*c.Port)
	}
	interval := int32(30)
	if c.RequestInterval != nil {
		interval = *c.RequestInterval
	}
	if hc.Type != health.TypeCalculated {
		if interval != 10 && interval != 30 {
			return health.Check{}, invalidInput("RequestInterval must be 10 or 30 seconds, not %d", interval)
		}
		hc.RequestInterval = health.Duration(time.Duration(interval) * time.Second)
	}
	if c.FailureThreshold != nil {
		if *c.FailureThreshold < 1 {
			return health.Check{}, invalidInput("FailureThreshold must be 1 to 10, not %d", *c.FailureThreshold)
		}
		hc.FailureThreshold = int(*c.FailureThreshold)
	}
	if c.Inverted != nil {
		hc.Inverted = *c.Inverted
	}
	if c.Disabled != nil {
		hc.Disabled = *c.Disabled
	}
	if c.HealthThreshold != nil {
		hc.HealthThreshold = int(*c.HealthThreshold)
	}
	if c.ChildHealthChecks != nil {
		hc.ChildHealthChecks = c.ChildHealthChecks.IDs
	}
	switch {
	case c.EnableSNI != nil:
		hc.EnableSNI = *c.EnableSNI
	case hc.Type == health.TypeHTTPS || hc.Type == health.TypeHTTPSStrMatch:
		hc.EnableSNI = true // Route 53's default for HTTPS checks
	}
	hc.SetDefaults()
	return hc, validateCheck(&hc)
}

// validateCheck reports a check's problems as InvalidInput.
func validateCheck(hc *health.Check) error {
	err := hc.Validate()
	var ve *health.ValidationError
	if errors.As(err, &ve) {
		return invalidInput("invalid health check: %s", strings.Join(ve.Problems, "; "))
	}
	return err
}

// validateCheckSet checks a new or changed check against the others (children exist and
// are not CALCULATED).
func validateCheckSet(st *control.State, hc health.Check) error {
	checks, _, err := decodeAll[health.Check](st, health.Kind)
	if err != nil {
		return err
	}
	replaced := false
	for i := range checks {
		if checks[i].ID == hc.ID {
			checks[i], replaced = hc, true
		}
	}
	if !replaced {
		checks = append(checks, hc)
	}
	err = health.ValidateSet(checks)
	var ve *health.ValidationError
	if errors.As(err, &ve) {
		var mine []string
		for _, p := range ve.Problems {
			if strings.HasPrefix(p, fmt.Sprintf("check %q: ", hc.ID)) {
				mine = append(mine, strings.TrimPrefix(p, fmt.Sprintf("check %q: ", hc.ID)))
			}
		}
		if len(mine) == 0 {
			mine = ve.Problems
		}
		return invalidInput("invalid health check: %s", strings.Join(mine, "; "))
	}
	return err
}

// configOf converts a check back into a HealthCheckConfig.
func configOf(hc *health.Check) xmlHealthCheckConfig {
	c := xmlHealthCheckConfig{Type: string(hc.Type), Inverted: &hc.Inverted, Disabled: &hc.Disabled}
	if hc.Type == health.TypeCalculated {
		th := int32(hc.HealthThreshold)
		c.HealthThreshold = &th
		c.ChildHealthChecks = &xmlChildHealthChecks{IDs: hc.ChildHealthChecks}
		return c
	}
	port, interval, threshold := int32(hc.Port), int32(time.Duration(hc.RequestInterval)/time.Second), int32(hc.FailureThreshold)
	c.IPAddress, c.FullyQualifiedDomainName, c.ResourcePath, c.SearchString = hc.IPAddress, hc.FQDN, hc.ResourcePath, hc.SearchString
	c.Port, c.RequestInterval, c.FailureThreshold = &port, &interval, &threshold
	measure := false
	c.MeasureLatency = &measure
	if hc.Type == health.TypeHTTPS || hc.Type == health.TypeHTTPSStrMatch {
		c.EnableSNI = &hc.EnableSNI
	}
	return c
}

// callerRefs maps health-check ids to the caller references that created them.
func callerRefs(st *control.State) map[string]string {
	out := map[string]string{}
	for _, r := range st.List(KindHealthCheckCallerRef) {
		var ref healthCheckCallerRef
		if json.Unmarshal(r.Value, &ref) == nil {
			out[ref.HealthCheckID] = r.ID
		}
	}
	return out
}

func xmlCheck(hc *health.Check, version uint64, callerRef string) xmlHealthCheck {
	return xmlHealthCheck{ID: hc.ID, CallerReference: callerRef, HealthCheckConfig: configOf(hc), HealthCheckVersion: version}
}

// healthCheck returns a check and its resource.
func healthCheck(st *control.State, id string) (health.Check, control.Resource, error) {
	res, ok := st.Get(health.Kind, id)
	if !ok {
		return health.Check{}, res, noSuchHealthCheck(id)
	}
	var hc health.Check
	if err := json.Unmarshal(res.Value, &hc); err != nil {
		return hc, res, fmt.Errorf("route53api: health check %q: %w", id, err)
	}
	return hc, res, nil
}

func sameCheck(a, b health.Check) bool {
	a.ID, b.ID = "", ""
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func (a *api) createHealthCheck(w http.ResponseWriter, r *http.Request, rc *requestContext) error {
	var req createHealthCheckRequest
	if err := readXML(r, &req); err != nil {
		return err
	}
	if ref := req.CallerReference; ref == "" || len(ref) > maxCallerReference {
		return invalidInput("CallerReference must be 1 to %d characters", maxCallerReference)
	}
	hc, err := checkFromConfig(awsapi.NewUUID(), &req.HealthCheckConfig)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		st := a.opts.Store.State()
		var ref healthCheckCallerRef
		if ok, err := st.Decode(KindHealthCheckCallerRef, req.CallerReference, &ref); err != nil {
			return err
		} else if ok {
			existing, res, err := healthCheck(st, ref.HealthCheckID)
			if err != nil || !sameCheck(ref.Check, hc) {
				return errorf(http.StatusConflict, "HealthCheckAlreadyExists",
					"A health check with the caller reference %q already exists, or existed, with other settings.", req.CallerReference)
			}
			return a.answerHealthCheck(w, r, rc, http.StatusCreated, "CreateHealthCheckResponse", existing, res.Version, req.CallerReference)
		}
		if err := validateCheckSet(st, hc); err != nil {
			return err
		}
		v, _ := json.Marshal(hc)
		rv, _ := json.Marshal(healthCheckCallerRef{HealthCheckID: hc.ID, Check: hc})
		res, err := a.apply(r.Context(),
			control.Op{Kind: health.Kind, ID: hc.ID, Value: v, Expect: control.ExpectAbsent},
			control.Op{Kind: KindHealthCheckCallerRef, ID: req.CallerReference, Value: rv, Expect: control.ExpectAbsent})
		if errors.Is(err, control.ErrExists) && attempt == 0 {
			continue // the same caller reference, concurrently: answer from the new state
		}
		if err != nil {
			return err
		}
		return a.answerHealthCheck(w, r, rc, http.StatusCreated, "CreateHealthCheckResponse", hc, res.Index, req.CallerReference)
	}
}

func (a *api) answerHealthCheck(w http.ResponseWriter, r *http.Request, rc *requestContext, status int, root string, hc health.Check, version uint64, callerRef string) error {
	if status == http.StatusCreated {
		w.Header().Set("Location", locationOf(r, Prefix+"healthcheck/"+hc.ID))
	}
	return writeXML(w, rc, status, healthCheckResponse{XMLName: xmlName(root), Xmlns: Namespace, HealthCheck: xmlCheck(&hc, version, callerRef)})
}

func (a *api) getHealthCheck(w http.ResponseWriter, r *http.Request, rc *requestContext) error {
	st := a.opts.Store.State()
	hc, res, err := healthCheck(st, r.PathValue("id"))
	if err != nil {
		return err
	}
	return a.answerHealthCheck(w, r, rc, http.StatusOK, "GetHealthCheckResponse", hc, res.Version, callerRefs(st)[hc.ID])
}

func (a *api) listHealthChecks(w http.ResponseWriter, r *http.Request, rc *requestContext) error {
	limit, err := maxItems(r, "maxitems", 100, 1000)
	if err != nil {
		return err
	}
	marker := r.URL.Query().Get("marker")
	st := a.opts.Store.State()
	refs := callerRefs(st)
	checks, rs, err := decodeAll[health.Check](st, health.Kind)
	if err != nil {
		return err
	}
	resp := listHealthChecksResponse{Xmlns: Namespace, Marker: marker, MaxItems: limit}
	for i := range checks {
		if marker != "" && rs[i].ID < marker {
			continue
		}
		if len(resp.HealthChecks) == limit {
			resp.IsTruncated, resp.NextMarker = true, rs[i].ID
			break
		}
		resp.HealthChecks = append(resp.HealthChecks, xmlCheck(&checks[i], rs[i].Version, refs[rs[i].ID]))
	}
	return writeXML(w, rc, http.StatusOK, resp)
}

func (a *api) updateHealthCheck(w http.ResponseWriter, r *http.Request, rc *requestContext) error {
	var req updateHealthCheckRequest
	if err := readXML(r, &req); err != nil {
		return err
	}
	st := a.opts.Store.State()
	hc, res, err := healthCheck(st, r.PathValue("id"))
	if err != nil {
		return err
	}
	if req.HealthCheckVersion != nil && uint64(*req.HealthCheckVersion) != res.Version {
		return errorf(http.StatusConflict, "HealthCheckVersionMismatch",
			"The value of HealthCheckVersion in the request (%d) doesn't match the health check's current version (%d).", *req.HealthCheckVersion, res.Version)
	}
	var unsupported []string
	if req.Regions != nil {
		unsupported = append(unsupported, "Regions")
	}
	if req.AlarmIdentifier != nil {
		unsupported = append(unsupported, "AlarmIdentifier")
	}
	if req.InsufficientDataHealthStatus != nil {
		unsupported = append(unsupported, "InsufficientDataHealthStatus")
	}
	if len(unsupported) > 0 {
		return invalidInput("not supported by polyregion: %s", strings.Join(unsupported, ", "))
	}
	for _, e := range req.ResetElements {
		switch e {
		case "FullyQualifiedDomainName":
			hc.FQDN = ""
		case "ResourcePath":
			hc.ResourcePath = ""
		case "ChildHealthChecks":
			hc.ChildHealthChecks = nil
		case "Regions":
		default:
			return invalidInput("ResetElements: %q cannot be reset", e)
		}
	}
	setString := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	setString(&hc.IPAddress, req.IPAddress)
	setString(&hc.ResourcePath, req.ResourcePath)
	setString(&hc.FQDN, req.FullyQualifiedDomainName)
	setString(&hc.SearchString, req.SearchString)
	if req.Port != nil {
		hc.Port = int(*req.Port)
	}
	if req.FailureThreshold != nil {
		if *req.FailureThreshold < 1 {
			return invalidInput("FailureThreshold must be 1 to 10, not %d", *req.FailureThreshold)
		}
		hc.FailureThreshold = int(*req.FailureThreshold)
	}
	if req.Inverted != nil {
		hc.Inverted = *req.Inverted
	}
	if req.Disabled != nil {
		hc.Disabled = *req.Disabled
	}
	if req.HealthThreshold != nil {
		hc.HealthThreshold = int(*req.HealthThreshold)
	}
	if req.ChildHealthChecks != nil {
		hc.ChildHealthChecks = req.ChildHealthChecks.IDs
	}
	if req.EnableSNI != nil {
		hc.EnableSNI = *req.EnableSNI
	}
	hc.SetDefaults()
	if err := validateCheck(&hc); err != nil {
		return err
	}
	if err := validateCheckSet(st, hc); err != nil {
		return err
	}
	v, _ := json.Marshal(hc)
	result, err := a.apply(r.Context(), control.Op{Kind: health.Kind, ID: hc.ID, Value: v, Expect: control.ExpectVersion, Version: res.Version})
	if errors.Is(err, control.ErrConflict) {
		return errorf(http.StatusConflict, "HealthCheckVersionMismatch", "The health check was changed by another request at the same time; get it and update again.")
	}
	if err != nil {
		return err
	}
	return a.answerHealthCheck(w, r, rc, http.StatusOK, "UpdateHealthCheckResponse", hc, result.Index, callerRefs(st)[hc.ID])
}

// healthCheckUsers lists what refers to a check: record sets and CALCULATED checks.
func healthCheckUsers(st *control.State, id string) ([]string, error) {
	var users []string
	for _, r := range st.List(zone.KindRecordSet) {
		var s zone.RecordSet
		if err := json.Unmarshal(r.Value, &s); err != nil {
			return nil, err
		}
		if s.HealthCheckID == id {
			users = append(users, "record set "+zone.Describe(&s))
		}
	}
	checks, _, err := decodeAll[health.Check](st, health.Kind)
	if err != nil {
		return nil, err
	}
	for _, c := range checks {
		for _, child := range c.ChildHealthChecks {
			if child == id {
				users = append(users, "calculated health check "+c.ID)
			}
		}
	}
	return users, nil
}

func (a *api) deleteHealthCheck(w http.ResponseWriter, r *http.Request, rc *requestContext) error {
	id := r.PathValue("id")
	st := a.opts.Store.State()
	if _, _, err := healthCheck(st, id); err != nil {
		return err
	}
	users, err := healthCheckUsers(st, id)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return errorf(http.StatusBadRequest, "HealthCheckInUse", "The health check %s is in use by %s.", id, strings.Join(users, ", "))
	}
	_, err = a.apply(r.Context(), control.Op{Kind: health.Kind, ID: id, Delete: true, Expect: control.ExpectPresent})
	switch {
	case errors.Is(err, control.ErrInvalid):
		return errorf(http.StatusBadRequest, "HealthCheckInUse", "The health check %s came into use while it was being deleted.", id)
	case errors.Is(err, control.ErrNotFound):
		return noSuchHealthCheck(id)
	case err != nil:
		return err
	}
	return writeXML(w, rc, http.StatusOK, emptyResponse{XMLName: xmlName("DeleteHealthCheckResponse"), Xmlns: Namespace})
}

func (a *api) getHealthCheckStatus(w http.ResponseWriter, r *http.Request, rc *requestContext) error {
	id := r.PathValue("id")
	if _, _, err := healthCheck(a.opts.Store.State(), id); err != nil {
		return err
	}
	resp := getHealthCheckStatusResponse{Xmlns: Namespace}
	if a.opts.HealthStatus != nil {
		if st, ok := a.opts.HealthStatus(id); ok {
			for _, v := range st.Vantages {
				resp.HealthCheckObservations = append(resp.HealthCheckObservations, xmlHealthCheckObservation{
					Region:       v.Region,
					StatusReport: xmlStatusReport{Status: statusReport(v.Healthy, v.Reason), CheckedTime: timestamp(v.CheckedAt)},
				})
			}
			if len(st.Vantages) == 0 && !st.Initializing {
				// A CALCULATED check has no vantage points: report its overall state.
				resp.HealthCheckObservations = append(resp.HealthCheckObservations, xmlHealthCheckObservation{
					StatusReport: xmlStatusReport{Status: statusReport(st.Healthy, st.Reason), CheckedTime: timestamp(st.Since)},
				})
			}
		}
	}
	return writeXML(w, rc, http.StatusOK, resp)
}

// statusReport words a probe result as Route 53's StatusReport does:
// "Success: HTTP Status Code 200, OK", "Failure: HTTP Status Code 503, Service Unavailable",
// "Failure: connection refused".
func statusReport(healthy bool, reason string) string {
	prefix := "Failure: "
	if healthy {
		prefix = "Success: "
	}
	inverted := strings.HasPrefix(reason, "inverted: ")
	reason = strings.TrimPrefix(reason, "inverted: ")
	var code int
	var text string
	if n, _ := fmt.Sscanf(reason, "HTTP %d", &code); n == 1 {
		rest := strings.TrimPrefix(reason, fmt.Sprintf("HTTP %d", code))
		text = fmt.Sprintf("HTTP Status Code %d, %s%s", code, http.StatusText(code), rest)
	} else if reason == "connected" {
		text = "TCP connection established"
	} else {
		text = reason
	}
	if inverted {
		text += " (inverted)"
	}
	return prefix + text
}
