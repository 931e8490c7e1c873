package analyzer

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// chunkCase is one chunked body and the summary scanning it must give (see
// chunkSummary), with the scanner's settings (zero: defaults).
type chunkCase struct {
	name       string
	in         string
	want       string
	status     int
	maxLine    int
	maxTrailer int
}

var chunkCases = []chunkCase{
	{"one chunk", "5\r\nhello\r\n0\r\n\r\n", "done", 0, 0, 0},
	{"several chunks", "1\r\na\r\n2\r\nbc\r\n3\r\ndef\r\n0\r\n\r\n", "done", 0, 0, 0},
	{"empty body", "0\r\n\r\n", "done", 0, 0, 0},
	{"data holding crlf", "4\r\n\r\n\r\n\r\n0\r\n\r\n", "done", 0, 0, 0},
	{"next message after", "5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n", "done rest=16", 0, 0, 0},
	{"smuggled request after last chunk", "0\r\n\r\nGET /admin HTTP/1.1\r\nHost: a\r\n\r\n", "done rest=32", 0, 0, 0},
	{"uppercase hex", "A\r\n0123456789\r\n0\r\n\r\n", "done", 0, 0, 0},
	{"lowercase hex", "a\r\n0123456789\r\n0\r\n\r\n", "done", 0, 0, 0},
	{"leading zeros", "0005\r\nhello\r\n000\r\n\r\n", "done", 0, 0, 0},
	{"extension", "5;name=value\r\nhello\r\n0;last\r\n\r\n", "done", 0, 0, 0},
	{"quoted extension", "5;a=\"b; c\"\r\nhello\r\n0\r\n\r\n", "done", 0, 0, 0},
	{"bws before extension", "5 \t;a\r\nhello\r\n0\r\n\r\n", "done", 0, 0, 0},
	{"trailers", "5\r\nhello\r\n0\r\nX-Checksum: abc\r\nX-Empty:\r\n\r\n", "done", 0, 0, 0},
	{"max chunk size incomplete", "7fffffffffffffff\r\n", "more", 0, 0, 0},
	{"truncated data", "5\r\nhel", "more", 0, 0, 0},
	{"truncated size line", "5;ext", "more", 0, 0, 0},
	{"last chunk without trailer end", "0\r\n", "more", 0, 0, 0},
	{"final cr only", "0\r\n\r", "more", 0, 0, 0},
	{"nothing", "", "more", 0, 0, 0},

	{"size overflow", "ffffffffffffffffff\r\n", "400 chunk size overflow at=15", 0, 0, 0},
	{"size just over int64", "8000000000000000\r\n", "400 chunk size overflow at=15", 0, 0, 0},
	{"negative size", "-5\r\nhello\r\n0\r\n\r\n", "400 invalid chunk size at=0", 0, 0, 0},
	{"hex prefix", "0x5\r\nhello\r\n0\r\n\r\n", "400 invalid chunk size at=1", 0, 0, 0},
	{"plus sign", "+5\r\n", "400 invalid chunk size at=0", 0, 0, 0},
	{"empty size", "\r\nhello\r\n", "400 invalid chunk size at=0", 0, 0, 0},
	{"space before size", " 5\r\n", "400 invalid chunk size at=0", 0, 0, 0},
	{"whitespace after size", "5 \r\nhello\r\n0\r\n\r\n", "400 whitespace after chunk size at=2", 0, 0, 0},
	{"tab after size", "5\t\r\n", "400 whitespace after chunk size at=2", 0, 0, 0},
	{"size then junk", "5x\r\n", "400 invalid chunk size at=1", 0, 0, 0},
	{"bare lf after size", "5\nhello\r\n0\r\n\r\n", "400 bare lf line ending at=1", 0, 0, 0},
	{"bare cr after size", "5\rhello", "400 bare cr at=2", 0, 0, 0},
	{"bare lf after extension", "5;a\nhello", "400 bare lf line ending at=3", 0, 0, 0},
	{"control in extension", "5;a\x01\r\n", "400 control character in chunk extension at=3", 0, 0, 0},
	{"nul in extension", "5;\x00\r\n", "400 control character in chunk extension at=2", 0, 0, 0},
	{"data longer than size", "3\r\nhello\r\n0\r\n\r\n", "400 missing crlf after chunk data at=6", 0, 0, 0},
	{"lf only after data", "5\r\nhello\n0\r\n\r\n", "400 missing crlf after chunk data at=8", 0, 0, 0},
	{"cr only after data", "5\r\nhello\r0\r\n\r\n", "400 missing crlf after chunk data at=9", 0, 0, 0},
	{"trailer obs-fold", "0\r\nX: a\r\n b\r\n\r\n", "400 obs-fold in trailer section at=9", 0, 0, 0},
	{"trailer space before colon", "0\r\nX : a\r\n\r\n", "400 whitespace before colon in trailer field at=4", 0, 0, 0},
	{"trailer nul", "0\r\nX: a\x00\r\n\r\n", "400 control character in trailer field value at=7", 0, 0, 0},
	{"trailer empty name", "0\r\n: a\r\n\r\n", "400 invalid character in trailer field name at=3", 0, 0, 0},
	{"trailer without colon", "0\r\nX\r\n\r\n", "400 invalid character in trailer field name at=4", 0, 0, 0},
	{"trailer bare cr", "0\r\nX: a\rb", "400 bare cr at=8", 0, 0, 0},
	{"final bare lf", "0\r\n\n", "400 bare lf line ending at=3", 0, 0, 0},
	{"last chunk bare lf", "0\n\r\n", "400 bare lf line ending at=1", 0, 0, 0},
	{"lf in quoted extension", "5;a=\"\n\"\r\nhello", "400 bare lf line ending at=5", 0, 0, 0},
	{"final bare cr", "0\r\n\rX", "400 bare cr at=4", 0, 0, 0},

	{"response status", "zz\r\n", "502 invalid chunk size at=0", 502, 0, 0},
	{"size line at limit", "5;" + strings.Repeat("e", 6) + "\r\nhello\r\n0\r\n\r\n", "done", 0, 8, 0},
	{"size line over limit", "5;" + strings.Repeat("e", 7) + "\r\nhello\r\n0\r\n\r\n", "400 chunk-size line over limit 8 bytes at=8", 0, 8, 0},
	{"leading zeros over limit", strings.Repeat("0", 9) + "5\r\n", "400 chunk-size line over limit 8 bytes at=8", 0, 8, 0},
	{"default size line limit", "5;" + strings.Repeat("e", 4095) + "\r\n", "400 chunk-size line over limit 4096 bytes at=4096", 0, 0, 0},
	{"trailer at limit", "0\r\nX: 12\r\n\r\n", "done", 0, 0, 9},
	{"trailer over limit", "0\r\nX: 123\r\n\r\n", "400 trailer section over limit 9 bytes at=12", 0, 0, 9},
	{"default trailer limit", "0\r\nX: " + strings.Repeat("v", 9000) + "\r\n\r\n", "400 trailer section over limit 8192 bytes at=8195", 0, 0, 0},
}

// chunkSummary renders a scan result: "done" (with rest=N for bytes after
// the body), "more", or "<status> <reason> at=<n>".
func chunkSummary(n int, done bool, err error, total int) string {
	var e *Error
	switch {
	case errors.As(err, &e):
		return fmt.Sprintf("%d %s at=%d", e.Status, e.Reason, n)
	case err != nil:
		return "unexpected error " + err.Error()
	case done && n == total:
		return "done"
	case done:
		return fmt.Sprintf("done rest=%d", total-n)
	case n != total:
		return fmt.Sprintf("more but consumed %d of %d", n, total)
	}
	return "more"
}

func (c chunkCase) scanner() ChunkedScanner {
	return ChunkedScanner{Status: c.status, MaxLine: c.maxLine, MaxTrailer: c.maxTrailer}
}

func TestChunkedCorpus(t *testing.T) {
	for _, c := range chunkCases {
		t.Run(c.name, func(t *testing.T) {
			in := []byte(c.in)
			s := c.scanner()
			n, done, err := s.Scan(in)
			if got := chunkSummary(n, done, err, len(in)); got != c.want {
				t.Fatalf("Scan(%q)\n got %s\nwant %s", short(c.in), got, c.want)
			}
			// Once done or failed, the scanner stays so.
			n2, done2, err2 := s.Scan(in[n:])
			if n2 != 0 || done2 != done || err2 != err {
				t.Errorf("Scan again = %d, %v, %v; want 0, %v, %v", n2, done2, err2, done, err)
			}
			checkChunkedSplits(t, c.scanner(), in, c.want)
		})
	}
}

// checkChunkedSplits scans in one byte at a time, and in two pieces split at
// every point, and checks both give want.
func checkChunkedSplits(t *testing.T, fresh ChunkedScanner, in []byte, want string) {
	t.Helper()
	s := fresh
	total, done, err := 0, false, error(nil)
	for i := 0; i < len(in) && !done && err == nil; i++ {
		var n int
		n, done, err = s.Scan(in[i : i+1])
		total += n
	}
	if got := chunkSummary(total, done, err, len(in)); got != want {
		t.Fatalf("byte by byte %q\n got %s\nwant %s", short(string(in)), got, want)
	}
	for _, k := range splitPoints(len(in)) {
		s := fresh
		n, done, err := s.Scan(in[:k])
		if !done && err == nil {
			var n2 int
			n2, done, err = s.Scan(in[n:])
			n += n2
		}
		if got := chunkSummary(n, done, err, len(in)); got != want {
			t.Fatalf("split at %d of %q\n got %s\nwant %s", k, short(string(in)), got, want)
		}
	}
}

func TestChunkedReset(t *testing.T) {
	s := ChunkedScanner{Status: 502, MaxLine: 10}
	if _, _, err := s.Scan([]byte("x")); err == nil {
		t.Fatalf("Scan(x) = nil error; want one")
	}
	s.Reset()
	if s.Status != 502 || s.MaxLine != 10 {
		t.Errorf("after Reset Status, MaxLine = %d, %d; want 502, 10", s.Status, s.MaxLine)
	}
	if n, done, err := s.Scan([]byte("0\r\n\r\n")); n != 5 || !done || err != nil || !s.Done() {
		t.Errorf("Scan after Reset = %d, %v, %v (Done %v); want 5, true, nil (Done true)", n, done, err, s.Done())
	}
}

func TestChunkedAllocs(t *testing.T) {
	in := []byte("5;x=y\r\nhello\r\n10\r\n0123456789abcdef\r\n0\r\nX-T: 1\r\n\r\n")
	var s ChunkedScanner
	if n := testing.AllocsPerRun(100, func() {
		s.Reset()
		for i := range in {
			if _, _, err := s.Scan(in[i : i+1]); err != nil {
				t.Fatal(err)
			}
		}
	}); n != 0 {
		t.Errorf("allocations per body = %v; want 0", n)
	}
}

func TestChunkedMaxData(t *testing.T) {
	for _, tc := range []struct {
		in     string
		max    int64
		status int // 0: accepted whole
		n      int // with status: the offset of the failure
	}{
		{"5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", 10, 0, 0},
		{"5\r\nhello\r\n6\r\nworld!\r\n0\r\n\r\n", 10, 413, 12},
		{"b\r\nhello world\r\n0\r\n\r\n", 10, 413, 2},
		{"0000b;ext=1\r\nhello world\r\n0\r\n\r\n", 10, 413, 12},
		{"7fffffffffffffff\r\n", 10, 413, 17},
		{"b\r\nhello world\r\n0\r\n\r\n", 0, 0, 0},
	} {
		for k := 0; k <= len(tc.in); k++ { // every split of the input
			s := ChunkedScanner{MaxData: tc.max}
			n, done, err := s.Scan([]byte(tc.in[:k]))
			if err == nil && !done {
				var n2 int
				n2, done, err = s.Scan([]byte(tc.in[k:]))
				n += n2
			}
			var ae *Error
			switch {
			case tc.status == 0 && (err != nil || !done || n != len(tc.in)):
				t.Fatalf("%q split %d, max %d: %d, %v, %v; want all accepted", tc.in, k, tc.max, n, done, err)
			case tc.status != 0 && (!errors.As(err, &ae) || ae.Status != tc.status || n != tc.n):
				t.Fatalf("%q split %d, max %d: %d, %v, %v; want %d at %d", tc.in, k, tc.max, n, done, err, tc.status, tc.n)
			}
		}
	}
	s := ChunkedScanner{MaxData: 4}
	s.Reset()
	if s.MaxData != 4 {
		t.Errorf("Reset lost MaxData")
	}
}
