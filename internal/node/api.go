package node

import (
	"bufio"
	"cmp"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/roam-edge/roam/client"
	"github.com/roam-edge/roam/internal/engine"
	"github.com/roam-edge/roam/internal/snapshot"
)

const maxJSONBytes = 1 << 20

// Handler is the node's HTTP API (docs/api.md).
func (n *Node) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", n.healthz)
	api := http.NewServeMux()
	api.Handle("GET /metrics", n.metrics.handler())
	api.HandleFunc("GET /v1/node", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, n.info()) })
	api.HandleFunc("POST /v1/modules", n.uploadModule)
	api.HandleFunc("GET /v1/modules/{digest}", n.getModule)
	api.HandleFunc("HEAD /v1/modules/{digest}", n.getModule)
	api.HandleFunc("POST /v1/instances", n.startInstance)
	api.HandleFunc("GET /v1/instances", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string][]Instance{"instances": n.list()})
	})
	api.HandleFunc("POST /v1/instances/restore", n.restoreInstance)
	api.HandleFunc("GET /v1/instances/{id}", n.held(n.getInstance))
	api.HandleFunc("GET /v1/instances/{id}/wait", n.held(n.waitInstance))
	api.HandleFunc("GET /v1/instances/{id}/stdout", n.held(n.logs))
	api.HandleFunc("GET /v1/instances/{id}/stderr", n.held(n.logs))
	api.HandleFunc("POST /v1/instances/{id}/pause", n.held(n.control))
	api.HandleFunc("POST /v1/instances/{id}/resume", n.held(n.control))
	api.HandleFunc("POST /v1/instances/{id}/stop", n.held(n.control))
	api.HandleFunc("GET /v1/instances/{id}/snapshot", n.held(n.checkpoint))
	api.HandleFunc("POST /v1/instances/{id}/migrate", n.held(n.migrateInstance))
	api.HandleFunc("POST /v1/instances/{id}/resolve", n.resolveInstance)
	api.HandleFunc("POST /v1/migrations", n.beginMigration)
	api.HandleFunc("PUT /v1/migrations/{mid}/memory", n.migrationStep)
	api.HandleFunc("POST /v1/migrations/{mid}/prepare", n.migrationStep)
	api.HandleFunc("POST /v1/migrations/{mid}/commit", n.migrationStep)
	api.HandleFunc("POST /v1/migrations/{mid}/abort", n.migrationStep)
	api.HandleFunc("GET /v1/migrations/{mid}", func(w http.ResponseWriter, r *http.Request) {
		if err := checkMigrationID(r.PathValue("mid")); err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"outcome": n.outcome(r.PathValue("mid"))})
	})
	api.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, apiErrorf(codeNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path))
	})
	mux.Handle("/", n.authorized(api))
	return cleanPaths(mux)
}

// cleanPaths refuses a path with dot segments or empty segments (after
// unescaping, so %2e%2e counts) instead of redirecting it to a cleaned
// path as ServeMux would: the API names nothing that way.
func cleanPaths(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if p == "" || p[0] != '/' || path.Clean(p) != strings.TrimSuffix(p, "/") && p != "/" {
			writeError(w, apiErrorf(codeBadRequest, "path %q: want a clean path, without . or .. or // segments", p))
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (n *Node) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, client.Health{Status: "ok", Name: n.cfg.Name, Arch: runtime.GOARCH, Engine: string(n.rt.Kind())})
}

// authorized requires the token of the endpoint's callers, compared in
// constant time: the client token on the client API, the peer token on
// the node-to-node protocol (/v1/migrations...), and either to read a
// module, which a destination fetches from its source by digest.
func (n *Node) authorized(h http.Handler) http.Handler {
	client, peer := []byte("Bearer "+n.cfg.Token), []byte("Bearer "+n.cfg.PeerToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		isClient := subtle.ConstantTimeCompare(got, client) == 1
		isPeer := subtle.ConstantTimeCompare(got, peer) == 1
		var err error
		switch {
		case r.URL.Path == "/v1/migrations" || strings.HasPrefix(r.URL.Path, "/v1/migrations/"):
			if !isPeer {
				err = apiErrorf(codeUnauthorized, "missing or wrong peer token: %s %s is between nodes and takes the pool's peer token (--peer-token-file or ROAM_PEER_TOKEN, the same on every node), not the client token", r.Method, r.URL.Path)
			}
		case (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.HasPrefix(r.URL.Path, "/v1/modules/"):
			if !isClient && !isPeer {
				err = apiErrorf(codeUnauthorized, "missing or wrong token (Authorization: Bearer TOKEN)")
			}
		case isPeer:
			err = apiErrorf(codeUnauthorized, "the peer token is for calls between nodes; %s %s takes the client token (--token-file or ROAM_TOKEN)", r.Method, r.URL.Path)
		case !isClient:
			err = apiErrorf(codeUnauthorized, "missing or wrong token (Authorization: Bearer TOKEN)")
		}
		if err != nil {
			writeError(w, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// held resolves {id} to an instance held here; one that moved away gets a
// redirect to the same path on its new node.
func (n *Node) held(h func(http.ResponseWriter, *http.Request, *instance)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := checkInstanceID(r.PathValue("id")); err != nil {
			writeError(w, err)
			return
		}
		in, ok := n.instance(r.PathValue("id"))
		if !ok {
			msg := fmt.Sprintf("instance %s not found on node %s", r.PathValue("id"), n.cfg.Name)
			if n.cfg.KeepFinished > 0 {
				msg += fmt.Sprintf(" (an instance that ended is forgotten %v later)", n.cfg.KeepFinished)
			}
			writeError(w, apiErrorf(codeNotFound, "%s", msg))
			return
		}
		if rec := in.snapshotRecord(); rec.Status == statusMoved {
			n.redirect(w, r, rec.MovedTo)
			return
		}
		h(w, r, in)
	}
}

// redirect sends the caller on to the node an instance moved to: always a
// member, since a node migrates to members only; one that left the pool
// since is not vouched for.
func (n *Node) redirect(w http.ResponseWriter, r *http.Request, to string) {
	if !n.members.has(to) {
		writeError(w, notAPeer(to, fmt.Sprintf("instance %s moved to", r.PathValue("id"))))
		return
	}
	loc := to + r.URL.Path
	if r.URL.RawQuery != "" {
		loc += "?" + r.URL.RawQuery
	}
	w.Header().Set("Location", loc)
	w.Header().Set("Roam-Moved-To", to)
	writeError(w, apiErrorf(codeMoved, "instance %s moved to %s", r.PathValue("id"), to))
}

func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		return apiErrorf(codeBadRequest, "body: %v", err)
	}
	return nil
}

// uploadModule streams the module to the store, never whole in memory.
func (n *Node) uploadModule(w http.ResponseWriter, r *http.Request) {
	body := bufio.NewReader(r.Body)
	if magic, _ := body.Peek(8); len(magic) < 8 || string(magic[:4]) != "\x00asm" {
		writeError(w, apiErrorf(codeInvalidModule, "not a WebAssembly module (no \\0asm magic)"))
		return
	}
	d, size, err := n.rt.Store().PutStream(body, n.cfg.MaxModuleBytes, nil)
	if err != nil {
		writeError(w, n.storeError(err, "upload"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"digest": d.String(), "size": size})
}

// storeError classifies an error of the module store.
func (n *Node) storeError(err error, what string) error {
	var tooBig *engine.TooLargeError
	var mismatch *engine.DigestMismatchError
	switch {
	case errors.As(err, &tooBig):
		return apiErrorf(codeTooLarge, "%s: module is over node %s's limit of %d bytes (--max-module-size)", what, n.cfg.Name, tooBig.Limit)
	case errors.As(err, &mismatch):
		return apiErrorf(codeInvalidModule, "%s: %v", what, err)
	}
	return err
}

func (n *Node) getModule(w http.ResponseWriter, r *http.Request) {
	d, err := parseDigest(r.PathValue("digest"))
	if err != nil {
		writeError(w, err)
		return
	}
	if r.Method == http.MethodHead { // "upload it or not": no need to read it
		if !n.rt.Store().Has(d) {
			writeError(w, moduleNotFound(d, n.cfg.Name))
		}
		return
	}
	f, err := n.rt.Store().Open(d)
	if err != nil {
		writeError(w, moduleNotFound(d, n.cfg.Name))
		return
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil {
		w.Header().Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
	}
	w.Header().Set("Content-Type", "application/wasm")
	_, _ = io.Copy(w, f)
}

func moduleNotFound(d engine.Digest, node string) error {
	return apiErrorf(codeModuleNotFound, "module %s is not on node %s", d, node)
}

func (n *Node) startInstance(w http.ResponseWriter, r *http.Request) {
	var req StartRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	in, err := n.start(req)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, in.view())
}

func (n *Node) getInstance(w http.ResponseWriter, r *http.Request, in *instance) {
	writeJSON(w, http.StatusOK, in.view())
}

func (n *Node) waitInstance(w http.ResponseWriter, r *http.Request, in *instance) {
	v, err := in.wait(r.Context())
	if err != nil {
		return // the client left
	}
	if v.Status == statusMoved {
		n.redirect(w, r, v.MovedTo)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (n *Node) logs(w http.ResponseWriter, r *http.Request, in *instance) {
	q := r.URL.Query()
	off, err := strconv.ParseInt(cmp.Or(q.Get("offset"), "0"), 10, 64)
	if err != nil || off < 0 {
		writeError(w, apiErrorf(codeBadRequest, "offset %q: want a byte offset", q.Get("offset")))
		return
	}
	log := in.stdout
	if strings.HasSuffix(r.URL.Path, "/stderr") {
		log = in.stderr
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	log.serve(r.Context(), w, off, q.Get("follow") == "1" || q.Get("follow") == "true")
}

func (n *Node) control(w http.ResponseWriter, r *http.Request, in *instance) {
	in.op.Lock()
	var err error
	switch r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:] {
	case "pause":
		var paused bool
		if paused, err = in.halt(); err == nil && !paused {
			err = apiErrorf(codeConflict, "instance %s ended before it could pause", in.rec.ID)
		}
		if err == nil {
			err = in.pauseDurably() // acknowledged only once a restart would keep it paused
		}
	case "resume":
		if err = in.goOn(); err == nil {
			err = in.runDurably()
		}
	case "stop":
		err = in.stop()
	}
	in.op.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, in.view())
}

// checkpoint sends a snapshot of the instance; a running one pauses for the
// capture (a copy of its state) and goes on before the snapshot is sent.
func (n *Node) checkpoint(w http.ResponseWriter, r *http.Request, in *instance) {
	snap, err := in.checkpoint()
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	bw := bufio.NewWriterSize(w, 256<<10)
	if err := snapshot.Encode(bw, snap); err == nil {
		_ = bw.Flush()
	}
}

func (in *instance) checkpoint() (*snapshot.Snapshot, error) {
	in.op.Lock()
	defer in.op.Unlock()
	wasRunning := in.snapshotRecord().Status == statusRunning
	if paused, err := in.halt(); err != nil || !paused {
		if err == nil {
			err = apiErrorf(codeConflict, "instance %s ended before it could pause", in.rec.ID)
		}
		return nil, err
	}
	in.mu.Lock()
	snap, err := in.eng.Capture()
	in.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if wasRunning {
		if err := in.goOn(); err != nil {
			return nil, err
		}
	}
	return snap, nil
}

func (n *Node) restoreInstance(w http.ResponseWriter, r *http.Request) {
	snap, err := snapshot.DecodeLimited(http.MaxBytesReader(w, r.Body, 5<<30), n.limits())
	if err != nil {
		var tooBig *http.MaxBytesError
		if !errors.As(err, &tooBig) {
			err = apiErrorf(codeInvalidSnapshot, "%v", err)
		}
		writeError(w, err)
		return
	}
	in, err := n.restoreNew(snap, r.URL.Query().Get("paused") == "1")
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, in.view())
}

func (n *Node) migrateInstance(w http.ResponseWriter, r *http.Request, in *instance) {
	var req struct {
		To string `json:"to"`
	}
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	if !strings.HasPrefix(req.To, "http://") && !strings.HasPrefix(req.To, "https://") {
		writeError(w, apiErrorf(codeBadRequest, "to %q: want the destination node's URL (http://HOST:PORT)", req.To))
		return
	}
	// Before anything goes out: the destination gets the instance and
	// the peer token, so it must be one of the pool's nodes.
	if !n.members.has(req.To) {
		writeError(w, notAPeer(req.To, "destination"))
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	fl, _ := w.(http.Flusher)
	emit := func(e MigrateEvent) {
		_ = enc.Encode(e)
		if fl != nil {
			fl.Flush()
		}
	}
	res, err := n.migrate(r.Context(), in, req.To, emit)
	if err != nil {
		emit(MigrateEvent{Event: "error", Error: asAPIError(err)})
		return
	}
	emit(MigrateEvent{Event: "done", Result: res})
}

// idleBody fails the reads of a request body that brings no byte for
// idle: the connection's read deadline moves on at every read.
func idleBody(w http.ResponseWriter, body io.ReadCloser, idle time.Duration) io.ReadCloser {
	rc := http.NewResponseController(w)
	if rc.SetReadDeadline(time.Now().Add(idle)) != nil {
		return body // not a connection that takes deadlines
	}
	return &idleReader{ReadCloser: body, rc: rc, idle: idle}
}

type idleReader struct {
	io.ReadCloser
	rc   *http.ResponseController
	idle time.Duration
}

// Read moves the deadline on, and drops it at the end of the body: the
// server reads on in the background then, while the request is handled.
func (r *idleReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	deadline := time.Now().Add(r.idle)
	if err != nil {
		deadline = time.Time{}
	}
	_ = r.rc.SetReadDeadline(deadline)
	return n, err
}

// resolveInstance settles an in-doubt migration into this node.
func (n *Node) resolveInstance(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Outcome string `json:"outcome"`
	}
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	if req.Outcome != "commit" && req.Outcome != "abort" {
		writeError(w, apiErrorf(codeBadRequest, "outcome %q: want commit or abort", req.Outcome))
		return
	}
	out, err := n.resolve(r.PathValue("id"), req.Outcome == "commit")
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"id": r.PathValue("id"), "outcome": out})
}

func (n *Node) beginMigration(w http.ResponseWriter, r *http.Request) {
	var req beginRequest
	if err := readJSON(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	if err := n.begin(r.Context(), req); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"migration": req.Migration})
}

func (n *Node) migrationStep(w http.ResponseWriter, r *http.Request) {
	mid := r.PathValue("mid")
	if err := checkMigrationID(mid); err != nil {
		writeError(w, err)
		return
	}
	var err error
	r.Body = idleBody(w, r.Body, n.cfg.PeerTimeout) // a source that stalls mid-round lets go of the migration
	defer http.NewResponseController(w).SetReadDeadline(time.Time{})
	r.Body = http.MaxBytesReader(w, r.Body, 5<<30)
	switch r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:] {
	case "memory":
		err = n.precopyRound(r, mid)
	case "prepare":
		err = n.prepare(r, mid)
	case "commit":
		var durable bool
		if durable, err = n.commitIncoming(mid, r.Header.Get(epochHeader)); err == nil {
			// Whole (with its length) before the fault point: the source
			// must have the acknowledgement when the destination dies.
			b, _ := json.Marshal(map[string]any{"ok": true, "at": time.Now().UTC(), "durable": durable})
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			_, _ = w.Write(b)
			if fl, ok := w.(http.Flusher); ok {
				fl.Flush()
			}
			faultPoint(faultDestAfterCommit)
			return
		}
	case "abort":
		err = n.abortIncoming(mid)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "at": time.Now().UTC()})
}
