package gaapi

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/polyregion/polyregion/internal/awsapi"
	"github.com/polyregion/polyregion/internal/control"
	"github.com/polyregion/polyregion/internal/edge"
)

// The resources FuzzRequest starts with: their ids derive from these idempotency tokens,
// so the seed corpus (testdata/fuzz/FuzzRequest) can name them.
const (
	fuzzAcceleratorToken = "fuzz-accelerator"
	fuzzListenerToken    = "fuzz-listener"
	fuzzGroupToken       = "fuzz-group"
)

// FuzzRequest posts arbitrary bodies to arbitrary operations, signed. Whatever they hold,
// the API must answer with JSON and success or a client error, never a server error; a
// rejected request must change nothing, and what is stored must pass edge's validation.
func FuzzRequest(f *testing.F) {
	node := startNode(f)
	h := New(Options{
		Credentials:   []awsapi.Credentials{{AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey}},
		Store:         node,
		Regions:       testRegions,
		EdgeAddresses: func() []string { return []string{"192.0.2.10"} },
	})
	accArn := "arn:aws:globalaccelerator::000000000000:accelerator/" + acceleratorID("000000000000", fuzzAcceleratorToken)
	listenerArn := accArn + "/listener/" + listenerID(accArn, fuzzListenerToken)
	groupArn := listenerArn + "/endpoint-group/" + groupID(listenerArn, fuzzGroupToken)
	setup := []struct{ op, body string }{
		{"CreateAccelerator", `{"Name":"fuzz","IdempotencyToken":"` + fuzzAcceleratorToken + `"}`},
		{"CreateListener", `{"AcceleratorArn":"` + accArn + `","Protocol":"TCP","PortRanges":[{"FromPort":80,"ToPort":81}],"IdempotencyToken":"` + fuzzListenerToken + `"}`},
		{"CreateEndpointGroup", `{"ListenerArn":"` + listenerArn + `","EndpointGroupRegion":"eu-west","EndpointConfigurations":[{"EndpointId":"192.0.2.1"}],"IdempotencyToken":"` + fuzzGroupToken + `"}`},
	}
	for _, s := range setup {
		if w := rawCall(f, h, s.op, []byte(s.body)); w.Code != http.StatusOK {
			f.Fatalf("%s: %d %s", s.op, w.Code, w.Body)
		}
	}
	f.Add("DescribeEndpointGroup", []byte(`{"EndpointGroupArn":"`+groupArn+`"}`))
	f.Add("AddEndpoints", []byte(`{"EndpointGroupArn":"`+groupArn+`","EndpointConfigurations":[{"EndpointId":"192.0.2.2","Weight":0}]}`))
	f.Fuzz(func(t *testing.T, op string, body []byte) {
		before := node.State()
		w := rawCall(t, h, op, body)
		t.Logf("%s: %d %s", op, w.Code, w.Body)
		if w.Code >= 500 {
			t.Fatalf("%s %q: status %d: %s", op, body, w.Code, w.Body)
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("%s %q: the answer is not JSON: %s", op, body, w.Body)
		}
		after := node.State()
		if w.Code != http.StatusOK {
			if after.Index() != before.Index() {
				t.Fatalf("%s %q was refused (%s) and changed the state", op, body, w.Body)
			}
			return
		}
		if err := validateState(after); err != nil {
			t.Fatalf("%s %q was accepted, and the accelerators are now invalid: %v", op, body, err)
		}
	})
}

func validateState(st *control.State) error {
	return validate(st, []control.Op{{Kind: edge.Kind}})
}
