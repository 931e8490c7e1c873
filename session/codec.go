package session

import "github.com/lb-proxy/lb/analyzer"

// Codecs are the seams between the wire and the analyzers (HAProxy's
// muxes, Caddy's Transport). The analyzers see a transaction: the
// channels carry HTTP/1 messages, parsed by http_lb_req / http_lb_resp,
// and the analyzers' plans say what to send. How those messages meet the
// wire is the codecs' business:
//
//   - A ClientCodec speaks to the client: it renders what lb sends it (the
//     response heads, lb's own answers). HTTP/1 (H1Client) is transparent
//     on input: the client's bytes are the request channel's bytes. HTTP/2
//     will be a client codec that turns one connection's frames into
//     several streams, each a request channel of HTTP/1 messages, and
//     renders heads as HEADERS frames (session.go's txn becomes one per
//     stream).
//   - A ServerCodec speaks to a backend's servers: it renders the request
//     head (and, for framings other than HTTP/1's, the body) and reads
//     their responses. HTTP/1 (H1Server) renders the rewritten head and is
//     transparent on the body and the response. FastCGI will be a server
//     codec that renders the parsed request as PARAMS records and the body
//     as STDIN records, and turns STDOUT records back into an HTTP/1
//     response for the response channel.
//
// TLS is not a codec but a transport under the client codec: the front
// end's bytes are decrypted before they reach the request channel and
// encrypted after the response channel (loop.go's input and flushLoop,
// pump.go's reads and writes). The PROXY protocol is a step of the front
// end before the first transaction (a header parsed off the input, which
// sets the client's address), and reverse connections are a way for a
// backend's servers to be dialled: a Dialer (env.go) that hands out
// connections the servers opened to lb.

// ClientCodec renders what lb sends a client.
type ClientCodec interface {
	// AppendHead appends to out the head to send to the client for t's
	// last response head (interim or final), parsed by http_lb_resp from
	// buf.
	AppendHead(out []byte, cfg *analyzer.Config, t *analyzer.Txn, buf []byte) []byte
	// AppendAnswer appends a complete answer lb makes itself to t's
	// request.
	AppendAnswer(out []byte, a analyzer.LocalAnswer, t *analyzer.Txn) []byte
}

// ServerCodec renders what lb sends a server.
type ServerCodec interface {
	// AppendHead appends to out the request head to send to the server
	// for t's request, parsed by http_lb_req from buf.
	AppendHead(out []byte, cfg *analyzer.Config, t *analyzer.Txn, buf []byte) []byte
}

// H1Client is the HTTP/1.x client codec.
type H1Client struct{}

// AppendHead implements ClientCodec.
func (H1Client) AppendHead(out []byte, cfg *analyzer.Config, t *analyzer.Txn, buf []byte) []byte {
	return analyzer.AppendResponseHead(out, cfg, t, buf)
}

// AppendAnswer implements ClientCodec.
func (H1Client) AppendAnswer(out []byte, a analyzer.LocalAnswer, t *analyzer.Txn) []byte {
	return analyzer.AppendAnswer(out, a, t)
}

// H1Server is the HTTP/1.x server codec.
type H1Server struct{}

// AppendHead implements ServerCodec.
func (H1Server) AppendHead(out []byte, cfg *analyzer.Config, t *analyzer.Txn, buf []byte) []byte {
	return analyzer.AppendRequestHead(out, cfg, t, buf)
}
