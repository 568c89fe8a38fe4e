package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/polyregion/polyregion/internal/netsim"
	"github.com/polyregion/polyregion/internal/replication"
)

func newInitCmd() *cobra.Command {
	var o fleetOptions
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create a fleet directory: configuration, CA and one certificate per region",
		Long: `init prepares DIR for a fleet: it writes DIR/polyregion.yaml (from --config, or the
built-in three regions), generates demo credentials if the configuration has none, and creates a
certificate authority (DIR/pki/ca.crt, ca.key) and one certificate per region (DIR/pki/<region>.crt,
.key). A region's identity on the peer transport is its certificate; regions refuse peers whose
certificate is from another CA or names another region.

'polyregion up' runs init on its own. For a real fleet, run init once, then copy to each machine
its data directory's pki/ca.crt and that region's certificate and key. Running init again keeps
what exists and adds what is missing.`,
		Example: `  polyregion init --dir ./fleet
  polyregion init --config fleet.yaml --dir ./fleet`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, path, err := prepareFleet(o)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "Wrote %s\nCertificates in %s:\n", path, PKIDir(cfg))
			for _, n := range cfg.RegionNames() {
				fmt.Fprintf(w, "  %s.crt, %s.key\n", n, n)
			}
			fmt.Fprintf(w, "Credentials: access key id %s (secret in %s)\n", cfg.Credentials.AccessKeyID, path)
			return nil
		},
	}
	cmd.Flags().StringVar(&o.dir, "dir", "polyregion-data", "fleet directory to create or complete")
	cmd.Flags().StringVar(&o.cfgPath, "config", "", "fleet configuration file (default: DIR/polyregion.yaml, else the built-in three regions)")
	cmd.Flags().StringSliceVar(&o.regions, "regions", nil, "keep only these regions")
	return cmd
}

// FleetStatus is what `polyregion status --json` prints.
type FleetStatus struct {
	Regions []RegionReport `json:"regions"`
	Pairs   []PairReport   `json:"pairs"`
}

// RegionReport is one region as status sees it.
type RegionReport struct {
	Name      string        `json:"name"`
	Zone      string        `json:"zone"`
	Control   string        `json:"control"`
	Reachable bool          `json:"reachable"`
	Error     string        `json:"error,omitempty"`
	Status    *RegionStatus `json:"status,omitempty"`
}

// PairReport is the path between two regions: what each end measures, and what the emulated
// WAN has been told to do.
type PairReport struct {
	A          string             `json:"a"`
	B          string             `json:"b"`
	Reachable  bool               `json:"reachable"`
	State      string             `json:"state"`
	RTTMillis  float64            `json:"rtt_ms,omitempty"`
	ModelRTTMs float64            `json:"model_rtt_ms"`
	WAN        *netsim.PairStatus `json:"wan,omitempty"`
}

func newStatusCmd() *cobra.Command {
	var (
		dir     string
		asJSON  bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show every region, whether it is reachable, and the round trip between each pair",
		Long: `status asks every region of the fleet in DIR/endpoints.json how it is and what it measures
of the others: each region pings every other over the peer transport (so, in 'up', through the
emulated WAN) twice a second. A pair is reachable when both ends reached each other on their
last ping; RTT is the median of the last five round trips, next to the latency model's figure.`,
		Example: `  polyregion status
  polyregion status --dir /tmp/fleet --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ef, err := ReadEndpointsFile(dir)
			if err != nil {
				return err
			}
			st := collectStatus(cmd.Context(), ef, timeout)
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			printStatus(cmd.OutOrStdout(), st)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "polyregion-data", "fleet directory holding endpoints.json")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Second, "how long to wait for each region")
	return cmd
}

func collectStatus(ctx context.Context, ef *EndpointsFile, timeout time.Duration) *FleetStatus {
	st := &FleetStatus{Regions: make([]RegionReport, len(ef.Regions))}
	hc := &http.Client{Timeout: timeout}
	var wg sync.WaitGroup
	for i, r := range ef.Regions {
		st.Regions[i] = RegionReport{Name: r.Name, Zone: r.Zone, Control: r.Endpoints["control"]}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep := &st.Regions[i]
			var rs RegionStatus
			if err := getJSON(ctx, hc, rep.Control+"/v1/status", &rs); err != nil {
				rep.Error = err.Error()
				return
			}
			rep.Reachable, rep.Status = true, &rs
		}()
	}
	var wan []netsim.PairStatus
	if ef.Supervisor != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := netsim.Client{BaseURL: ef.Supervisor, HTTP: hc}
			wan, _ = c.Pairs(ctx)
		}()
	}
	wg.Wait()

	view := func(from, to string) (PeerStatus, bool) {
		for _, r := range st.Regions {
			if r.Name == from && r.Status != nil {
				for _, p := range r.Status.Peers {
					if p.Region == to {
						return p, true
					}
				}
			}
		}
		return PeerStatus{}, false
	}
	for i, a := range ef.Regions {
		for _, b := range ef.Regions[i+1:] {
			pr := PairReport{A: a.Name, B: b.Name}
			ab, okA := view(a.Name, b.Name)
			ba, okB := view(b.Name, a.Name)
			switch {
			case okA:
				pr.ModelRTTMs = ab.ModelRTTMs
			case okB:
				pr.ModelRTTMs = ba.ModelRTTMs
			}
			switch {
			case !okA || !okB:
				pr.State = "region down"
			case ab.Reachable && ba.Reachable:
				pr.Reachable, pr.State = true, "ok"
				pr.RTTMillis = (ab.RTTMillis + ba.RTTMillis) / 2
			default:
				pr.State = "unreachable"
			}
			for _, w := range wan {
				if (w.A == a.Name && w.B == b.Name) || (w.A == b.Name && w.B == a.Name) {
					pr.WAN = &w
				}
			}
			st.Pairs = append(st.Pairs, pr)
		}
	}
	return st
}

func printStatus(w io.Writer, st *FleetStatus) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REGION\tZONE\tSTATE\tPID\tINCARNATION\tUPTIME\tCONTROL PLANE\tAPI")
	for _, r := range st.Regions {
		if r.Status == nil {
			fmt.Fprintf(tw, "%s\t%s\tunreachable\t-\t-\t-\t-\t%s (%s)\n", r.Name, r.Zone, r.Control, shortErr(r.Error))
			continue
		}
		s := r.Status
		state := "ready"
		if !s.Ready {
			state = "not ready"
		}
		role := strings.ToLower(s.Control.State)
		if s.Control.Leader == "" {
			role += ", no leader"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s @%d\t%s\n", r.Name, r.Zone, state, s.PID, s.Incarnation,
			time.Since(s.StartedAt).Round(time.Second), role, s.Control.Applied, r.Control)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PAIR\tSTATE\tRTT\tMODEL\tEMULATED WAN")
	for _, p := range st.Pairs {
		rtt := "-"
		if p.Reachable {
			rtt = fmt.Sprintf("%.1fms", p.RTTMillis)
		}
		fmt.Fprintf(tw, "%s <-> %s\t%s\t%s\t%.1fms\t%s\n", p.A, p.B, p.State, rtt, p.ModelRTTMs, describeWAN(p.WAN))
	}
	tw.Flush()
	printEdgeStatus(w, st)
	printReplicationStatus(w, st)
}

// printReplicationStatus lists every pull of every region: what lags and what is cut off.
func printReplicationStatus(w io.Writer, st *FleetStatus) {
	shown := false
	for _, r := range st.Regions {
		if r.Status != nil && len(r.Status.Replication) > 0 {
			shown = true
		}
	}
	if !shown {
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REPLICATION\tFROM\tTABLE\tSTATE\tPENDING\tLAST LAG")
	for _, r := range st.Regions {
		if r.Status == nil {
			continue
		}
		for _, p := range r.Status.Replication {
			state := "connected"
			if !p.Connected {
				state = "cut off"
				if p.Error != "" {
					state += ": " + shortErr(p.Error)
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, p.Source, p.Stream, state, describePending(p), p.LastLatency.Round(100*time.Microsecond))
		}
	}
	tw.Flush()
}

// describePending says what a pull has still to apply: "12 records, 3.4 KiB".
func describePending(p replication.Status) string {
	records := "records"
	if p.Pending == 1 {
		records = "record"
	}
	return fmt.Sprintf("%d %s, %s", p.Pending, records, formatBytes(p.PendingBytes))
}

// formatBytes writes n in binary units: "512 B", "3.4 KiB", "1.0 MiB".
func formatBytes(n uint64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v, unit := float64(n)/1024, 0
	for v >= 1023.95 && unit < 5 { // what would print as 1024.0 goes up a unit
		v /= 1024
		unit++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGTPE"[unit])
}

// printEdgeStatus lists each edge location's sockets, when any region runs one.
func printEdgeStatus(w io.Writer, st *FleetStatus) {
	shown := false
	for _, r := range st.Regions {
		if r.Status != nil && len(r.Status.Edge) > 0 {
			shown = true
		}
	}
	if !shown {
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "EDGE\tPROTOCOL\tADDRESS\tFLOWS\tLISTENER")
	for _, r := range st.Regions {
		if r.Status == nil {
			continue
		}
		for _, e := range r.Status.Edge {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", r.Name, e.Protocol, e.Address, e.ActiveFlows, e.Listener)
		}
	}
	tw.Flush()
}

func describeWAN(p *netsim.PairStatus) string {
	if p == nil {
		return "-"
	}
	var parts []string
	if p.AtoB.Partitioned || p.BtoA.Partitioned {
		parts = append(parts, "PARTITIONED")
	}
	if p.AtoB.Delay != p.Baseline || p.BtoA.Delay != p.Baseline {
		parts = append(parts, fmt.Sprintf("one-way %v (model %v)", p.AtoB.Delay, p.Baseline))
	}
	if p.AtoB.Loss > 0 || p.BtoA.Loss > 0 {
		parts = append(parts, fmt.Sprintf("loss %.1f%%", 100*max(p.AtoB.Loss, p.BtoA.Loss)))
	}
	if len(parts) == 0 {
		return "normal"
	}
	return strings.Join(parts, ", ")
}

func shortErr(s string) string {
	if i := strings.LastIndex(s, ": "); i >= 0 && len(s) > 80 {
		return s[i+2:]
	}
	return s
}

func getJSON(ctx context.Context, hc *http.Client, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("%s: %s: %s", url, resp.Status, bytes.TrimSpace(b))
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func newChaosCmd() *cobra.Command {
	var dir string
	client := func() (*netsim.Client, *EndpointsFile, error) {
		ef, err := ReadEndpointsFile(dir)
		if err != nil {
			return nil, nil, err
		}
		if ef.Supervisor == "" {
			return nil, nil, errors.New("this fleet has no emulated WAN (chaos works on fleets started with 'polyregion up')")
		}
		return &netsim.Client{BaseURL: ef.Supervisor, HTTP: &http.Client{Timeout: 5 * time.Second}}, ef, nil
	}
	pair := func(ef *EndpointsFile, args []string) error {
		for _, n := range args[:2] {
			if _, ok := ef.Region(n); !ok {
				var names []string
				for _, r := range ef.Regions {
					names = append(names, r.Name)
				}
				return usageError{fmt.Errorf("no region %q in this fleet (regions: %s)", n, strings.Join(names, ", "))}
			}
		}
		if args[0] == args[1] {
			return usageError{errors.New("name two different regions")}
		}
		return nil
	}
	cmd := &cobra.Command{
		Use:   "chaos",
		Short: "Partition, slow, degrade or heal the emulated WAN between regions",
		Long: `chaos changes the emulated WAN of a fleet started with 'polyregion up'. Every change applies
at once, to new and existing connections, in both directions, and is logged by up.

A partition is a black hole, as a cut cable is: bytes stop flowing and connections hang rather
than fail, until the pair is healed. Loss on a TCP stream shows as retransmission delay.`,
		Example: `  polyregion chaos partition us-east eu-west
  polyregion chaos latency us-east eu-west 300ms
  polyregion chaos loss us-east ap-southeast 0.05
  polyregion chaos heal us-east eu-west
  polyregion chaos heal --all
  polyregion chaos show`,
	}
	cmd.PersistentFlags().StringVar(&dir, "dir", "polyregion-data", "fleet directory holding endpoints.json")
	done := func(cmd *cobra.Command, format string, args ...any) {
		fmt.Fprintf(cmd.OutOrStdout(), format+"\n", args...)
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "partition REGION REGION",
		Short: "Cut the link between two regions (both directions)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ef, err := client()
			if err != nil {
				return err
			}
			if err := pair(ef, args); err != nil {
				return err
			}
			if err := c.Partition(cmd.Context(), args[0], args[1]); err != nil {
				return err
			}
			done(cmd, "partitioned %s <-> %s", args[0], args[1])
			return nil
		},
	})
	var all bool
	heal := &cobra.Command{
		Use:   "heal [REGION REGION | --all]",
		Short: "Restore a link (or every link) to the latency model: no partition, no loss",
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ef, err := client()
			if err != nil {
				return err
			}
			if all {
				if len(args) != 0 {
					return usageError{errors.New("heal --all takes no regions")}
				}
				if err := c.HealAll(cmd.Context()); err != nil {
					return err
				}
				done(cmd, "healed every link")
				return nil
			}
			if len(args) != 2 {
				return usageError{errors.New("heal needs two regions, or --all")}
			}
			if err := pair(ef, args); err != nil {
				return err
			}
			if err := c.Heal(cmd.Context(), args[0], args[1]); err != nil {
				return err
			}
			done(cmd, "healed %s <-> %s", args[0], args[1])
			return nil
		},
	}
	heal.Flags().BoolVar(&all, "all", false, "heal every link")
	cmd.AddCommand(heal)
	cmd.AddCommand(&cobra.Command{
		Use:   "latency REGION REGION ONE_WAY",
		Short: "Set the one-way delay between two regions (e.g. 300ms)",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := time.ParseDuration(args[2])
			if err != nil || d < 0 {
				return usageError{fmt.Errorf("%q is not a duration like 300ms", args[2])}
			}
			c, ef, err := client()
			if err != nil {
				return err
			}
			if err := pair(ef, args); err != nil {
				return err
			}
			if err := c.SetDelay(cmd.Context(), args[0], args[1], d); err != nil {
				return err
			}
			done(cmd, "one-way latency %s <-> %s is now %v", args[0], args[1], d)
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "loss REGION REGION PROBABILITY",
		Short: "Make the link lossy: a fraction (0..1) of chunks are retransmitted late",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := strconv.ParseFloat(args[2], 64)
			if err != nil || p < 0 || p > 1 {
				return usageError{fmt.Errorf("%q is not a probability between 0 and 1", args[2])}
			}
			c, ef, err := client()
			if err != nil {
				return err
			}
			if err := pair(ef, args); err != nil {
				return err
			}
			if err := c.SetLoss(cmd.Context(), args[0], args[1], p); err != nil {
				return err
			}
			done(cmd, "loss %s <-> %s is now %.1f%%", args[0], args[1], 100*p)
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "show",
		Short: "List every link of the emulated WAN and its state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, _, err := client()
			if err != nil {
				return err
			}
			pairs, err := c.Pairs(cmd.Context())
			if err != nil {
				return err
			}
			slices.SortFunc(pairs, func(a, b netsim.PairStatus) int { return strings.Compare(a.A+" "+a.B, b.A+" "+b.B) })
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "PAIR\tMODEL (ONE-WAY)\tSTATE")
			for _, p := range pairs {
				fmt.Fprintf(tw, "%s <-> %s\t%v\t%s\n", p.A, p.B, p.Baseline, describeWAN(&p))
			}
			return tw.Flush()
		},
	})
	return cmd
}

func newRestartCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "restart REGION",
		Short: "Restart one region of a fleet started with 'polyregion up' (e.g. after it died)",
		Long: `restart asks the running 'polyregion up' to stop the region's process if it still runs and
start it again on the same data directory. It returns once the region is ready again.`,
		Example: `  polyregion restart eu-west`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ef, err := ReadEndpointsFile(dir)
			if err != nil {
				return err
			}
			if ef.Supervisor == "" {
				return errors.New("this fleet was not started with 'polyregion up'")
			}
			req, err := http.NewRequestWithContext(cmd.Context(), http.MethodPost, ef.Supervisor+"/v1/regions/"+args[0]+"/restart", nil)
			if err != nil {
				return err
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return fmt.Errorf("asking 'polyregion up' to restart %s: %w", args[0], err)
			}
			defer resp.Body.Close()
			var out struct {
				Error string `json:"error"`
				EndpointsFileRegion
			}
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
				return fmt.Errorf("restart %s: %s", args[0], resp.Status)
			}
			if out.Error != "" {
				if resp.StatusCode == http.StatusNotFound {
					return usageError{errors.New(out.Error)}
				}
				return errors.New(out.Error)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "region %s is running again (pid %d, control %s)\n", out.Name, out.PID, out.Endpoints["control"])
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "polyregion-data", "fleet directory holding endpoints.json")
	return cmd
}
