package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestHTTPHandoffFullDuplex: a request body and a response body in flight
// at the same time through a hand-off (issue 8; spec 7). The mirror server
// streams back each body byte as it reads it (as a chunked response); the
// client writes several MB while it reads, at full speed or slowly, so
// that each direction stalls in turn and lb moves the transaction off its
// event loop. Both bodies must arrive intact. Run with -race, this also
// checks that the two directions share no unsynchronised state: in the
// chunked variants the server holds its response head until it has read
// 1 MB, or the whole body (so the response head is read after the
// hand-off), and the client pipelines its next request right behind the
// body (the request side then learns that the connection cannot be kept
// while the response side writes the head that says so).
func TestHTTPHandoffFullDuplex(t *testing.T) {
	const size = 4 << 20
	payload := make([]byte, size)
	rand.New(rand.NewSource(8)).Read(payload)
	want := sha256.Sum256(payload)
	mirror := startServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			r, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			if err := mirrorBody(c, r); err != nil {
				return
			}
		}
	})
	p := startLB(t, httpConfig("", "", srv("mirror", mirror.addr())))
	cases := []struct {
		name      string
		write     func(w io.Writer, payload []byte) error // the request, head and body
		readChunk int                                     // bytes per read of the response
		pause     time.Duration                           // after each read
	}{
		{"content-length, fast reader", writeCL, 64 << 10, 0},
		{"content-length, slow reader", writeCL, 4 << 10, 200 * time.Microsecond},
		{"chunked then pipelined, head after 1 MB, fast reader", writeChunkedPipelined(1 << 20), 64 << 10, 0},
		{"chunked then pipelined, head after 1 MB, slow reader", writeChunkedPipelined(1 << 20), 4 << 10, 200 * time.Microsecond},
		{"chunked then pipelined, head after the body", writeChunkedPipelined(size), 64 << 10, 0},
	}
	for _, c := range cases {
		var wg sync.WaitGroup
		for i := 0; i < 2; i++ { // two connections at once
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := fullDuplex(p.addr("fe"), payload, c.write, c.readChunk, c.pause, want); err != nil {
					t.Errorf("%s #%d: %v", c.name, i, err)
				}
			}()
		}
		wg.Wait()
	}
}

// mirrorBody answers r with a chunked response that carries r's body back
// as it is read; with X-Head-After: n, the head waits for n body bytes. It
// starts reading the body after a pause, so that lb hands off.
func mirrorBody(c net.Conn, r *http.Request) error {
	headAfter, _ := strconv.Atoi(r.Header.Get("X-Head-After"))
	time.Sleep(100 * time.Millisecond) // not reading yet: lb's writes block, it hands off
	held, err := io.ReadAll(io.LimitReader(r.Body, int64(headAfter)))
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(c, 64<<10)
	io.WriteString(bw, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
	chunk := func(p []byte) error {
		if len(p) == 0 {
			return nil
		}
		fmt.Fprintf(bw, "%x\r\n", len(p))
		bw.Write(p)
		io.WriteString(bw, "\r\n")
		return bw.Flush()
	}
	if err := chunk(held); err != nil {
		return err
	}
	buf := make([]byte, 32<<10)
	for {
		n, rerr := r.Body.Read(buf)
		if err := chunk(buf[:n]); err != nil {
			return err
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	io.WriteString(bw, "0\r\n\r\n")
	return bw.Flush()
}

// writeCL writes a request with a Content-Length body.
func writeCL(w io.Writer, payload []byte) error {
	if _, err := fmt.Fprintf(w, "POST /mirror HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n", len(payload)); err != nil {
		return err
	}
	for off := 0; off < len(payload); off += 32 << 10 {
		if _, err := w.Write(payload[off:min(off+32<<10, len(payload))]); err != nil {
			return err
		}
	}
	return nil
}

// writeChunkedPipelined returns a writer of a request with a chunked body
// whose server answers after headAfter body bytes, and the next request in
// the same write as the body's last chunk.
func writeChunkedPipelined(headAfter int) func(io.Writer, []byte) error {
	return func(w io.Writer, payload []byte) error {
		if _, err := fmt.Fprintf(w, "POST /mirror HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nX-Head-After: %d\r\n\r\n", headAfter); err != nil {
			return err
		}
		return writeChunks(w, payload)
	}
}

func writeChunks(w io.Writer, payload []byte) error {
	for off := 0; off < len(payload); off += 32 << 10 {
		p := payload[off:min(off+32<<10, len(payload))]
		msg := append([]byte(fmt.Sprintf("%x\r\n", len(p))), p...)
		msg = append(msg, "\r\n"...)
		if off+len(p) == len(payload) {
			msg = append(msg, "0\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"...)
		}
		if _, err := w.Write(msg); err != nil {
			return err
		}
	}
	return nil
}

// fullDuplex sends payload as a request body (written by write) on a new
// connection while reading the mirrored response, and checks the response
// body's digest.
func fullDuplex(addr string, payload []byte, write func(io.Writer, []byte) error, chunk int, pause time.Duration, want [32]byte) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second)) // a hang guard only
	werr := make(chan error, 1)
	go func() { werr <- write(c, payload) }()
	br := bufio.NewReaderSize(c, chunk)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return fmt.Errorf("response head: %v", err)
	}
	h := sha256.New()
	buf := make([]byte, chunk)
	var got int
	for {
		n, err := resp.Body.Read(buf)
		h.Write(buf[:n])
		got += n
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("response body after %d bytes: %v", got, err)
		}
		if pause > 0 {
			time.Sleep(pause)
		}
	}
	if err := <-werr; err != nil {
		return fmt.Errorf("writing the request: %v", err)
	}
	if resp.StatusCode != 200 || got != len(payload) || !bytes.Equal(h.Sum(nil), want[:]) {
		return fmt.Errorf("got status %d, %d body bytes, digest match %v; want 200, %d bytes, identical", resp.StatusCode, got, bytes.Equal(h.Sum(nil), want[:]), len(payload))
	}
	return nil
}
