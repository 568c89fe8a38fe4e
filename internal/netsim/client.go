package netsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Client calls the chaos API served by [WAN.Handler].
type Client struct {
	BaseURL string       // e.g. "http://127.0.0.1:7070"; the API paths are appended
	HTTP    *http.Client // nil means http.DefaultClient
}

// APIError is an error answered by the chaos API.
type APIError struct {
	StatusCode int
	Message    string // the "error" field of the answer, or its body
}

func (e *APIError) Error() string {
	return fmt.Sprintf("HTTP %d: %s", e.StatusCode, e.Message)
}

// Pairs returns every pair of the WAN, sorted.
func (c *Client) Pairs(ctx context.Context) ([]PairStatus, error) {
	return c.do(ctx, http.MethodGet, pathPairs, nil)
}

// Partition cuts the pair a-b.
func (c *Client) Partition(ctx context.Context, a, b string) error {
	_, err := c.do(ctx, http.MethodPost, pathPartition, pairRequest{A: a, B: b})
	return err
}

// Heal returns the pair a-b to its baseline.
func (c *Client) Heal(ctx context.Context, a, b string) error {
	_, err := c.do(ctx, http.MethodPost, pathHeal, healRequest{A: a, B: b})
	return err
}

// HealAll returns every pair to its baseline.
func (c *Client) HealAll(ctx context.Context) error {
	_, err := c.do(ctx, http.MethodPost, pathHeal, healRequest{All: true})
	return err
}

// SetDelay sets the one-way delay of the pair a-b.
func (c *Client) SetDelay(ctx context.Context, a, b string, oneWay time.Duration) error {
	_, err := c.do(ctx, http.MethodPost, pathLatency, latencyRequest{A: a, B: b, OneWay: oneWay.String()})
	return err
}

// SetLoss sets the loss probability of the pair a-b.
func (c *Client) SetLoss(ctx context.Context, a, b string, p float64) error {
	_, err := c.do(ctx, http.MethodPost, pathLoss, lossRequest{A: a, B: b, Loss: &p})
	return err
}

// do sends one request and decodes the pairs of the answer.
func (c *Client) do(ctx context.Context, method, path string, body any) ([]PairStatus, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("netsim: %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	url := strings.TrimSuffix(c.BaseURL, "/") + path
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, fmt.Errorf("netsim: %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("netsim: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("netsim: %s %s: reading answer: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		apiErr := &APIError{StatusCode: resp.StatusCode, Message: strings.TrimSpace(string(data))}
		var e errorResponse
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			apiErr.Message = e.Error
		}
		return nil, fmt.Errorf("netsim: %s %s: %w", method, path, apiErr)
	}
	var pr pairsResponse
	if err := json.Unmarshal(data, &pr); err != nil {
		return nil, fmt.Errorf("netsim: %s %s: decoding answer: %w", method, path, err)
	}
	pairs, err := pairsFromJSON(pr)
	if err != nil {
		return nil, fmt.Errorf("netsim: %s %s: decoding answer: %w", method, path, err)
	}
	return pairs, nil
}
