package listener

import (
	"context"
	"fmt"

	"github.com/panjf2000/gnet/v2"
	"github.com/rs/zerolog"

	"github.com/lb-proxy/lb/session"
)

// readBufferCap is each event loop's read buffer: the most one read(2)
// moves. A read that fills it marks a bulk flow (session.bulkRead).
const readBufferCap = 64 << 10

// Loops runs the event loops that carry connected sessions (gnet, one loop
// per core). It implements session.Loops.
type Loops struct {
	cli *gnet.Client
}

// NewLoops starts n event loops (n <= 0: one).
func NewLoops(n int, log zerolog.Logger) (*Loops, error) {
	cli, err := gnet.NewClient(&loopEvents{},
		gnet.WithNumEventLoop(max(n, 1)),
		gnet.WithReadBufferCap(readBufferCap),
		gnet.WithWriteBufferCap(4<<10),     // lb never writes through gnet's buffers
		gnet.WithTCPNoDelay(gnet.TCPDelay), // already set by accept/dial: skip the syscall
		gnet.WithLogger(gnetLogger{log}),
	)
	if err != nil {
		return nil, fmt.Errorf("listener: event loops: %w", err)
	}
	if err := cli.Start(); err != nil {
		return nil, fmt.Errorf("listener: event loops: %w", err)
	}
	return &Loops{cli: cli}, nil
}

// Stop closes every connection still on a loop and stops the loops.
func (l *Loops) Stop() error { return l.cli.Stop() }

// AttachOne implements session.Loops.
func (l *Loops) AttachOne(c session.Conn, h session.LoopHandler) error {
	_, err := l.cli.EnrollContext(c, h)
	return err
}

// loopEvents dispatches gnet's callbacks to the connection's handler.
type loopEvents struct{ gnet.BuiltinEventEngine }

func (*loopEvents) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	if c.Context().(session.LoopHandler).OnOpen(c, loop{c.EventLoop()}) {
		return nil, gnet.Close
	}
	return nil, gnet.None
}

func (*loopEvents) OnTraffic(c gnet.Conn) gnet.Action {
	if c.Context().(session.LoopHandler).OnTraffic(c) {
		return gnet.Close
	}
	return gnet.None
}

func (*loopEvents) OnClose(c gnet.Conn, err error) gnet.Action {
	if h, ok := c.Context().(session.LoopHandler); ok {
		h.OnClose(c, err)
	}
	return gnet.None
}

// loop adapts a gnet event loop to session.Loop.
type loop struct{ el gnet.EventLoop }

func (l loop) Execute(f func()) error {
	return l.el.Execute(context.Background(), gnet.RunnableFunc(func(context.Context) error { f(); return nil }))
}

func (l loop) CloseNow(c session.LoopConn) { _ = l.el.Close(c.(gnet.Conn)) }

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

func (g gnetLogger) Debugf(f string, a ...any) { g.log.Debug().Str("component", "gnet").Msgf(f, a...) }
func (g gnetLogger) Infof(f string, a ...any)  { g.log.Info().Str("component", "gnet").Msgf(f, a...) }
func (g gnetLogger) Warnf(f string, a ...any)  { g.log.Warn().Str("component", "gnet").Msgf(f, a...) }
func (g gnetLogger) Errorf(f string, a ...any) { g.log.Error().Str("component", "gnet").Msgf(f, a...) }
func (g gnetLogger) Fatalf(f string, a ...any) { g.log.Error().Str("component", "gnet").Msgf(f, a...) }
