package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/polyregion/polyregion/internal/config"
)

// ExitUsage is the exit code for a bad command line or an invalid configuration.
const ExitUsage = 2

// usageError marks errors that exit with ExitUsage.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// Main runs the command line and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "polyregion: %v\n", err)
	var verr *config.ValidationError
	var uerr usageError
	if errors.As(err, &verr) || errors.As(err, &uerr) {
		return ExitUsage
	}
	return 1
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "polyregion",
		Short: "AWS's global building blocks on machines you own",
		Long: `polyregion runs a multi-region deployment on machines you own: GSLB DNS, an edge
accelerator, DynamoDB-compatible global tables, S3-compatible buckets with replication and
PostgreSQL as a global database, in one binary.

Try it on one machine:   polyregion up
Run it for real:         polyregion init --config fleet.yaml --dir pki-out
                         polyregion serve --config fleet.yaml --region eu-west   (on each machine)`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	root.AddCommand(
		newUpCmd(),
		newServeCmd(),
		newInitCmd(),
		newStatusCmd(),
		newChaosCmd(),
		newRestartCmd(),
		newHealthCmd(),
		newTablesCmd(),
		newVerifyRootCmd(),
		newControlCmd(),
		newVersionCmd(),
	)
	root.Args = cobra.NoArgs
	root.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	argsAreUsage(root)
	return root
}

// argsAreUsage makes every argument-count error exit with ExitUsage.
func argsAreUsage(c *cobra.Command) {
	if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return usageError{fmt.Errorf("%w (see '%s --help')", err, cmd.CommandPath())}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		argsAreUsage(sub)
	}
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the polyregion version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "polyregion %s (%s %s/%s)\n", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}

func newServeCmd() *cobra.Command {
	var (
		cfgPath   string
		region    string
		location  string
		peerAddrs []string
	)
	cmd := &cobra.Command{
		Use:   "serve --config FILE (--region NAME | --edge-location NAME)",
		Short: "Run one region of the fleet, or one edge-only location, on this machine",
		Long: `serve runs one region, as on a real machine in that region. The configuration file
describes the whole fleet; --region says which region this machine is. The region keeps its
state in <data_dir>/<region> and reads its certificate from <data_dir>/pki (see 'polyregion
init'). It stops cleanly on SIGINT or SIGTERM. 'polyregion up' runs one serve per region.

With --edge-location, serve runs an edge-only location declared under edge.locations: the
accelerators' listeners at the location's address, routing each flow by the latency model
from the location's coordinates. It follows the accelerators through the nearest region that
answers, probes the endpoints itself, and keeps serving the last accelerators it saw while no
region answers.`,
		Example: `  polyregion serve --config /etc/polyregion.yaml --region eu-west
  polyregion serve --config /etc/polyregion.yaml --edge-location edge-sfo`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfgPath != "" && location != "" && region == "" {
				cfg, err := config.Load(cfgPath)
				if err != nil {
					return err
				}
				overrides, err := parsePeerAddrs(peerAddrs)
				if err != nil {
					return err
				}
				return serveEdgeLocation(cmd.Context(), cfg, location, overrides, cmd.ErrOrStderr())
			}
			if cfgPath == "" || region == "" || location != "" {
				return usageError{errors.New("serve needs --config and one of --region or --edge-location")}
			}
			cfg, err := config.Load(cfgPath)
			if err != nil {
				return err
			}
			if _, err := configAccelerators(cfg); err != nil {
				return err
			}
			overrides, err := parsePeerAddrs(peerAddrs)
			if err != nil {
				return err
			}
			return serve(cmd.Context(), cfg, region, overrides, cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&cfgPath, "config", "", "fleet configuration file (YAML)")
	cmd.Flags().StringVar(&region, "region", "", "the region this machine runs")
	cmd.Flags().StringVar(&location, "edge-location", "", "run this edge-only location (edge.locations) instead of a region")
	cmd.Flags().StringArrayVar(&peerAddrs, "peer-addr", nil, "reach a peer region at another address, REGION=HOST:PORT (repeatable; 'up' uses it to route through the emulated WAN)")
	return cmd
}

// runFile is what a serving region writes to <data_dir>/<region>/run.json once ready, for
// the supervisor and operators.
type runFile struct {
	Region    string    `json:"region"`
	PID       int       `json:"pid"`
	StartedAt time.Time `json:"started_at"`
	Endpoints Endpoints `json:"endpoints"`
}

func runFilePath(cfg *config.Config, region string) string {
	return filepath.Join(Dir(cfg, region), "run.json")
}

func serve(ctx context.Context, cfg *config.Config, region string, peerAddrs map[string]string, stderr io.Writer) error {
	logger := newLogger(cfg.Log, stderr).With("region", region)
	r, err := StartRegion(ctx, Options{Config: cfg, Region: region, PeerAddrs: peerAddrs, Logger: logger, ProcessMetrics: true})
	if err != nil {
		return err
	}
	rf := runFile{Region: region, PID: os.Getpid(), StartedAt: time.Now().UTC(), Endpoints: r.Endpoints()}
	if err := writeJSONFile(runFilePath(cfg, region), rf); err != nil {
		r.Kill()
		return fmt.Errorf("writing run.json: %w", err)
	}
	select {
	case <-ctx.Done():
	case <-r.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = r.Stop(sctx)
	os.Remove(runFilePath(cfg, region))
	if err != nil {
		return err
	}
	logger.Info("region stopped")
	return nil
}

func parsePeerAddrs(list []string) (map[string]string, error) {
	overrides := map[string]string{}
	for _, kv := range list {
		name, addr, ok := strings.Cut(kv, "=")
		if !ok || name == "" || addr == "" {
			return nil, usageError{fmt.Errorf("--peer-addr %q: want REGION=HOST:PORT", kv)}
		}
		overrides[name] = addr
	}
	return overrides, nil
}

// serveEdgeLocation runs an edge-only location until ctx ends.
func serveEdgeLocation(ctx context.Context, cfg *config.Config, name string, peerAddrs map[string]string, stderr io.Writer) error {
	logger := newLogger(cfg.Log, stderr).With("edge_location", name)
	l, err := StartEdgeLocation(ctx, cfg, name, peerAddrs, logger)
	if err != nil {
		return err
	}
	<-ctx.Done()
	l.Stop()
	logger.Info("edge location stopped")
	return nil
}

func newLogger(l config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(l.Level))
	opts := &slog.HandlerOptions{Level: level}
	if l.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
