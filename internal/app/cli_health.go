package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/polyregion/polyregion/internal/health"
)

// apiTarget says which region's control API a CLI command talks to.
type apiTarget struct {
	dir, region, endpoint string
}

func (a *apiTarget) flags(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&a.dir, "dir", "polyregion-data", "fleet directory holding endpoints.json")
	cmd.PersistentFlags().StringVar(&a.region, "region", "", "region whose API to use (default: the first running region)")
	cmd.PersistentFlags().StringVar(&a.endpoint, "endpoint", "", "control API URL, instead of looking it up in endpoints.json")
}

func (a *apiTarget) url() (string, error) {
	if a.endpoint != "" {
		return strings.TrimRight(a.endpoint, "/"), nil
	}
	ef, err := ReadEndpointsFile(a.dir)
	if err != nil {
		return "", err
	}
	for _, r := range ef.Regions {
		if (a.region == "" && r.State == StateRunning) || r.Name == a.region {
			return r.Endpoints["control"], nil
		}
	}
	if a.region != "" {
		return "", usageError{fmt.Errorf("no region %q in %s", a.region, a.dir)}
	}
	return "", errors.New("no region of the fleet is running")
}

// do calls the API and decodes a JSON answer; API errors come back with their message.
func (a *apiTarget) do(ctx context.Context, method, path string, body []byte, out any) error {
	base, err := a.url()
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e apiError
		if json.Unmarshal(b, &e) == nil && e.Message != "" {
			return fmt.Errorf("%s: %s", e.Code, e.Message)
		}
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	if out == nil || len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, out)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newHealthCmd() *cobra.Command {
	var api apiTarget
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Create, list, inspect and delete health checks",
		Long: `health manages the fleet's health checks through a region's control API. Checks live in the
replicated control plane, so any region takes the change; every region then probes every check
from its own vantage point, and a check is healthy when more than the configured quorum (18% by
default) of the reporting regions say so. See docs/health-checks.md.`,
		Example: `  polyregion health create --id web --type HTTP --ip 127.0.0.1 --port 8080 --interval 10s
  polyregion health ls
  polyregion health status web
  polyregion health rm web`,
	}
	api.flags(cmd)
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print JSON")

	cmd.AddCommand(&cobra.Command{
		Use:   "ls",
		Short: "List the health checks with their status",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var list struct {
				HealthChecks []HealthCheckView `json:"health_checks"`
			}
			if err := api.do(cmd.Context(), http.MethodGet, "/v1/health-checks", nil, &list); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), list)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tTYPE\tTARGET\tINTERVAL\tTHRESHOLD\tSTATUS")
			for _, c := range list.HealthChecks {
				var st health.CheckStatus
				state := "?"
				if err := api.do(cmd.Context(), http.MethodGet, "/v1/health-checks/"+c.ID+"/status", nil, &st); err == nil {
					state = string(st.State)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", c.ID, c.Type, describeTarget(c.Check), time.Duration(c.RequestInterval), c.FailureThreshold, state)
			}
			return tw.Flush()
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "status ID",
		Short: "Show a check's status, overall and per vantage point",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var st health.CheckStatus
			if err := api.do(cmd.Context(), http.MethodGet, "/v1/health-checks/"+args[0]+"/status", nil, &st); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), st)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%s: %s", st.ID, st.State)
			if st.Reason != "" {
				fmt.Fprintf(w, " (%s)", st.Reason)
			}
			fmt.Fprintln(w)
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "VANTAGE\tHEALTHY\tREPORTING\tCHECKED\tREASON")
			for _, v := range st.Vantages {
				fmt.Fprintf(tw, "%s\t%v\t%v\t%s\t%s\n", v.Region, v.Healthy, v.Reporting, v.CheckedAt.Format(time.TimeOnly), v.Reason)
			}
			return tw.Flush()
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "rm ID",
		Short: "Delete a health check",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := api.do(cmd.Context(), http.MethodDelete, "/v1/health-checks/"+args[0], nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", args[0])
			return nil
		},
	})
	cmd.AddCommand(newHealthCreateCmd(&api))
	return cmd
}

func newHealthCreateCmd(api *apiTarget) *cobra.Command {
	var (
		file                                  string
		id, name, typ, ip, fqdn, path, search string
		port, threshold, healthThreshold      int
		interval                              time.Duration
		inverted, disabled, sni               bool
		children                              []string
	)
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a health check (from flags, or --file with its JSON)",
		Example: `  polyregion health create --id web --type HTTP --ip 127.0.0.1 --port 8080 --path /healthz --interval 10s --threshold 3
  polyregion health create --id api --type HTTPS_STR_MATCH --fqdn api.example.com --search '"ok"' --sni
  polyregion health create --id db --type TCP --ip 10.0.0.5 --port 5432
  polyregion health create --id any --type CALCULATED --child web --child api --health-threshold 1
  polyregion health create --file check.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var body []byte
			if file != "" {
				b, err := os.ReadFile(file)
				if err != nil {
					return err
				}
				body = b
			} else {
				m := map[string]any{}
				set := func(flag, key string, v any) {
					if cmd.Flags().Changed(flag) {
						m[key] = v
					}
				}
				set("id", "id", id)
				set("name", "name", name)
				set("type", "type", strings.ToUpper(typ))
				set("ip", "ip_address", ip)
				set("fqdn", "fqdn", fqdn)
				set("port", "port", port)
				set("path", "resource_path", path)
				set("search", "search_string", search)
				set("interval", "request_interval", interval.String())
				set("threshold", "failure_threshold", threshold)
				set("inverted", "inverted", inverted)
				set("disabled", "disabled", disabled)
				set("sni", "enable_sni", sni)
				set("child", "child_health_checks", children)
				set("health-threshold", "health_threshold", healthThreshold)
				if _, ok := m["type"]; !ok {
					return usageError{errors.New("--type is required (HTTP, HTTPS, HTTP_STR_MATCH, HTTPS_STR_MATCH, TCP or CALCULATED)")}
				}
				body, _ = json.Marshal(m)
			}
			var out HealthCheckView
			if err := api.do(cmd.Context(), http.MethodPost, "/v1/health-checks", body, &out); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created %s (%s %s)\n", out.ID, out.Type, describeTarget(out.Check))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "", "JSON definition of the check (see docs/health-checks.md)")
	f.StringVar(&id, "id", "", "id (default: generated)")
	f.StringVar(&name, "name", "", "a name for people")
	f.StringVar(&typ, "type", "", "HTTP, HTTPS, HTTP_STR_MATCH, HTTPS_STR_MATCH, TCP or CALCULATED")
	f.StringVar(&ip, "ip", "", "endpoint IP address (loopback and private addresses are fine)")
	f.StringVar(&fqdn, "fqdn", "", "endpoint host name (resolved at every probe; sent as Host)")
	f.IntVar(&port, "port", 0, "endpoint port (default 80 for HTTP, 443 for HTTPS; required for TCP)")
	f.StringVar(&path, "path", "", "resource path for HTTP checks (default /)")
	f.StringVar(&search, "search", "", "string the first 5,120 bytes of the body must contain (STR_MATCH)")
	f.DurationVar(&interval, "interval", 30*time.Second, "request interval, 1s to 30s")
	f.IntVar(&threshold, "threshold", 3, "failure threshold: consecutive results to change state, 1 to 10")
	f.BoolVar(&inverted, "inverted", false, "healthy when the endpoint fails")
	f.BoolVar(&disabled, "disabled", false, "never probe; always healthy")
	f.BoolVar(&sni, "sni", false, "send the host name in the TLS handshake (HTTPS)")
	f.StringArrayVar(&children, "child", nil, "child check id (CALCULATED; repeatable)")
	f.IntVar(&healthThreshold, "health-threshold", 0, "healthy children needed (CALCULATED)")
	return cmd
}

func describeTarget(c health.Check) string {
	if c.Type == health.TypeCalculated {
		return fmt.Sprintf("%d of %v", c.HealthThreshold, c.ChildHealthChecks)
	}
	host := c.IPAddress
	if host == "" {
		host = c.FQDN
	}
	s := fmt.Sprintf("%s:%d", host, c.Port)
	if c.ResourcePath != "" && c.Type != health.TypeTCP {
		s += c.ResourcePath
	}
	return s
}

func newControlCmd() *cobra.Command {
	var api apiTarget
	cmd := &cobra.Command{
		Use:   "control",
		Short: "Inspect the replicated control plane and change its members",
		Long: `control shows the control plane as a region sees it — leader, term, voters, applied index —
and adds or removes a region as a voter. A new region in the configuration joins on its own
when it first starts; remove a region for good before retiring it.`,
		Example: `  polyregion control status
  polyregion control remove ap-southeast`,
	}
	api.flags(cmd)
	cmd.AddCommand(&cobra.Command{
		Use:   "status",
		Short: "Show the control plane as one region sees it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var st any
			if err := api.do(cmd.Context(), http.MethodGet, "/v1/control", nil, &st); err != nil {
				return err
			}
			return printJSON(cmd.OutOrStdout(), st)
		},
	})
	for _, add := range []bool{true, false} {
		use, short := "add REGION", "Add a configured region as a voter"
		if !add {
			use, short = "remove REGION", "Remove a region from the voters"
		}
		cmd.AddCommand(&cobra.Command{
			Use:   use,
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				body, _ := json.Marshal(map[string]any{"region": args[0], "add": add})
				var st any
				if err := api.do(cmd.Context(), http.MethodPost, "/v1/control/members", body, &st); err != nil {
					return err
				}
				return printJSON(cmd.OutOrStdout(), st)
			},
		})
	}
	return cmd
}
