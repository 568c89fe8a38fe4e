package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/polyregion/polyregion/internal/config"
	"github.com/polyregion/polyregion/internal/netsim"
)

func newUpCmd() *cobra.Command {
	var (
		o       fleetOptions
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run a whole multi-region fleet on this machine, behind an emulated WAN",
		Long: `up runs every region of a fleet on this machine, one process per region, each on its own
loopback address so that every region can use the same ports, as separate machines would.
Traffic between regions goes through an emulated WAN whose delay follows the distance between
the regions; 'polyregion chaos' partitions, slows or heals its links.

Once every region is ready, up writes DIR/endpoints.json and prints the endpoints and the demo
credentials. Ctrl-C (or SIGTERM) stops every region cleanly. Running up again on the same
directory restarts the same fleet with the same data. If a region's process dies, up says so
and keeps the others running; 'polyregion restart REGION' brings it back.

With no --config, up runs DIR/polyregion.yaml from an earlier run, else the built-in fleet:
us-east (zone us), eu-west (zone eu) and ap-southeast (zone apac).`,
		Example: `  polyregion up
  polyregion up --dir /tmp/fleet --regions us-east,eu-west
  polyregion up --config examples/polyregion.yaml --ephemeral-ports`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, cfgPath, err := prepareFleet(o)
			if err != nil {
				return err
			}
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			base := newLogger(config.Log{Level: "info", Format: "text"}, cmd.ErrOrStderr())
			s := &supervisor{
				cfg:     cfg,
				cfgPath: cfgPath,
				dir:     cfg.DataDir,
				exe:     exe,
				timeout: timeout,
				out:     cmd.OutOrStdout(),
				base:    base,
				logger:  base.With("component", "up"),
			}
			return s.run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&o.dir, "dir", "polyregion-data", "directory of the fleet: configuration, certificates, each region's data and logs")
	cmd.Flags().StringVar(&o.cfgPath, "config", "", "fleet configuration file (default: DIR/polyregion.yaml, else the built-in three regions)")
	cmd.Flags().StringSliceVar(&o.regions, "regions", nil, "run only these regions, e.g. us-east,eu-west")
	cmd.Flags().BoolVar(&o.ephemeral, "ephemeral-ports", false, "let every listener pick a free port (for tests and parallel fleets)")
	cmd.Flags().DurationVar(&timeout, "timeout", 60*time.Second, "how long to wait for a region to become ready")
	return cmd
}

// supervisor runs a local fleet: one child process per region, the emulated WAN between them,
// and a small HTTP API (chaos, restart) on loopback.
type supervisor struct {
	cfg     *config.Config
	cfgPath string
	dir     string
	exe     string
	timeout time.Duration
	out     io.Writer
	base    *slog.Logger // without a component
	logger  *slog.Logger // component=up

	wan    *netsim.WAN
	links  []wanLink
	api    *http.Server
	apiURL string

	mu       sync.Mutex
	children map[string]*child
	wg       sync.WaitGroup
}

// wanLink is the emulated path from one region to another.
type wanLink struct {
	from, to string
	link     *netsim.Link
}

// child is one region's process.
type child struct {
	name      string
	cmd       *exec.Cmd
	endpoints Endpoints
	running   bool
	stopping  bool
	exited    chan struct{}
	exitErr   error
}

func (s *supervisor) run(ctx context.Context) error {
	unlock, err := lockDir(s.dir)
	if err != nil {
		return err
	}
	defer unlock()
	os.Remove(filepath.Join(s.dir, EndpointsFileName))
	if err := os.MkdirAll(filepath.Join(s.dir, "logs"), 0o700); err != nil {
		return err
	}
	s.children = map[string]*child{}
	if err := s.startWAN(); err != nil {
		s.closeWAN()
		return err
	}
	defer s.closeWAN()
	if err := s.startAPI(); err != nil {
		return err
	}
	defer s.api.Close()

	started := time.Now()
	errs := make(chan error, len(s.cfg.Regions))
	for _, r := range s.cfg.Regions {
		go func() { errs <- s.startRegion(ctx, r.Name) }()
	}
	var startErr error
	for range s.cfg.Regions {
		startErr = errors.Join(startErr, <-errs)
	}
	if startErr != nil {
		s.stopAll()
		return startErr
	}
	if err := s.waitForLeader(ctx); err != nil {
		s.stopAll()
		return err
	}
	if err := s.writeEndpoints(); err != nil {
		s.stopAll()
		return err
	}
	s.printBanner(time.Since(started))

	<-ctx.Done()
	s.logger.Info("stopping every region")
	s.stopAll()
	os.Remove(filepath.Join(s.dir, EndpointsFileName))
	s.logger.Info("stopped")
	return nil
}

// startWAN creates one link per ordered pair of regions, bound on the source region's
// loopback address, leading to the destination's peer listener.
func (s *supervisor) startWAN() error {
	s.wan = netsim.New(s.base.With("component", "netsim"))
	topo, err := s.cfg.Topology()
	if err != nil {
		return err
	}
	regions := s.cfg.Regions
	for i, a := range regions {
		for _, b := range regions[i+1:] {
			s.wan.SetBaseline(a.Name, b.Name, topo.OneWay(a.Name, b.Name))
		}
	}
	for _, a := range regions {
		host, _, err := net.SplitHostPort(a.Listen.Peer)
		if err != nil || host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		for _, b := range regions {
			if a.Name == b.Name {
				continue
			}
			to := b.Name
			l, err := s.wan.Listen(a.Name, to, net.JoinHostPort(host, "0"), func() string { return s.peerAddr(to) })
			if err != nil {
				return fmt.Errorf("emulated WAN link %s->%s: %w", a.Name, to, err)
			}
			s.links = append(s.links, wanLink{from: a.Name, to: to, link: l})
		}
	}
	return nil
}

func (s *supervisor) closeWAN() {
	for _, l := range s.links {
		l.link.Close()
	}
}

// linkAddrs returns where region from reaches each other region, as --peer-addr values.
func (s *supervisor) linkAddrs(from string) []string {
	var out []string
	for _, l := range s.links {
		if l.from == from {
			out = append(out, l.to+"="+l.link.Addr().String())
		}
	}
	return out
}

func (s *supervisor) peerAddr(region string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.children[region]; ok && c.running {
		return c.endpoints.Peer
	}
	return ""
}

func (s *supervisor) startAPI() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/wan", s.wan.Handler())
	mux.Handle("/v1/wan/", s.wan.Handler())
	mux.HandleFunc("GET /v1/regions", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.endpointsFile())
	})
	mux.HandleFunc("POST /v1/regions/{name}/restart", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		if _, ok := s.cfg.Region(name); !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": fmt.Sprintf("no region %q in this fleet (regions: %s)", name, strings.Join(s.cfg.RegionNames(), ", "))})
			return
		}
		if err := s.restartRegion(r.Context(), name); err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		reg, _ := s.endpointsFile().Region(name)
		writeJSON(w, http.StatusOK, reg)
	})
	s.api = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	s.apiURL = "http://" + ln.Addr().String()
	go s.api.Serve(ln)
	return nil
}

// startRegion starts a region's process and waits until it has written its run.json.
func (s *supervisor) startRegion(ctx context.Context, name string) error {
	runPath := runFilePath(s.cfg, name)
	if err := os.MkdirAll(filepath.Dir(runPath), 0o700); err != nil {
		return err
	}
	os.Remove(runPath)
	logPath := filepath.Join(s.dir, "logs", name+".log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	args := []string{"serve", "--config", s.cfgPath, "--region", name}
	for _, pa := range s.linkAddrs(name) {
		args = append(args, "--peer-addr", pa)
	}
	cmd := exec.Command(s.exe, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("region %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, exited: make(chan struct{})}
	s.mu.Lock()
	s.children[name] = c
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		err := cmd.Wait()
		logf.Close()
		s.onExit(c, err)
	}()

	deadline := time.NewTimer(s.timeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		var rf runFile
		if err := readJSONFile(runPath, &rf); err == nil && rf.PID == cmd.Process.Pid {
			s.mu.Lock()
			c.endpoints = rf.Endpoints
			c.running = true
			s.mu.Unlock()
			s.logger.Info("region ready", "region", name, "pid", rf.PID, "peer", rf.Endpoints.Peer, "control", rf.Endpoints.Control)
			return nil
		}
		select {
		case <-c.exited:
			return fmt.Errorf("region %s exited before it was ready (%v); its log, %s, ends with:\n%s", name, c.exitErr, logPath, tail(logPath, 15))
		case <-deadline.C:
			s.stopChild(c)
			return fmt.Errorf("region %s was not ready within %v; its log is %s", name, s.timeout, logPath)
		case <-ctx.Done():
			s.stopChild(c)
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// waitForLeader waits until every region sees a control-plane leader, so that a fleet
// reported up takes control writes at once, and holds the zones of the configuration.
func (s *supervisor) waitForLeader(ctx context.Context) error {
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(s.timeout)
	for {
		missing := ""
		for _, r := range s.cfg.Regions {
			s.mu.Lock()
			control := s.children[r.Name].endpoints.Control
			s.mu.Unlock()
			var st RegionStatus
			if err := getJSON(ctx, hc, control+"/v1/status", &st); err != nil || st.Control.Leader == "" || st.HostedZones < len(s.cfg.DNS.Zones) {
				missing = r.Name
				break
			}
		}
		if missing == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("region %s sees no control-plane leader after %v; see its log in %s", missing, s.timeout, filepath.Join(s.dir, "logs"))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *supervisor) onExit(c *child, err error) {
	s.mu.Lock()
	c.exitErr = err
	wasRunning, expected := c.running, c.stopping
	c.running = false
	s.mu.Unlock()
	close(c.exited)
	if expected || !wasRunning {
		return
	}
	how := "exited"
	if err != nil {
		how = err.Error()
	}
	s.logger.Error(fmt.Sprintf("region %s (pid %d) died: %s. The other regions keep running. Bring it back with: polyregion restart %s --dir %s",
		c.name, c.cmd.Process.Pid, how, c.name, s.dir))
	if err := s.writeEndpoints(); err != nil {
		s.logger.Error("writing endpoints.json", "err", err)
	}
}

// restartRegion stops the region if it runs and starts it again on the same data.
func (s *supervisor) restartRegion(ctx context.Context, name string) error {
	s.mu.Lock()
	c := s.children[name]
	s.mu.Unlock()
	if c != nil {
		s.stopChild(c)
	}
	s.logger.Info("restarting region", "region", name)
	if err := s.startRegion(ctx, name); err != nil {
		return err
	}
	return s.writeEndpoints()
}

// stopChild sends SIGTERM and waits; SIGKILL after 10 s.
func (s *supervisor) stopChild(c *child) {
	s.mu.Lock()
	c.stopping = true
	s.mu.Unlock()
	select {
	case <-c.exited:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case <-c.exited:
	case <-t.C:
		s.logger.Warn("region did not stop within 10s; killing it", "region", c.name)
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
}

func (s *supervisor) stopAll() {
	s.mu.Lock()
	var cs []*child
	for _, c := range s.children {
		cs = append(cs, c)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.stopChild(c)
		}()
	}
	wg.Wait()
	s.wg.Wait()
}

func (s *supervisor) endpointsFile() *EndpointsFile {
	f := &EndpointsFile{
		Version:     1,
		Supervisor:  s.apiURL,
		Credentials: EndpointsCredentials{AccessKeyID: s.cfg.Credentials.AccessKeyID, SecretAccessKey: s.cfg.Credentials.SecretAccessKey},
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.cfg.Regions {
		e := EndpointsFileRegion{Name: r.Name, Zone: r.Zone, Lat: r.Lat, Lon: r.Lon, State: StateDown, Endpoints: map[string]string{}}
		if c, ok := s.children[r.Name]; ok {
			e.Endpoints = c.endpoints.asMap()
			if c.running {
				e.State = StateRunning
				e.PID = c.cmd.Process.Pid
			}
		}
		f.Regions = append(f.Regions, e)
	}
	return f
}

func (s *supervisor) writeEndpoints() error {
	return writeJSONFile(filepath.Join(s.dir, EndpointsFileName), s.endpointsFile())
}

func (s *supervisor) printBanner(took time.Duration) {
	f := s.endpointsFile()
	w := s.out
	fmt.Fprintf(w, "polyregion is up: %d regions in %.1fs. Endpoints: %s\n\n", len(f.Regions), took.Seconds(), filepath.Join(s.dir, EndpointsFileName))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REGION\tZONE\tPID\tPEER\tCONTROL\tMETRICS")
	for _, r := range f.Regions {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", r.Name, r.Zone, r.PID, r.Endpoints["peer"], r.Endpoints["control"], r.Endpoints["metrics"])
	}
	tw.Flush()
	fmt.Fprintf(w, "\nDemo credentials for the AWS-style APIs:\n  export AWS_ACCESS_KEY_ID=%s\n  export AWS_SECRET_ACCESS_KEY=%s\n",
		f.Credentials.AccessKeyID, f.Credentials.SecretAccessKey)
	fmt.Fprintln(w, "\nEmulated WAN (round trip):")
	for _, p := range s.wan.Pairs() {
		fmt.Fprintf(w, "  %s <-> %s  %v\n", p.A, p.B, (2 * p.Baseline).Round(100*time.Microsecond))
	}
	dirFlag := ""
	if s.dir != mustAbs("polyregion-data") {
		dirFlag = " --dir " + s.dir
	}
	fmt.Fprintf(w, "\nTry:\n  polyregion status%s\n  polyregion chaos partition %s %s%s\n  polyregion chaos heal --all%s\n\nLogs: %s. Ctrl-C stops every region.\n",
		dirFlag, f.Regions[0].Name, f.Regions[len(f.Regions)-1].Name, dirFlag, dirFlag, filepath.Join(s.dir, "logs"))
}

func mustAbs(p string) string {
	a, _ := filepath.Abs(p)
	return a
}

// lockDir makes sure only one `up` runs a directory.
func lockDir(dir string) (func(), error) {
	path := filepath.Join(dir, "up.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(path)
		f.Close()
		return nil, fmt.Errorf("another 'polyregion up' (pid %s) is running on %s; stop it, or use 'polyregion restart REGION --dir %s'", strings.TrimSpace(string(b)), dir, dir)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}
