package session

import (
	"errors"
	"io"
	"net"
	"time"

	"github.com/lb-proxy/lb/analyzer"
)

// httpAfterHandoff finishes a transaction on the session goroutine, with
// Go's blocking I/O: back-pressure comes for free (nothing is read before
// what was read is written) and Content-Length bodies move with splice.
// The request direction runs on a second goroutine, bounded by the request
// body; the response is read (its head too, if it had not arrived), written
// and bounded by its framing. Then the session ends.
func (s *Session) httpAfterHandoff() (reattached bool) {
	h := s.http
	fc, bc := s.fc.(*net.TCPConn), s.bc.(*net.TCPConn)
	reqc := make(chan error, 1)
	if h.rp == reqBody || len(s.ends[sideFront].pending) > 0 {
		go func() { reqc <- s.httpPumpRequest(fc, bc) }()
	} else {
		reqc <- nil
	}
	err := s.httpPumpResponse(fc, bc)
	rerr := <-reqc
	if err == nil && rerr == nil && h.rp == reqBody {
		h.rp = reqDone
	}
	if err == nil && rerr == nil && h.keep && h.sp == resDone && h.rp == reqDone {
		// The transaction ended cleanly and both sides keep the
		// connection: back onto the loop for the next request.
		return s.httpReattach(fc, bc)
	}
	var ae *analyzer.Error
	switch {
	case errors.As(rerr, &ae) && h.status == 0:
		err = rerr // a bad or oversized request body decides the answer
	case err == nil && rerr != nil && h.sp != resDone:
		err = rerr
	}
	var te termErr
	switch {
	case err == nil:
		h.hterm = Term{}
	case errors.As(err, &te):
		h.hterm = te.t
	default:
		h.hterm = Term{CauseServerAbort, PhaseData}
	}
	if st := handoffAnswer(err, h.hterm); st != 0 && h.status == 0 {
		// No final response head went out: the client gets a complete
		// answer, as on the loop path.
		h.status = st
		fc.SetDeadline(time.Now().Add(time.Second))
		if _, err := io.WriteString(fc, cannedAnswer(st, "", "", "")); err == nil {
			// Lingering close, as on the loop: a reset would make the
			// client's kernel drop the answer with its unsent body.
			fc.CloseWrite()
			io.CopyN(io.Discard, fc, 4<<20)
		}
	}
	fc.Close()
	bc.Close()
	s.term = h.hterm
	if h.srv != nil {
		h.srv.Release()
		h.srv, s.srv = nil, nil
	}
	s.httpLog()
	return false
}

// httpReattach puts both connections back on the session's loop after a
// hand-off; the front's OnOpen then ends the transaction there
// (httpResponseDone: log, pool the server connection, next request).
func (s *Session) httpReattach(fc, bc *net.TCPConn) bool {
	h := s.http
	for i := range s.ends {
		e := &s.ends[i]
		e.c, e.fd, e.pending, e.eof, e.closed, e.closeReq = nil, -1, nil, false, false, false
	}
	s.handedOff = false
	s.reattach = true
	if h.res.KeepAlive {
		if err := s.loop.Adopt(bc, &s.ends[sideBack]); err != nil {
			h.res.KeepAlive = false
		}
	} else {
		bc.Close()
	}
	if err := s.loop.Adopt(fc, &s.ends[sideFront]); err != nil {
		// The client is gone: end the session on the loop.
		_ = s.loop.Execute(func() {
			s.reattach = false
			s.abortHTTP(Term{CauseClientAbort, PhaseData})
		})
	}
	return true
}

// termErr carries a termination code out of the pumps.
type termErr struct {
	t   Term
	err error
}

func (e termErr) Error() string { return e.t.String() + ": " + e.err.Error() }

func (e termErr) Unwrap() error { return e.err }

// handoffAnswer is the status lb answers with when a handed-off
// transaction fails before its response head: the request body's own
// error status (400, 413), 504 for a server timeout, 502 for a server
// that failed or sent a bad head; 0 when the client is gone.
func handoffAnswer(err error, t Term) int {
	switch {
	case err == nil:
		return 0
	case t == Term{CauseProxy, PhaseData}:
		return errorStatus(err, 502)
	case t.Cause == CauseServerTimeout:
		return 504
	case t.Cause == CauseServerAbort, t.Cause == CauseProxy:
		return 502
	}
	return 0
}

// httpPumpRequest forwards the pending bytes and the rest of the request
// body, and nothing beyond it.
func (s *Session) httpPumpRequest(fc, bc *net.TCPConn) error {
	h := s.http
	timeouts := func() {
		if d := s.fe.Timeouts.Client.Duration; d > 0 {
			fc.SetReadDeadline(time.Now().Add(d))
		}
		if d := h.target.Cfg.Timeout.Server.Duration; d > 0 {
			bc.SetWriteDeadline(time.Now().Add(d))
		}
	}
	timeouts()
	if p := s.ends[sideFront].pending; len(p) > 0 {
		if _, err := bc.Write(p); err != nil {
			return termErr{Term{CauseServerAbort, PhaseData}, err}
		}
		h.reqBytes += int64(len(p))
	}
	if h.rp != reqBody {
		return nil
	}
	n, err := copyBody(bc, fc, &h.reqLeft, &h.reqCk, timeouts)
	h.reqBytes += n
	s.req.bytes.Add(n)
	if ae := (*analyzer.Error)(nil); errors.As(err, &ae) {
		// The body's framing is bad or over max_body_size: the server
		// has part of a request it must not act on. Wake the response
		// side (its read returns), which then ends the transaction.
		bc.CloseRead()
		return termErr{Term{CauseProxy, PhaseData}, err}
	}
	if errors.Is(err, errOverread) {
		h.keep = false // the client's next bytes were read with this body
		return nil
	}
	return err
}

// httpPumpResponse reads the response head if it is still due, writes it,
// then forwards the body up to its end.
func (s *Session) httpPumpResponse(fc, bc *net.TCPConn) error {
	h := s.http
	timeouts := func() {
		if d := h.target.Cfg.Timeout.Server.Duration; d > 0 {
			bc.SetReadDeadline(time.Now().Add(d))
		}
		if d := s.fe.Timeouts.Client.Duration; d > 0 {
			fc.SetWriteDeadline(time.Now().Add(d))
		}
	}
	timeouts()
	if p := s.ends[sideBack].pending; len(p) > 0 {
		// What the loop could not write of the response head and body.
		s.ends[sideBack].pending = nil
		if _, err := fc.Write(p); err != nil {
			return termErr{Term{CauseClientAbort, PhaseData}, err}
		}
		h.resBytes += int64(len(p))
		timeouts()
	}
	var rest []byte
	if h.sp == resHead {
		buf := make([]byte, 0, 4096)
		for {
			if len(buf) == cap(buf) {
				if len(buf) >= responseLimits.MaxHead+1024 {
					return termErr{Term{CauseProxy, PhaseHeaders}, errors.New("response head too large")}
				}
				buf = append(buf, make([]byte, len(buf))...)[:len(buf)]
			}
			n, err := bc.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if err != nil {
				if isTimeout(err) {
					return termErr{Term{CauseServerTimeout, PhaseHeaders}, err}
				}
				return termErr{Term{CauseServerAbort, PhaseHeaders}, err}
			}
			perr := h.res.Parse(buf, h.method[:h.mlen], responseLimits)
			if errors.Is(perr, analyzer.ErrIncomplete) {
				continue
			}
			if perr != nil {
				return termErr{Term{CauseProxy, PhaseHeaders}, perr}
			}
			if h.res.Interim {
				out := s.rewriteResponse(nil, buf, true)
				if _, err := fc.Write(out); err != nil {
					return termErr{Term{CauseClientAbort, PhaseData}, err}
				}
				buf = append(buf[:0], buf[h.res.HeadLen:]...)
				h.res.Reset()
				continue
			}
			break
		}
		if st, body, ctype, refused := s.responseRefusal(); refused {
			h.status = st
			io.WriteString(fc, cannedAnswer(st, "", body, ctype))
			return termErr{Term{CauseProxy, PhaseHeaders}, errors.New("response refused")}
		}
		s.responseFraming()
		out := s.rewriteResponse(nil, buf, false)
		if _, err := fc.Write(out); err != nil {
			return termErr{Term{CauseClientAbort, PhaseData}, err}
		}
		h.resBytes += int64(len(out))
		h.sp = resBody
		rest = buf[h.res.HeadLen:]
	}
	if h.sp != resBody {
		return nil
	}
	if len(rest) > 0 {
		n, done, err := bodySpan(rest, &h.resLeft, &h.resCk)
		if err != nil {
			return termErr{Term{CauseServerAbort, PhaseData}, err}
		}
		if _, err := fc.Write(rest[:n]); err != nil {
			return termErr{Term{CauseClientAbort, PhaseData}, err}
		}
		h.resBytes += int64(n)
		if done {
			h.sp = resDone
			return nil
		}
	}
	n, err := copyBody(fc, bc, &h.resLeft, &h.resCk, timeouts)
	h.resBytes += n
	s.res.bytes.Add(n)
	if errors.Is(err, errOverread) {
		h.res.KeepAlive = false // never pool a connection out of step
		err = nil
	}
	if err == nil {
		h.sp = resDone
	}
	return err
}

// copyBody copies one message body from src to dst: exactly *left bytes
// (with splice: io.CopyN on TCP connections), or a chunked body scanned by
// ck, or everything until src's EOF (bodyUntilClose). refresh re-arms the
// inactivity deadlines between chunks of progress.
func copyBody(dst, src *net.TCPConn, left *int64, ck *analyzer.ChunkedScanner, refresh func()) (int64, error) {
	var total int64
	switch {
	case *left >= 0:
		for *left > 0 {
			n, err := io.CopyN(dst, src, min(*left, 1<<20))
			total += n
			*left -= n
			if err != nil {
				return total, classify(err, n)
			}
			refresh()
		}
		return total, nil
	case *left == bodyUntilClose:
		for {
			n, err := io.CopyN(dst, src, 1<<20)
			total += n
			if err == io.EOF {
				return total, nil
			}
			if err != nil {
				return total, classify(err, n)
			}
			refresh()
		}
	}
	buf := make([]byte, 16<<10)
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			m, done, err := ck.Scan(buf[:n])
			if err != nil {
				return total, termErr{Term{CauseServerAbort, PhaseData}, err}
			}
			if _, werr := dst.Write(buf[:m]); werr != nil {
				return total, termErr{Term{CauseClientAbort, PhaseData}, werr}
			}
			total += int64(m)
			if done {
				if m < n {
					// Bytes beyond the end of the message were read: this
					// connection's stream is no longer in step.
					return total, errOverread
				}
				return total, nil
			}
			refresh()
		}
		if rerr != nil {
			return total, classify(rerr, 0)
		}
	}
}

// errOverread: a chunked body ended before the bytes read from its source;
// the message is complete but the connection cannot carry another.
var errOverread = errors.New("session: bytes beyond the end of the message")

// classify maps a copy error to a termination code (data phase).
func classify(err error, _ int64) error {
	if err == io.EOF {
		return termErr{Term{CauseServerAbort, PhaseData}, io.ErrUnexpectedEOF}
	}
	if isTimeout(err) {
		return termErr{Term{CauseServerTimeout, PhaseData}, err}
	}
	return termErr{Term{CauseClientAbort, PhaseData}, err}
}
