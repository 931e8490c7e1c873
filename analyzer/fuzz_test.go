package analyzer

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"net/netip"
	"testing"
)

// smallLimits makes the fuzzer reach every limit with short inputs.
var smallLimits = Limits{MaxHead: 256, MaxHeaders: 4, MaxTarget: 32}

func fuzzLimits(small bool) Limits {
	if small {
		return smallLimits
	}
	return DefaultLimits
}

// FuzzRequest checks that Parse never panics, that HeadLen stays within the
// buffer and the limits, that feeding the input byte by byte or in two
// pieces gives the whole-buffer result, that the head alone parses the same,
// and that net/http agrees with every request we accept.
func FuzzRequest(f *testing.F) {
	for _, c := range reqCases {
		f.Add([]byte(c.in), false)
	}
	f.Add([]byte("GET /"+string(bytes.Repeat([]byte("a"), 40))+" HTTP/1.1\r\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, small bool) {
		lim := fuzzLimits(small)
		var r Request
		want := reqSummary(&r, r.Parse(data, lim), len(data))
		if want == "incomplete" || r.HeadLen == 0 {
			checkRequestPieces(t, data, lim, want)
			return
		}
		if r.HeadLen > len(data) || r.HeadLen > lim.MaxHead || len(r.Headers) > lim.MaxHeaders || len(r.Target) > lim.MaxTarget {
			t.Fatalf("%q: HeadLen %d, %d headers, target %d bytes; want within len %d and %+v", data, r.HeadLen, len(r.Headers), len(r.Target), len(data), lim)
		}
		var head Request
		if got := reqSummary(&head, head.Parse(data[:r.HeadLen], lim), len(data)); got != want {
			t.Fatalf("%q: head alone gives %s; want %s", data, got, want)
		}
		checkRequestPieces(t, data, lim, want)
		if netHTTPStricter(&r) {
			return
		}
		hr, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(data[r.Skip:r.HeadLen])))
		if err != nil {
			t.Fatalf("%q: we accept, net/http rejects: %v", data, err)
		}
		if got := fmt.Sprintf("%s %s chunked=%v", hr.Method, hr.RequestURI, len(hr.TransferEncoding) > 0); got != fmt.Sprintf("%s %s chunked=%v", r.Method, r.Target, r.Chunked) {
			t.Fatalf("%q: net/http reads %s; we read %s %s chunked=%v", data, got, r.Method, r.Target, r.Chunked)
		}
		if r.ContentLength >= 0 && hr.ContentLength != r.ContentLength {
			t.Fatalf("%q: net/http reads Content-Length %d; we read %d", data, hr.ContentLength, r.ContentLength)
		}
	})
}

// checkRequestPieces feeds data byte by byte, and in two pieces split in
// the middle with the buffer moved in between.
func checkRequestPieces(t *testing.T, data []byte, lim Limits, want string) {
	var r Request
	got := "incomplete"
	for k := 0; k <= len(data) && got == "incomplete"; k++ {
		got = reqSummary(&r, r.Parse(data[:k], lim), len(data))
	}
	if got != want {
		t.Fatalf("%q byte by byte: got %s; want %s", data, got, want)
	}
	r.Reset()
	k := len(data) / 2
	if got := reqSummary(&r, r.Parse(data[:k], lim), len(data)); got != "incomplete" && got != want {
		t.Fatalf("%q prefix %d: got %s; want incomplete or %s", data, k, got, want)
	}
	if got := reqSummary(&r, r.Parse(bytes.Clone(data), lim), len(data)); got != want {
		t.Fatalf("%q split at %d: got %s; want %s", data, k, got, want)
	}
}

// FuzzResponse is FuzzRequest for responses, minus net/http (which reads
// responses more leniently and supports only the chunked coding).
func FuzzResponse(f *testing.F) {
	for _, c := range resCases {
		f.Add([]byte(c.in), c.method, false)
	}
	f.Fuzz(func(t *testing.T, data []byte, method string, small bool) {
		lim := fuzzLimits(small)
		m := []byte(method)
		var r Response
		want := resSummary(&r, r.Parse(data, m, lim), len(data))
		if r.HeadLen > len(data) || r.HeadLen > lim.MaxHead || len(r.Headers) > lim.MaxHeaders {
			t.Fatalf("%q: HeadLen %d, %d headers; want within len %d and %+v", data, r.HeadLen, len(r.Headers), len(data), lim)
		}
		if r.HeadLen > 0 {
			framings := 0
			for _, on := range []bool{r.NoBody, r.Tunnel, r.Chunked, r.BodyUntilClose, r.ContentLength >= 0} {
				if on {
					framings++
				}
			}
			if framings != 1 {
				t.Fatalf("%q: %s has %d framings; want exactly 1", data, want, framings)
			}
			var head Response
			if got := resSummary(&head, head.Parse(data[:r.HeadLen], m, lim), len(data)); got != want {
				t.Fatalf("%q: head alone gives %s; want %s", data, got, want)
			}
		}
		var inc Response
		got := "incomplete"
		for k := 0; k <= len(data) && got == "incomplete"; k++ {
			got = resSummary(&inc, inc.Parse(data[:k], m, lim), len(data))
		}
		if got != want {
			t.Fatalf("%q byte by byte: got %s; want %s", data, got, want)
		}
	})
}

// FuzzChunked checks that Scan never panics, never claims more than it was
// given, and gives the same result whole, byte by byte, and split in two.
func FuzzChunked(f *testing.F) {
	for _, c := range chunkCases {
		f.Add([]byte(c.in), uint16(c.maxLine), uint16(c.maxTrailer))
	}
	f.Fuzz(func(t *testing.T, data []byte, maxLine, maxTrailer uint16) {
		fresh := ChunkedScanner{MaxLine: int(maxLine), MaxTrailer: int(maxTrailer)}
		s := fresh
		n, done, err := s.Scan(data)
		if n < 0 || n > len(data) || done && err != nil || done && n == 0 {
			t.Fatalf("%q: Scan = %d, %v, %v; want 0 <= n <= %d and done only without error", data, n, done, err, len(data))
		}
		want := chunkSummary(n, done, err, len(data))
		s = fresh
		total := 0
		done, err = false, nil
		for i := 0; i < len(data) && !done && err == nil; i++ {
			var k int
			k, done, err = s.Scan(data[i : i+1])
			total += k
		}
		if got := chunkSummary(total, done, err, len(data)); got != want {
			t.Fatalf("%q byte by byte: got %s; want %s", data, got, want)
		}
		s = fresh
		k := len(data) / 2
		n, done, err = s.Scan(data[:k])
		if !done && err == nil {
			var n2 int
			n2, done, err = s.Scan(data[n:])
			n += n2
		}
		if got := chunkSummary(n, done, err, len(data)); got != want {
			t.Fatalf("%q split at %d: got %s; want %s", data, k, got, want)
		}
	})
}

// netHTTPStricter reports a request net/http refuses although RFC 9110
// 5.6.1 makes it valid: a Transfer-Encoding list with empty elements
// ("chunked,"), which lb reads as the codings it lists.
func netHTTPStricter(r *Request) bool {
	for _, f := range r.Headers {
		if !eqFold(f.Name, "transfer-encoding") {
			continue
		}
		v := bytes.TrimSpace(f.Value)
		for _, e := range bytes.Split(v, []byte(",")) {
			if len(bytes.TrimSpace(e)) == 0 {
				return true
			}
		}
	}
	return false
}

// FuzzForwardedHead checks the heads lb forwards: for every request
// http_lb_req accepts (and every response http_lb_resp accepts for it),
// the rendered head parses again with the same method, target, version,
// status and framing; it carries exactly one framing field, in canonical
// form; and it holds no hop-by-hop field.
func FuzzForwardedHead(f *testing.F) {
	for _, c := range reqCases {
		f.Add([]byte(c.in), []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"))
	}
	f.Add([]byte("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 007\r\nConnection: x\r\nX: y\r\n\r\n"),
		[]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: , chunked\r\n\r\n"))
	f.Add([]byte("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked,\r\n\r\n0\r\n\r\n"),
		[]byte("HTTP/1.1 204 No Content\r\nContent-Length: 0005\r\nKeep-Alive: x\r\n\r\n"))
	cfg := &Config{ForwardedFor: true, ForwardedProto: true, Forwarded: true}
	f.Fuzz(func(t *testing.T, req, resp []byte) {
		var tx Txn
		tx.Reset()
		tx.Src = netip.MustParseAddr("192.0.2.1")
		an := AnHTTPLBReq
		if HTTPLBReq(cfg, &tx, &an, req, 1, nil) != Continue {
			return
		}
		out := AppendRequestHead(nil, cfg, &tx, req)
		var again Request
		if err := again.Parse(out, wideLimits); err != nil || again.HeadLen != len(out) {
			t.Fatalf("%q forwarded as %q, which parses as %v (HeadLen %d of %d)", req, out, err, again.HeadLen, len(out))
		}
		r := &tx.Req
		if !bytes.Equal(again.Method, r.Method) || !bytes.Equal(again.Target, r.Target) || again.Proto != r.Proto ||
			again.ContentLength != r.ContentLength || again.Chunked != r.Chunked {
			t.Fatalf("%q forwarded as %q: %s %s %v cl=%d chunked=%v; want %s %s %v cl=%d chunked=%v", req, out,
				again.Method, again.Target, again.Proto, again.ContentLength, again.Chunked,
				r.Method, r.Target, r.Proto, r.ContentLength, r.Chunked)
		}
		checkForwardedFields(t, req, out, again.Headers, again.ConnOptions)

		tx.Res.Reset()
		ran := AnHTTPLBResp
		if HTTPLBResp(cfg, &tx, &ran, resp, 2) != Continue {
			return
		}
		rout := AppendResponseHead(nil, cfg, &tx, resp)
		var ragain Response
		if err := ragain.Parse(rout, tx.Method(), wideLimits); err != nil || ragain.HeadLen != len(rout) {
			t.Fatalf("%q forwarded as %q, which parses as %v", resp, rout, err)
		}
		rs := &tx.Res
		if ragain.Status != rs.Status || ragain.ContentLength != rs.ContentLength || ragain.Chunked != rs.Chunked ||
			ragain.BodyUntilClose != rs.BodyUntilClose || ragain.NoBody != rs.NoBody {
			t.Fatalf("%q forwarded as %q: framing changed", resp, rout)
		}
		checkForwardedFields(t, resp, rout, ragain.Headers, ragain.ConnOptions)
	})
}

// wideLimits re-parse what lb forwards: lb adds fields, and a server's
// limits are not the client's.
var wideLimits = Limits{MaxHead: 1 << 20, MaxHeaders: 1000, MaxTarget: 1 << 20}

// checkForwardedFields: one framing field at most, canonical, no
// hop-by-hop field but Connection and Upgrade where lb writes them.
func checkForwardedFields(t *testing.T, in, out []byte, headers []Header, options [][]byte) {
	t.Helper()
	framing := 0
	for _, h := range headers {
		switch {
		case equalFold(h.Name, "content-length"):
			framing++
			if len(h.Value) > 1 && h.Value[0] == '0' {
				t.Fatalf("%q forwarded as %q: Content-Length %q has leading zeros", in, out, h.Value)
			}
		case equalFold(h.Name, "transfer-encoding"):
			framing++
			if !canonicalList(h.Value) {
				t.Fatalf("%q forwarded as %q: Transfer-Encoding %q is not canonical", in, out, h.Value)
			}
		case equalFold(h.Name, "connection"), equalFold(h.Name, "upgrade"):
		case hopByHop(h.Name, nil):
			t.Fatalf("%q forwarded as %q: hop-by-hop field %s", in, out, h.Name)
		}
	}
	if framing > 1 {
		t.Fatalf("%q forwarded as %q: %d framing fields", in, out, framing)
	}
}
