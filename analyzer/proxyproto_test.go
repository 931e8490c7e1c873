package analyzer

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	proxyproto "github.com/pires/go-proxyproto"
)

// v2 builds a v2 header (PROXY, TCP over IPv4 or IPv6) with TLVs.
func v2(src, dst netip.AddrPort, tlvs ...[]byte) []byte {
	b := append([]byte{}, proxyV2Sig...)
	fam := byte(0x11)
	var addrs []byte
	if src.Addr().Is4() {
		a, d := src.Addr().As4(), dst.Addr().As4()
		addrs = append(append(addrs, a[:]...), d[:]...)
	} else {
		fam = 0x21
		a, d := src.Addr().As16(), dst.Addr().As16()
		addrs = append(append(addrs, a[:]...), d[:]...)
	}
	addrs = binary.BigEndian.AppendUint16(addrs, src.Port())
	addrs = binary.BigEndian.AppendUint16(addrs, dst.Port())
	for _, t := range tlvs {
		addrs = append(addrs, t...)
	}
	b = append(b, 0x21, fam)
	b = binary.BigEndian.AppendUint16(b, uint16(len(addrs)))
	return append(b, addrs...)
}

func tlv(typ byte, v string) []byte {
	return append(binary.BigEndian.AppendUint16([]byte{typ}, uint16(len(v))), v...)
}

func TestParseProxyHeader(t *testing.T) {
	src4, dst4 := netip.MustParseAddrPort("192.0.2.7:40000"), netip.MustParseAddrPort("198.51.100.1:443")
	src6, dst6 := netip.MustParseAddrPort("[2001:db8::7]:40000"), netip.MustParseAddrPort("[2001:db8::1]:443")
	good := []struct {
		in    []byte
		src   netip.AddrPort
		local bool
		alpn  string
	}{
		{[]byte("PROXY TCP4 192.0.2.7 198.51.100.1 40000 443\r\nGET"), src4, false, ""},
		{[]byte("PROXY TCP6 2001:db8::7 2001:db8::1 40000 443\r\n"), src6, false, ""},
		{[]byte("PROXY UNKNOWN\r\n"), netip.AddrPort{}, true, ""},
		{[]byte("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"), netip.AddrPort{}, true, ""},
		{v2(src4, dst4), src4, false, ""},
		{v2(src6, dst6, tlv(0x01, "h2"), tlv(0x02, "example.com"), tlv(0x20, "ssl stuff")), src6, false, "h2"},
	}
	for _, tc := range good {
		h, n, err := ParseProxyHeader(tc.in)
		if err != nil || h.Src != tc.src || h.Local != tc.local || string(h.ALPN) != tc.alpn {
			t.Errorf("%q: %+v, %d, %v", tc.in, h, n, err)
			continue
		}
		for i := 0; i < n; i++ {
			if _, _, err := ParseProxyHeader(tc.in[:i]); err != ErrProxyIncomplete {
				t.Errorf("%q cut at %d: %v; want incomplete", tc.in, i, err)
				break
			}
		}
	}
	for _, in := range []string{
		"GET / HTTP/1.1\r\n", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
		"PROXY TCP4 ::1 ::2 1 2\r\n", "PROXY TCP4 1.2.3.4 5.6.7.8 1 70000\r\n", "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
		"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", "PROXY " + string(bytes.Repeat([]byte("x"), 120)),
		"\r\n\r\n\x00\r\nQUIT\n\x31\x11\x00\x0c123456789012", // version 3
		"\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x04abcd",         // addresses cut
		"\r\n\r\n\x00\r\nQUIT\n\x21\x11\xff\xff",             // oversized
	} {
		if _, _, err := ParseProxyHeader([]byte(in)); err == nil || err == ErrProxyIncomplete && len(in) > 20 {
			t.Errorf("%q accepted (%v)", in, err)
		}
	}
}

// FuzzProxyHeader is a differential test against github.com/pires/go-proxyproto
// (the reference): whatever lb accepts, the reference accepts too, with
// the same version, command and addresses; lb never panics and never
// reads past the length it returns.
func FuzzProxyHeader(f *testing.F) {
	f.Add([]byte("PROXY TCP4 192.0.2.7 198.51.100.1 40000 443\r\n"))
	f.Add([]byte("PROXY TCP6 2001:db8::7 2001:db8::1 40000 443\r\n"))
	f.Add([]byte("PROXY UNKNOWN\r\n"))
	f.Add(v2(netip.MustParseAddrPort("192.0.2.7:1"), netip.MustParseAddrPort("192.0.2.8:2"), tlv(1, "h2")))
	f.Add(v2(netip.MustParseAddrPort("[::1]:1"), netip.MustParseAddrPort("[::2]:2")))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := ParseProxyHeader(b)
		if err != nil {
			return
		}
		if n <= 0 || n > len(b) {
			t.Fatalf("length %d of %d bytes", n, len(b))
		}
		ref, rerr := proxyproto.Read(bufio.NewReader(bytes.NewReader(b)))
		if rerr != nil {
			t.Fatalf("lb accepted %q (%+v); the reference refused it: %v", b, h, rerr)
		}
		if int(ref.Version) != h.Version {
			t.Fatalf("version %d; reference %d", h.Version, ref.Version)
		}
		if h.Local {
			return
		}
		if ta, ok := ref.SourceAddr.(*net.TCPAddr); !ok || ta.AddrPort() != h.Src && netip.AddrPortFrom(ta.AddrPort().Addr().Unmap(), ta.AddrPort().Port()) != h.Src {
			t.Fatalf("source %v; reference %v", h.Src, ref.SourceAddr)
		}
	})
}

// TestAppendProxyHeader: what lb sends parses back to the same addresses,
// in both versions and families, and is refused by nothing the reference
// accepts; mixed families give a header without addresses.
func TestAppendProxyHeader(t *testing.T) {
	for _, v := range []int{1, 2} {
		for _, pair := range [][2]string{{"192.0.2.7:40000", "198.51.100.1:443"}, {"[2001:db8::7]:1", "[2001:db8::1]:2"}, {"[::ffff:192.0.2.7]:5", "192.0.2.1:6"}} {
			src, dst := netip.MustParseAddrPort(pair[0]), netip.MustParseAddrPort(pair[1])
			b := AppendProxyHeader(nil, v, src, dst)
			h, n, err := ParseProxyHeader(b)
			if err != nil || n != len(b) || h.Version != v || h.Src.Addr() != src.Addr().Unmap() || h.Src.Port() != src.Port() || h.Dst.Port() != dst.Port() {
				t.Errorf("v%d %v: %q -> %+v, %d, %v", v, pair, b, h, n, err)
			}
			if _, err := proxyproto.Read(bufio.NewReader(bytes.NewReader(b))); err != nil {
				t.Errorf("v%d %v: the reference refuses %q: %v", v, pair, b, err)
			}
		}
		b := AppendProxyHeader(nil, v, netip.MustParseAddrPort("192.0.2.7:1"), netip.MustParseAddrPort("[::1]:2"))
		if h, _, err := ParseProxyHeader(b); err != nil || !h.Local {
			t.Errorf("v%d mixed families: %+v, %v; want a header without addresses", v, h, err)
		}
	}
}
