package stats

import (
	"slices"
	"strings"
	"time"

	"github.com/lb-proxy/lb/backend"
)

// Snapshot is the state of a generation at one instant, as served by
// GET /stats.json and rendered by GET /stats. Its JSON field names are
// stable: fields may be added, never renamed or removed. Counters are
// totals since the generation's backends and frontends were built.
type Snapshot struct {
	// Time is when the snapshot was taken.
	Time      time.Time        `json:"time"`
	Process   ProcessStatus    `json:"process"`
	Frontends []FrontendStatus `json:"frontends"` // by name
	Backends  []BackendStatus  `json:"backends"`  // by name
	// Limits are the per-key limit tables (a Source with Limits), by
	// name; absent without.
	Limits []LimitStatus `json:"limits,omitempty"`
}

// LimitStatus is one [limit.NAME] table (see LimitCollector's families).
type LimitStatus struct {
	Name        string `json:"name"`
	Entries     int64  `json:"entries"`
	Keys        int64  `json:"keys"`
	Tracked     int64  `json:"tracked"`
	Over        int64  `json:"over"`
	Evictions   int64  `json:"evictions"`
	Expired     int64  `json:"expired"`
	Full        int64  `json:"full"`
	RedisUp     bool   `json:"redis_up"`
	RedisErrors int64  `json:"redis_errors"`
}

// LimitSource is a Source that has limit tables.
type LimitSource interface {
	Limits() []Limit
	// LimitKeys returns up to n keys of table name, the busiest first;
	// false for no such table.
	LimitKeys(name string, n int) ([]LimitKey, bool)
}

// LimitKey is one key of a limit table (GET /api/limits/{name}),
// HAProxy's "show table" line.
type LimitKey struct {
	Key        string  `json:"key"`      // an address, a header's value or a backend
	Requests   float64 `json:"requests"` // over the window (the sliding estimate, every instance sharing Redis)
	Bytes      float64 `json:"bytes"`    // idem
	Conns      int32   `json:"conns"`    // connections open now (this instance)
	InProgress int32   `json:"requests_in_progress"`
}

// ProcessStatus is the process-wide part of a Snapshot (see Process).
type ProcessStatus struct {
	Version            string    `json:"version"`
	StartTime          time.Time `json:"start_time"`
	UptimeSeconds      float64   `json:"uptime_seconds"`
	CurrentConnections int64     `json:"current_connections"`
	MaxConnections     int64     `json:"max_connections"` // 0: unlimited
	ConnectionsTotal   int64     `json:"connections_total"`
}

// FrontendStatus is one frontend (see Frontend).
type FrontendStatus struct {
	Name            string `json:"name"`
	Mode            string `json:"mode"` // "http" or "tcp"
	CurrentSessions int64  `json:"current_sessions"`
	LimitSessions   int64  `json:"limit_sessions"` // 0: only the global limit
	SessionsTotal   int64  `json:"sessions_total"`
	BytesIn         int64  `json:"bytes_in"`
	BytesOut        int64  `json:"bytes_out"`
	// HTTPRequests and HTTPResponses are 0 for TCP frontends.
	HTTPRequests  int64     `json:"http_requests"`
	HTTPResponses HTTPCodes `json:"http_responses"`
	// MaxSessions is the most sessions at once; SessionRate and
	// MaxSessionRate new sessions per second, now and at most.
	MaxSessions    int64 `json:"max_sessions"`
	SessionRate    int64 `json:"session_rate"`
	MaxSessionRate int64 `json:"max_session_rate"`
	DeniedRequests int64 `json:"denied_requests"`
	RequestErrors  int64 `json:"request_errors"`
	// RateHistory is the request rate (HTTP) or session rate (TCP), per
	// second, sampled at most once a second while the page or the JSON is
	// read, oldest first (at most 60 samples).
	RateHistory []float64 `json:"rate_history"`
}

// HTTPCodes counts HTTP responses by status class.
type HTTPCodes struct {
	C1xx  uint64 `json:"1xx"`
	C2xx  uint64 `json:"2xx"`
	C3xx  uint64 `json:"3xx"`
	C4xx  uint64 `json:"4xx"`
	C5xx  uint64 `json:"5xx"`
	Other uint64 `json:"other"`
}

// httpCodes converts per-class counts indexed by backend.CodeClass.
func httpCodes(n func(backend.CodeClass) uint64) HTTPCodes {
	return HTTPCodes{
		C1xx: n(backend.Code1xx), C2xx: n(backend.Code2xx), C3xx: n(backend.Code3xx),
		C4xx: n(backend.Code4xx), C5xx: n(backend.Code5xx), Other: n(backend.CodeOther),
	}
}

// BackendStatus is one backend and its servers.
type BackendStatus struct {
	Name    string `json:"name"`
	Balance string `json:"balance"`
	// Status is "UP" while some server can take sessions, else "DOWN".
	Status          string `json:"status"`
	CurrentSessions int64  `json:"current_sessions"` // slots held on its servers
	SessionsTotal   uint64 `json:"sessions_total"`
	CurrentQueue    int64  `json:"current_queue"`
	MaxQueue        int64  `json:"max_queue"`
	ConnectErrors   uint64 `json:"connect_errors"`
	Retries         uint64 `json:"retries"`
	Redispatches    uint64 `json:"redispatches"`
	QueueFull       uint64 `json:"queue_full"` // sessions refused: queue full
	NoServer        uint64 `json:"no_server"`  // sessions refused: no usable server
	Downs           uint64 `json:"downs"`      // times it lost its last usable server
	ActiveServers   int    `json:"active_servers"`
	BackupServers   int    `json:"backup_servers"`
	// Weight is the total weight of the servers taking balanced sessions
	// (the UP actives, else the UP backups).
	Weight        int            `json:"weight"`
	HTTPRequests  uint64         `json:"http_requests"`
	HTTPResponses HTTPCodes      `json:"http_responses"`
	Timers        Timers         `json:"timers"`
	Servers       []ServerStatus `json:"servers"` // in declaration order
	Errors
	SessionRate    int64 `json:"session_rate"`
	MaxSessionRate int64 `json:"max_session_rate"`
}

// Errors are the byte, abort and error counters a backend and a server
// share.
type Errors struct {
	BytesIn        uint64 `json:"bytes_in"`
	BytesOut       uint64 `json:"bytes_out"`
	ClientAborts   uint64 `json:"client_aborts"`
	ServerAborts   uint64 `json:"server_aborts"`
	ResponseErrors uint64 `json:"response_errors"`
}

// ServerStatus is one server.
type ServerStatus struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	Backup  bool   `json:"backup"`
	// State is "UP", "DOWN", "DRAIN" or "MAINT" (backend.State).
	State string `json:"state"`
	// Admin is the operator's setting: "READY", "DRAIN" or "MAINT".
	Admin           string `json:"admin"`
	Weight          int    `json:"weight"`
	CurrentSessions int64  `json:"current_sessions"`
	LimitSessions   int64  `json:"limit_sessions"` // maxconn; 0: unlimited
	SessionsTotal   uint64 `json:"sessions_total"`
	CurrentQueue    int64  `json:"current_queue"`
	MaxQueue        int64  `json:"max_queue"`
	ConnectErrors   uint64 `json:"connect_errors"`
	// CheckStatus is the last health check's result ("L4OK", "L4CON",
	// ...; "UNK" without checks, "INI" before the first).
	CheckStatus   string `json:"check_status"`
	CheckFailures uint64 `json:"check_failures"`
	CheckDowns    uint64 `json:"check_downs"` // UP -> DOWN transitions
	// LastChange is the time of the last state change (or of the server's
	// addition at run time); null if none since the generation started.
	LastChange    *time.Time `json:"last_change"`
	HTTPResponses HTTPCodes  `json:"http_responses"`
	Timers        Timers     `json:"timers"`
	Errors
	Retries              uint64  `json:"retries"`
	CheckDurationSeconds float64 `json:"check_duration_seconds"`
	DowntimeSeconds      float64 `json:"downtime_seconds"`
}

// Timers summarises the timer histograms (see backend.BackendCounters).
type Timers struct {
	Queue    Timer `json:"queue"`
	Connect  Timer `json:"connect"`
	Response Timer `json:"response"`
	Total    Timer `json:"total"`
}

// Timer is one timer histogram's count and mean. The full distribution is
// in the Prometheus histograms.
type Timer struct {
	Count       uint64  `json:"count"`
	MeanSeconds float64 `json:"mean_seconds"`
	P50Seconds  float64 `json:"p50_seconds"` // estimated from the buckets
	P99Seconds  float64 `json:"p99_seconds"`
}

// TakeSnapshot reads src now. Frontends and backends are sorted by name;
// servers keep their declaration order. Each value is read lock-free on its
// own, so figures changing during the read may mix before and after.
func TakeSnapshot(src Source, now time.Time) Snapshot {
	p := src.Process()
	snap := Snapshot{
		Time: now,
		Process: ProcessStatus{
			Version:            version(p.Version),
			StartTime:          p.StartTime,
			CurrentConnections: p.CurrentConnections,
			MaxConnections:     p.MaxConnections,
			ConnectionsTotal:   p.ConnectionsTotal,
		},
		Frontends: []FrontendStatus{},
		Backends:  []BackendStatus{},
	}
	if !p.StartTime.IsZero() {
		snap.Process.UptimeSeconds = max(now.Sub(p.StartTime).Seconds(), 0)
	}
	for _, f := range src.Frontends() {
		snap.Frontends = append(snap.Frontends, FrontendStatus{
			Name:            f.Name,
			Mode:            f.Mode,
			CurrentSessions: f.CurrentSessions,
			LimitSessions:   f.LimitSessions,
			SessionsTotal:   f.SessionsTotal,
			BytesIn:         f.BytesIn,
			BytesOut:        f.BytesOut,
			HTTPRequests:    f.HTTPRequests,
			HTTPResponses:   httpCodes(func(c backend.CodeClass) uint64 { return uint64(f.HTTPResponses[c]) }),
			MaxSessions:     f.MaxSessions,
			SessionRate:     f.SessionRate,
			MaxSessionRate:  f.MaxSessionRate,
			DeniedRequests:  f.DeniedRequests,
			RequestErrors:   f.RequestErrors,
		})
	}
	slices.SortFunc(snap.Frontends, func(a, b FrontendStatus) int { return strings.Compare(a.Name, b.Name) })
	for _, b := range src.Backends() {
		snap.Backends = append(snap.Backends, backendStatus(b, now))
	}
	slices.SortFunc(snap.Backends, func(a, b BackendStatus) int { return strings.Compare(a.Name, b.Name) })
	if ls, ok := src.(LimitSource); ok {
		for _, l := range ls.Limits() {
			snap.Limits = append(snap.Limits, LimitStatus{Name: l.Name, Entries: l.Entries, Keys: l.Keys, Tracked: l.Tracked,
				Over: l.Over, Evictions: l.Evictions, Expired: l.Expired, Full: l.Full, RedisUp: l.RedisUp == 1, RedisErrors: l.RedisErrors})
		}
		slices.SortFunc(snap.Limits, func(a, b LimitStatus) int { return strings.Compare(a.Name, b.Name) })
	}
	return snap
}

// backendStatus reads one backend and its servers.
func backendStatus(b *backend.Backend, now time.Time) BackendStatus {
	bc := b.Counters()
	servers := b.Servers()
	t := tally(servers)
	bs := BackendStatus{
		Name:            b.Name(),
		Balance:         b.Balance(),
		Status:          "DOWN",
		CurrentSessions: t.current,
		SessionsTotal:   bc.SessionsTotal.Load(),
		CurrentQueue:    bc.QueueCurrent.Load(),
		MaxQueue:        bc.QueueMax.Load(),
		ConnectErrors:   bc.ConnectErrors.Load(),
		Retries:         bc.Retries.Load(),
		Redispatches:    bc.Redispatches.Load(),
		QueueFull:       bc.QueueFull.Load(),
		NoServer:        bc.NoServer.Load(),
		Downs:           bc.Downs.Load(),
		ActiveServers:   t.activeUp,
		BackupServers:   t.backupUp,
		Weight:          t.weight,
		HTTPRequests:    bc.HTTPRequests.Load(),
		HTTPResponses:   httpCodes(bc.HTTPResponses.Load),
		Timers:          timers(backendTimers(bc)),
		Servers:         make([]ServerStatus, 0, len(servers)),
		Errors: Errors{BytesIn: bc.BytesIn.Load(), BytesOut: bc.BytesOut.Load(), ClientAborts: bc.ClientAborts.Load(),
			ServerAborts: bc.ServerAborts.Load(), ResponseErrors: bc.ResponseErrors.Load()},
		SessionRate:    bc.SessionRate.Value(now),
		MaxSessionRate: bc.SessionRate.Max(),
	}
	if t.weight > 0 {
		bs.Status = "UP"
	}
	for _, s := range servers {
		bs.Servers = append(bs.Servers, serverStatus(s, now))
	}
	return bs
}

// serverStatus reads one server.
func serverStatus(s *backend.Server, now time.Time) ServerStatus {
	sc := s.Counters()
	ss := ServerStatus{
		Name:            s.Name(),
		Address:         s.Addr(),
		Backup:          s.Backup(),
		State:           s.State().String(),
		Admin:           s.Admin().String(),
		Weight:          s.Weight(),
		CurrentSessions: s.Current(),
		LimitSessions:   s.MaxConn(),
		SessionsTotal:   sc.SessionsTotal.Load(),
		CurrentQueue:    sc.QueueCurrent.Load(),
		MaxQueue:        sc.QueueMax.Load(),
		ConnectErrors:   sc.ConnectErrors.Load(),
		CheckStatus:     backend.CheckStatus(sc.CheckStatus.Load()).String(),
		CheckFailures:   sc.ChecksFailed.Load(),
		CheckDowns:      sc.Downs.Load(),
		HTTPResponses:   httpCodes(sc.HTTPResponses.Load),
		Timers:          timers(serverTimers(sc)),
		Errors: Errors{BytesIn: sc.BytesIn.Load(), BytesOut: sc.BytesOut.Load(), ClientAborts: sc.ClientAborts.Load(),
			ServerAborts: sc.ServerAborts.Load(), ResponseErrors: sc.ResponseErrors.Load()},
		Retries:              sc.Retries.Load(),
		CheckDurationSeconds: float64(sc.CheckDuration.Load()) / 1e9,
	}
	down := sc.Downtime.Load()
	if since := sc.DownSince.Load(); since != 0 {
		down += now.UnixNano() - since
	}
	ss.DowntimeSeconds = float64(max(down, 0)) / 1e9
	if ns := sc.LastChange.Load(); ns != 0 {
		t := time.Unix(0, ns).UTC()
		ss.LastChange = &t
	}
	return ss
}

// timers summarises four histograms in timer order.
func timers(h [numTimers]*backend.Histogram) Timers {
	t := func(h *backend.Histogram) Timer {
		s := h.Snapshot()
		return Timer{Count: s.Count, MeanSeconds: s.Mean().Seconds(),
			P50Seconds: s.Quantile(0.5).Seconds(), P99Seconds: s.Quantile(0.99).Seconds()}
	}
	return Timers{
		Queue:    t(h[timerQueue]),
		Connect:  t(h[timerConnect]),
		Response: t(h[timerResponse]),
		Total:    t(h[timerTotal]),
	}
}
