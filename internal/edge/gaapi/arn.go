package gaapi

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// ARNs are Global Accelerator's:
//
//	arn:aws:globalaccelerator::<account>:accelerator/<uuid>
//	arn:aws:globalaccelerator::<account>:accelerator/<uuid>/listener/<8 hex>
//	arn:aws:globalaccelerator::<account>:accelerator/<uuid>/listener/<8 hex>/endpoint-group/<12 hex>

func (a *api) acceleratorArn(id string) string {
	return "arn:aws:globalaccelerator::" + a.opts.AccountID + ":accelerator/" + id
}

// resourceArn is a parsed ARN: the accelerator's id, and the listener's and group's ARNs
// when the ARN names one (empty otherwise).
type resourceArn struct {
	acceleratorID string
	listenerArn   string
	groupArn      string
}

// parseArn splits an ARN of this account; false if it is not one of an accelerator, a
// listener or an endpoint group.
func (a *api) parseArn(arn string) (resourceArn, bool) {
	rest, ok := strings.CutPrefix(arn, "arn:aws:globalaccelerator::"+a.opts.AccountID+":accelerator/")
	if !ok {
		return resourceArn{}, false
	}
	parts := strings.Split(rest, "/")
	if parts[0] == "" {
		return resourceArn{}, false
	}
	out := resourceArn{acceleratorID: parts[0]}
	switch {
	case len(parts) == 1:
	case len(parts) == 3 && parts[1] == "listener" && parts[2] != "":
		out.listenerArn = arn
	case len(parts) == 5 && parts[1] == "listener" && parts[2] != "" && parts[3] == "endpoint-group" && parts[4] != "":
		out.listenerArn = a.acceleratorArn(parts[0]) + "/listener/" + parts[2]
		out.groupArn = arn
	default:
		return resourceArn{}, false
	}
	return out, true
}

// Identifiers. A create with an IdempotencyToken derives its resource's id from the token
// (and the parent's ARN), so that a retry finds the resource the first attempt made
// without anything else stored; without a token the id is random.

func acceleratorID(account, token string) string {
	b := idBytes(16, "accelerator\x00"+account, token)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func listenerID(acceleratorArn, token string) string {
	return hex.EncodeToString(idBytes(4, "listener\x00"+acceleratorArn, token))
}

func groupID(listenerArn, token string) string {
	return hex.EncodeToString(idBytes(6, "endpoint-group\x00"+listenerArn, token))
}

func idBytes(n int, parent, token string) []byte {
	if token == "" {
		b := make([]byte, n)
		_, _ = rand.Read(b)
		return b
	}
	sum := sha256.Sum256([]byte(parent + "\x00" + token))
	return sum[:n]
}

// Paging. A NextToken names the last item of the page before, in the listing's order
// (ARNs, sorted); the next page starts after it.

const pageTokenPrefix = "polyregion-ga-page:"

func nextToken(lastKey string) *string {
	s := base64.RawURLEncoding.EncodeToString([]byte(pageTokenPrefix + lastKey))
	return &s
}

func parseNextToken(token *string) (string, error) {
	if token == nil || *token == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*token)
	if err != nil {
		return "", errorf(codeInvalidNextToken, "the NextToken is not one this API returned")
	}
	key, ok := strings.CutPrefix(string(b), pageTokenPrefix)
	if !ok || key == "" {
		return "", errorf(codeInvalidNextToken, "the NextToken is not one this API returned")
	}
	return key, nil
}

// page returns the keys' page after the token's key and the token of the next page.
// keys are sorted.
func page(keys []string, maxResults *int, token *string) (from, to int, next *string, err error) {
	limit := 10
	if maxResults != nil {
		if *maxResults < 1 || *maxResults > 100 {
			return 0, 0, nil, invalidArgument("MaxResults %d is outside 1-100", *maxResults)
		}
		limit = *maxResults
	}
	after, err := parseNextToken(token)
	if err != nil {
		return 0, 0, nil, err
	}
	for from < len(keys) && after != "" && keys[from] <= after {
		from++
	}
	to = min(from+limit, len(keys))
	if to < len(keys) {
		next = nextToken(keys[to-1])
	}
	return from, to, next, nil
}
