package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// The captured streams of an instance, for Logs.
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

// Logs copies the instance's captured stream ("stdout" or "stderr") to w.
// Without follow it copies what has been captured so far. With follow it
// copies until the instance has ended, following it across moves: when a
// stream ends early it asks again from the byte offset already received, so
// no byte is written twice or lost, but those the node no longer keeps (it
// keeps the last --max-log-size bytes of each stream).
func (c *Client) Logs(ctx context.Context, id, stream string, follow bool, w io.Writer) error {
	if stream != Stdout && stream != Stderr {
		return fmt.Errorf("logs %s: stream %q: want stdout or stderr", id, stream)
	}
	cw := &countingWriter{w: w}
	if !follow {
		return c.copyLog(ctx, id, stream, false, cw)
	}
	for backoff := 50 * time.Millisecond; ; {
		before := cw.n
		var broken *readError
		if err := c.copyLog(ctx, id, stream, true, cw); err != nil && !errors.As(err, &broken) {
			return err
		}
		done, err := c.ended(ctx, id)
		if err != nil {
			return err
		}
		if done {
			// The stream may have ended on a move, and the instance ended
			// where it went before we asked: fetch what is left.
			return c.copyLog(ctx, id, stream, false, cw)
		}
		if cw.n > before {
			backoff = 50 * time.Millisecond
			continue
		}
		if err := sleep(ctx, backoff); err != nil {
			return err
		}
		backoff = min(2*backoff, time.Second)
	}
}

// copyLog copies one answer of the log endpoint to w, from the offset w has
// reached.
func (c *Client) copyLog(ctx context.Context, id, stream string, follow bool, w *countingWriter) error {
	q := url.Values{}
	if w.n > 0 {
		q.Set("offset", strconv.FormatInt(w.n, 10))
	}
	if follow {
		q.Set("follow", "1")
	}
	resp, err := c.do(ctx, request{method: http.MethodGet, path: instancePath(id, stream), query: q})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	// A node keeps the last bytes of a log only (--max-log-size): an
	// answer may start past the offset asked, where its header says.
	if off, err := strconv.ParseInt(resp.Header.Get("Roam-Log-Offset"), 10, 64); err == nil && off > w.n {
		w.n = off
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		if w.err != nil {
			return w.err
		}
		return &readError{fmt.Errorf("logs %s %s: %w", id, stream, err)}
	}
	return nil
}

// ended reports whether the instance has ended, wherever it is now.
func (c *Client) ended(ctx context.Context, id string) (bool, error) {
	in, err := c.Instance(ctx, id)
	if err != nil {
		return false, err
	}
	return in.Status.Terminal(), nil
}

// readError is a stream that broke off while being read (the node that held
// the instance went away after the move, for example). A follow asks again.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// countingWriter counts the bytes written and keeps the first write error,
// so a failing destination is told apart from a failing stream.
type countingWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (cw *countingWriter) Write(p []byte) (int, error) {
	n, err := cw.w.Write(p)
	cw.n += int64(n)
	if err != nil && cw.err == nil {
		cw.err = err
	}
	return n, err
}
