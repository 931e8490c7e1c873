package stats

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"github.com/lb-proxy/lb/backend"
)

// Collector is a prometheus.Collector that reads the current generation
// of a Source at scrape time. Its metric families follow HAProxy's exporter
// (addons/promex) with the prefix lb_ instead of haproxy_, and the labels
// proxy (a frontend or backend name), server, state, code (an HTTP status
// class: 1xx..5xx, other) and version; the timer
// histograms (*_time_seconds) are lb's own. A timer histogram appears with
// its first observation (as a HistogramVec child would), so TCP backends
// carry no empty response-time series; likewise the backend and server
// http_* series appear with their first HTTP request or response, and the
// check_* series exist only for servers with health checks. Register it on a registry you own
// (prometheus.NewRegistry), never the global one:
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(stats.NewCollector(src))
//
// Describe lists every family, so the registry checks names and labels at
// registration and on each scrape. Safe for concurrent scrapes.
type Collector struct {
	src Source
	now func() time.Time

	// One descriptor per family, by level.
	processStart, processUptime, processBuildInfo                  *prometheus.Desc
	processCurConns, processMaxConns, processConnsTotal            *prometheus.Desc
	processIdleServerConns                                         *prometheus.Desc
	processWaitingConns, processShedConns                          *prometheus.Desc
	frontendCur, frontendLimit, frontendTotal                      *prometheus.Desc
	frontendBytesIn, frontendBytesOut                              *prometheus.Desc
	frontendHTTPRequests, frontendHTTPResponses                    *prometheus.Desc
	processTLSActive, processTLSWaiting, processDroppedLogs        *prometheus.Desc
	frontendTLSHandshakes, frontendTLSResumed, frontendTLSFail     *prometheus.Desc
	backendHTTPRequests, backendHTTPResponses                      *prometheus.Desc
	serverHTTPResponses                                            *prometheus.Desc
	backendStatus, backendCur, backendTotal                        *prometheus.Desc
	backendQueueCur, backendQueueMax                               *prometheus.Desc
	backendConnErrors, backendRetries, backendRedispatches         *prometheus.Desc
	backendQueueFull, backendNoServer, backendDowns                *prometheus.Desc
	backendActive, backendBackup, backendWeight                    *prometheus.Desc
	backendTimes                                                   [numTimers]*prometheus.Desc
	serverStatus, serverWeight, serverCur, serverLimit             *prometheus.Desc
	serverTotal, serverConnErrors, serverQueueCur, serverQueueMax  *prometheus.Desc
	backendBytesIn, backendBytesOut, serverBytesIn, serverBytesOut *prometheus.Desc
	serverCheckStatus, serverCheckFailures, serverCheckDowns       *prometheus.Desc
	serverLastChange                                               *prometheus.Desc
	processHandoffs, processPoolReuses, processServerDials         *prometheus.Desc
	frontendMaxSessions, frontendRate, frontendMaxRate             *prometheus.Desc
	frontendDeniedReq, frontendDeniedResp, frontendReqErrors       *prometheus.Desc
	frontendProxyErrors                                            *prometheus.Desc
	backendCliAborts, backendSrvAborts, backendRespErrors          *prometheus.Desc
	backendRate, backendMaxRate                                    *prometheus.Desc
	serverCliAborts, serverSrvAborts, serverRespErrors             *prometheus.Desc
	serverRetries, serverSinceChange                               *prometheus.Desc
	serverCheckDuration, serverDowntime                            *prometheus.Desc
	serverTimes                                                    [numTimers]*prometheus.Desc
}

// The timer histograms, in the order of the desc arrays.
const (
	timerQueue = iota
	timerConnect
	timerResponse
	timerTotal
	numTimers
)

// timerNames are the metric name parts and help texts of the timers.
var timerNames = [numTimers]struct{ name, help string }{
	timerQueue:    {"queue", "Time spent waiting for a server slot (HAProxy's Tw), per session that reached the queue step."},
	timerConnect:  {"connect", "Time to connect to the server, retries included (HAProxy's Tc)."},
	timerResponse: {"response", "Time from the request sent to the complete response head (HAProxy's Tr, HTTP only)."},
	timerTotal:    {"total", "Whole session (TCP, HAProxy's Tt) or transaction (HTTP, HAProxy's Ta) duration."},
}

// backendTimers and serverTimers return the four histograms of c in timer
// order.
func backendTimers(c *backend.BackendCounters) [numTimers]*backend.Histogram {
	return [numTimers]*backend.Histogram{&c.QueueTime, &c.ConnectTime, &c.ResponseTime, &c.TotalTime}
}

func serverTimers(c *backend.ServerCounters) [numTimers]*backend.Histogram {
	return [numTimers]*backend.Histogram{&c.QueueTime, &c.ConnectTime, &c.ResponseTime, &c.TotalTime}
}

// serverStates are the values of lb_server_status's state label, one-hot.
var serverStates = [...]backend.State{backend.StateUp, backend.StateDown, backend.StateDrain, backend.StateMaint}

// checkStatuses are the values of lb_server_check_status's state label,
// one-hot. UNK is not among them: servers without health checks have no
// check_* series at all (as in HAProxy's exporter).
var checkStatuses = [...]backend.CheckStatus{
	backend.CheckInit, backend.CheckL4OK, backend.CheckL4TOUT, backend.CheckL4CON, backend.CheckSockErr,
	backend.CheckL7OK, backend.CheckL7STS, backend.CheckL7RSP, backend.CheckL7TOUT,
}

// bucketBounds are the histograms' upper bounds in seconds.
var bucketBounds = func() [backend.HistogramBuckets]float64 {
	var b [backend.HistogramBuckets]float64
	for i := range b {
		b[i] = backend.HistogramBoundSeconds(i)
	}
	return b
}()

// NewCollector returns a Collector reading src at each scrape.
func NewCollector(src Source) *Collector {
	proxy := []string{"proxy"}
	server := []string{"proxy", "server"}
	d := func(name, help string, labels []string) *prometheus.Desc {
		return prometheus.NewDesc("lb_"+name, help, labels, nil)
	}
	c := &Collector{
		src: src,
		now: time.Now,

		processStart:           d("process_start_time_seconds", "Start time of the process since the Unix epoch in seconds.", nil),
		processUptime:          d("process_uptime_seconds", "How long ago the process started, in seconds.", nil),
		processBuildInfo:       d("process_build_info", "Build information; the value is always 1.", []string{"version"}),
		processCurConns:        d("process_current_connections", "Number of client connections open now.", nil),
		processMaxConns:        d("process_max_connections", "Limit on client connections (global.maxconn); 0 means unlimited.", nil),
		processConnsTotal:      d("process_connections_total", "Total number of client connections accepted.", nil),
		processIdleServerConns: d("process_idle_server_connections", "Number of idle keep-alive server connections pooled for reuse.", nil),
		processWaitingConns:    d("process_waiting_connections", "Number of client connections accepted above maxconn and waiting, unread, for a slot.", nil),
		processShedConns:       d("process_shed_connections_total", "Total client connections closed at once because the waiting room above maxconn was full.", nil),

		processTLSActive:      d("process_tls_handshakes_current", "Number of TLS handshakes in progress.", nil),
		processDroppedLogs:    d("process_dropped_logs_total", "Total number of access-log lines dropped because the destination could not keep up.", nil),
		processTLSWaiting:     d("process_tls_handshakes_waiting", "Number of TLS handshakes waiting for a handshake slot (one per CPU) to compute.", nil),
		frontendTLSHandshakes: d("frontend_tls_handshakes_total", "Total number of completed TLS handshakes (TLS frontends).", proxy),
		frontendTLSResumed:    d("frontend_tls_resumed_total", "Total number of TLS handshakes that resumed a session (TLS frontends).", proxy),
		frontendTLSFail:       d("frontend_tls_handshake_failures_total", "Total number of failed TLS handshakes, by reason: timeout, client_closed, protocol (TLS frontends).", []string{"proxy", "reason"}),

		frontendCur:      d("frontend_current_sessions", "Number of client sessions open now.", proxy),
		frontendLimit:    d("frontend_limit_sessions", "Limit on client sessions (frontend maxconn); 0 means only the global limit.", proxy),
		frontendTotal:    d("frontend_sessions_total", "Total number of client sessions accepted.", proxy),
		frontendBytesIn:  d("frontend_bytes_in_total", "Total number of request bytes sent on to servers (the access log's bytes_in; a request lb answers itself counts 0).", proxy),
		frontendBytesOut: d("frontend_bytes_out_total", "Total number of bytes sent to clients.", proxy),

		frontendHTTPRequests:  d("frontend_http_requests_total", "Total number of HTTP requests received (HTTP frontends).", proxy),
		frontendHTTPResponses: d("frontend_http_responses_total", "Total number of HTTP responses sent to clients, by status class (HTTP frontends).", []string{"proxy", "code"}),
		backendHTTPRequests:   d("backend_http_requests_total", "Total number of HTTP requests sent to the backend's servers; appears with the first one.", proxy),
		backendHTTPResponses:  d("backend_http_responses_total", "Total number of HTTP responses from the backend's servers, by status class; appears with the first request.", []string{"proxy", "code"}),
		serverHTTPResponses:   d("server_http_responses_total", "Total number of HTTP responses from the server, by status class; appears with the first one.", []string{"proxy", "server", "code"}),

		backendStatus:       d("backend_status", "Backend status: 1 for the current state (UP: a server can take sessions; DOWN: none can), 0 for the other.", []string{"proxy", "state"}),
		backendCur:          d("backend_current_sessions", "Number of sessions holding a slot on a server of the backend.", proxy),
		backendTotal:        d("backend_sessions_total", "Total number of slots granted on the backend's servers.", proxy),
		backendQueueCur:     d("backend_current_queue", "Number of sessions waiting for a server slot (backend and server queues).", proxy),
		backendQueueMax:     d("backend_max_queue", "Highest number of sessions seen waiting for a server slot.", proxy),
		backendConnErrors:   d("backend_connection_errors_total", "Total number of failed connects to the backend's servers.", proxy),
		backendRetries:      d("backend_retry_warnings_total", "Total number of connect retries.", proxy),
		backendRedispatches: d("backend_redispatch_warnings_total", "Total number of retries moved to another server.", proxy),
		backendQueueFull:    d("backend_queue_full_total", "Total number of sessions refused because the queue was full (503).", proxy),
		backendNoServer:     d("backend_no_server_total", "Total number of sessions refused because no server was usable (503).", proxy),
		backendDowns:        d("backend_check_up_down_total", "Total number of times the backend lost its last usable server.", proxy),
		backendActive:       d("backend_active_servers", "Number of active (non-backup) servers in state UP.", proxy),
		backendBackup:       d("backend_backup_servers", "Number of backup servers in state UP.", proxy),
		backendWeight:       d("backend_weight", "Total weight of the servers taking balanced sessions now (the UP actives, else the UP backups).", proxy),

		serverStatus:        d("server_status", "Server status: 1 for the current state, 0 for the others (UP, DOWN, DRAIN, MAINT).", []string{"proxy", "server", "state"}),
		serverWeight:        d("server_weight", "Server weight (0..256).", server),
		serverCur:           d("server_current_sessions", "Number of sessions holding a slot on the server.", server),
		serverLimit:         d("server_limit_sessions", "Limit on sessions (server maxconn); 0 means unlimited.", server),
		serverTotal:         d("server_sessions_total", "Total number of slots granted on the server.", server),
		serverBytesIn:       d("server_bytes_in_total", "Total number of request bytes of the transactions sent to the server (as in their log lines).", server),
		serverBytesOut:      d("server_bytes_out_total", "Total number of response bytes of the transactions sent to the server (as in their log lines).", server),
		backendBytesIn:      d("backend_bytes_in_total", "Total number of request bytes of the backend's transactions (as in their log lines).", proxy),
		backendBytesOut:     d("backend_bytes_out_total", "Total number of response bytes of the backend's transactions (as in their log lines).", proxy),
		serverConnErrors:    d("server_connection_errors_total", "Total number of failed connects to the server.", server),
		serverQueueCur:      d("server_current_queue", "Number of sessions waiting in the server's own queue (hash balancing).", server),
		serverQueueMax:      d("server_max_queue", "Highest number of sessions seen in the server's own queue.", server),
		serverCheckStatus:   d("server_check_status", "Result of the last health check: 1 for the current one, 0 for the others (INI: none done yet). Only for servers with health checks.", []string{"proxy", "server", "state"}),
		serverCheckFailures: d("server_check_failures_total", "Total number of failed health checks. Only for servers with health checks.", server),
		serverCheckDowns:    d("server_check_up_down_total", "Total number of UP to DOWN transitions caused by health checks. Only for servers with health checks.", server),
		processHandoffs:     d("process_handoffs_total", "Total number of sessions moved from an event loop to the pump goroutines (back-pressure, bulk, half-close).", nil),
		processPoolReuses:   d("process_pool_reuses_total", "Total number of requests sent on a pooled idle server connection.", nil),
		processServerDials:  d("process_server_dials_total", "Total number of new server connection attempts (the pool reuse ratio is reuses / (reuses + dials)).", nil),
		frontendMaxSessions: d("frontend_max_sessions", "Highest number of client sessions open at once.", proxy),
		frontendRate:        d("frontend_current_session_rate", "New client sessions per second, over the last second.", proxy),
		frontendMaxRate:     d("frontend_max_session_rate", "Highest number of new client sessions per second.", proxy),
		frontendDeniedReq:   d("frontend_requests_denied_total", "Total number of requests refused by a deny rule.", proxy),
		frontendDeniedResp:  d("frontend_responses_denied_total", "Total number of responses replaced by a deny rule.", proxy),
		frontendProxyErrors: d("frontend_proxy_errors_total", "Total number of connections closed for their PROXY protocol header (malformed, oversized, truncated, or an untrusted source refused).", proxy),
		frontendReqErrors:   d("frontend_request_errors_total", "Total number of requests refused as malformed or not complete in time (400, 408, 413, 414, 431...).", proxy),
		backendCliAborts:    d("backend_client_aborts_total", "Total number of transactions the client cut once a server was involved.", proxy),
		backendSrvAborts:    d("backend_server_aborts_total", "Total number of transactions the server cut (reset, close, timeout) during the response.", proxy),
		backendRespErrors:   d("backend_response_errors_total", "Total number of transactions whose server sent no valid response.", proxy),
		backendRate:         d("backend_current_session_rate", "Transactions that asked the backend for a server (served or not), per second, over the last second, counted as they end.", proxy),
		backendMaxRate:      d("backend_max_session_rate", "Highest number of transactions that asked the backend for a server per second.", proxy),
		serverCliAborts:     d("server_client_aborts_total", "Total number of transactions to the server the client cut.", server),
		serverSrvAborts:     d("server_server_aborts_total", "Total number of transactions the server cut during the response.", server),
		serverRespErrors:    d("server_response_errors_total", "Total number of transactions whose server sent no valid response.", server),
		serverRetries:       d("server_retry_warnings_total", "Total number of connect retries on the server.", server),
		serverCheckDuration: d("server_check_duration_seconds", "Duration of the server's last health check.", server),
		serverDowntime:      d("server_downtime_seconds_total", "Total time the server spent DOWN by health checks.", server),
		serverSinceChange:   d("server_last_state_change_seconds", "Seconds since the server's last state change (or its addition, or the process start).", server),
		serverLastChange:    d("server_last_change_timestamp_seconds", "Time of the server's last state change (or of its addition) since the Unix epoch in seconds; the process start time if none.", server),
	}
	for i, t := range timerNames {
		c.backendTimes[i] = d("backend_"+t.name+"_time_seconds", t.help, proxy)
		c.serverTimes[i] = d("server_"+t.name+"_time_seconds", t.help, server)
	}
	return c
}

// Describe sends the descriptor of every family. Part of
// prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.processStart, c.processUptime, c.processBuildInfo,
		c.processCurConns, c.processMaxConns, c.processConnsTotal, c.processIdleServerConns,
		c.processWaitingConns, c.processShedConns,
		c.frontendCur, c.frontendLimit, c.frontendTotal, c.frontendBytesIn, c.frontendBytesOut,
		c.frontendHTTPRequests, c.frontendHTTPResponses,
		c.processTLSActive, c.processTLSWaiting, c.processDroppedLogs,
		c.frontendTLSHandshakes, c.frontendTLSResumed, c.frontendTLSFail,
		c.backendHTTPRequests, c.backendHTTPResponses, c.serverHTTPResponses,
		c.backendStatus, c.backendCur, c.backendTotal, c.backendQueueCur, c.backendQueueMax,
		c.backendConnErrors, c.backendRetries, c.backendRedispatches,
		c.backendQueueFull, c.backendNoServer, c.backendDowns,
		c.backendActive, c.backendBackup, c.backendWeight,
		c.serverStatus, c.serverWeight, c.serverCur, c.serverLimit,
		c.serverTotal, c.serverConnErrors, c.serverQueueCur, c.serverQueueMax,
		c.backendBytesIn, c.backendBytesOut, c.serverBytesIn, c.serverBytesOut,
		c.serverCheckStatus, c.serverCheckFailures, c.serverCheckDowns, c.serverLastChange,
		c.processHandoffs, c.processPoolReuses, c.processServerDials,
		c.frontendMaxSessions, c.frontendRate, c.frontendMaxRate,
		c.frontendDeniedReq, c.frontendDeniedResp, c.frontendReqErrors, c.frontendProxyErrors,
		c.backendCliAborts, c.backendSrvAborts, c.backendRespErrors, c.backendRate, c.backendMaxRate,
		c.serverCliAborts, c.serverSrvAborts, c.serverRespErrors, c.serverRetries, c.serverSinceChange,
		c.serverCheckDuration, c.serverDowntime,
	} {
		ch <- d
	}
	for i := range numTimers {
		ch <- c.backendTimes[i]
		ch <- c.serverTimes[i]
	}
}

// Collect reads the Source and sends one metric per family and label set.
// Part of prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	p := c.src.Process()
	gauge(ch, c.processStart, unixSeconds(p.StartTime))
	uptime := 0.0
	if !p.StartTime.IsZero() {
		uptime = max(c.now().Sub(p.StartTime).Seconds(), 0)
	}
	gauge(ch, c.processUptime, uptime)
	gauge(ch, c.processBuildInfo, 1, version(p.Version))
	gauge(ch, c.processCurConns, float64(p.CurrentConnections))
	gauge(ch, c.processMaxConns, float64(p.MaxConnections))
	counter(ch, c.processConnsTotal, float64(p.ConnectionsTotal))
	ch <- prometheus.MustNewConstMetric(c.processIdleServerConns, prometheus.GaugeValue, float64(p.IdleServerConnections))
	gauge(ch, c.processWaitingConns, float64(p.WaitingConnections))
	counter(ch, c.processShedConns, float64(p.ShedConnections))
	gauge(ch, c.processTLSActive, float64(p.TLSHandshakesActive))
	gauge(ch, c.processTLSWaiting, float64(p.TLSHandshakesWaiting))
	counter(ch, c.processDroppedLogs, float64(p.DroppedLogs))
	counter(ch, c.processHandoffs, float64(p.Handoffs))
	counter(ch, c.processPoolReuses, float64(p.PoolReuses))
	counter(ch, c.processServerDials, float64(p.ServerDials))

	for _, f := range c.src.Frontends() {
		gauge(ch, c.frontendCur, float64(f.CurrentSessions), f.Name)
		gauge(ch, c.frontendLimit, float64(f.LimitSessions), f.Name)
		counter(ch, c.frontendTotal, float64(f.SessionsTotal), f.Name)
		counter(ch, c.frontendBytesIn, float64(f.BytesIn), f.Name)
		counter(ch, c.frontendBytesOut, float64(f.BytesOut), f.Name)
		gauge(ch, c.frontendMaxSessions, float64(f.MaxSessions), f.Name)
		gauge(ch, c.frontendRate, float64(f.SessionRate), f.Name)
		gauge(ch, c.frontendMaxRate, float64(f.MaxSessionRate), f.Name)
		counter(ch, c.frontendDeniedReq, float64(f.DeniedRequests), f.Name)
		counter(ch, c.frontendDeniedResp, float64(f.DeniedResponses), f.Name)
		counter(ch, c.frontendReqErrors, float64(f.RequestErrors), f.Name)
		counter(ch, c.frontendProxyErrors, float64(f.ProxyErrors), f.Name)
		if f.Mode == "http" {
			counter(ch, c.frontendHTTPRequests, float64(f.HTTPRequests), f.Name)
			for cc, n := range f.HTTPResponses {
				counter(ch, c.frontendHTTPResponses, float64(n), f.Name, backend.CodeClass(cc).String())
			}
		}
		if f.TLS {
			counter(ch, c.frontendTLSHandshakes, float64(f.TLSHandshakes), f.Name)
			counter(ch, c.frontendTLSResumed, float64(f.TLSResumed), f.Name)
			for i, n := range f.TLSFailures {
				counter(ch, c.frontendTLSFail, float64(n), f.Name, TLSFailureReasons[i])
			}
		}
	}
	for _, b := range c.src.Backends() {
		c.collectBackend(ch, b, p.StartTime)
	}
}

// collectBackend sends the metrics of b and of its servers.
func (c *Collector) collectBackend(ch chan<- prometheus.Metric, b *backend.Backend, start time.Time) {
	name := b.Name()
	bc := b.Counters()
	servers := b.Servers()
	t := tally(servers)

	up := 0.0
	if t.weight > 0 {
		up = 1
	}
	gauge(ch, c.backendStatus, up, name, "UP")
	gauge(ch, c.backendStatus, 1-up, name, "DOWN")
	gauge(ch, c.backendCur, float64(t.current), name)
	counter(ch, c.backendTotal, float64(bc.SessionsTotal.Load()), name)
	counter(ch, c.backendBytesIn, float64(bc.BytesIn.Load()), name)
	counter(ch, c.backendBytesOut, float64(bc.BytesOut.Load()), name)
	counter(ch, c.backendCliAborts, float64(bc.ClientAborts.Load()), name)
	counter(ch, c.backendSrvAborts, float64(bc.ServerAborts.Load()), name)
	counter(ch, c.backendRespErrors, float64(bc.ResponseErrors.Load()), name)
	gauge(ch, c.backendRate, float64(bc.SessionRate.Value(c.now())), name)
	gauge(ch, c.backendMaxRate, float64(bc.SessionRate.Max()), name)
	gauge(ch, c.backendQueueCur, float64(bc.QueueCurrent.Load()), name)
	gauge(ch, c.backendQueueMax, float64(bc.QueueMax.Load()), name)
	counter(ch, c.backendConnErrors, float64(bc.ConnectErrors.Load()), name)
	counter(ch, c.backendRetries, float64(bc.Retries.Load()), name)
	counter(ch, c.backendRedispatches, float64(bc.Redispatches.Load()), name)
	counter(ch, c.backendQueueFull, float64(bc.QueueFull.Load()), name)
	counter(ch, c.backendNoServer, float64(bc.NoServer.Load()), name)
	counter(ch, c.backendDowns, float64(bc.Downs.Load()), name)
	gauge(ch, c.backendActive, float64(t.activeUp), name)
	gauge(ch, c.backendBackup, float64(t.backupUp), name)
	gauge(ch, c.backendWeight, float64(t.weight), name)
	if n := bc.HTTPRequests.Load(); n > 0 {
		counter(ch, c.backendHTTPRequests, float64(n), name)
		codes(ch, c.backendHTTPResponses, &bc.HTTPResponses, true, name)
	}
	for i, h := range backendTimers(bc) {
		if s := h.Snapshot(); s.Count > 0 {
			ch <- histogram(c.backendTimes[i], s, name)
		}
	}

	startSec := unixSeconds(start)
	for _, s := range servers {
		sn := s.Name()
		sc := s.Counters()
		st := s.State()
		for _, x := range serverStates {
			gauge(ch, c.serverStatus, oneHot(st == x), name, sn, x.String())
		}
		gauge(ch, c.serverWeight, float64(s.Weight()), name, sn)
		gauge(ch, c.serverCur, float64(s.Current()), name, sn)
		gauge(ch, c.serverLimit, float64(s.MaxConn()), name, sn)
		counter(ch, c.serverTotal, float64(sc.SessionsTotal.Load()), name, sn)
		counter(ch, c.serverBytesIn, float64(sc.BytesIn.Load()), name, sn)
		counter(ch, c.serverBytesOut, float64(sc.BytesOut.Load()), name, sn)
		counter(ch, c.serverCliAborts, float64(sc.ClientAborts.Load()), name, sn)
		counter(ch, c.serverSrvAborts, float64(sc.ServerAborts.Load()), name, sn)
		counter(ch, c.serverRespErrors, float64(sc.ResponseErrors.Load()), name, sn)
		counter(ch, c.serverRetries, float64(sc.Retries.Load()), name, sn)
		counter(ch, c.serverConnErrors, float64(sc.ConnectErrors.Load()), name, sn)
		gauge(ch, c.serverQueueCur, float64(sc.QueueCurrent.Load()), name, sn)
		gauge(ch, c.serverQueueMax, float64(sc.QueueMax.Load()), name, sn)
		if cs := backend.CheckStatus(sc.CheckStatus.Load()); cs != backend.CheckUnknown {
			for _, x := range checkStatuses {
				gauge(ch, c.serverCheckStatus, oneHot(cs == x), name, sn, x.String())
			}
			counter(ch, c.serverCheckFailures, float64(sc.ChecksFailed.Load()), name, sn)
			counter(ch, c.serverCheckDowns, float64(sc.Downs.Load()), name, sn)
			gauge(ch, c.serverCheckDuration, float64(sc.CheckDuration.Load())/1e9, name, sn)
			down := sc.Downtime.Load()
			if since := sc.DownSince.Load(); since != 0 {
				down += c.now().UnixNano() - since
			}
			counter(ch, c.serverDowntime, float64(max(down, 0))/1e9, name, sn)
		}
		last := startSec
		if ns := sc.LastChange.Load(); ns != 0 {
			last = float64(ns) / 1e9
		}
		gauge(ch, c.serverLastChange, last, name, sn)
		gauge(ch, c.serverSinceChange, max(float64(c.now().UnixNano())/1e9-last, 0), name, sn)
		codes(ch, c.serverHTTPResponses, &sc.HTTPResponses, false, name, sn)
		for i, h := range serverTimers(sc) {
			if s := h.Snapshot(); s.Count > 0 {
				ch <- histogram(c.serverTimes[i], s, name, sn)
			}
		}
	}
}

// serverTally is what a backend's figures derive from its servers.
type serverTally struct {
	current            int64
	activeUp, backupUp int
	weight             int // of the serving tier: UP actives, else UP backups
}

// tally sums servers' figures. The states are read one by one, lock-free,
// so under concurrent changes the sums may mix before and after.
func tally(servers []*backend.Server) serverTally {
	var t serverTally
	var activeW, backupW int
	for _, s := range servers {
		t.current += s.Current()
		if s.State() != backend.StateUp {
			continue
		}
		if s.Backup() {
			t.backupUp++
			backupW += s.Weight()
		} else {
			t.activeUp++
			activeW += s.Weight()
		}
	}
	t.weight = activeW
	if t.activeUp == 0 {
		t.weight = backupW
	}
	return t
}

// codes sends one counter per status class of r, labels first and the
// class last; unless always, nothing when r counted no response.
func codes(ch chan<- prometheus.Metric, d *prometheus.Desc, r *backend.ResponseCodes, always bool, labels ...string) {
	var n [backend.NumCodeClasses]uint64
	var sum uint64
	for cc := range n {
		n[cc] = r.Load(backend.CodeClass(cc))
		sum += n[cc]
	}
	if sum == 0 && !always {
		return
	}
	for cc, v := range n {
		counter(ch, d, float64(v), append(labels, backend.CodeClass(cc).String())...)
	}
}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func counter(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
}

// histogram converts a backend histogram snapshot to a Prometheus one that
// is both classic and native: the text format carries its 17 buckets and
// +Inf; a scraper that asks for protobuf (Prometheus with native histograms
// on) also gets them as native buckets of schema 0, which they are exactly
// (backend.HistogramSchemaOffset). Observations above the last bound (32s)
// count in the native bucket above it, (32s, 64s].
func histogram(d *prometheus.Desc, s backend.HistogramSnapshot, labels ...string) prometheus.Metric {
	return &histogramMetric{desc: d, s: s, labels: prometheus.MakeLabelPairs(d, labels)}
}

// histogramMetric is one histogram series of one scrape.
type histogramMetric struct {
	desc   *prometheus.Desc
	s      backend.HistogramSnapshot
	labels []*dto.LabelPair
}

func (m *histogramMetric) Desc() *prometheus.Desc { return m.desc }

func (m *histogramMetric) Write(out *dto.Metric) error {
	s := &m.s
	h := &dto.Histogram{
		SampleCount:   proto.Uint64(s.Count),
		SampleSum:     proto.Float64(s.SumSeconds()),
		Schema:        proto.Int32(0),
		ZeroThreshold: proto.Float64(0),
		ZeroCount:     proto.Uint64(0),
		Bucket:        make([]*dto.Bucket, backend.HistogramBuckets),
		PositiveSpan: []*dto.BucketSpan{{
			Offset: proto.Int32(backend.HistogramSchemaOffset), // the first bucket's native index
			Length: proto.Uint32(backend.HistogramBuckets + 1),
		}},
		PositiveDelta: make([]int64, backend.HistogramBuckets+1),
	}
	var prev, prevCount uint64
	for i, le := range bucketBounds {
		h.Bucket[i] = &dto.Bucket{CumulativeCount: proto.Uint64(s.Buckets[i]), UpperBound: proto.Float64(le)}
		n := s.Buckets[i] - prev // this bucket's own count
		h.PositiveDelta[i] = int64(n) - int64(prevCount)
		prev, prevCount = s.Buckets[i], n
	}
	h.PositiveDelta[backend.HistogramBuckets] = int64(s.Count-prev) - int64(prevCount)
	out.Label = m.labels
	out.Histogram = h
	return nil
}

func oneHot(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// unixSeconds returns t in seconds since the epoch, 0 for the zero time.
func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

// version returns v, or "(devel)" when empty.
func version(v string) string {
	if v == "" {
		return "(devel)"
	}
	return v
}
