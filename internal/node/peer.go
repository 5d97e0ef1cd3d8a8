package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
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

// call makes one request to a peer with the pool token. A reply that is
// not 2xx comes back as the peer's *APIError; a failure to reach the peer
// is an unreachable error. With out set, a JSON reply is decoded into it.
func (n *Node) call(ctx context.Context, method, url string, body io.Reader, header http.Header, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return apiErrorf(codeBadRequest, "%v", err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+n.cfg.Token)
	resp, err := n.peers.Do(req)
	if err != nil {
		return apiErrorf(codeUnreachable, "cannot reach %s: %v", hostOf(url), unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return peerError(resp)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return apiErrorf(codeUnreachable, "bad reply from %s: %v", hostOf(url), err)
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

func unwrapURLError(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

func hostOf(url string) string {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return url
	}
	return req.URL.Scheme + "://" + req.URL.Host
}

func hexDecode(s string) ([]byte, error) { return hex.DecodeString(s) }
