package app

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/polyregion/polyregion/internal/replication"
	"github.com/polyregion/polyregion/internal/tables"
)

// registerTablesAPI serves, for the CLI, what this region holds of a global table:
// conflicts recorded here, the residency report, and digests.
func (r *Region) registerTablesAPI(mux *http.ServeMux) {
	if r.tables == nil {
		return
	}
	svc := r.tables.svc
	mux.HandleFunc("GET /v1/tables", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string][]string{"global": svc.GlobalTables()})
	})
	mux.HandleFunc("GET /v1/tables/replication", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, svc.ReplicationStatus())
	})
	mux.HandleFunc("GET /v1/tables/{table}/conflicts", func(w http.ResponseWriter, req *http.Request) {
		limit, _ := strconv.Atoi(req.URL.Query().Get("limit"))
		cs, err := svc.Conflicts(req.PathValue("table"), replication.Timestamp{}, limit)
		if err != nil {
			writeError(w, http.StatusNotFound, "not_found", "%v", err)
			return
		}
		writeJSON(w, http.StatusOK, conflictsJSON(cs))
	})
	mux.HandleFunc("GET /v1/tables/{table}/residency", func(w http.ResponseWriter, req *http.Request) {
		rep, err := svc.ResidencyReport(req.PathValue("table"))
		if err != nil {
			writeError(w, http.StatusNotFound, "not_found", "%v", err)
			return
		}
		writeJSON(w, http.StatusOK, rep)
	})
	mux.HandleFunc("GET /v1/tables/{table}/digest", func(w http.ResponseWriter, req *http.Request) {
		d, err := svc.Digest(req.PathValue("table"))
		if err != nil {
			writeError(w, http.StatusNotFound, "not_found", "%v", err)
			return
		}
		writeJSON(w, http.StatusOK, digestJSON(d))
	})
	mux.HandleFunc("GET /v1/tables/{table}/digest/{bucket}", func(w http.ResponseWriter, req *http.Request) {
		b, err := strconv.Atoi(req.PathValue("bucket"))
		if err != nil || b < 0 || b >= replication.DigestBuckets {
			writeError(w, http.StatusBadRequest, "invalid", "bucket: %q is not 0..%d", req.PathValue("bucket"), replication.DigestBuckets-1)
			return
		}
		es, err := svc.BucketEntries(req.PathValue("table"), b)
		if err != nil {
			writeError(w, http.StatusNotFound, "not_found", "%v", err)
			return
		}
		out := map[string]string{}
		for k, h := range es {
			out[k] = hex.EncodeToString(h[:])
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// ConflictJSON is a conflict record as the control API shows it.
type ConflictJSON struct {
	Table        string    `json:"table"`
	Key          string    `json:"key"` // hex of the encoded primary key
	Loser        string    `json:"loser"`
	LoserRegion  string    `json:"loser_region"`
	LoserDelete  bool      `json:"loser_delete,omitempty"`
	LoserImage   string    `json:"loser_image,omitempty"` // hex of the losing item's encoding
	Winner       string    `json:"winner"`
	WinnerRegion string    `json:"winner_region"`
	Detected     time.Time `json:"detected"`
	DetectedIn   string    `json:"detected_in"`
}

func conflictsJSON(cs []replication.Conflict) []ConflictJSON {
	out := make([]ConflictJSON, 0, len(cs))
	for _, c := range cs {
		out = append(out, ConflictJSON{Table: c.Stream, Key: hex.EncodeToString(c.Key),
			Loser: c.Loser.TS.String(), LoserRegion: c.Loser.Region, LoserDelete: c.LoserDelete, LoserImage: hex.EncodeToString(c.LoserData),
			Winner: c.Winner.TS.String(), WinnerRegion: c.Winner.Region, Detected: c.Detected.Time(), DetectedIn: c.DetectedIn})
	}
	return out
}

// DigestJSON is a replica's digest: per bucket, count and hex sum.
type DigestJSON struct {
	Count []uint64 `json:"count"`
	Sum   []string `json:"sum"`
}

func digestJSON(d *replication.Digest) DigestJSON {
	out := DigestJSON{Count: d.Count[:], Sum: make([]string, len(d.Sum))}
	for i := range d.Sum {
		out.Sum[i] = hex.EncodeToString(d.Sum[i][:])
	}
	return out
}

// eachRegion calls f with every running region's control API, concurrently, and returns
// the answers by region; regions that fail are reported in the error.
func eachRegion[T any](ctx context.Context, dir string, f func(ctx context.Context, a *apiTarget) (T, error)) (map[string]T, error) {
	ef, err := ReadEndpointsFile(dir)
	if err != nil {
		return nil, err
	}
	out := map[string]T{}
	var errs []error
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, r := range ef.Regions {
		if r.State != StateRunning {
			errs = append(errs, fmt.Errorf("%s is down", r.Name))
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := f(ctx, &apiTarget{endpoint: r.Endpoints["control"]})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", r.Name, err))
				return
			}
			out[r.Name] = v
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

func newTablesCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "tables",
		Short: "Global tables: conflicts, residency and convergence across regions",
		Long: `tables looks at a global table in every running region of the fleet: the writes that lost
under last-writer-wins (conflicts), where pinned items are stored (residency-report), and
whether the replicas hold the same items (verify).`,
		Args: cobra.NoArgs,
	}
	cmd.PersistentFlags().StringVar(&dir, "dir", "polyregion-data", "fleet directory holding endpoints.json")
	cmd.AddCommand(newConflictsCmd(&dir), newResidencyCmd(&dir), newVerifyCmd(&dir))
	return cmd
}

func newConflictsCmd(dir *string) *cobra.Command {
	var (
		limit  int
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "conflicts TABLE",
		Short: "List the writes that lost under last-writer-wins",
		Long: `conflicts asks every running region for the conflicts it recorded on TABLE: writes made
concurrently in two regions, where the one with the larger (timestamp, region) won and the
other was discarded. DynamoDB discards them silently; polyregion keeps each loser with its
image. A conflict is usually found in several regions; it is listed once.`,
		Example: `  polyregion tables conflicts orders
  polyregion tables conflicts orders --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			all, err := eachRegion(cmd.Context(), *dir, func(ctx context.Context, a *apiTarget) ([]ConflictJSON, error) {
				var cs []ConflictJSON
				err := a.do(ctx, http.MethodGet, fmt.Sprintf("/v1/tables/%s/conflicts?limit=%d", args[0], limit), nil, &cs)
				return cs, err
			})
			if len(all) == 0 && err != nil {
				return err
			}
			rows := mergeConflicts(all)
			if asJSON {
				return printJSON(cmd.OutOrStdout(), rows)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "DETECTED\tIN\tKEY\tLOSER\tWINNER")
			for _, c := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s@%s\t%s@%s\n", c.Detected.Format(time.RFC3339Nano), c.DetectedIn, c.Key, c.Loser, c.LoserRegion, c.Winner, c.WinnerRegion)
			}
			tw.Flush()
			fmt.Fprintf(cmd.OutOrStdout(), "%d conflict(s)\n", len(rows))
			if err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "not every region answered: %v\n", err)
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many per region (0: all)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// mergeConflicts lists each conflict once, oldest first.
func mergeConflicts(all map[string][]ConflictJSON) []ConflictJSON {
	seen := map[string]bool{}
	var rows []ConflictJSON
	regions := make([]string, 0, len(all))
	for r := range all {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	for _, r := range regions {
		for _, c := range all[r] {
			k := c.Key + "|" + c.Loser + "|" + c.LoserRegion
			if !seen[k] {
				seen[k] = true
				rows = append(rows, c)
			}
		}
	}
	slices.SortStableFunc(rows, func(x, y ConflictJSON) int { return x.Detected.Compare(y.Detected) })
	return rows
}

func newResidencyCmd(dir *string) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "residency-report TABLE",
		Short: "Prove from each region's own data that no pinned item is stored outside its zones",
		Long: `residency-report asks every running region what it stores of TABLE's pinned items (items
whose residency attribute names zones) and whether any of them is stored in a region outside
its zones. Each region answers from its local store. The command fails (exit 1) when any
region holds an item it must not.`,
		Example: `  polyregion tables residency-report customers`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			all, err := eachRegion(cmd.Context(), *dir, func(ctx context.Context, a *apiTarget) (tables.ResidencyReport, error) {
				var rep tables.ResidencyReport
				err := a.do(ctx, http.MethodGet, "/v1/tables/"+args[0]+"/residency", nil, &rep)
				return rep, err
			})
			if len(all) == 0 && err != nil {
				return err
			}
			if asJSON {
				if err := printJSON(cmd.OutOrStdout(), all); err != nil {
					return err
				}
			} else {
				printResidency(cmd.OutOrStdout(), all)
			}
			violations := 0
			for _, rep := range all {
				violations += len(rep.Violations)
			}
			if err != nil {
				return fmt.Errorf("not every region answered: %w", err)
			}
			if violations > 0 {
				return fmt.Errorf("%d pinned item(s) stored outside their zones", violations)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// newVerifyRootCmd is `polyregion verify`: convergence checks, one subcommand per kind of
// replicated data.
func newVerifyRootCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check that the replicas of global data hold the same thing in every region",
		Long: `verify compares what every running region holds of replicated data and lists what differs.
'verify tables' compares global tables (all of them, or the one named).`,
		Args: cobra.NoArgs,
	}
	cmd.PersistentFlags().StringVar(&dir, "dir", "polyregion-data", "fleet directory holding endpoints.json")
	var asJSON bool
	tablesCmd := &cobra.Command{
		Use:   "tables [TABLE]",
		Short: "Compare the replicas of every global table (or of TABLE) and list the keys that differ",
		Long: `verify tables asks every running region for a digest of its copy of each global table (256
buckets by key hash, each with a count and an XOR of the entries' hashes, covering key,
version and item), compares them, and for every bucket that differs lists the keys whose
entries differ. Without TABLE it checks every table that is global in any running region.
Zero differences means the replicas hold the same items. Items pinned by residency are left
out (only the regions of their zones hold them; 'tables residency-report' accounts for
them). Run it when the fleet is quiet: writes still replicating show up as differences. It
exits non-zero when a table differs.`,
		Example: `  polyregion verify tables
  polyregion verify tables orders --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			names := args
			if len(names) == 0 {
				var err error
				if names, err = globalTableNames(cmd.Context(), dir); err != nil {
					return err
				}
				if len(names) == 0 {
					fmt.Fprintln(cmd.OutOrStdout(), "no global table in any running region")
					return nil
				}
			}
			type result struct {
				Table       string          `json:"table"`
				Regions     []string        `json:"regions"`
				Differences []KeyDifference `json:"differences"`
			}
			var results []result
			differ := 0
			for _, name := range names {
				diffs, regions, err := verifyTable(cmd.Context(), dir, name)
				if err != nil {
					return fmt.Errorf("table %s: %w", name, err)
				}
				results = append(results, result{Table: name, Regions: regions, Differences: diffs})
				if len(diffs) > 0 {
					differ++
				}
			}
			if asJSON {
				if err := printJSON(cmd.OutOrStdout(), results); err != nil {
					return err
				}
			} else {
				for _, r := range results {
					for _, d := range r.Differences {
						fmt.Fprintf(cmd.OutOrStdout(), "%s  %s  %s\n", r.Table, d.Key, d.describe(r.Regions))
					}
					fmt.Fprintf(cmd.OutOrStdout(), "%s: %d difference(s) across %s\n", r.Table, len(r.Differences), strings.Join(r.Regions, ", "))
				}
			}
			if differ > 0 {
				return fmt.Errorf("%d of %d global table(s) differ between regions", differ, len(results))
			}
			return nil
		},
	}
	tablesCmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(tablesCmd)
	return cmd
}

// globalTableNames lists the tables that are global in any running region, sorted.
func globalTableNames(ctx context.Context, dir string) ([]string, error) {
	lists, err := eachRegion(ctx, dir, func(ctx context.Context, a *apiTarget) ([]string, error) {
		var out struct {
			Global []string `json:"global"`
		}
		err := a.do(ctx, http.MethodGet, "/v1/tables", nil, &out)
		return out.Global, err
	})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var names []string
	for _, l := range lists {
		for _, n := range l {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	sort.Strings(names)
	return names, nil
}

func newVerifyCmd(dir *string) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "verify TABLE",
		Short: "Compare the replicas of a global table and list the keys that differ",
		Long: `verify asks every running region for a digest of its copy of TABLE (256 buckets by key
hash, each with a count and an XOR of the entries' hashes, covering key, version and item),
compares them, and for every bucket that differs lists the keys whose entries differ. Zero
differences means the replicas hold the same items. Items pinned by residency are left out
(only the regions of their zones hold them; residency-report accounts for them). Run it when
the fleet is quiet: writes still replicating show up as differences.`,
		Example: `  polyregion tables verify orders`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			diffs, regions, err := verifyTable(cmd.Context(), *dir, args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), map[string]any{"regions": regions, "differences": diffs})
			}
			for _, d := range diffs {
				fmt.Fprintf(cmd.OutOrStdout(), "%s  %s\n", d.Key, d.describe(regions))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d difference(s) across %s\n", len(diffs), strings.Join(regions, ", "))
			if len(diffs) > 0 {
				return fmt.Errorf("the replicas of %s differ in %d key(s)", args[0], len(diffs))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// KeyDifference is one key whose entry differs between replicas: its entry hash per
// region ("" where the region does not hold it).
type KeyDifference struct {
	Key     string            `json:"key"`
	Entries map[string]string `json:"entries"`
}

func (d KeyDifference) describe(regions []string) string {
	var parts []string
	for _, r := range regions {
		h := d.Entries[r]
		if h == "" {
			h = "absent"
		} else {
			h = h[:12]
		}
		parts = append(parts, r+"="+h)
	}
	return strings.Join(parts, " ")
}

// verifyTable compares every running region's digest of table and lists differing keys.
func verifyTable(ctx context.Context, dir, table string) ([]KeyDifference, []string, error) {
	digests, err := eachRegion(ctx, dir, func(ctx context.Context, a *apiTarget) (DigestJSON, error) {
		var d DigestJSON
		err := a.do(ctx, http.MethodGet, "/v1/tables/"+table+"/digest", nil, &d)
		return d, err
	})
	if err != nil {
		return nil, nil, err
	}
	var regions []string
	for r := range digests {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	var buckets []int
	for b := 0; b < replication.DigestBuckets; b++ {
		for _, r := range regions[1:] {
			if digests[r].Count[b] != digests[regions[0]].Count[b] || digests[r].Sum[b] != digests[regions[0]].Sum[b] {
				buckets = append(buckets, b)
				break
			}
		}
	}
	var diffs []KeyDifference
	for _, b := range buckets {
		entries, err := eachRegion(ctx, dir, func(ctx context.Context, a *apiTarget) (map[string]string, error) {
			var m map[string]string
			err := a.do(ctx, http.MethodGet, fmt.Sprintf("/v1/tables/%s/digest/%d", table, b), nil, &m)
			return m, err
		})
		if err != nil {
			return nil, nil, err
		}
		keys := map[string]bool{}
		for _, m := range entries {
			for k := range m {
				keys[k] = true
			}
		}
		for k := range keys {
			d := KeyDifference{Key: k, Entries: map[string]string{}}
			same := true
			for _, r := range regions {
				d.Entries[r] = entries[r][k]
				if d.Entries[r] != d.Entries[regions[0]] {
					same = false
				}
			}
			if !same {
				diffs = append(diffs, d)
			}
		}
	}
	slices.SortFunc(diffs, func(a, b KeyDifference) int { return strings.Compare(a.Key, b.Key) })
	return diffs, regions, nil
}

func printResidency(w io.Writer, all map[string]tables.ResidencyReport) {
	var regions []string
	for r := range all {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REGION\tZONE\tITEMS\tPINNED HERE, BY ZONE\tVIOLATIONS")
	for _, r := range regions {
		rep := all[r]
		var pinned []string
		for z, n := range rep.Pinned {
			pinned = append(pinned, fmt.Sprintf("%s=%d", z, n))
		}
		sort.Strings(pinned)
		p := strings.Join(pinned, " ")
		if p == "" {
			p = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\n", r, rep.Zone, rep.Items, p, len(rep.Violations))
	}
	tw.Flush()
	for _, r := range regions {
		for _, v := range all[r].Violations {
			fmt.Fprintf(w, "violation: %s holds %v, pinned to %s\n", r, v.Key, strings.Join(v.Zones, ","))
		}
	}
}
