package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Start starts an uploaded module; the instance is running when it returns.
func (c *Client) Start(ctx context.Context, req StartRequest) (*Instance, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	var in Instance
	r := request{method: http.MethodPost, path: "/v1/instances", body: body, contentType: "application/json"}
	if err := c.call(ctx, r, &in); err != nil {
		return nil, err
	}
	return &in, nil
}

// Instances lists the instances the node holds or held.
func (c *Client) Instances(ctx context.Context) ([]Instance, error) {
	var list struct {
		Instances []Instance `json:"instances"`
	}
	if err := c.call(ctx, request{method: http.MethodGet, path: "/v1/instances"}, &list); err != nil {
		return nil, err
	}
	return list.Instances, nil
}

// Instance describes one instance, wherever it lives now.
func (c *Client) Instance(ctx context.Context, id string) (*Instance, error) {
	return c.instanceCall(ctx, http.MethodGet, id, "")
}

// Wait blocks until the instance has ended and describes it. It follows the
// instance across moves: a wait that returns before the end (the instance
// left the node) is asked again.
func (c *Client) Wait(ctx context.Context, id string) (*Instance, error) {
	for backoff := 50 * time.Millisecond; ; backoff = min(2*backoff, time.Second) {
		in, err := c.instanceCall(ctx, http.MethodGet, id, "wait")
		if err != nil || in.Status.Terminal() {
			return in, err
		}
		if err := sleep(ctx, backoff); err != nil {
			return nil, err
		}
	}
}

// Pause stops the instance at its next safe point and keeps it.
func (c *Client) Pause(ctx context.Context, id string) (*Instance, error) {
	return c.instanceCall(ctx, http.MethodPost, id, "pause")
}

// Resume runs a paused instance again.
func (c *Client) Resume(ctx context.Context, id string) (*Instance, error) {
	return c.instanceCall(ctx, http.MethodPost, id, "resume")
}

// Stop ends the instance (status stopped, exit code 143).
func (c *Client) Stop(ctx context.Context, id string) (*Instance, error) {
	return c.instanceCall(ctx, http.MethodPost, id, "stop")
}

// Resolve settles an in-doubt migration into the node (status in-doubt:
// prepared, and its source has not said whether it committed): commit runs
// the instance there, abort drops it. Use it only when the source is gone
// for good. The node refuses (conflict) when it can reach the source,
// whose outcome then applies. It returns the outcome applied.
func (c *Client) Resolve(ctx context.Context, id string, commit bool) (string, error) {
	body := []byte(`{"outcome":"abort"}`)
	if commit {
		body = []byte(`{"outcome":"commit"}`)
	}
	var out struct {
		Outcome string `json:"outcome"`
	}
	r := request{method: http.MethodPost, path: instancePath(id, "resolve"), body: body, contentType: "application/json"}
	if err := c.call(ctx, r, &out); err != nil {
		return "", err
	}
	return out.Outcome, nil
}

// Checkpoint writes a snapshot of the instance to w; a running instance
// pauses for the capture and goes on.
func (c *Client) Checkpoint(ctx context.Context, id string, w io.Writer) error {
	resp, err := c.do(ctx, request{method: http.MethodGet, path: instancePath(id, "snapshot")})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("checkpoint %s: %w", id, err)
	}
	return nil
}

// Restore starts a new instance (with a new id) from the snapshot read from
// r; the snapshot's module must be on the node. With paused, the instance
// waits for Resume.
func (c *Client) Restore(ctx context.Context, r io.Reader, paused bool) (*Instance, error) {
	snap, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("restore: read snapshot: %w", err)
	}
	q := url.Values{}
	if paused {
		q.Set("paused", "1")
	}
	var in Instance
	req := request{method: http.MethodPost, path: "/v1/instances/restore", query: q, body: snap, contentType: "application/octet-stream"}
	if err := c.call(ctx, req, &in); err != nil {
		return nil, err
	}
	return &in, nil
}

// Node describes the node.
func (c *Client) Node(ctx context.Context) (*Node, error) {
	var n Node
	if err := c.call(ctx, request{method: http.MethodGet, path: "/v1/node"}, &n); err != nil {
		return nil, err
	}
	return &n, nil
}

// Health asks the node whether it is up; it needs no token.
func (c *Client) Health(ctx context.Context) (*Health, error) {
	var h Health
	if err := c.call(ctx, request{method: http.MethodGet, path: "/healthz"}, &h); err != nil {
		return nil, err
	}
	return &h, nil
}

func (c *Client) instanceCall(ctx context.Context, method, id, action string) (*Instance, error) {
	var in Instance
	if err := c.call(ctx, request{method: method, path: instancePath(id, action)}, &in); err != nil {
		return nil, err
	}
	return &in, nil
}

// call sends r and decodes the JSON answer into v.
func (c *Client) call(ctx context.Context, r request, v any) error {
	resp, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	defer drain(resp)
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", r.method, r.path, err)
	}
	return nil
}

// instancePath is /v1/instances/{id}[/{action}].
func instancePath(id, action string) string {
	p := "/v1/instances/" + url.PathEscape(id)
	if action != "" {
		p += "/" + action
	}
	return p
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
