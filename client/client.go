// Package client is the Go client of the roam node HTTP API (docs/api.md):
// upload modules, start, watch, pause, checkpoint and migrate instances. The
// roam CLI uses it for every command that talks to a node.
//
// It speaks HTTP and JSON with the standard library only and must not depend
// on internal/engine, on wazero or on any other part of the runtime, so that
// any Go program can import it without pulling in an engine (deps_test.go).
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// maxHops bounds how many 307 redirects one call follows: an instance that
// moved a few times in a row is found, a misconfigured pool fails clearly.
const maxHops = 8

// Client calls one node. It is safe for concurrent use.
//
// A call to an instance that moved is redirected to the node that holds it
// now, and the Client follows with its token. To another origin (scheme,
// host and port) it does so only if the origin is trusted: listed among
// the peers of the node that redirected (the "peers" of its GET /v1/node,
// asked at each such redirect), or given with WithTrustedOrigins. A
// redirect to any other origin fails with an error and the token is not
// sent there.
type Client struct {
	base    *url.URL
	token   string
	http    *http.Client
	trusted []string // origins, normalised
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the Client send requests through h (for TLS settings
// or tests). Redirects are still followed by the Client itself.
func WithHTTPClient(h *http.Client) Option {
	return func(c *Client) {
		cp := *h
		cp.CheckRedirect = noRedirect
		c.http = &cp
	}
}

// WithTrustedOrigins makes the Client follow redirects to these nodes
// (base URLs; only their scheme, host and port count) with its token, in
// addition to the peers the redirecting node lists.
func WithTrustedOrigins(urls ...string) Option {
	return func(c *Client) {
		for _, s := range urls {
			if u, err := parseURL(s); err == nil {
				c.trusted = append(c.trusted, origin(u))
			}
		}
	}
}

// WithRootCAs makes the Client trust nodes whose certificates chain to a
// certificate of pool (a pool's own CA), instead of the system's roots.
func WithRootCAs(pool *x509.CertPool) Option {
	return func(c *Client) {
		if t, ok := c.http.Transport.(*http.Transport); ok {
			t = t.Clone()
			t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
			c.http.Transport = t
		}
	}
}

// New returns a client of the node at server, a base URL such as
// http://127.0.0.1:7474 ("host:port" means http), presenting token on every
// call but the health check.
func New(server, token string, opts ...Option) (*Client, error) {
	base, err := parseURL(server)
	if err != nil {
		return nil, err
	}
	c := &Client{base: base, token: token, http: defaultHTTPClient()}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Server is the base URL the client calls.
func (c *Client) Server() string { return c.base.String() }

// parseURL accepts a node URL, with or without scheme.
func parseURL(s string) (*url.URL, error) {
	if s == "" {
		return nil, errors.New("empty node URL")
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("node URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("node URL %q: want http://HOST:PORT or https://HOST:PORT", s)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// defaultHTTPClient bounds dialing and TLS handshakes but not whole calls:
// wait, logs -f and migrate last as long as the instance does; contexts end
// them.
func defaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 5 * time.Second
	return &http.Client{Transport: t, CheckRedirect: noRedirect}
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// request is one API call. The body is bytes so that it can be sent again
// to the node an instance moved to.
type request struct {
	method, path string
	query        url.Values
	body         []byte
	contentType  string
}

// do sends r, following 307 and 308 redirects with the token and the body,
// and returns a 2xx response or an error (*Error for an API error).
func (c *Client) do(ctx context.Context, r request) (*http.Response, error) {
	u := c.endpoint(r.path, r.query)
	visited := []*url.URL{u}
	for {
		resp, err := c.send(ctx, r, u)
		if err != nil {
			return nil, err
		}
		if !isRedirect(resp.StatusCode) {
			return checkStatus(resp)
		}
		from := u
		if u, err = next(u, resp); err != nil {
			return nil, err
		}
		if err := c.checkTrust(ctx, from, u, r.path); err != nil {
			return nil, err
		}
		if err := checkHops(visited, u); err != nil {
			return nil, err
		}
		if slices.ContainsFunc(visited, func(v *url.URL) bool { return v.String() == u.String() }) {
			// Back where this call began: the instance moved back here, or
			// the nodes disagree for a moment; let the move settle.
			select {
			case <-time.After(100 * time.Millisecond):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		visited = append(visited, u)
	}
}

// endpoint is the URL of an escaped API path on the client's node.
func (c *Client) endpoint(path string, q url.Values) *url.URL {
	u := *c.base
	u.RawPath = c.base.EscapedPath() + path
	u.Path, _ = url.PathUnescape(u.RawPath)
	u.RawQuery = q.Encode()
	return &u
}

func isRedirect(status int) bool {
	return status == http.StatusTemporaryRedirect || status == http.StatusPermanentRedirect
}

// next is where a redirect response points, resolved against the request URL.
func next(u *url.URL, resp *http.Response) (*url.URL, error) {
	drain(resp)
	loc := resp.Header.Get("Location")
	if loc == "" {
		return nil, fmt.Errorf("%s: redirect without Location", u.Redacted())
	}
	to, err := u.Parse(loc)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s: redirect to %q: %w", u.Redacted(), loc, err)
	case u.Scheme == "https" && to.Scheme != "https":
		// The token would travel in clear text.
		return nil, fmt.Errorf("%s: refusing redirect from https to %s", u.Redacted(), to.Redacted())
	}
	return to, nil
}

// origin is a URL's scheme://host:port, lower case, with the scheme's
// default port made explicit (as nodes list their peers).
func origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	return strings.ToLower(u.Scheme) + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// checkTrust lets a redirect from one node to another origin go on with
// the token only if that origin is trusted (see Client): the node that
// redirected, which the token already went to, vouches for its peers.
func (c *Client) checkTrust(ctx context.Context, from, to *url.URL, path string) error {
	dest := origin(to)
	if dest == origin(from) || slices.Contains(c.trusted, dest) {
		return nil
	}
	base := *from
	base.Path, base.RawPath = strings.TrimSuffix(from.Path, path), ""
	base.RawQuery = ""
	resp, err := c.send(ctx, request{method: http.MethodGet, path: "/v1/node"}, base.JoinPath("v1", "node"))
	if err == nil {
		resp, err = checkStatus(resp)
	}
	var n Node
	if err == nil {
		err = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&n)
		drain(resp)
	}
	if err != nil {
		return fmt.Errorf("%s redirected to %s; asking it for its peers before sending the token there: %w", origin(from), dest, err)
	}
	for _, p := range n.Peers {
		if pu, err := parseURL(p); err == nil && origin(pu) == dest {
			return nil
		}
	}
	return fmt.Errorf("%s redirected to %s, which is not one of its peers (--peers); not sending the token there (trust it with client.WithTrustedOrigins if it is one of your nodes)", origin(from), dest)
}

// checkHops refuses one redirect too many. An instance can come back to a
// node it left, so a URL visited twice is a loop only when the redirects do
// not end (each node thinks another holds the instance).
func checkHops(visited []*url.URL, to *url.URL) error {
	hosts := make([]string, 0, len(visited)+1)
	loop := false
	for _, v := range visited {
		hosts = append(hosts, v.Host)
		loop = loop || v.String() == to.String()
	}
	path := strings.Join(append(hosts, to.Host), " -> ")
	switch {
	case len(visited) <= maxHops:
		return nil
	case loop:
		return fmt.Errorf("redirect loop between nodes: %s", path)
	}
	return fmt.Errorf("more than %d redirects: %s", maxHops, path)
}

func (c *Client) send(ctx context.Context, r request, u *url.URL) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), bytes.NewReader(r.body))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.method, u.Redacted(), err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, unreachable(ctx, u, err)
	}
	return resp, nil
}

// unreachable describes a transport failure; a cancelled call reports only
// its context's error.
func unreachable(ctx context.Context, u *url.URL, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	node := url.URL{Scheme: u.Scheme, Host: u.Host}
	return fmt.Errorf("cannot reach node %s: %w", node.String(), err)
}

// drain reads a little of a body that will not be used, so that the
// connection can be reused, and closes it.
func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}
