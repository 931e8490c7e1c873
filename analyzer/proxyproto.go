package analyzer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"strconv"
)

// The PROXY protocol (HAProxy's, v1 text and v2 binary): a header a
// trusted proxy in front of lb sends before anything else, naming the
// client it accepted. ParseProxyHeader reads it from the start of a
// connection's bytes; the session then takes the source as the client's
// address everywhere (balancing, X-Forwarded-For, rules, the log, limits).

// MaxProxyHeader bounds a PROXY header: v1's is at most 107 bytes; a v2
// header with TLVs (certificates in an SSL TLV) may be larger, but more
// than this is refused.
const MaxProxyHeader = 4096

// ProxyHeader is a parsed PROXY header.
type ProxyHeader struct {
	Version int  // 1 or 2
	Local   bool // v2 LOCAL or v1 UNKNOWN: the connection's own addresses stand
	// Src and Dst are the client's and the proxy's addresses (invalid when
	// Local, or for a family lb does not carry such as AF_UNIX).
	Src, Dst netip.AddrPort
	// ALPN and Authority are the v2 TLVs of those types (empty when
	// absent); the others are skipped.
	ALPN, Authority []byte
}

// Errors of ParseProxyHeader; any of them closes the connection.
var (
	ErrProxyIncomplete = errors.New("proxy protocol: incomplete header")
	errProxyBad        = errors.New("proxy protocol: malformed header")
	errProxyTooLarge   = errors.New("proxy protocol: header too large")
)

var proxyV2Sig = []byte("\r\n\r\n\x00\r\nQUIT\n")

// ParseProxyHeader parses the PROXY header at the start of b: it returns
// the header and its length, or ErrProxyIncomplete while more bytes may
// make it whole, or another error for what no more bytes can fix
// (including a connection that does not start with a header).
func ParseProxyHeader(b []byte) (ProxyHeader, int, error) {
	switch {
	case len(b) == 0:
		return ProxyHeader{}, 0, ErrProxyIncomplete
	case b[0] == 'P':
		return parseProxyV1(b)
	case b[0] == '\r':
		return parseProxyV2(b)
	}
	return ProxyHeader{}, 0, errProxyBad
}

// parseProxyV1: "PROXY TCP4|TCP6 src dst sport dport\r\n" or
// "PROXY UNKNOWN ...\r\n", at most 107 bytes.
func parseProxyV1(b []byte) (ProxyHeader, int, error) {
	const maxV1 = 107
	if n := min(len(b), 6); !bytes.Equal(b[:n], []byte("PROXY ")[:n]) {
		return ProxyHeader{}, 0, errProxyBad
	}
	end := bytes.Index(b[:min(len(b), maxV1)], []byte("\r\n"))
	if end < 0 {
		if len(b) >= maxV1 {
			return ProxyHeader{}, 0, errProxyTooLarge
		}
		if bytes.IndexByte(b, '\n') >= 0 {
			return ProxyHeader{}, 0, errProxyBad // a bare LF
		}
		return ProxyHeader{}, 0, ErrProxyIncomplete
	}
	f := bytes.Split(b[6:end], []byte(" "))
	h := ProxyHeader{Version: 1}
	if string(f[0]) == "UNKNOWN" {
		h.Local = true
		return h, end + 2, nil
	}
	if len(f) != 5 || string(f[0]) != "TCP4" && string(f[0]) != "TCP6" {
		return ProxyHeader{}, 0, errProxyBad
	}
	src, err1 := netip.ParseAddr(string(f[1]))
	dst, err2 := netip.ParseAddr(string(f[2]))
	sp, err3 := parsePort(f[3])
	dp, err4 := parsePort(f[4])
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil || src.Zone() != "" || dst.Zone() != "" ||
		(string(f[0]) == "TCP4") != src.Is4() || src.Is4() != dst.Is4() {
		return ProxyHeader{}, 0, errProxyBad
	}
	h.Src, h.Dst = netip.AddrPortFrom(src, sp), netip.AddrPortFrom(dst, dp)
	return h, end + 2, nil
}

// parsePort reads a decimal port without a sign or leading zero.
func parsePort(b []byte) (uint16, error) {
	if len(b) == 0 || len(b) > 5 || (b[0] == '0' && len(b) > 1) {
		return 0, errProxyBad
	}
	n, err := strconv.ParseUint(string(b), 10, 16)
	return uint16(n), err
}

// parseProxyV2: the 12-byte signature, version 2 and a command, the
// family and transport, a length, then the addresses and TLVs.
func parseProxyV2(b []byte) (ProxyHeader, int, error) {
	if n := min(len(b), len(proxyV2Sig)); !bytes.Equal(b[:n], proxyV2Sig[:n]) {
		return ProxyHeader{}, 0, errProxyBad
	}
	if len(b) < 16 {
		return ProxyHeader{}, 0, ErrProxyIncomplete
	}
	verCmd, famProto := b[12], b[13]
	size := 16 + int(binary.BigEndian.Uint16(b[14:16]))
	switch {
	case verCmd>>4 != 2 || verCmd&0xf > 1:
		return ProxyHeader{}, 0, errProxyBad
	case size > MaxProxyHeader:
		return ProxyHeader{}, 0, errProxyTooLarge
	case len(b) < size:
		return ProxyHeader{}, 0, ErrProxyIncomplete
	}
	h := ProxyHeader{Version: 2, Local: verCmd&0xf == 0}
	body := b[16:size]
	var addrLen int
	switch {
	case famProto == 0x11: // TCP over IPv4
		addrLen = 12
	case famProto == 0x21: // TCP over IPv6
		addrLen = 36
	case !h.Local:
		// A proxied connection lb cannot carry (UDP, AF_UNIX) or of no
		// family: refused, as the reference implementation does.
		return ProxyHeader{}, 0, errProxyBad
	case famProto>>4 > 3 || famProto&0xf > 2:
		return ProxyHeader{}, 0, errProxyBad
	default: // LOCAL: the addresses, if any, are skipped
		addrLen = [...]int{0, 12, 36, 216}[famProto>>4]
	}
	if len(body) < addrLen {
		return ProxyHeader{}, 0, errProxyBad
	}
	if !h.Local {
		switch addrLen {
		case 12:
			src, dst := netip.AddrFrom4([4]byte(body[0:4])), netip.AddrFrom4([4]byte(body[4:8]))
			h.Src = netip.AddrPortFrom(src, binary.BigEndian.Uint16(body[8:10]))
			h.Dst = netip.AddrPortFrom(dst, binary.BigEndian.Uint16(body[10:12]))
		case 36:
			src, dst := netip.AddrFrom16([16]byte(body[0:16])), netip.AddrFrom16([16]byte(body[16:32]))
			h.Src = netip.AddrPortFrom(src, binary.BigEndian.Uint16(body[32:34]))
			h.Dst = netip.AddrPortFrom(dst, binary.BigEndian.Uint16(body[34:36]))
		}
	}
	for tlvs := body[addrLen:]; len(tlvs) > 0; {
		if len(tlvs) < 3 {
			return ProxyHeader{}, 0, errProxyBad
		}
		typ, n := tlvs[0], int(binary.BigEndian.Uint16(tlvs[1:3]))
		if len(tlvs) < 3+n {
			return ProxyHeader{}, 0, errProxyBad
		}
		switch typ {
		case 0x01:
			h.ALPN = tlvs[3 : 3+n]
		case 0x02:
			h.Authority = tlvs[3 : 3+n]
		}
		tlvs = tlvs[3+n:]
	}
	return h, size, nil
}

// AppendProxyHeader appends a PROXY protocol header (version 1 or 2) for a
// TCP connection from src to dst; with addresses of different families or
// invalid ones, a v1 UNKNOWN or a v2 LOCAL header.
func AppendProxyHeader(b []byte, version int, src, dst netip.AddrPort) []byte {
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
	ok := src.IsValid() && dst.IsValid() && src.Addr().Is4() == dst.Addr().Is4()
	if version == 1 {
		if !ok {
			return append(b, "PROXY UNKNOWN\r\n"...)
		}
		fam := "TCP4 "
		if src.Addr().Is6() {
			fam = "TCP6 "
		}
		b = append(append(b, "PROXY "...), fam...)
		b = append(src.Addr().AppendTo(b), ' ')
		b = append(dst.Addr().AppendTo(b), ' ')
		b = append(strconv.AppendUint(b, uint64(src.Port()), 10), ' ')
		return append(strconv.AppendUint(b, uint64(dst.Port()), 10), "\r\n"...)
	}
	b = append(b, proxyV2Sig...)
	if !ok {
		return append(b, 0x20, 0x00, 0, 0) // LOCAL, UNSPEC
	}
	if src.Addr().Is4() {
		b = append(b, 0x21, 0x11, 0, 12)
		s, d := src.Addr().As4(), dst.Addr().As4()
		b = append(append(b, s[:]...), d[:]...)
	} else {
		b = append(b, 0x21, 0x21, 0, 36)
		s, d := src.Addr().As16(), dst.Addr().As16()
		b = append(append(b, s[:]...), d[:]...)
	}
	b = binary.BigEndian.AppendUint16(b, src.Port())
	return binary.BigEndian.AppendUint16(b, dst.Port())
}
