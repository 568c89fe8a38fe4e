package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	ga "github.com/aws/aws-sdk-go-v2/service/globalaccelerator"
	gatypes "github.com/aws/aws-sdk-go-v2/service/globalaccelerator/types"
	"github.com/pires/go-proxyproto"

	"github.com/polyregion/polyregion/internal/app"
)

// gaCLI runs `aws globalaccelerator` against a region's Global Accelerator API.
func gaCLI(t *testing.T, ef *app.EndpointsFile, region string, args ...string) (string, error) {
	r, _ := ef.Region(region)
	cmd := exec.Command("aws", append([]string{"globalaccelerator", "--endpoint-url", r.Endpoints["globalaccelerator"], "--region", "us-west-2", "--output", "json"}, args...)...)
	cmd.Env = append(os.Environ(),
		"AWS_ACCESS_KEY_ID="+ef.Credentials.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY="+ef.Credentials.SecretAccessKey,
		"AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent", "AWS_EC2_METADATA_DISABLED=true")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func gaClient(ef *app.EndpointsFile, region string) *ga.Client {
	r, _ := ef.Region(region)
	return ga.New(ga.Options{
		Region:       "us-west-2",
		BaseEndpoint: aws.String(r.Endpoints["globalaccelerator"]),
		Credentials:  credentials.NewStaticCredentialsProvider(ef.Credentials.AccessKeyID, ef.Credentials.SecretAccessKey, ""),
	})
}

// edgeBackend is a TCP endpoint that reads the PROXY header the edge sends first and
// answers "<name> <client address>\n", then echoes until the client closes. A connection
// without a header (a health check) is closed.
type edgeBackend struct {
	name string
	ln   net.Listener
	wg   sync.WaitGroup
}

func startEdgeBackend(t *testing.T, name string) *edgeBackend {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &edgeBackend{name: name, ln: ln}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.wg.Add(1)
			go func() {
				defer b.wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(30 * time.Second))
				r := bufio.NewReader(c)
				h, err := proxyproto.Read(r)
				if err != nil {
					return
				}
				fmt.Fprintf(c, "%s %s\n", name, h.SourceAddr)
				io.Copy(c, r)
			}()
		}
	}()
	t.Cleanup(b.stop)
	return b
}

func (b *edgeBackend) stop()        { b.ln.Close(); b.wg.Wait() }
func (b *edgeBackend) addr() string { return b.ln.Addr().String() }

// freePortOn returns a TCP and UDP port free on every host.
func freePortOn(t *testing.T, hosts []string) int {
	t.Helper()
	for range 50 {
		ln, err := net.Listen("tcp", net.JoinHostPort(hosts[0], "0"))
		if err != nil {
			t.Fatal(err)
		}
		port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
		held := []io.Closer{ln}
		ok := true
		for i, h := range hosts {
			if i > 0 {
				l, err := net.Listen("tcp", net.JoinHostPort(h, port))
				if err != nil {
					ok = false
					break
				}
				held = append(held, l)
			}
			u, err := net.ListenPacket("udp", net.JoinHostPort(h, port))
			if err != nil {
				ok = false
				break
			}
			held = append(held, u)
		}
		for _, c := range held {
			c.Close()
		}
		if ok {
			p, _ := strconv.Atoi(port)
			return p
		}
	}
	t.Fatal("no port free on every edge address")
	return 0
}

// flow opens a TCP flow from local (empty: any address) to an edge address and returns the
// first line the endpoint says.
func flow(local, host string, port int) (string, error) {
	d := net.Dialer{Timeout: 2 * time.Second}
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	c, err := d.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

// TestEdgeWithUp: the AWS CLI creates an accelerator, a listener and an endpoint group in
// `up`'s fleet, and traffic flows; each edge location picks its nearest group; the traffic
// dial example of the AWS guide splits as documented; weights hold (chi-square); SOURCE_IP
// affinity keeps a client on one endpoint; removing one of five endpoints moves at most
// 1/5 + 2% of clients; a failing group's new flows go to the next closest within
// interval × threshold + 1 s, while an open flow survives dial and weight changes.
func TestEdgeWithUp(t *testing.T) {
	dir := t.TempDir()
	startUp(t, dir)
	waitFor(t, 20*time.Second, func() error {
		_, err := os.Stat(filepath.Join(dir, "endpoints.json"))
		return err
	})
	ef, err := app.ReadEndpointsFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	edges := map[string]string{}
	var hosts []string
	for _, r := range ef.Regions {
		edges[r.Name] = r.Endpoints["edge"]
		hosts = append(hosts, r.Endpoints["edge"])
	}
	if len(hosts) != 3 || hosts[0] == "" {
		t.Fatalf("edge addresses %v", edges)
	}
	backends := map[string]*edgeBackend{}
	for _, r := range []string{"us-east", "eu-west", "ap-southeast"} {
		backends[r] = startEdgeBackend(t, r)
	}

	// The AWS CLI: accelerator, listener, one endpoint group per region.
	port := freePortOn(t, hosts)
	var acc struct {
		Accelerator struct{ AcceleratorArn string }
	}
	waitFor(t, 30*time.Second, func() error {
		out, err := gaCLI(t, ef, "us-east", "create-accelerator", "--name", "web", "--idempotency-token", "e2e-web")
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return json.Unmarshal([]byte(out), &acc)
	})
	out, err := gaCLI(t, ef, "eu-west", "create-listener", "--accelerator-arn", acc.Accelerator.AcceleratorArn,
		"--protocol", "TCP", "--port-ranges", fmt.Sprintf("FromPort=%d,ToPort=%d", port, port))
	if err != nil {
		t.Fatalf("create-listener: %v\n%s", err, out)
	}
	var lis struct{ Listener struct{ ListenerArn string } }
	json.Unmarshal([]byte(out), &lis)
	groupArn := map[string]string{}
	for region, b := range backends {
		out, err := gaCLI(t, ef, "ap-southeast", "create-endpoint-group", "--listener-arn", lis.Listener.ListenerArn,
			"--endpoint-group-region", region, "--health-check-interval-seconds", "10", "--threshold-count", "1",
			"--endpoint-configurations", fmt.Sprintf("EndpointId=%s,Weight=128,ClientIPPreservationEnabled=true", b.addr()))
		if err != nil {
			t.Fatalf("create-endpoint-group %s: %v\n%s", region, err, out)
		}
		var g struct {
			EndpointGroup struct{ EndpointGroupArn string }
		}
		json.Unmarshal([]byte(out), &g)
		groupArn[region] = g.EndpointGroup.EndpointGroupArn
	}
	// Traffic flows, each edge location to its own region, with the client's address.
	for region, host := range edges {
		waitFor(t, 30*time.Second, func() error {
			d := net.Dialer{Timeout: 2 * time.Second}
			c, err := d.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
			if err != nil {
				return err
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(3 * time.Second))
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil {
				return err
			}
			if want := region + " " + c.LocalAddr().String() + "\n"; line != want {
				return fmt.Errorf("edge %s: %q, want %q", region, line, want)
			}
			return nil
		})
	}
	client := gaClient(ef, "us-east")
	ctx := context.Background()

	// An open flow survives dial and weight changes.
	open, err := net.Dial("tcp", net.JoinHostPort(edges["us-east"], strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	openR := bufio.NewReader(open)
	if line, err := openR.ReadString('\n'); err != nil || !strings.HasPrefix(line, "us-east ") {
		t.Fatalf("open flow greeting %q, %v", line, err)
	}
	if _, err := client.UpdateEndpointGroup(ctx, &ga.UpdateEndpointGroupInput{EndpointGroupArn: aws.String(groupArn["us-east"]),
		TrafficDialPercentage: aws.Float32(0)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() error { // new flows at us-east now go elsewhere
		line, err := flow("", edges["us-east"], port)
		if err != nil {
			return err
		}
		if strings.HasPrefix(line, "us-east ") {
			return fmt.Errorf("dial 0 but %q", line)
		}
		return nil
	})
	fmt.Fprintf(open, "still open\n")
	if line, err := openR.ReadString('\n'); err != nil || line != "still open\n" {
		t.Fatalf("the open flow after the dial change: %q, %v", line, err)
	}
	// Dial back to 100 and the endpoint's weight to 0: new flows still avoid it, the open
	// flow goes on.
	if _, err := client.UpdateEndpointGroup(ctx, &ga.UpdateEndpointGroupInput{EndpointGroupArn: aws.String(groupArn["us-east"]), TrafficDialPercentage: aws.Float32(100),
		EndpointConfigurations: []gatypes.EndpointConfiguration{{EndpointId: aws.String(backends["us-east"].addr()), Weight: aws.Int32(0), ClientIPPreservationEnabled: aws.Bool(true)}}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() error {
		line, err := flow("", edges["us-east"], port)
		if err != nil {
			return err
		}
		if strings.HasPrefix(line, "us-east ") {
			return fmt.Errorf("weight 0 but %q", line)
		}
		return nil
	})
	fmt.Fprintf(open, "still open after the weight change\n")
	if line, err := openR.ReadString('\n'); err != nil || line != "still open after the weight change\n" {
		t.Fatalf("the open flow after the weight change: %q, %v", line, err)
	}
	open.Close()
	if _, err := client.UpdateEndpointGroup(ctx, &ga.UpdateEndpointGroupInput{EndpointGroupArn: aws.String(groupArn["us-east"]),
		EndpointConfigurations: []gatypes.EndpointConfiguration{{EndpointId: aws.String(backends["us-east"].addr()), Weight: aws.Int32(128), ClientIPPreservationEnabled: aws.Bool(true)}}}); err != nil {
		t.Fatal(err)
	}

	// Failover: eu-west's endpoint fails its check (interval 10 s, threshold 1); new flows
	// at the eu-west edge go to the next closest group, us-east, within 11 s.
	backends["eu-west"].stop()
	took := waitFor(t, 20*time.Second, func() error {
		line, err := flow("", edges["eu-west"], port)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(line, "us-east ") {
			return fmt.Errorf("eu-west edge: %q", line)
		}
		return nil
	})
	t.Logf("failover at the eu-west edge took %v (bound 11 s)", took)
	if took > 11*time.Second+time.Second {
		t.Errorf("failover took %v, more than interval × threshold + 1 s = 11 s (+1 s of polling)", took)
	}

	t.Run("http and udp endpoints", func(t *testing.T) {
		// HTTP: an ordinary web server behind the edge (no PROXY header), reached from every
		// edge location with a plain GET.
		web := map[string]*httptest.Server{}
		for _, r := range []string{"us-east", "eu-west", "ap-southeast"} {
			web[r] = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "web-"+r) }))
			t.Cleanup(web[r].Close)
		}
		hp := freePortOn(t, hosts)
		hl, err := client.CreateListener(ctx, &ga.CreateListenerInput{AcceleratorArn: aws.String(acc.Accelerator.AcceleratorArn), Protocol: gatypes.ProtocolTcp,
			PortRanges: []gatypes.PortRange{{FromPort: aws.Int32(int32(hp)), ToPort: aws.Int32(int32(hp))}}})
		if err != nil {
			t.Fatal(err)
		}
		for r, srv := range web {
			if _, err := client.CreateEndpointGroup(ctx, &ga.CreateEndpointGroupInput{ListenerArn: hl.Listener.ListenerArn, EndpointGroupRegion: aws.String(r),
				HealthCheckProtocol: gatypes.HealthCheckProtocolHttp, HealthCheckPath: aws.String("/"), HealthCheckIntervalSeconds: aws.Int32(10), ThresholdCount: aws.Int32(1),
				EndpointConfigurations: []gatypes.EndpointConfiguration{{EndpointId: aws.String(strings.TrimPrefix(srv.URL, "http://")), Weight: aws.Int32(128)}}}); err != nil {
				t.Fatal(err)
			}
		}
		for r, host := range edges {
			waitFor(t, 20*time.Second, func() error {
				// A new connection each time: an open flow keeps its endpoint.
				resp, err := (&http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}).Get("http://" + net.JoinHostPort(host, strconv.Itoa(hp)) + "/")
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				if string(b) != "web-"+r {
					return fmt.Errorf("GET through the %s edge: %q", r, b)
				}
				return nil
			})
		}
		// UDP: an echo that reads the PROXY header on every datagram, checked over TCP (its
		// TCP twin on the same port), as Global Accelerator checks UDP endpoints.
		var echo net.PacketConn
		var twin net.Listener
		for range 50 { // a port free for both TCP and UDP
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			pc, err := net.ListenPacket("udp", l.Addr().String())
			if err == nil {
				echo, twin = pc, l
				break
			}
			l.Close()
		}
		if echo == nil {
			t.Fatal("no port free for both TCP and UDP")
		}
		defer echo.Close()
		defer twin.Close()
		go func() {
			for {
				c, err := twin.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		go func() {
			buf := make([]byte, 2048)
			for {
				n, from, err := echo.ReadFrom(buf)
				if err != nil {
					return
				}
				if h, payload, err := proxyproto.ParseUDPDatagram(buf[:n]); err == nil {
					echo.WriteTo(fmt.Appendf(nil, "%s %s", h.SourceAddr, payload), from)
				}
			}
		}()
		up := freePortOn(t, hosts)
		ul, err := client.CreateListener(ctx, &ga.CreateListenerInput{AcceleratorArn: aws.String(acc.Accelerator.AcceleratorArn), Protocol: gatypes.ProtocolUdp,
			PortRanges: []gatypes.PortRange{{FromPort: aws.Int32(int32(up)), ToPort: aws.Int32(int32(up))}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.CreateEndpointGroup(ctx, &ga.CreateEndpointGroupInput{ListenerArn: ul.Listener.ListenerArn, EndpointGroupRegion: aws.String("eu-west"),
			HealthCheckIntervalSeconds: aws.Int32(10), ThresholdCount: aws.Int32(1),
			EndpointConfigurations: []gatypes.EndpointConfiguration{{EndpointId: aws.String(echo.LocalAddr().String()), Weight: aws.Int32(128), ClientIPPreservationEnabled: aws.Bool(true)}}}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 20*time.Second, func() error {
			c, err := net.Dial("udp", net.JoinHostPort(edges["ap-southeast"], strconv.Itoa(up)))
			if err != nil {
				return err
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(time.Second))
			c.Write([]byte("ping"))
			buf := make([]byte, 512)
			n, err := c.Read(buf)
			if err != nil {
				return err
			}
			if want := c.LocalAddr().String() + " ping"; string(buf[:n]) != want {
				return fmt.Errorf("UDP through the ap-southeast edge: %q, want %q", buf[:n], want)
			}
			return nil
		})
	})

	t.Run("traffic dial example", func(t *testing.T) {
		west, east := startEdgeBackend(t, "dial-west"), startEdgeBackend(t, "dial-east")
		p := edgeListener(t, client, acc.Accelerator.AcceleratorArn, hosts, gatypes.ClientAffinityNone, map[string][]gatypes.EndpointConfiguration{
			"us-east": {endpoint(east.addr(), 128)}, "eu-west": {endpoint(west.addr(), 128)}}, 50)
		allRouted(t, edges["us-east"], p, "dial-east", "dial-west")
		allRouted(t, edges["eu-west"], p, "dial-east", "dial-west")
		served := map[string]int{}
		const n = 300
		for _, edge := range []string{"us-east", "eu-west"} {
			for range n {
				line, err := flow("", edges[edge], p)
				if err != nil {
					t.Fatal(err)
				}
				served[strings.Fields(line)[0]+" from "+edge]++
			}
		}
		// Each group serves a quarter of all flows from each side.
		for k, c := range served {
			if f := float64(c) / (2 * n); f < 0.19 || f > 0.31 {
				t.Errorf("%s: %.3f of flows, want 0.25", k, f)
			}
		}
		if len(served) != 4 {
			t.Errorf("served %v", served)
		}
	})

	t.Run("weights", func(t *testing.T) {
		weights := map[string]int32{"w200": 200, "w100": 100, "w50": 50}
		var eps []gatypes.EndpointConfiguration
		for name, w := range weights {
			eps = append(eps, endpoint(startEdgeBackend(t, name).addr(), w))
		}
		p := edgeListener(t, client, acc.Accelerator.AcceleratorArn, hosts, gatypes.ClientAffinityNone, map[string][]gatypes.EndpointConfiguration{"us-east": eps}, 100)
		allRouted(t, edges["us-east"], p, "w200", "w100", "w50")
		got := map[string]float64{}
		const n = 700
		for range n {
			line, err := flow("", edges["us-east"], p)
			if err != nil {
				t.Fatal(err)
			}
			got[strings.Fields(line)[0]]++
		}
		chi := 0.0
		for name, w := range weights {
			exp := float64(w) / 350 * n
			chi += (got[name] - exp) * (got[name] - exp) / exp
		}
		if chi > 13.8 { // p = 0.001, 2 degrees of freedom
			t.Errorf("chi-square %.1f for %v", chi, got)
		}
	})

	t.Run("source ip affinity and removal", func(t *testing.T) {
		var eps []gatypes.EndpointConfiguration
		for i := range 5 {
			eps = append(eps, endpoint(startEdgeBackend(t, fmt.Sprint("aff", i)).addr(), 128))
		}
		p := edgeListener(t, client, acc.Accelerator.AcceleratorArn, hosts, gatypes.ClientAffinitySourceIp, map[string][]gatypes.EndpointConfiguration{"us-east": eps}, 100)
		allRouted(t, edges["us-east"], p, "aff0", "aff1", "aff2", "aff3", "aff4")
		const clients = 1000
		first := map[string]string{}
		for i := range clients {
			src := fmt.Sprintf("127.0.%d.%d", 3+i/250, i%250+1)
			for j := range 3 {
				line, err := flow(src, edges["us-east"], p)
				if err != nil {
					t.Fatal(err)
				}
				name := strings.Fields(line)[0]
				if j == 0 {
					first[src] = name
				} else if name != first[src] {
					t.Fatalf("client %s went to %s, then %s", src, first[src], name)
				}
			}
		}
		// Remove aff0; wait until its clients land elsewhere; count every client that moved.
		var groupArn string
		lg, _ := client.ListEndpointGroups(ctx, &ga.ListEndpointGroupsInput{ListenerArn: aws.String(listenerOnPort(t, client, acc.Accelerator.AcceleratorArn, p))})
		groupArn = *lg.EndpointGroups[0].EndpointGroupArn
		if _, err := client.RemoveEndpoints(ctx, &ga.RemoveEndpointsInput{EndpointGroupArn: aws.String(groupArn),
			EndpointIdentifiers: []gatypes.EndpointIdentifier{{EndpointId: eps[0].EndpointId}}}); err != nil {
			t.Fatal(err)
		}
		var probe string
		for src, name := range first {
			if name == "aff0" {
				probe = src
			}
		}
		waitFor(t, 10*time.Second, func() error {
			line, err := flow(probe, edges["us-east"], p)
			if err != nil || strings.HasPrefix(line, "aff0 ") {
				return fmt.Errorf("%q, %v", line, err)
			}
			return nil
		})
		moved := 0
		for src, name := range first {
			line, err := flow(src, edges["us-east"], p)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Fields(line)[0] != name {
				moved++
			}
		}
		t.Logf("%.3f of %d clients moved after removing one of five endpoints", float64(moved)/clients, clients)
		if f := float64(moved) / clients; f > 1.0/5+0.02 {
			t.Errorf("%.3f of clients moved after removing one of five endpoints", f)
		}
	})
}

// allRouted waits until new flows at an edge address reach every one of names: the API
// reports an endpoint HEALTHY a moment before the edge has rebuilt its routes.
func allRouted(t *testing.T, host string, port int, names ...string) {
	t.Helper()
	seen := map[string]bool{}
	i := 0
	waitFor(t, 20*time.Second, func() error {
		for range 50 {
			i++
			line, err := flow(fmt.Sprintf("127.0.9.%d", i%250+1), host, port)
			if err != nil {
				return err
			}
			seen[strings.Fields(line)[0]] = true
		}
		for _, n := range names {
			if !seen[n] {
				return fmt.Errorf("no flow reached %s yet (seen %v)", n, seen)
			}
		}
		return nil
	})
}

func endpoint(addr string, weight int32) gatypes.EndpointConfiguration {
	return gatypes.EndpointConfiguration{EndpointId: aws.String(addr), Weight: aws.Int32(weight), ClientIPPreservationEnabled: aws.Bool(true)}
}

// edgeListener adds a TCP listener on a free port with one endpoint group per region
// (checked every 10 s, threshold 1, dial as given) through the Go SDK, and returns the
// port once every endpoint has passed its check.
func edgeListener(t *testing.T, c *ga.Client, accArn string, hosts []string, affinity gatypes.ClientAffinity, groups map[string][]gatypes.EndpointConfiguration, dial float32) int {
	t.Helper()
	ctx := context.Background()
	port := freePortOn(t, hosts)
	l, err := c.CreateListener(ctx, &ga.CreateListenerInput{AcceleratorArn: aws.String(accArn), Protocol: gatypes.ProtocolTcp,
		ClientAffinity: affinity, PortRanges: []gatypes.PortRange{{FromPort: aws.Int32(int32(port)), ToPort: aws.Int32(int32(port))}}})
	if err != nil {
		t.Fatal(err)
	}
	var arns []string
	for region, eps := range groups {
		g, err := c.CreateEndpointGroup(ctx, &ga.CreateEndpointGroupInput{ListenerArn: l.Listener.ListenerArn, EndpointGroupRegion: aws.String(region),
			EndpointConfigurations: eps, TrafficDialPercentage: aws.Float32(dial), HealthCheckIntervalSeconds: aws.Int32(10), ThresholdCount: aws.Int32(1)})
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, *g.EndpointGroup.EndpointGroupArn)
	}
	waitFor(t, 20*time.Second, func() error {
		for _, arn := range arns {
			g, err := c.DescribeEndpointGroup(ctx, &ga.DescribeEndpointGroupInput{EndpointGroupArn: aws.String(arn)})
			if err != nil {
				return err
			}
			for _, e := range g.EndpointGroup.EndpointDescriptions {
				if e.HealthState != gatypes.HealthStateHealthy {
					return fmt.Errorf("%s is %s", *e.EndpointId, e.HealthState)
				}
			}
		}
		return nil
	})
	return port
}

// listenerOnPort finds the accelerator's listener on port.
func listenerOnPort(t *testing.T, c *ga.Client, accArn string, port int) string {
	t.Helper()
	ls, err := c.ListListeners(context.Background(), &ga.ListListenersInput{AcceleratorArn: aws.String(accArn)})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls.Listeners {
		for _, r := range l.PortRanges {
			if int(*r.FromPort) == port {
				return *l.ListenerArn
			}
		}
	}
	t.Fatalf("no listener on port %d", port)
	return ""
}
