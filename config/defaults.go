package config

import (
	"reflect"
	"time"
)

// The built-in defaults. Each is also written in the doc comment of its
// field in types.go and in docs/config.md; change all three together.
const (
	defaultMaxConn        = 50000
	defaultLimitSize      = 100000
	defaultLimitWindow    = 10 * time.Second
	defaultLimitSync      = 100 * time.Millisecond
	defaultHardStopAfter  = 30 * time.Second
	defaultAccessLog      = "stdout"
	defaultMode           = ModeHTTP
	defaultRetries        = 3
	defaultRedispatch     = true
	defaultBalance        = "roundrobin"
	defaultHealthKind     = "tcp"
	defaultHealthPath     = "/"
	defaultHealthMethod   = "GET"
	defaultHealthExpect   = "200-399"
	defaultHealthInterval = 2 * time.Second
	defaultHealthRise     = 2
	defaultHealthFall     = 3
	defaultWeight         = 1
	defaultPoolMaxConn    = 64
	defaultPoolPurgeDelay = 5 * time.Second
	// The request limits equal analyzer.DefaultLimits (a test checks).
	defaultMaxHeadSize   Size = 15360
	defaultMaxHeaders         = 101
	defaultMaxTargetSize Size = 8192
	// A request body that has had timeout.http_body must average at least
	// this many bytes per second (slow-POST guard).
	defaultHTTPBodyMinRate Size = 512
)

// defaultTimeouts is what [defaults.timeout] holds for each key it does not
// set.
var defaultTimeouts = Timeouts{
	Connect:       Duration{5 * time.Second},
	Client:        Duration{30 * time.Second},
	Server:        Duration{30 * time.Second},
	HTTPRequest:   Duration{10 * time.Second},
	HTTPBody:      Duration{10 * time.Second},
	HTTPKeepAlive: Duration{5 * time.Second},
	Queue:         Duration{5 * time.Second},
	Tunnel:        Duration{time.Hour},
}

// applyDefaults fills in every key the files left unset, and is the only
// place that does. The order is: built-in values into [global], [defaults]
// and [defaults.timeout]; then [defaults] into each frontend and backend,
// and [defaults.timeout] into their timeout tables key by key; then the
// built-in values of health checks and servers. It also sets Frontend.Name
// and Backend.Name from their table keys.
//
// Precondition: c was produced by decode, so c.src knows which keys were
// set. A key written with its zero value ("maxconn = 0") counts as set.
func applyDefaults(c *Config) {
	s := c.src
	unset := func(path string) bool { return !s.isSet(path) }

	if unset("admin.pprof") {
		c.Admin.Pprof = true
	}
	g := &c.Global
	if unset("global.maxconn") {
		g.MaxConn = defaultMaxConn
	}
	if unset("global.hard_stop_after") {
		g.HardStopAfter = Duration{defaultHardStopAfter}
	}
	if unset("global.access_log") {
		g.AccessLog = defaultAccessLog
	}

	d := &c.Defaults
	if unset("defaults.mode") {
		d.Mode = defaultMode
	}
	if unset("defaults.retries") {
		d.Retries = defaultRetries
	}
	if unset("defaults.redispatch") {
		d.Redispatch = defaultRedispatch
	}
	if unset("defaults.balance") {
		d.Balance = defaultBalance
	}
	if unset("defaults.http_body_min_rate") {
		d.HTTPBodyMinRate = defaultHTTPBodyMinRate
	}
	inheritTimeouts(s, &d.Timeout, "defaults.timeout", defaultTimeouts, "")

	for name, f := range c.Frontends {
		p := joinKey("frontend", name)
		f.Name = name
		if unset(p + ".mode") {
			f.Mode = d.Mode
			s.inherit(p+".mode", "defaults.mode")
		}
		if unset(p + ".maxconn") {
			f.MaxConn = d.MaxConn
			s.inherit(p+".maxconn", "defaults.maxconn")
		}
		inheritTimeouts(s, &f.Timeout, p+".timeout", d.Timeout, "defaults.timeout")
		if unset(p + ".http_body_min_rate") {
			f.HTTPBodyMinRate = d.HTTPBodyMinRate
			s.inherit(p+".http_body_min_rate", "defaults.http_body_min_rate")
		}
		if unset(p + ".forwarded_for") {
			f.ForwardedFor = true
		}
		if unset(p + ".forwarded_proto") {
			f.ForwardedProto = true
		}
		if unset(p + ".max_head_size") {
			f.MaxHeadSize = defaultMaxHeadSize
		}
		if unset(p + ".max_headers") {
			f.MaxHeaders = defaultMaxHeaders
		}
		if unset(p + ".max_target_size") {
			f.MaxTargetSize = defaultMaxTargetSize
		}
	}

	for name, l := range c.Limits {
		p := joinKey("limit", name)
		if l == nil {
			continue
		}
		if unset(p + ".key") {
			l.Key = "src"
		}
		if unset(p + ".size") {
			l.Size = defaultLimitSize
		}
		if unset(p + ".window") {
			l.Window = Duration{defaultLimitWindow}
		}
		if unset(p + ".expire") {
			l.Expire = Duration{2 * l.Window.Duration}
		}
		if unset(p + ".sync") {
			l.Sync = Duration{min(defaultLimitSync, l.Window.Duration/2)}
		}
		if unset(p + ".redis_down") {
			l.RedisDown = "open"
		}
	}

	for name, b := range c.Backends {
		p := joinKey("backend", name)
		b.Name = name
		if unset(p + ".balance") {
			b.Balance = d.Balance
			s.inherit(p+".balance", "defaults.balance")
		}
		if unset(p + ".retries") {
			b.Retries = d.Retries
			s.inherit(p+".retries", "defaults.retries")
		}
		if unset(p + ".redispatch") {
			b.Redispatch = d.Redispatch
		}
		if unset(p + ".pool_max_conn") {
			b.PoolMaxConn = defaultPoolMaxConn
		}
		if unset(p + ".pool_purge_delay") {
			b.PoolPurgeDelay = Duration{defaultPoolPurgeDelay}
		}
		if unset(p + ".hash_type") {
			b.HashType = "map-based"
		}
		inheritTimeouts(s, &b.Timeout, p+".timeout", d.Timeout, "defaults.timeout")
		if b.TLS != nil && unset(p+".tls.verify") {
			b.TLS.Verify = true
		}

		if h := b.Health; h != nil {
			hp := p + ".health"
			if unset(hp + ".kind") {
				h.Kind = defaultHealthKind
			}
			if unset(hp + ".path") {
				h.Path = defaultHealthPath
			}
			if unset(hp + ".method") {
				h.Method = defaultHealthMethod
			}
			if unset(hp + ".expect_status") {
				h.ExpectStatus = defaultHealthExpect
			}
			if unset(hp + ".interval") {
				h.Interval = Duration{defaultHealthInterval}
			}
			if unset(hp + ".timeout") {
				h.Timeout = h.Interval
				s.inherit(hp+".timeout", hp+".interval")
			}
			if unset(hp + ".rise") {
				h.Rise = defaultHealthRise
			}
			if unset(hp + ".fall") {
				h.Fall = defaultHealthFall
			}
		}

		for i, srv := range b.Server {
			if srv != nil && unset(indexKey(p+".server", i)+".weight") {
				srv.Weight = defaultWeight
			}
		}
	}
}

// inheritTimeouts copies into t, key by key, each timeout of from that the
// table at path does not set. When fromPath is not "", the copied keys are
// recorded as inherited from fromPath's keys.
func inheritTimeouts(s *source, t *Timeouts, path string, from Timeouts, fromPath string) {
	dst, src := reflect.ValueOf(t).Elem(), reflect.ValueOf(from)
	for key, i := range tomlFields(dst.Type()) {
		if s.isSet(path + "." + key) {
			continue
		}
		dst.Field(i).Set(src.Field(i))
		if fromPath != "" {
			s.inherit(path+"."+key, fromPath+"."+key)
		}
	}
}
