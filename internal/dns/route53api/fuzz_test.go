package route53api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/polyregion/polyregion/internal/awsapi"
	"github.com/polyregion/polyregion/internal/control"
	"github.com/polyregion/polyregion/internal/dns/zone"
)

// FuzzChangeResourceRecordSets posts arbitrary bodies to ChangeResourceRecordSets of a zone
// with a few record sets. Whatever the body, the API must answer with a well-formed document
// and a client error or success, never a server error; a rejected batch must change
// nothing, and an accepted one must leave a zone that passes validation.
func FuzzChangeResourceRecordSets(f *testing.F) {
	node := startNode(f)
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	h := New(Options{
		Credentials: []awsapi.Credentials{{AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey}},
		Store:       node,
		Now:         func() time.Time { return now },
	})
	z := zone.HostedZone{ID: "ZFUZZ000000000000001", Name: "example.com.", CallerReference: "fuzz"}
	post := func(t testing.TB, path string, body []byte) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "http://route53.test"+path, bytes.NewReader(body))
		sum := sha256.Sum256(body)
		signReq := req.Clone(context.Background())
		signReq.URL.Scheme, signReq.URL.Host, signReq.RequestURI = "http", req.Host, ""
		creds := aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, signReq, hex.EncodeToString(sum[:]), "route53", "us-east-1", now); err != nil {
			t.Fatal(err)
		}
		req.Header = signReq.Header
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	// The zone and its first record sets, through the API's own control-plane writes.
	if _, err := node.Apply(context.Background(), batchPutZone(z)); err != nil {
		f.Fatal(err)
	}
	seed := `<ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeBatch><Changes>` +
		`<Change><Action>CREATE</Action><ResourceRecordSet><Name>www.example.com.</Name><Type>A</Type><TTL>60</TTL><ResourceRecords><ResourceRecord><Value>192.0.2.1</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change>` +
		`<Change><Action>CREATE</Action><ResourceRecordSet><Name>w.example.com.</Name><Type>A</Type><SetIdentifier>a</SetIdentifier><Weight>10</Weight><TTL>60</TTL><ResourceRecords><ResourceRecord><Value>192.0.2.2</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change>` +
		`</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>`
	if w := post(f, "/2013-04-01/hostedzone/"+z.ID+"/rrset", []byte(seed)); w.Code != http.StatusOK {
		f.Fatalf("seeding: %d %s", w.Code, w.Body)
	}
	f.Add([]byte(seed))
	f.Fuzz(func(t *testing.T, body []byte) {
		before := node.State()
		w := post(t, "/2013-04-01/hostedzone/"+z.ID+"/rrset", body)
		if w.Code >= 500 {
			t.Fatalf("status %d for %q: %s", w.Code, body, w.Body)
		}
		var doc struct{ XMLName xml.Name }
		if err := xml.Unmarshal(w.Body.Bytes(), &doc); err != nil {
			t.Fatalf("answer is not XML: %v\n%s", err, w.Body)
		}
		after := node.State()
		if w.Code != http.StatusOK {
			if after.Index() != before.Index() {
				t.Fatalf("a rejected batch (%d %s) changed the state", w.Code, w.Body)
			}
			return
		}
		sets, _, err := recordSets(after, z.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := validationContext(after, z).Validate(sets); err != nil {
			t.Fatalf("accepted %q, and the zone is now invalid: %v", body, err)
		}
	})
}

func batchPutZone(z zone.HostedZone) control.Batch {
	v, _ := json.Marshal(z)
	return control.Batch{Ops: []control.Op{{Kind: zone.KindHostedZone, ID: z.ID, Value: v, Expect: control.ExpectAbsent}}}
}
