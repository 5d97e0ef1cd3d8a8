package node

import (
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
	"os"
	"time"
)

// peerClient makes the HTTP client nodes use to reach each other.
func peerClient(caFile string, timeout time.Duration) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: min(timeout, 5*time.Second), KeepAlive: 15 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = timeout
	tr.MaxIdleConnsPerHost = 8
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("read --tls-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca %s holds no PEM certificate", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}, nil
}

// send makes one request to a peer with the peer token and returns a 2xx
// response, whose body the caller closes. A reply that is not 2xx comes
// back as the peer's *APIError; a failure to reach the peer is an
// unreachable error.
//
// No request waits on a silent peer for ever: it fails once nothing moved
// for the patience of ctx (withPatience; default --peer-timeout): no byte
// of its body taken, no answer, no byte of the answer's body. A small call
// thus has a fixed deadline, and a stream of any size only an idle one.
func (n *Node) send(ctx context.Context, method, target string, body io.Reader, header http.Header) (*http.Response, error) {
	// Every call to a peer goes through here: the one place that makes
	// sure the peer token goes to pool members only.
	if !n.members.has(target) {
		return nil, notAPeer(target, "node")
	}
	wd := newWatchdog(ctx, patience(ctx, n.cfg.PeerTimeout))
	if body != nil {
		body = &kickReader{r: body, wd: wd}
	}
	req, err := http.NewRequestWithContext(wd.ctx, method, target, body)
	if err != nil {
		wd.stop()
		return nil, apiErrorf(codeBadRequest, "%v", err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+n.cfg.PeerToken)
	resp, err := n.peers.Do(req)
	if err != nil {
		wd.stop()
		if cause := context.Cause(wd.ctx); errors.Is(cause, errSilent) {
			err = cause
		} else if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, apiErrorf(codeUnreachable, "cannot reach %s://%s: %v", req.URL.Scheme, req.URL.Host, err)
	}
	wd.kick()
	resp.Body = &kickBody{ReadCloser: resp.Body, wd: wd}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, peerError(resp)
	}
	return resp, nil
}

// errSilent is the cause of a peer request given up for lack of progress.
var errSilent = errors.New("the peer made no progress")

type patienceKey struct{}

// withPatience sets how long a peer request of ctx may make no progress.
func withPatience(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, patienceKey{}, d)
}

func patience(ctx context.Context, def time.Duration) time.Duration {
	if d, ok := ctx.Value(patienceKey{}).(time.Duration); ok && d > 0 {
		return d
	}
	return def
}

// watchdog cancels a request that makes no progress for a while.
type watchdog struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	idle   time.Duration
	timer  *time.Timer
}

func newWatchdog(parent context.Context, idle time.Duration) *watchdog {
	ctx, cancel := context.WithCancelCause(parent)
	wd := &watchdog{ctx: ctx, cancel: cancel, idle: idle}
	wd.timer = time.AfterFunc(idle, func() {
		cancel(fmt.Errorf("%w for %v (--peer-timeout)", errSilent, idle))
	})
	return wd
}

func (wd *watchdog) kick() { wd.timer.Reset(wd.idle) }

func (wd *watchdog) stop() {
	wd.timer.Stop()
	wd.cancel(context.Canceled)
}

// kickReader is a request body: every read is progress.
type kickReader struct {
	r  io.Reader
	wd *watchdog
}

func (k *kickReader) Read(p []byte) (int, error) {
	n, err := k.r.Read(p)
	k.wd.kick()
	return n, err
}

// kickBody is an answer's body: every read is progress, and closing it
// ends the request's watchdog.
type kickBody struct {
	io.ReadCloser
	wd *watchdog
}

func (k *kickBody) Read(p []byte) (int, error) {
	n, err := k.ReadCloser.Read(p)
	if n > 0 {
		k.wd.kick()
	}
	if err != nil && !errors.Is(err, io.EOF) && errors.Is(context.Cause(k.wd.ctx), errSilent) {
		err = context.Cause(k.wd.ctx)
	}
	return n, err
}

func (k *kickBody) Close() error {
	err := k.ReadCloser.Close()
	k.wd.stop()
	return err
}

// call is send with the reply's JSON decoded into out (or dropped).
func (n *Node) call(ctx context.Context, method, target string, body io.Reader, header http.Header, out any) error {
	resp, err := n.send(ctx, method, target, body, header)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return apiErrorf(codeUnreachable, "bad reply from %s: %v", resp.Request.URL.Host, err)
	}
	return nil
}

func peerError(resp *http.Response) error {
	var body struct {
		Error *APIError `json:"error"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(b, &body) == nil && body.Error != nil {
		return body.Error
	}
	return apiErrorf(codeUnreachable, "%s answered %s", resp.Request.URL.Host, resp.Status)
}
