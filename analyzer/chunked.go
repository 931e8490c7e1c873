package analyzer

import (
	"math"
	"strconv"
)

// Defaults of the ChunkedScanner bounds.
const (
	// DefaultMaxChunkLine bounds a chunk-size line, extensions included,
	// CRLF excluded.
	DefaultMaxChunkLine = 4096
	// DefaultMaxTrailer bounds the trailer section, its final CRLF
	// included.
	DefaultMaxTrailer = 8192
)

// ChunkedScanner validates a body in the chunked transfer coding (RFC 9112
// 7.1) as it streams by, so the session can forward it unchanged. It is a
// state machine that keeps no bytes: the caller passes each piece of the body
// once, and may forward whatever Scan accepted. The zero value is ready to
// scan a request body; set Status to 502 for a response body. Not safe for
// concurrent use.
//
// Accepted: chunk-size as 1*HEXDIG within int64 (leading zeros allowed);
// extensions after optional whitespace and ";", checked only for control
// characters (HTAB allowed); CRLF after the size line and after the data;
// the last chunk (size 0); trailer field lines with token names, no
// whitespace before the colon, no obs-fold, no control characters in values;
// the final CRLF. Trailer fields are not interpreted; RFC 9110 6.5.1 forbids
// merging them into the head, and the session must not.
type ChunkedScanner struct {
	// Status is the status of framing errors: zero means 400 (a request
	// body); set 502 for a response body.
	Status int
	// MaxLine bounds each chunk-size line in bytes, extensions included,
	// CRLF excluded. Zero means DefaultMaxChunkLine.
	MaxLine int
	// MaxTrailer bounds the trailer section in bytes, its final CRLF
	// included. Zero means DefaultMaxTrailer.
	MaxTrailer int
	// MaxData bounds the sum of the chunk sizes (the decoded body): a
	// chunk-size line that takes the sum past it fails with 413 (RFC 9110
	// 15.5.14) once its LF arrives, before any of that chunk's data. Zero
	// means no bound.
	MaxData int64

	state   chunkState
	data    int64 // the sum of the chunk sizes so far
	size    int64 // the chunk-size being read, then the data bytes left
	line    int   // bytes of the current chunk-size line
	trailer int   // bytes of the trailer section so far
	err     *Error
}

// chunkState is where the scanner is in the chunked framing. A chunk goes
// cSizeStart -> cSize -> [cSizeWS] -> [cExt] -> cSizeLF -> cData ->
// cDataCR -> cDataLF -> cSizeStart; a size of 0 goes from cSizeLF to the
// trailer section: cTrailerStart -> (cTrName -> cTrValue -> cTrLF ->
// cTrailerStart)* -> cFinalLF -> cDone. Errors are kept in err.
type chunkState uint8

const (
	cSizeStart    chunkState = iota // first hex digit of a chunk-size next
	cSize                           // in the chunk-size
	cSizeWS                         // whitespace after the chunk-size; ";" next
	cExt                            // in the chunk extensions
	cSizeLF                         // CR ending the size line seen; LF next
	cData                           // in the chunk data
	cDataCR                         // data complete; CR next
	cDataLF                         // LF next
	cTrailerStart                   // at the start of a trailer line or the final CRLF
	cTrName                         // in a trailer field name
	cTrValue                        // after its colon, until CR
	cTrLF                           // CR ending a trailer line seen; LF next
	cFinalLF                        // final CR seen; LF next
	cDone                           // the body is complete
)

// Reset prepares c for the next body, keeping Status and the bounds.
func (c *ChunkedScanner) Reset() {
	*c = ChunkedScanner{Status: c.Status, MaxLine: c.MaxLine, MaxTrailer: c.MaxTrailer, MaxData: c.MaxData}
}

// Done reports whether the final CRLF has been scanned.
func (c *ChunkedScanner) Done() bool { return c.state == cDone }

func (c *ChunkedScanner) fail(reason string) *Error {
	status := c.Status
	if status == 0 {
		status = 400
	}
	c.err = &Error{Status: status, Reason: reason}
	return c.err
}

// Scan validates buf, the body bytes that follow those accepted by earlier
// calls (none for the first call), and returns:
//   - n: how many bytes of buf are valid chunked framing and may be
//     forwarded as they are. Without error and before the end, n is
//     len(buf): partial size lines and trailers are accepted as far as they
//     are valid, so the caller need not keep them. On error, n is the
//     offset of the first invalid byte, or of the first byte over a bound.
//   - done: the final CRLF is buf[n-1]; bytes from buf[n:] belong to the
//     next message and were not looked at. Later calls return 0, true, nil.
//   - err: a *Error with Status (default 400) on invalid framing or an
//     exceeded bound; later calls return 0, false and the same error. As
//     valid bytes before the error may have been forwarded already, the
//     session must close the connection they were sent on.
//
// Scan does not keep buf.
func (c *ChunkedScanner) Scan(buf []byte) (n int, done bool, err error) {
	if c.err != nil {
		return 0, false, c.err
	}
	if c.state == cDone {
		return 0, true, nil
	}
	maxLine, maxTrailer := c.MaxLine, c.MaxTrailer
	if maxLine <= 0 {
		maxLine = DefaultMaxChunkLine
	}
	if maxTrailer <= 0 {
		maxTrailer = DefaultMaxTrailer
	}
	i := 0
	for i < len(buf) {
		b := buf[i]
		switch c.state {
		case cSize, cSizeWS, cExt:
			if b != '\r' {
				if c.line++; c.line > maxLine {
					return i, false, c.fail("chunk-size line over limit " + strconv.Itoa(maxLine) + " bytes")
				}
			}
		case cTrailerStart, cTrName, cTrValue, cTrLF, cFinalLF:
			if c.trailer++; c.trailer > maxTrailer {
				return i, false, c.fail("trailer section over limit " + strconv.Itoa(maxTrailer) + " bytes")
			}
		}
		switch c.state {
		case cSizeStart:
			v, ok := hexVal(b)
			if !ok {
				return i, false, c.fail("invalid chunk size")
			}
			c.size, c.line = v, 1
			c.state = cSize
		case cSize:
			if v, ok := hexVal(b); ok {
				if c.size > math.MaxInt64>>4 {
					return i, false, c.fail("chunk size overflow")
				}
				c.size = c.size<<4 | v
				break
			}
			switch b {
			case ';':
				c.state = cExt
			case ' ', '\t':
				c.state = cSizeWS // BWS before ";" (RFC 9112 7.1.1)
			case '\r':
				c.state = cSizeLF
			case '\n':
				return i, false, c.fail("bare lf line ending")
			default:
				return i, false, c.fail("invalid chunk size")
			}
		case cSizeWS:
			switch b {
			case ' ', '\t':
			case ';':
				c.state = cExt
			default:
				// Only BWS ";" may follow a chunk-size; "5 \r\n"
				// is read differently by different parsers.
				return i, false, c.fail("whitespace after chunk size")
			}
		case cExt:
			switch {
			case chars[b]&cValue != 0:
			case b == '\r':
				c.state = cSizeLF
			case b == '\n':
				return i, false, c.fail("bare lf line ending")
			default:
				return i, false, c.fail("control character in chunk extension")
			}
		case cSizeLF:
			if b != '\n' {
				return i, false, c.fail("bare cr")
			}
			if c.size == 0 {
				c.state = cTrailerStart
				break
			}
			if c.MaxData > 0 && c.size > c.MaxData-c.data {
				c.err = &Error{Status: 413, Reason: "chunked body over limit " + strconv.FormatInt(c.MaxData, 10) + " bytes"}
				return i, false, c.err
			}
			c.data += c.size
			c.state = cData
		case cData:
			k := len(buf) - i
			if int64(k) > c.size {
				k = int(c.size)
			}
			i += k
			c.size -= int64(k)
			if c.size == 0 {
				c.state = cDataCR
			}
			continue
		case cDataCR:
			if b != '\r' {
				return i, false, c.fail("missing crlf after chunk data")
			}
			c.state = cDataLF
		case cDataLF:
			if b != '\n' {
				return i, false, c.fail("missing crlf after chunk data")
			}
			c.state = cSizeStart
		case cTrailerStart:
			switch {
			case isToken(b):
				c.state = cTrName
			case b == '\r':
				c.state = cFinalLF
			case b == ' ' || b == '\t':
				return i, false, c.fail("obs-fold in trailer section")
			case b == '\n':
				return i, false, c.fail("bare lf line ending")
			default:
				return i, false, c.fail("invalid character in trailer field name")
			}
		case cTrName:
			switch {
			case isToken(b):
			case b == ':':
				c.state = cTrValue
			case b == ' ' || b == '\t':
				return i, false, c.fail("whitespace before colon in trailer field")
			default:
				return i, false, c.fail("invalid character in trailer field name")
			}
		case cTrValue:
			switch {
			case chars[b]&cValue != 0:
			case b == '\r':
				c.state = cTrLF
			case b == '\n':
				return i, false, c.fail("bare lf line ending")
			default:
				return i, false, c.fail("control character in trailer field value")
			}
		case cTrLF:
			if b != '\n' {
				return i, false, c.fail("bare cr")
			}
			c.state = cTrailerStart
		case cFinalLF:
			if b != '\n' {
				return i, false, c.fail("bare cr")
			}
			c.state = cDone
			return i + 1, true, nil
		}
		i++
	}
	return i, false, nil
}

func hexVal(b byte) (int64, bool) {
	switch {
	case '0' <= b && b <= '9':
		return int64(b - '0'), true
	case 'a' <= b && b <= 'f':
		return int64(b-'a') + 10, true
	case 'A' <= b && b <= 'F':
		return int64(b-'A') + 10, true
	}
	return 0, false
}
