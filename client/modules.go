package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
)

// UploadModule makes the Wasm module available on the node and returns its
// digest (sha256 hex), the name StartRequest uses. A module the node already
// has is not sent again.
func (c *Client) UploadModule(ctx context.Context, wasm []byte) (string, error) {
	sum := sha256.Sum256(wasm)
	digest := hex.EncodeToString(sum[:])
	switch have, err := c.hasModule(ctx, digest); {
	case err != nil:
		return "", err
	case have:
		return digest, nil
	}
	var up struct {
		Digest string `json:"digest"`
		Size   int64  `json:"size"`
	}
	r := request{method: http.MethodPost, path: "/v1/modules", body: wasm, contentType: "application/wasm"}
	if err := c.call(ctx, r, &up); err != nil {
		return "", err
	}
	if up.Digest != digest {
		return "", fmt.Errorf("upload module: node stored digest %q, want %s", up.Digest, digest)
	}
	return digest, nil
}

// hasModule asks whether the node holds the module with this digest. A
// HEAD answer has no body to explain an error, so any answer but 200 means
// "upload it", and the upload reports the error in full.
func (c *Client) hasModule(ctx context.Context, digest string) (bool, error) {
	resp, err := c.do(ctx, request{method: http.MethodHead, path: "/v1/modules/" + digest})
	var apiErr *Error
	switch {
	case errors.As(err, &apiErr):
		return false, nil
	case err != nil:
		return false, err
	}
	drain(resp)
	return true, nil
}
