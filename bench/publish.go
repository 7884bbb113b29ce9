package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Publisher posts messages to a target's backend HTTP API over keep-alive
// connections. It is safe for concurrent use.
type Publisher struct {
	ep     Endpoint
	client *http.Client
}

// NewPublisher returns a Publisher that keeps up to conns connections open.
func NewPublisher(ep Endpoint, conns int) *Publisher {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     time.Minute,
	}
	return &Publisher{ep: ep, client: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

// Close drops the idle connections.
func (p *Publisher) Close() { p.client.CloseIdleConnections() }

// Publish sends data (a JSON value) to channel ch and returns the server's
// sequence number when the target reports one.
func (p *Publisher) Publish(ctx context.Context, ch string, data []byte) (seq int64, err error) {
	var req *http.Request
	switch p.ep.Proto.family() {
	case ProtoComet:
		body := fmt.Appendf(nil, `{"channel":%q,"data":%s}`, ch, data)
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, "http://"+p.ep.Addr+"/api/publish", bytes.NewReader(body))
		if err == nil && p.ep.APIKey != "" {
			req.Header.Set("Authorization", "Bearer "+p.ep.APIKey)
		}
	case ProtoNchan:
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, "http://"+p.ep.Addr+"/pub/"+ch, bytes.NewReader(data))
	case ProtoCentrifugo:
		body := fmt.Appendf(nil, `{"channel":%q,"data":%s}`, ch, data)
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, "http://"+p.ep.Addr+"/api/publish", bytes.NewReader(body))
		if err == nil {
			req.Header.Set("X-API-Key", p.ep.APIKey)
		}
	default:
		err = fmt.Errorf("bench: unknown protocol %q", p.ep.Proto)
	}
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	// nchan answers 201 when the channel has subscribers, 202 when not.
	if resp.StatusCode/100 != 2 {
		return 0, fmt.Errorf("bench: publish: status %d: %s", resp.StatusCode, bytes.TrimSpace(body))
	}
	if v, ok := scanInt(body, `"seq":`); ok {
		return v, nil
	}
	if v, ok := scanInt(body, `"offset":`); ok {
		return v, nil
	}
	return 0, nil
}

// HealthPath is the URL path that answers 200 once the target serves.
func (e Endpoint) HealthPath() string {
	if e.Proto.family() == ProtoCentrifugo {
		return "/health"
	}
	return "/healthz"
}

// WaitHealthy polls the endpoint's health URL until it answers 200 or ctx
// ends.
func (e Endpoint) WaitHealthy(ctx context.Context) error {
	c := &http.Client{Timeout: time.Second}
	url := "http://" + e.Addr + e.HealthPath()
	for attempt := 0; ; attempt++ {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("bench: %s not healthy after %d attempts: %w", url, attempt+1, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// itoa is strconv.Itoa, short for the many places that build names.
func itoa(i int) string { return strconv.Itoa(i) }
