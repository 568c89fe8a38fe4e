package dns_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/miekg/dns"

	pdns "github.com/polyregion/polyregion/internal/dns"
	"github.com/polyregion/polyregion/internal/dns/zone"
)

func Example() {
	snap, err := pdns.NewSnapshot(1,
		[]zone.HostedZone{{ID: "Z1", Name: "example.com."}},
		map[string][]zone.RecordSet{"Z1": {
			{Name: "www.example.com.", Type: "A", TTL: 300, Values: []string{"192.0.2.10"}},
		}},
		nil, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	s := pdns.New(pdns.Options{
		Region:      "eu-west",
		NameServers: []pdns.NameServer{{Region: "eu-west", Addr: netip.MustParseAddr("192.0.2.53")}},
	})
	s.Swap(snap)

	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, udp, tcp) }()

	m := new(dns.Msg)
	m.SetQuestion("www.example.com.", dns.TypeA)
	c := &dns.Client{Timeout: 5 * time.Second}
	r, _, err := c.Exchange(m, udp.LocalAddr().String())
	if err != nil {
		fmt.Println(err)
	} else {
		fmt.Println(dns.RcodeToString[r.Rcode], r.Authoritative, r.Answer[0])
	}

	cancel()
	fmt.Println(<-done)
	// Output:
	// NOERROR true www.example.com.	300	IN	A	192.0.2.10
	// <nil>
}
