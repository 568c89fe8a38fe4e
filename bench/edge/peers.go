package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/polyregion/polyregion/bench/internal/child"
	fleetcfg "github.com/polyregion/polyregion/internal/config"
)

// httpBody is what the HTTP backend answers to every request.
const httpBody = "hello, edge\n"

// backends are the servers every path leads to, on the load generators' CPUs.
type backends struct {
	iperfPort int   // iperf3 -s: TCP (control and tcp tests) and UDP
	httpPort  int   // nginx answering httpBody
	iperf     *proc // iperf3 server
	http      *proc // nginx
}

// path is one way to the backends: direct, or through a proxy's ports.
type path struct {
	name      string
	iperfPort int   // TCP, and UDP when udp is set
	httpPort  int   // TCP
	udp       bool  // relays UDP (on iperfPort)
	proxy     *proc // nil for direct
}

func startBackends(dir, cpus string) (*backends, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	b := &backends{iperfPort: ports[0], httpPort: ports[1]}
	b.iperf, err = child.Start("iperf3 server", backendCommand(cpus, "iperf3", "-s", "-p", strconv.Itoa(b.iperfPort), "-B", "127.0.0.1"),
		filepath.Join(dir, "iperf3-server.log"))
	if err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx-http.pid;
error_log %[1]s/nginx-http.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path %[1]s/tmp-body;
    proxy_temp_path %[1]s/tmp-proxy;
    fastcgi_temp_path %[1]s/tmp-fastcgi;
    uwsgi_temp_path %[1]s/tmp-uwsgi;
    scgi_temp_path %[1]s/tmp-scgi;
    keepalive_requests 100000000;
    server {
        listen 127.0.0.1:%[2]d;
        location / {
            default_type text/plain;
            return 200 %[3]q;
        }
    }
}
`, dir, b.httpPort, httpBody)
	nginx, err := nginxConf(dir, "nginx-http.conf", conf)
	if err != nil {
		b.stop()
		return nil, err
	}
	b.http, err = child.Start("nginx (HTTP backend)", backendCommand(cpus, nginx[0], nginx[1:]...), filepath.Join(dir, "nginx-http.out"))
	if err != nil {
		b.stop()
		return nil, err
	}
	return b, nil
}

func (b *backends) stop() {
	b.iperf.Stop()
	b.http.Stop()
}

// nginxConf writes an nginx configuration and returns the command line that runs it in
// the foreground (its error log is in the configuration, -e keeps nginx from opening the
// system's before it reads it).
func nginxConf(dir, name, conf string) ([]string, error) {
	bin, err := lookSbin("nginx")
	if err != nil {
		return nil, err
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	return []string{bin, "-e", filepath.Join(dir, name+".log"), "-c", p}, nil
}

// waitPaths waits until every path carries an HTTP request and its iperf3 ports are taken
// (by the proxy or the server: iperf3's server is not disturbed by a probe), and until the
// backends answer.
func waitPaths(ctx context.Context, paths []path, b *backends) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for _, p := range paths {
		var last error
		for {
			last = probe(client, p)
			if last == nil {
				break
			}
			for _, q := range []*proc{p.proxy, b.iperf, b.http} {
				if q != nil {
					if err := q.Exited(); err != nil {
						return err
					}
				}
			}
			select {
			case <-ctx.Done():
				msg := ""
				if p.proxy != nil {
					msg = "\n" + p.proxy.LogTail()
				}
				return fmt.Errorf("%s: not ready after 60s: %v%s", p.name, last, msg)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

// probe checks one path: an HTTP request through it, and its iperf3 ports bound.
func probe(client *http.Client, p path) error {
	resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/", p.httpPort))
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || string(body) != httpBody {
		return fmt.Errorf("HTTP answer %s %q, want 200 %q", resp.Status, body, httpBody)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p.iperfPort))
	if l, err := net.Listen("tcp", addr); err == nil {
		l.Close()
		return fmt.Errorf("nothing listens on TCP %s yet", addr)
	}
	if p.udp && p.proxy != nil { // iperf3's server binds UDP only for a UDP test
		if c, err := net.ListenPacket("udp", addr); err == nil {
			c.Close()
			return fmt.Errorf("nothing listens on UDP %s yet", addr)
		}
	}
	return nil
}

// startPolyregion writes a one-region fleet whose configuration declares the accelerator
// (a TCP listener for iperf3, one for HTTP, a UDP listener for iperf3 on the port of the
// TCP one), runs `polyregion init` and then `polyregion serve`.
func startPolyregion(ctx context.Context, bin, dir, cpus string, b *backends) (path, error) {
	ports, err := freePorts(2)
	if err != nil {
		return path{}, err
	}
	p := path{name: "polyregion", iperfPort: ports[0], httpPort: ports[1], udp: true}
	// Every endpoint is checked on the HTTP backend's port: a TCP check of the iperf3
	// server would disturb its one control connection.
	group := func(port int) []fleetcfg.EdgeEndpointGroup {
		return []fleetcfg.EdgeEndpointGroup{{
			Region:      "us-east",
			HealthCheck: fleetcfg.EdgeHealthCheck{Port: b.httpPort, Interval: 1, Threshold: 1},
			Endpoints:   []fleetcfg.EdgeEndpoint{{Address: fmt.Sprintf("127.0.0.1:%d", port)}},
		}}
	}
	cfg := fleetcfg.Config{
		Regions: []fleetcfg.Region{{
			Name: "us-east", Lat: 38.9, Lon: -77.4, Zone: "us",
			Listen: fleetcfg.Listen{Peer: "127.0.0.1:0", Control: "127.0.0.1:0", Edge: "127.0.0.1"},
		}},
		Edge: fleetcfg.Edge{Accelerators: []fleetcfg.EdgeAccelerator{{
			Name: "bench",
			Listeners: []fleetcfg.EdgeListener{
				{Protocol: "TCP", Ports: []string{strconv.Itoa(p.iperfPort)}, EndpointGroups: group(b.iperfPort)},
				{Protocol: "TCP", Ports: []string{strconv.Itoa(p.httpPort)}, EndpointGroups: group(b.httpPort)},
				{Protocol: "UDP", Ports: []string{strconv.Itoa(p.iperfPort)}, EndpointGroups: group(b.iperfPort)},
			},
		}}},
		Log: fleetcfg.Log{Level: "warn", Format: "text"},
	}
	y, err := cfg.Marshal()
	if err != nil {
		return path{}, err
	}
	src := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(src, y, 0o600); err != nil {
		return path{}, err
	}
	fleet := filepath.Join(dir, "fleet")
	if out, err := exec.CommandContext(ctx, bin, "init", "--config", src, "--dir", fleet).CombinedOutput(); err != nil {
		return path{}, fmt.Errorf("polyregion init: %w\n%s", err, out)
	}
	p.proxy, err = child.Start("polyregion", command(cpus, bin, "serve", "--config", filepath.Join(fleet, "polyregion.yaml"), "--region", "us-east"),
		filepath.Join(dir, "polyregion.log"))
	if err != nil {
		return path{}, err
	}
	return p, nil
}

// startHAProxy runs HAProxy in the foreground: mode tcp, a frontend per backend.
func startHAProxy(dir, cpus string, b *backends) (path, error) {
	ports, err := freePorts(2)
	if err != nil {
		return path{}, err
	}
	p := path{name: "HAProxy", iperfPort: ports[0], httpPort: ports[1]}
	conf := fmt.Sprintf(`global
    maxconn 4096

defaults
    mode tcp
    timeout connect 5s
    timeout client 340s
    timeout server 340s

frontend iperf
    bind 127.0.0.1:%d
    default_backend iperf

backend iperf
    server iperf 127.0.0.1:%d

frontend http
    bind 127.0.0.1:%d
    default_backend http

backend http
    server http 127.0.0.1:%d
`, p.iperfPort, b.iperfPort, p.httpPort, b.httpPort)
	cf := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		return path{}, err
	}
	bin, err := lookSbin("haproxy")
	if err != nil {
		return path{}, err
	}
	p.proxy, err = child.Start("HAProxy", command(cpus, bin, "-db", "-f", cf), filepath.Join(dir, "haproxy.log"))
	return p, err
}

// startNginxStream runs nginx with the stream module in the foreground: iperf3 over TCP
// and UDP on one port, HTTP on another.
func startNginxStream(dir, cpus string, b *backends) (path, error) {
	ports, err := freePorts(2)
	if err != nil {
		return path{}, err
	}
	p := path{name: "nginx", iperfPort: ports[0], httpPort: ports[1], udp: true}
	conf := fmt.Sprintf(`load_module /usr/lib/nginx/modules/ngx_stream_module.so;
daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx-stream.pid;
error_log %[1]s/nginx-stream.log warn;
events { worker_connections 10000; }
stream {
    proxy_timeout 340s;
    server {
        listen 127.0.0.1:%[2]d;
        listen 127.0.0.1:%[2]d udp;
        proxy_pass 127.0.0.1:%[3]d;
    }
    server {
        listen 127.0.0.1:%[4]d;
        proxy_pass 127.0.0.1:%[5]d;
    }
}
`, dir, p.iperfPort, b.iperfPort, p.httpPort, b.httpPort)
	if _, err := os.Stat("/usr/lib/nginx/modules/ngx_stream_module.so"); err != nil {
		return path{}, errors.New("nginx's stream module is not installed: run bench/edge/run.sh, which installs libnginx-mod-stream")
	}
	cmd, err := nginxConf(dir, "nginx-stream.conf", conf)
	if err != nil {
		return path{}, err
	}
	p.proxy, err = child.Start("nginx", command(cpus, cmd[0], cmd[1:]...), filepath.Join(dir, "nginx-stream.out"))
	return p, err
}

// polyregionVersion is what `polyregion version` prints.
func polyregionVersion(bin string) string {
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		return "polyregion ?"
	}
	return strings.TrimSpace(string(out))
}
