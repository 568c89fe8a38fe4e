package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/polyregion/polyregion/internal/app"
)

// awsCLI runs the AWS CLI against a region's Route 53 endpoint with the fleet's credentials.
func awsCLI(t *testing.T, ef *app.EndpointsFile, region string, args ...string) (string, error) {
	r, _ := ef.Region(region)
	cmd := exec.Command("aws", append([]string{"route53", "--endpoint-url", r.Endpoints["route53"], "--output", "json"}, args...)...)
	cmd.Env = append(os.Environ(),
		"AWS_ACCESS_KEY_ID="+ef.Credentials.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY="+ef.Credentials.SecretAccessKey,
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=/nonexistent", "AWS_SHARED_CREDENTIALS_FILE=/nonexistent", "AWS_EC2_METADATA_DISABLED=true")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func digShort(t *testing.T, addr, name string) (string, error) {
	host, port := addr[:strings.LastIndex(addr, ":")], addr[strings.LastIndex(addr, ":")+1:]
	out, err := exec.Command("dig", "@"+host, "-p", port, "+short", "+tries=1", "+time=2", name, "A").CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func resolveA(addr, name string) ([]string, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeA)
	r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(m, addr)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			out = append(out, a.A.String())
		}
	}
	return out, nil
}

// TestDNSWithUp: the AWS CLI creates a zone and a weighted record set that dig sees from
// every region; a health check flips a failover answer in all three regions within
// interval × threshold + 1 s.
func TestDNSWithUp(t *testing.T) {
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
	var zoneID string
	waitFor(t, 30*time.Second, func() error {
		out, err := awsCLI(t, ef, "us-east", "create-hosted-zone", "--name", "shop.test", "--caller-reference", "e2e-1")
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		var res struct{ HostedZone struct{ Id string } }
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			return err
		}
		zoneID = strings.TrimPrefix(res.HostedZone.Id, "/hostedzone/")
		return nil
	})
	batch := filepath.Join(dir, "batch.json")
	os.WriteFile(batch, []byte(`{"Changes":[
 {"Action":"CREATE","ResourceRecordSet":{"Name":"www.shop.test","Type":"A","SetIdentifier":"one","Weight":1,"TTL":60,"ResourceRecords":[{"Value":"192.0.2.44"}]}},
 {"Action":"CREATE","ResourceRecordSet":{"Name":"www.shop.test","Type":"A","SetIdentifier":"zero","Weight":0,"TTL":60,"ResourceRecords":[{"Value":"192.0.2.45"}]}}]}`), 0o600)
	out, err := awsCLI(t, ef, "eu-west", "change-resource-record-sets", "--hosted-zone-id", zoneID, "--change-batch", "file://"+batch)
	if err != nil {
		t.Fatalf("change-resource-record-sets: %v\n%s", err, out)
	}
	var ch struct{ ChangeInfo struct{ Id string } }
	json.Unmarshal([]byte(out), &ch)
	waitFor(t, 20*time.Second, func() error {
		out, err := awsCLI(t, ef, "ap-southeast", "get-change", "--id", ch.ChangeInfo.Id)
		if err != nil || !strings.Contains(out, "INSYNC") {
			return fmt.Errorf("get-change: %v %s", err, out)
		}
		return nil
	})
	for _, r := range ef.Regions {
		got, err := digShort(t, r.Endpoints["dns"], "www.shop.test")
		if err != nil || got != "192.0.2.44" {
			t.Errorf("dig at %s: %q, %v; want 192.0.2.44 (weight 0 never while weight 1 is healthy)", r.Name, got, err)
		}
	}

	// Failover on a health check: the answer follows the check in every region.
	var failing atomic.Bool
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer target.Close()
	port := target.URL[strings.LastIndex(target.URL, ":")+1:]
	const interval, threshold = time.Second, 2
	mustRun(t, "health", "create", "--dir", dir, "--id", "primary", "--type", "HTTP", "--ip", "127.0.0.1", "--port", port,
		"--interval", interval.String(), "--threshold", fmt.Sprint(threshold))
	os.WriteFile(batch, []byte(`{"Changes":[
 {"Action":"CREATE","ResourceRecordSet":{"Name":"api.shop.test","Type":"A","SetIdentifier":"p","Failover":"PRIMARY","HealthCheckId":"primary","TTL":10,"ResourceRecords":[{"Value":"192.0.2.1"}]}},
 {"Action":"CREATE","ResourceRecordSet":{"Name":"api.shop.test","Type":"A","SetIdentifier":"s","Failover":"SECONDARY","TTL":10,"ResourceRecords":[{"Value":"192.0.2.2"}]}}]}`), 0o600)
	if out, err := awsCLI(t, ef, "us-east", "change-resource-record-sets", "--hosted-zone-id", zoneID, "--change-batch", "file://"+batch); err != nil {
		t.Fatalf("failover records: %v\n%s", err, out)
	}
	everywhere := func(want string) func() error {
		return func() error {
			for _, r := range ef.Regions {
				got, err := resolveA(r.Endpoints["dns"], "api.shop.test")
				if err != nil {
					return err
				}
				if strings.Join(got, ",") != want {
					return fmt.Errorf("%s answers %v, want %s", r.Name, got, want)
				}
			}
			return nil
		}
	}
	waitFor(t, 20*time.Second, everywhere("192.0.2.1"))
	bound := interval*threshold + time.Second
	failing.Store(true)
	took := waitFor(t, bound+5*time.Second, everywhere("192.0.2.2"))
	if took > bound {
		t.Errorf("primary down: every region answered the secondary after %v; bound %v", took, bound)
	}
	t.Logf("primary down: every region answers the secondary after %v (bound %v)", took, bound)
	failing.Store(false)
	took = waitFor(t, bound+5*time.Second, everywhere("192.0.2.1"))
	if took > bound {
		t.Errorf("primary back: every region answered it after %v; bound %v", took, bound)
	}
	t.Logf("primary back: every region answers it after %v (bound %v)", took, bound)
}
