package client

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Error is an error answered by a node: an HTTP status with the stable code
// and the message for people of docs/api.md ("not_found", "conflict",
// "migration_failed", ...). Code is empty when the body was not an API error
// (a proxy in between, for example).
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	switch {
	case e.Code == "":
		return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message)
	case e.Message == "":
		return e.Code
	}
	return e.Message
}

// Error codes of docs/api.md, stable across versions.
const (
	CodeBadRequest      = "bad_request"
	CodeInvalidID       = "invalid_id" // an instance or migration id of the wrong shape
	CodeUnauthorized    = "unauthorized"
	CodeNotAPeer        = "not_a_peer" // a URL outside the node's pool (--peers)
	CodeNotFound        = "not_found"
	CodeModuleNotFound  = "module_not_found"
	CodeConflict        = "conflict"
	CodeStaleEpoch      = "stale_epoch"
	CodeTooLarge        = "too_large"
	CodeInvalidModule   = "invalid_module"
	CodeInvalidSnapshot = "invalid_snapshot"
	CodeDirMissing      = "dir_missing"
	CodeUnknownVolume   = "unknown_volume" // a directory names a volume the node does not have
	CodeFileChanged     = "file_changed"   // a file open in a snapshot differs on this node
	CodeMigrationFailed = "migration_failed"
	CodeUnreachable     = "unreachable"
	CodeMoved           = "moved"
	CodeGone            = "gone"
	CodeInternal        = "internal"
	// CodeTooDeep: a snapshot deeper (in calls) than the node's engine can
	// resume, such as wazero's interpreter past 2,000 frames.
	CodeTooDeep = "too_deep"
)

// codeStatus is the HTTP status that goes with each code.
var codeStatus = map[string]int{
	CodeBadRequest: http.StatusBadRequest, CodeInvalidID: http.StatusBadRequest, CodeUnauthorized: http.StatusUnauthorized, CodeNotAPeer: http.StatusForbidden,
	CodeNotFound: http.StatusNotFound, CodeModuleNotFound: http.StatusNotFound,
	CodeConflict: http.StatusConflict, CodeStaleEpoch: http.StatusConflict,
	CodeTooLarge: http.StatusRequestEntityTooLarge, CodeInvalidModule: http.StatusUnprocessableEntity,
	CodeInvalidSnapshot: http.StatusUnprocessableEntity, CodeDirMissing: http.StatusUnprocessableEntity,
	CodeUnknownVolume: http.StatusUnprocessableEntity, CodeFileChanged: http.StatusUnprocessableEntity,
	CodeMigrationFailed: http.StatusBadGateway, CodeUnreachable: http.StatusBadGateway,
	CodeMoved: http.StatusTemporaryRedirect, CodeGone: http.StatusGone, CodeInternal: http.StatusInternalServerError,
	CodeTooDeep: http.StatusUnprocessableEntity,
}

// StatusOf is the HTTP status of an error code, 500 for a code it does not
// know. Errors inside a stream that began with 200 take it from here.
func StatusOf(code string) int {
	if s, ok := codeStatus[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// checkStatus passes a 2xx response and turns any other into an *Error.
func checkStatus(resp *http.Response) (*http.Response, error) {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer drain(resp)
	return nil, decodeError(resp.StatusCode, io.LimitReader(resp.Body, 64<<10))
}

// decodeError reads an API error body, or falls back to the status text and
// the first line of a body that is not one.
func decodeError(status int, body io.Reader) *Error {
	b, _ := io.ReadAll(body)
	var wire struct {
		Error *Error `json:"error"`
	}
	if json.Unmarshal(b, &wire) == nil && wire.Error != nil && wire.Error.Code != "" {
		wire.Error.Status = status
		return wire.Error
	}
	msg := http.StatusText(status)
	if line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n"); line != "" {
		msg += ": " + truncate(line, 200)
	}
	return &Error{Status: status, Message: msg}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "..."
}
