package stats

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/lb-proxy/lb/backend"
	"github.com/lb-proxy/lb/config"
)

// maxBody bounds the request body of a mutating call.
const maxBody = 64 << 10

// HandlerOptions configures NewHandler.
type HandlerOptions struct {
	// Source is the running generation. Required.
	Source Source
	// Gatherer serves GET /metrics, normally the registry the Collector is
	// registered on. nil means a private registry holding only
	// NewCollector(Source).
	Gatherer prometheus.Gatherer
	// Token is the bearer token that mutating calls (POST, DELETE) must
	// carry as "Authorization: Bearer TOKEN" whenever it is set or
	// RequireToken is. Default "" (no token).
	Token string
	// RequireToken makes the token mandatory for mutating calls; set it
	// when the admin listener is reachable from other hosts. With an empty
	// Token every mutating call is then refused (fails closed). Reads (GET)
	// never need a token. Default false.
	RequireToken bool
	// Logger receives one "admin" event per change made through the API,
	// and an "admin_denied" event per mutating call refused for want of a
	// valid token. The zero Logger discards everything.
	Logger zerolog.Logger
	// Now is the clock of the page and the JSON snapshots. nil means
	// time.Now.
	Now func() time.Time
}

// handler serves the admin endpoints; see NewHandler.
type handler struct {
	src          Source
	token        []byte
	requireToken bool
	log          zerolog.Logger
	now          func() time.Time
	hist         rateHistory // the page's sparklines
}

// takeSnapshot is TakeSnapshot with the frontends' rate histories.
func (h *handler) takeSnapshot() Snapshot {
	snap := TakeSnapshot(h.src, h.now())
	h.hist.fill(&snap)
	return snap
}

// NewHandler returns the admin HTTP handler:
//
//	GET    /metrics                               Prometheus exposition of the Gatherer
//	GET    /stats                                 HTML page, refreshes every 5s
//	GET    /stats.json                            Snapshot as JSON
//	GET    /api/backends                          {"backends": [BackendStatus...]}
//	GET    /api/backends/{b}                      BackendStatus
//	GET    /api/backends/{b}/servers/{s}          ServerStatus
//	POST   /api/backends/{b}/servers/{s}/state    body "ready"|"drain"|"maint" or {"state": "..."}
//	POST   /api/backends/{b}/servers/{s}/weight   body "0".."256" or {"weight": N}
//	POST   /api/backends/{b}/servers              {"name", "address", "weight", "backup", "maxconn"}
//	DELETE /api/backends/{b}/servers/{s}          only a server in MAINT with no session
//
// Changes answer with the server's ServerStatus (201 and a Location header
// for an addition, 204 for a removal) and take effect at once: the page,
// the JSON and /metrics read live state. Errors answer {"error": "..."}
// with 400 (bad input), 401 (token missing or wrong), 403 (a browser's
// cross-origin request, refused by http.CrossOriginProtection so that a web
// page cannot drive a loopback admin listener), 404 (unknown backend or
// server), 405 (wrong method) or 409 (name in use; removal of a server not
// in MAINT or still busy). A weight applies as given (no "N%" form).
//
// Precondition: opts.Source is not nil. The handler is safe for concurrent
// use.
func NewHandler(opts HandlerOptions) http.Handler {
	if opts.Source == nil {
		panic("stats: NewHandler without a Source")
	}
	h := &handler{
		src:          opts.Source,
		requireToken: opts.RequireToken,
		log:          opts.Logger,
		now:          opts.Now,
	}
	if opts.Token != "" {
		h.token = []byte(opts.Token)
	}
	if h.now == nil {
		h.now = time.Now
	}
	g := opts.Gatherer
	if g == nil {
		reg := prometheus.NewRegistry()
		reg.MustRegister(NewCollector(opts.Source))
		g = reg
	}
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusForbidden, "cross-origin request refused")
	}))
	mutating := func(action string, fn http.HandlerFunc) http.Handler {
		return cop.Handler(h.authorize(action, fn))
	}

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog:      promLogger{opts.Logger},
		ErrorHandling: promhttp.ContinueOnError,
	}))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/stats", http.StatusFound)
	})
	mux.HandleFunc("GET /stats", h.page)
	mux.HandleFunc("GET /stats.json", h.snapshot)
	mux.HandleFunc("GET /api/limits", h.listLimits)
	// A table's keys are client addresses and header values (API keys):
	// the token guards them as it guards changes.
	mux.Handle("GET /api/limits/{name}", h.authorize("show_limit", h.getLimit))
	mux.HandleFunc("GET /api/backends", h.listBackends)
	mux.HandleFunc("GET /api/backends/{b}", h.getBackend)
	mux.HandleFunc("GET /api/backends/{b}/servers/{s}", h.getServer)
	mux.Handle("POST /api/backends/{b}/servers/{s}/state", mutating("set_state", h.setState))
	mux.Handle("POST /api/backends/{b}/servers/{s}/weight", mutating("set_weight", h.setWeight))
	mux.Handle("POST /api/backends/{b}/servers", mutating("add_server", h.addServer))
	mux.Handle("DELETE /api/backends/{b}/servers/{s}", mutating("remove_server", h.removeServer))
	return mux
}

// authorize wraps a mutating endpoint, or one that shows client data: it
// checks the bearer token when one is set or required, and bounds the body.
func (h *handler) authorize(action string, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.authorized(r) {
			h.log.Warn().Str("event", "admin_denied").Str("action", action).
				Str("backend", r.PathValue("b")).Str("server", r.PathValue("s")).
				Str("remote", r.RemoteAddr).Msg("admin change refused: missing or wrong token")
			w.Header().Set("WWW-Authenticate", `Bearer realm="lb admin"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		next(w, r)
	})
}

// authorized reports whether r may change state: always when no token is
// set or required; else when it carries the token. The comparison takes
// the same time whatever the token's length or content (both sides are
// hashed first, then compared in constant time).
func (h *handler) authorized(r *http.Request) bool {
	if h.token == nil && !h.requireToken {
		return true
	}
	if h.token == nil {
		return false
	}
	const scheme = "bearer "
	auth := r.Header.Get("Authorization")
	if len(auth) < len(scheme) || !strings.EqualFold(auth[:len(scheme)], scheme) {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(auth[len(scheme):])))
	want := sha256.Sum256(h.token)
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// snapshot serves GET /stats.json.
func (h *handler) snapshot(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, h.takeSnapshot())
}

// listLimits serves GET /api/limits: the tables' counters.
func (h *handler) listLimits(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, struct {
		Limits []LimitStatus `json:"limits"`
	}{append([]LimitStatus{}, TakeSnapshot(h.src, h.now()).Limits...)})
}

// getLimit serves GET /api/limits/{name}?top=N: the table's busiest keys
// (default 100, at most 10000), as of the last sync round.
func (h *handler) getLimit(w http.ResponseWriter, r *http.Request) {
	n := 100
	if v := r.URL.Query().Get("top"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > 10000 {
			writeError(w, http.StatusBadRequest, "top must be 1 to 10000")
			return
		}
	}
	ls, ok := h.src.(LimitSource)
	var keys []LimitKey
	if ok {
		keys, ok = ls.LimitKeys(r.PathValue("name"), n)
	}
	if !ok {
		writeError(w, http.StatusNotFound, "no limit table "+strconv.Quote(r.PathValue("name")))
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Name string     `json:"name"`
		Keys []LimitKey `json:"keys"`
	}{r.PathValue("name"), append([]LimitKey{}, keys...)})
}

// listBackends serves GET /api/backends.
func (h *handler) listBackends(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, struct {
		Backends []BackendStatus `json:"backends"`
	}{TakeSnapshot(h.src, h.now()).Backends})
}

// getBackend serves GET /api/backends/{b}.
func (h *handler) getBackend(w http.ResponseWriter, r *http.Request) {
	if b := h.backend(w, r); b != nil {
		writeJSON(w, http.StatusOK, backendStatus(b, h.now()))
	}
}

// getServer serves GET /api/backends/{b}/servers/{s}.
func (h *handler) getServer(w http.ResponseWriter, r *http.Request) {
	if _, s := h.server(w, r); s != nil {
		writeJSON(w, http.StatusOK, serverStatus(s, h.now()))
	}
}

// setState serves POST .../state: the runtime API's "set server state".
func (h *handler) setState(w http.ResponseWriter, r *http.Request) {
	b, s := h.server(w, r)
	if s == nil {
		return
	}
	raw, isJSON, err := readField(r, "state")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	word := string(raw)
	if isJSON {
		if err := json.Unmarshal(raw, &word); err != nil {
			writeError(w, http.StatusBadRequest, `"state" must be a string`)
			return
		}
	}
	var to backend.Admin
	switch strings.ToLower(word) {
	case "ready":
		to = backend.AdminReady
	case "drain":
		to = backend.AdminDrain
	case "maint":
		to = backend.AdminMaint
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown state %q (want ready, drain or maint)", word))
		return
	}
	from := s.Admin()
	s.SetAdmin(to)
	if !h.stillThere(w, b, s) {
		return
	}
	h.logChange(r, "set_state", b, s.Name(), from.String(), to.String()).
		Str("state", s.State().String()).Msg("server admin state set")
	writeJSON(w, http.StatusOK, serverStatus(s, h.now()))
}

// setWeight serves POST .../weight: the runtime API's "set server weight".
func (h *handler) setWeight(w http.ResponseWriter, r *http.Request) {
	b, s := h.server(w, r)
	if s == nil {
		return
	}
	raw, isJSON, err := readField(r, "weight")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var n int
	if isJSON {
		err = json.Unmarshal(raw, &n)
	} else {
		n, err = strconv.Atoi(string(raw))
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("weight %q is not an integer", raw))
		return
	}
	if n < 0 || n > 256 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("weight %d out of 0..256", n))
		return
	}
	from := s.Weight()
	s.SetWeight(n)
	if !h.stillThere(w, b, s) {
		return
	}
	h.logChange(r, "set_weight", b, s.Name(), strconv.Itoa(from), strconv.Itoa(n)).
		Str("state", s.State().String()).Msg("server weight set")
	writeJSON(w, http.StatusOK, serverStatus(s, h.now()))
}

// addServerRequest is the body of POST /api/backends/{b}/servers; the keys
// are those of a [[backend.NAME.server]] entry.
type addServerRequest struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	Weight  *int   `json:"weight"` // absent: 1, the config default
	Backup  bool   `json:"backup"`
	MaxConn int    `json:"maxconn"`
}

// addServer serves POST /api/backends/{b}/servers: "add server".
func (h *handler) addServer(w http.ResponseWriter, r *http.Request) {
	b := h.backend(w, r)
	if b == nil {
		return
	}
	var req addServerRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "bad JSON body: "+err.Error())
		return
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "bad JSON body: more than one value")
		return
	}
	cfg := &config.Server{Name: req.Name, Address: req.Address, Weight: 1, Backup: req.Backup, MaxConn: req.MaxConn}
	if req.Weight != nil {
		cfg.Weight = *req.Weight
	}
	s, err := b.AddServer(cfg)
	switch {
	case errors.Is(err, backend.ErrServerExists):
		writeError(w, http.StatusConflict, err.Error())
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	h.logChange(r, "add_server", b, s.Name(), "", s.Addr()).
		Int("weight", s.Weight()).Bool("backup", s.Backup()).Int64("maxconn", s.MaxConn()).
		Msg("server added")
	w.Header().Set("Location", "/api/backends/"+url.PathEscape(b.Name())+"/servers/"+url.PathEscape(s.Name()))
	writeJSON(w, http.StatusCreated, serverStatus(s, h.now()))
}

// removeServer serves DELETE /api/backends/{b}/servers/{s}: "del server".
// As in HAProxy, only a server in MAINT with no session nor waiter can be
// removed (409 otherwise): set it to maint, wait for its sessions to end,
// then delete it.
func (h *handler) removeServer(w http.ResponseWriter, r *http.Request) {
	b := h.backend(w, r)
	if b == nil {
		return
	}
	name := r.PathValue("s")
	var addr string
	if s := b.Server(name); s != nil {
		addr = s.Addr()
	}
	err := b.RemoveServer(name)
	switch {
	case errors.Is(err, backend.ErrNoSuchServer):
		writeError(w, http.StatusNotFound, err.Error())
		return
	case err != nil:
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	h.logChange(r, "remove_server", b, name, addr, "").Msg("server removed")
	w.WriteHeader(http.StatusNoContent)
}

// backend returns the backend named by the path's {b}, or writes 404 and
// returns nil.
func (h *handler) backend(w http.ResponseWriter, r *http.Request) *backend.Backend {
	name := r.PathValue("b")
	for _, b := range h.src.Backends() {
		if b.Name() == name {
			return b
		}
	}
	writeError(w, http.StatusNotFound, fmt.Sprintf("no backend %q", name))
	return nil
}

// server returns the backend and server named by the path's {b} and {s},
// or writes 404 and returns a nil server.
func (h *handler) server(w http.ResponseWriter, r *http.Request) (*backend.Backend, *backend.Server) {
	b := h.backend(w, r)
	if b == nil {
		return nil, nil
	}
	name := r.PathValue("s")
	s := b.Server(name)
	if s == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("backend %q has no server %q", b.Name(), name))
	}
	return b, s
}

// stillThere reports whether s is still a server of b after a change, or
// writes 404: a concurrent removal makes the change a no-op.
func (h *handler) stillThere(w http.ResponseWriter, b *backend.Backend, s *backend.Server) bool {
	if b.Server(s.Name()) == s {
		return true
	}
	writeError(w, http.StatusNotFound, fmt.Sprintf("server %q was removed from backend %q", s.Name(), b.Name()))
	return false
}

// logChange starts the structured "admin" event of one change; the caller
// adds fields and sends it with Msg. from and to are strings for every
// action, so that log stores see one type per field.
func (h *handler) logChange(r *http.Request, action string, b *backend.Backend, server, from, to string) *zerolog.Event {
	return h.log.Info().Str("event", "admin").Str("action", action).
		Str("backend", b.Name()).Str("server", server).
		Str("from", from).Str("to", to).Str("remote", r.RemoteAddr)
}

// readField reads a one-value body: either the bare value (text, trimmed:
// "drain", "10") or, when the Content-Type is application/json or the body
// starts with '{', a JSON object with exactly the one key field
// ({"state": "drain"}), whose raw JSON value it returns with isJSON set.
func readField(r *http.Request, field string) (raw []byte, isJSON bool, err error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, false, fmt.Errorf("body over %d bytes", mb.Limit)
		}
		return nil, false, fmt.Errorf("reading body: %v", err)
	}
	body = bytes.TrimSpace(body)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/json" && !bytes.HasPrefix(body, []byte("{")) {
		if len(body) == 0 {
			return nil, false, fmt.Errorf("empty body: want the %s, or {%q: ...}", field, field)
		}
		return body, false, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, true, fmt.Errorf("bad JSON body: %v", err)
	}
	v, ok := m[field]
	if !ok || len(m) != 1 {
		return nil, true, fmt.Errorf("bad JSON body: want exactly {%q: ...}", field)
	}
	return v, true, nil
}

// writeJSON answers v as JSON with status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		writeError(w, http.StatusInternalServerError, "encoding JSON: "+err.Error())
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(append(body, '\n'))
}

// writeError answers {"error": msg} with status code.
func writeError(w http.ResponseWriter, code int, msg string) {
	body, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	w.Write(append(body, '\n'))
}

// promLogger adapts a zerolog.Logger to promhttp's ErrorLog.
type promLogger struct{ log zerolog.Logger }

func (l promLogger) Println(v ...any) {
	l.log.Error().Str("event", "metrics_error").Msg(fmt.Sprint(v...))
}
