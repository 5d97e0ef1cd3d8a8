package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// Migrate moves the instance live to the node at to (a base URL; host:port
// means http) and returns the figures of the move. progress, if not nil, is
// called for every event before the last (one per pre-copy round). A failed
// migration is an *Error (code migration_failed, for example); the instance
// then still runs where it was.
func (c *Client) Migrate(ctx context.Context, id, to string, progress func(MigrateEvent)) (*MigrateResult, error) {
	dest, err := parseURL(to)
	if err != nil {
		return nil, fmt.Errorf("migrate %s: destination: %w", id, err)
	}
	body, err := json.Marshal(map[string]string{"to": dest.String()})
	if err != nil {
		return nil, fmt.Errorf("migrate %s: %w", id, err)
	}
	r := request{method: http.MethodPost, path: instancePath(id, "migrate"), body: body, contentType: "application/json"}
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return readMigration(json.NewDecoder(resp.Body), progress)
}

// readMigration reads MigrateEvent lines up to the done or error event.
func readMigration(dec *json.Decoder, progress func(MigrateEvent)) (*MigrateResult, error) {
	for {
		var ev MigrateEvent
		err := dec.Decode(&ev)
		if err != nil {
			return nil, fmt.Errorf("lost the connection to the source node before the migration ended (%v): "+
				"the move may or may not have happened; ask the source node where the instance is", lostStream(err))
		}
		switch ev.Event {
		case "done":
			if ev.Result == nil {
				return nil, errors.New("migration stream: done without a result")
			}
			return ev.Result, nil
		case "error":
			return nil, streamError(ev.Error)
		}
		if progress != nil {
			progress(ev)
		}
	}
}

// streamError is the *Error of an error event; its status is the one that
// goes with its code, as if it had been answered instead of the 200.
func streamError(e *Error) *Error {
	if e == nil {
		e = &Error{Message: "migration failed"}
	}
	if e.Code == "" {
		e.Code = CodeMigrationFailed
	}
	e.Status = StatusOf(e.Code)
	return e
}

func lostStream(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
