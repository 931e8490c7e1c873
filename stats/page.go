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
	snap := TakeSnapshot(h.src, h.now())
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
body { font: 13px/1.4 system-ui, sans-serif; margin: 1em 2em; color: #222; }
h1 { font-size: 18px; margin: 0 0 .3em; }
h2 { font-size: 15px; margin: 1.4em 0 .3em; }
table { border-collapse: collapse; margin-bottom: .5em; }
th, td { border: 1px solid #bbb; padding: 2px 7px; text-align: right; white-space: nowrap; }
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
<tr><th class="l">name</th><th class="l">mode</th><th>sessions</th><th>limit</th><th>total</th><th>bytes in</th><th>bytes out</th></tr>
{{range .Frontends}}<tr><td class="l">{{.Name}}</td><td class="l">{{.Mode}}</td><td>{{.CurrentSessions}}</td><td>{{limit .LimitSessions}}</td><td>{{.SessionsTotal}}</td><td>{{bytes .BytesIn}}</td><td>{{bytes .BytesOut}}</td></tr>
{{else}}<tr><td class="l" colspan="7">none</td></tr>
{{end}}</table>
{{$now := .Time}}
{{range .Backends}}
<h2>Backend {{.Name}} <span class="meta">({{.Balance}})</span></h2>
<table>
<tr><th class="l">server</th><th class="l">address</th><th class="l">state</th><th>weight</th><th>sessions</th><th>limit</th><th>total</th><th>queue</th><th>max queue</th><th>conn errors</th><th class="l">check</th><th>check fails</th><th>downs</th><th class="l">last change</th><th>queue ms</th><th>connect ms</th><th>response ms</th><th>total ms</th></tr>
{{range .Servers}}<tr><td class="l">{{.Name}}{{if .Backup}} (backup){{end}}</td><td class="l">{{.Address}}</td><td class="l {{lower .State}}">{{.State}}</td><td>{{.Weight}}</td><td>{{.CurrentSessions}}</td><td>{{limit .LimitSessions}}</td><td>{{.SessionsTotal}}</td><td>{{.CurrentQueue}}</td><td>{{.MaxQueue}}</td><td>{{.ConnectErrors}}</td><td class="l">{{.CheckStatus}}</td><td>{{.CheckFailures}}</td><td>{{.CheckDowns}}</td><td class="l">{{ago .LastChange $now}}</td><td>{{ms .Timers.Queue}}</td><td>{{ms .Timers.Connect}}</td><td>{{ms .Timers.Response}}</td><td>{{ms .Timers.Total}}</td></tr>
{{end}}<tr class="backend"><td class="l">Backend</td><td class="l">{{.ActiveServers}} active, {{.BackupServers}} backup up</td><td class="l {{lower .Status}}">{{.Status}}</td><td>{{.Weight}}</td><td>{{.CurrentSessions}}</td><td></td><td>{{.SessionsTotal}}</td><td>{{.CurrentQueue}}</td><td>{{.MaxQueue}}</td><td>{{.ConnectErrors}}</td><td class="l">retries {{.Retries}}, redisp. {{.Redispatches}}</td><td>{{.QueueFull}} q-full</td><td>{{.Downs}}</td><td class="l">{{.NoServer}} no-server</td><td>{{ms .Timers.Queue}}</td><td>{{ms .Timers.Connect}}</td><td>{{ms .Timers.Response}}</td><td>{{ms .Timers.Total}}</td></tr>
</table>
{{else}}<p>No backend.</p>
{{end}}
</body>
</html>
`
