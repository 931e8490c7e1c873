package stats

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"
)

// page serves GET /stats: the snapshot as one self-contained HTML page
// (inline style, no script, no external resource) that reloads itself
// every 5 seconds. Every value goes through html/template's escaping.
func (h *handler) page(w http.ResponseWriter, r *http.Request) {
	snap := h.takeSnapshot()
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, snap); err != nil {
		writeError(w, http.StatusInternalServerError, "rendering page: "+err.Error())
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	hd.Set("X-Content-Type-Options", "nosniff")
	w.Write(buf.Bytes())
}

var pageTemplate = template.Must(template.New("stats").Funcs(template.FuncMap{
	"lower": strings.ToLower,
	"ms":    formatMillis,
	"bytes": formatBytes,
	"limit": formatLimit,
	"ago":   formatAgo,
	"spark": sparkline,
	"q":     formatQuantiles,
	"secs":  formatSeconds,
	"ub":    func(n uint64) string { return formatBytes(int64(n)) },
	"uptime": func(sec float64) string {
		return time.Duration(sec * float64(time.Second)).Truncate(time.Second).String()
	},
}).Parse(pageHTML))

// formatMillis renders a mean time in milliseconds, "-" without samples.
func formatMillis(t Timer) string {
	if t.Count == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", t.MeanSeconds*1000)
}

// formatQuantiles renders a timer's p50 and p99 in milliseconds.
func formatQuantiles(t Timer) string {
	if t.Count == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f / %.1f", t.P50Seconds*1000, t.P99Seconds*1000)
}

// formatSeconds renders a duration in seconds compactly ("0.4ms",
// "12.3s", "1h2m3s").
func formatSeconds(sec float64) string {
	switch {
	case sec <= 0:
		return "-"
	case sec < 1:
		return fmt.Sprintf("%.1fms", sec*1000)
	case sec < 60:
		return fmt.Sprintf("%.1fs", sec)
	}
	return time.Duration(sec * float64(time.Second)).Round(time.Second).String()
}

// sparkline draws a rate history as an inline SVG polyline (numbers only:
// nothing the page shows comes from a client), scaled to its maximum, with
// the last value after it.
func sparkline(h []float64) template.HTML {
	const w, ht = 120, 18
	if len(h) < 2 {
		return template.HTML(`<span class="meta">collecting</span>`)
	}
	top := 1.0
	for _, v := range h {
		top = max(top, v)
	}
	var pts strings.Builder
	for i, v := range h {
		fmt.Fprintf(&pts, "%.1f,%.1f ", float64(i)*w/float64(len(h)-1), ht-1-v/top*(ht-2))
	}
	return template.HTML(fmt.Sprintf(`<svg class="spark" width="%d" height="%d" viewBox="0 0 %d %d"><polyline fill="none" stroke="#2a6fdb" stroke-width="1.5" points="%s"/></svg> %.0f/s`,
		w, ht, w, ht, strings.TrimSpace(pts.String()), h[len(h)-1]))
}

// formatBytes renders a byte count with a binary unit.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// formatLimit renders a limit where 0 means none.
func formatLimit(n int64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

// formatAgo renders how long before now t was, "-" for nil.
func formatAgo(t *time.Time, now time.Time) string {
	if t == nil {
		return "-"
	}
	return max(now.Sub(*t), 0).Truncate(time.Second).String() + " ago"
}

const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="5">
<title>lb statistics</title>
<style>
body { font: 12px/1.4 system-ui, sans-serif; margin: 1em 1.5em; color: #222; max-width: 1400px; }
svg.spark { vertical-align: middle; }
h1 { font-size: 18px; margin: 0 0 .3em; }
h2 { font-size: 15px; margin: 1.4em 0 .3em; }
table { border-collapse: collapse; margin-bottom: .5em; }
th, td { border: 1px solid #bbb; padding: 2px 5px; text-align: right; white-space: nowrap; }
th { white-space: normal; vertical-align: bottom; }
th { background: #dde3ea; font-weight: 600; }
td.l, th.l { text-align: left; }
tr.backend td { background: #eef1f5; font-weight: 600; }
td.up { background: #c2f0c2; } td.down { background: #f4b6b6; }
td.drain { background: #b6d0f4; } td.maint { background: #d9c7a7; }
.meta { color: #555; }
</style>
</head>
<body>
<h1>lb statistics</h1>
<p class="meta">version {{.Process.Version}} &middot; up {{uptime .Process.UptimeSeconds}} &middot;
connections {{.Process.CurrentConnections}} / {{limit .Process.MaxConnections}} (total {{.Process.ConnectionsTotal}}) &middot;
{{.Time.UTC.Format "2006-01-02 15:04:05 MST"}} &middot; refreshes every 5s &middot;
<a href="/stats.json">JSON</a> &middot; <a href="/metrics">metrics</a></p>

<h2>Frontends</h2>
<table>
<tr><th class="l">name</th><th class="l">mode</th><th>sessions</th><th>max</th><th>limit</th><th>session rate</th><th>max rate</th><th class="l">req/s, last minute (tcp: sessions)</th><th>total sessions</th><th>requests</th><th>2xx</th><th>4xx</th><th>5xx</th><th>denied</th><th>req. errors</th><th>bytes in</th><th>bytes out</th></tr>
{{range .Frontends}}<tr><td class="l">{{.Name}}</td><td class="l">{{.Mode}}</td><td>{{.CurrentSessions}}</td><td>{{.MaxSessions}}</td><td>{{limit .LimitSessions}}</td><td>{{.SessionRate}}</td><td>{{.MaxSessionRate}}</td><td class="l">{{spark .RateHistory}}</td><td>{{.SessionsTotal}}</td><td>{{.HTTPRequests}}</td><td>{{.HTTPResponses.C2xx}}</td><td>{{.HTTPResponses.C4xx}}</td><td>{{.HTTPResponses.C5xx}}</td><td>{{.DeniedRequests}}</td><td>{{.RequestErrors}}</td><td>{{bytes .BytesIn}}</td><td>{{bytes .BytesOut}}</td></tr>
{{else}}<tr><td class="l" colspan="17">none</td></tr>
{{end}}</table>
{{$now := .Time}}
{{range .Backends}}
<h2>Backend {{.Name}} <span class="meta">({{.Balance}}; {{.SessionRate}}/s now, {{.MaxSessionRate}}/s max; retries {{.Retries}}, redispatches {{.Redispatches}}, refused: {{.QueueFull}} queue full, {{.NoServer}} no server; lost its last server {{.Downs}} times)</span></h2>
<table>
<tr><th class="l">server</th><th class="l">address</th><th class="l">state</th><th>weight</th><th>sessions / limit</th><th>total</th><th>queue / max</th><th>bytes in / out</th><th>errors conn. / resp.</th><th>aborts client / server</th><th>retries</th><th class="l">check (time)</th><th>fails / downs</th><th>downtime</th><th class="l">last change</th><th>connect ms</th><th>response ms p50 / p99</th><th>total ms p50 / p99</th></tr>
{{range .Servers}}<tr><td class="l">{{.Name}}{{if .Backup}} (backup){{end}}</td><td class="l">{{.Address}}</td><td class="l {{lower .State}}">{{.State}}</td><td>{{.Weight}}</td><td>{{.CurrentSessions}} / {{limit .LimitSessions}}</td><td>{{.SessionsTotal}}</td><td>{{.CurrentQueue}} / {{.MaxQueue}}</td><td>{{ub .BytesIn}} / {{ub .BytesOut}}</td><td>{{.ConnectErrors}} / {{.ResponseErrors}}</td><td>{{.ClientAborts}} / {{.ServerAborts}}</td><td>{{.Retries}}</td><td class="l">{{.CheckStatus}} ({{secs .CheckDurationSeconds}})</td><td>{{.CheckFailures}} / {{.CheckDowns}}</td><td>{{secs .DowntimeSeconds}}</td><td class="l">{{ago .LastChange $now}}</td><td>{{ms .Timers.Connect}}</td><td>{{q .Timers.Response}}</td><td>{{q .Timers.Total}}</td></tr>
{{end}}<tr class="backend"><td class="l">Backend</td><td class="l">{{.ActiveServers}} active, {{.BackupServers}} backup up</td><td class="l {{lower .Status}}">{{.Status}}</td><td>{{.Weight}}</td><td>{{.CurrentSessions}}</td><td>{{.SessionsTotal}}</td><td>{{.CurrentQueue}} / {{.MaxQueue}}</td><td>{{ub .BytesIn}} / {{ub .BytesOut}}</td><td>{{.ConnectErrors}} / {{.ResponseErrors}}</td><td>{{.ClientAborts}} / {{.ServerAborts}}</td><td>{{.Retries}}</td><td></td><td>- / {{.Downs}}</td><td></td><td></td><td>{{ms .Timers.Connect}}</td><td>{{q .Timers.Response}}</td><td>{{q .Timers.Total}}</td></tr>
</table>
{{else}}<p>No backend.</p>
{{end}}
{{if .Limits}}
<h2>Limit tables</h2>
<table>
<tr><th class="l">table</th><th>keys (all loops)</th><th>keys (sums)</th><th>requests counted</th><th>over a limit</th><th>evicted</th><th>expired</th><th>not counted (full)</th><th class="l">Redis</th></tr>
{{range .Limits}}<tr><td class="l">{{.Name}}</td><td>{{.Entries}}</td><td>{{.Keys}}</td><td>{{.Tracked}}</td><td>{{.Over}}</td><td>{{.Evictions}}</td><td>{{.Expired}}</td><td>{{.Full}}</td><td class="l">{{if .RedisUp}}up{{else if .RedisErrors}}down ({{.RedisErrors}} failed exchanges){{else}}-{{end}}</td></tr>
{{end}}</table>
{{end}}
</body>
</html>
`
