package analyzer

import "testing"

// benchRequest is a typical browser request (about 500 bytes, 10 fields).
const benchRequest = "GET /static/app.js?v=3.14 HTTP/1.1\r\n" +
	"Host: www.example.com\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n" +
	"Accept: */*\r\n" +
	"Accept-Language: en-US,en;q=0.5\r\n" +
	"Accept-Encoding: gzip, deflate, br, zstd\r\n" +
	"Referer: https://www.example.com/index.html\r\n" +
	"Connection: keep-alive\r\n" +
	"Cookie: session=0123456789abcdef0123456789abcdef; theme=dark\r\n" +
	"Sec-Fetch-Dest: script\r\n" +
	"If-None-Match: \"5f2a-1b3c4d\"\r\n" +
	"\r\n"

// benchResponse is a typical response head.
const benchResponse = "HTTP/1.1 200 OK\r\n" +
	"Date: Sat, 21 Nov 2026 15:00:00 GMT\r\n" +
	"Server: nginx\r\n" +
	"Content-Type: application/javascript; charset=utf-8\r\n" +
	"Content-Length: 52311\r\n" +
	"Last-Modified: Fri, 20 Nov 2026 10:00:00 GMT\r\n" +
	"ETag: \"5f2a-1b3c4d\"\r\n" +
	"Cache-Control: public, max-age=31536000\r\n" +
	"Connection: keep-alive\r\n" +
	"\r\n"

func BenchmarkParseRequest(b *testing.B) {
	in := []byte(benchRequest)
	var r Request
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset()
		if err := r.Parse(in, DefaultLimits); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseRequestSegmented feeds the request in 64-byte reads.
func BenchmarkParseRequestSegmented(b *testing.B) {
	in := []byte(benchRequest)
	var r Request
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset()
		for k := 64; ; k += 64 {
			if k > len(in) {
				k = len(in)
			}
			if err := r.Parse(in[:k], DefaultLimits); err != ErrIncomplete {
				if err != nil {
					b.Fatal(err)
				}
				break
			}
		}
	}
}

func BenchmarkParseResponse(b *testing.B) {
	in := []byte(benchResponse)
	method := []byte("GET")
	var r Response
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset()
		if err := r.Parse(in, method, DefaultLimits); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChunkedScan(b *testing.B) {
	var in []byte
	for range 16 {
		in = append(in, "1000\r\n"...)
		in = append(in, make([]byte, 0x1000)...)
		in = append(in, "\r\n"...)
	}
	in = append(in, "0\r\n\r\n"...)
	var c ChunkedScanner
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		c.Reset()
		if _, done, err := c.Scan(in); !done || err != nil {
			b.Fatal(done, err)
		}
	}
}
