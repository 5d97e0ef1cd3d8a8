package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestMigrate(t *testing.T) {
	done := `{"event":"done","result":{"id":"i-1","to":"http://node-b:7474","epoch":2,"downtime_ms":4.2,"total_ms":130.5,"bytes":67240000,"rounds":3}}`
	rounds := `{"event":"round","round":1,"bytes":67174400,"chunks":1024}` + "\n" + `{"event":"round","round":2,"bytes":65536,"chunks":1}` + "\n"
	for _, tc := range []struct {
		name, body string
		status     int
		err        string
		apiErr     *Error
	}{
		{name: "done", body: rounds + done + "\n", status: 200},
		{name: "error event", body: rounds + `{"event":"error","error":{"code":"migration_failed","message":"node-b: dir_missing /data"}}` + "\n",
			status: 200, apiErr: &Error{502, "migration_failed", "node-b: dir_missing /data"}},
		{name: "truncated", body: rounds, status: 200, err: "lost the connection to the source node before the migration ended"},
		{name: "broken line", body: rounds + `{"event":"do`, status: 200, err: "lost the connection to the source node before the migration ended (unexpected EOF)"},
		{name: "refused", body: `{"error":{"code":"conflict","message":"instance i-1 is not migratable"}}`,
			status: 409, apiErr: &Error{409, "conflict", "instance i-1 is not migratable"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newNode(t, func(w http.ResponseWriter, r *http.Request) {
				var req map[string]string
				json.NewDecoder(r.Body).Decode(&req)
				if !authorized(w, r) || r.Method != http.MethodPost || r.URL.Path != "/v1/instances/i-1/migrate" || req["to"] != "http://node-b:7474" {
					t.Errorf("unexpected %s %s %v", r.Method, r.URL, req)
				}
				w.Header().Set("Content-Type", "application/x-ndjson")
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			})
			var seen []int
			res, err := newClient(t, srv.URL).Migrate(context.Background(), "i-1", "node-b:7474", func(ev MigrateEvent) {
				seen = append(seen, ev.Round)
			})
			checkMigrate(t, res, err, tc.err, tc.apiErr)
			if tc.status == 200 && len(seen) != 2 {
				t.Fatalf("progress saw rounds %v, want 2", seen)
			}
		})
	}
}

func checkMigrate(t *testing.T, res *MigrateResult, err error, wantErr string, wantAPI *Error) {
	t.Helper()
	var apiErr *Error
	switch {
	case wantAPI != nil:
		if !errors.As(err, &apiErr) || *apiErr != *wantAPI {
			t.Fatalf("err = %#v, want %#v", err, wantAPI)
		}
	case wantErr != "":
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("err = %v, want %q", err, wantErr)
		}
	case err != nil:
		t.Fatal(err)
	default:
		want := MigrateResult{ID: "i-1", To: "http://node-b:7474", Epoch: 2, DowntimeMS: 4.2, TotalMS: 130.5, Bytes: 67240000, Rounds: 3}
		if *res != want {
			t.Fatalf("result %+v, want %+v", *res, want)
		}
	}
}
