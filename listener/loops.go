package listener

import (
	"context"
	"time"

	"github.com/panjf2000/gnet/v2"
	"github.com/rs/zerolog"

	"github.com/lb-proxy/lb/session"
)

// The shard's gnet callbacks. A connection with a handler in its context
// was enrolled (a server connection, a session back from the pumps or out
// of the waiting room) and its events go to that handler; one without was
// just accepted by this loop.

func (sh *shard) OnBoot(e gnet.Engine) gnet.Action {
	sh.eng = e
	return gnet.None
}

// OnTick runs once the engine registered and started its loop (gnet calls
// OnBoot before, and the Engine is not safe to use until then), on the
// engine's ticker goroutine: the shard is ready. The ticker then sleeps.
func (sh *shard) OnTick() (time.Duration, gnet.Action) {
	sh.ready.Do(func() { close(sh.booted) })
	return 24 * time.Hour, gnet.None
}

func (sh *shard) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	if h, ok := c.Context().(session.LoopHandler); ok {
		if h.OnOpen(c, sh.loopOf(c)) {
			return nil, gnet.Close
		}
		return nil, gnet.None
	}
	return nil, sh.l.accept(sh, c)
}

func (*shard) OnTraffic(c gnet.Conn) gnet.Action {
	if h, ok := c.Context().(session.LoopHandler); ok && h.OnTraffic(c) {
		return gnet.Close
	}
	return gnet.None
}

func (*shard) OnClose(c gnet.Conn, err error) gnet.Action {
	if h, ok := c.Context().(session.LoopHandler); ok {
		h.OnClose(c, err)
	}
	return gnet.None
}

func (*shard) OnShutdown(gnet.Engine) {}

// loop adapts a gnet event loop to session.Loop.
type loop struct{ el gnet.EventLoop }

func (l loop) Execute(f func()) error {
	return l.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error { f(); return nil }))
}

func (l loop) CloseNow(c session.LoopConn) { _ = l.el.Close(c.(gnet.Conn)) }

func (l loop) Enroll(c session.Conn, h session.LoopHandler) error {
	// The result channel (buffered) is left: h's OnOpen is the result.
	if _, err := l.el.Enroll(gnet.NewContext(context.Background(), h), c); err != nil {
		c.Close()
		return err
	}
	return nil
}

func (l loop) Adopt(c session.Conn, h session.LoopHandler) error {
	ch, err := l.el.Enroll(gnet.NewContext(context.Background(), h), c)
	if err != nil {
		c.Close()
		return err
	}
	return (<-ch).Err
}

// gnetLogger routes gnet's own log lines into zerolog.
type gnetLogger struct{ log zerolog.Logger }

// Debugf drops gnet's debug lines (loop start and stop chatter): lb logs
// its own events.
func (g gnetLogger) Debugf(string, ...any)     {}
func (g gnetLogger) Infof(f string, a ...any)  { g.log.Info().Str("component", "gnet").Msgf(f, a...) }
func (g gnetLogger) Warnf(f string, a ...any)  { g.log.Warn().Str("component", "gnet").Msgf(f, a...) }
func (g gnetLogger) Errorf(f string, a ...any) { g.log.Error().Str("component", "gnet").Msgf(f, a...) }
func (g gnetLogger) Fatalf(f string, a ...any) { g.log.Error().Str("component", "gnet").Msgf(f, a...) }
