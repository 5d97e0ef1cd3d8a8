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
func peerClient(caFile string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 3 * time.Second, KeepAlive: 15 * time.Second}).DialContext
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
func (n *Node) send(ctx context.Context, method, target string, body io.Reader, header http.Header) (*http.Response, error) {
	// Every call to a peer goes through here: the one place that makes
	// sure the peer token goes to pool members only.
	if !n.members.has(target) {
		return nil, notAPeer(target, "node")
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, apiErrorf(codeBadRequest, "%v", err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+n.cfg.PeerToken)
	resp, err := n.peers.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, apiErrorf(codeUnreachable, "cannot reach %s://%s: %v", req.URL.Scheme, req.URL.Host, err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, peerError(resp)
	}
	return resp, nil
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
