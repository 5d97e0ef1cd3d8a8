package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/roam-edge/roam/client"
)

// The API's error codes are the client package's (docs/api.md).
const (
	codeBadRequest      = client.CodeBadRequest
	codeInvalidID       = client.CodeInvalidID
	codeUnauthorized    = client.CodeUnauthorized
	codeNotAPeer        = client.CodeNotAPeer
	codeNotFound        = client.CodeNotFound
	codeModuleNotFound  = client.CodeModuleNotFound
	codeConflict        = client.CodeConflict
	codeStaleEpoch      = client.CodeStaleEpoch
	codeTooLarge        = client.CodeTooLarge
	codeInvalidModule   = client.CodeInvalidModule
	codeInvalidSnapshot = client.CodeInvalidSnapshot
	codeDirMissing      = client.CodeDirMissing
	codeUnknownVolume   = client.CodeUnknownVolume
	codeFileChanged     = client.CodeFileChanged
	codeMigrationFailed = client.CodeMigrationFailed
	codeUnreachable     = client.CodeUnreachable
	codeMoved           = client.CodeMoved
	codeGone            = client.CodeGone
	codeInternal        = client.CodeInternal
	codeTooDeep         = client.CodeTooDeep
)

// APIError is an error with a stable code, as the API reports it.
type APIError = client.Error

func apiErrorf(code, format string, args ...any) *APIError {
	return &APIError{Status: client.StatusOf(code), Code: code, Message: fmt.Sprintf(format, args...)}
}

// asAPIError classifies err: an *APIError keeps its code, a body over the
// limit is too_large, anything else is internal.
func asAPIError(err error) *APIError {
	var ae *APIError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &tooBig):
		return apiErrorf(codeTooLarge, "request body is over the limit of %d bytes", tooBig.Limit)
	}
	return apiErrorf(codeInternal, "%v", err)
}

func writeError(w http.ResponseWriter, err error) {
	ae := asAPIError(err)
	writeJSON(w, client.StatusOf(ae.Code), map[string]*APIError{"error": ae})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
