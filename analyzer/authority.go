package analyzer

// Authority validation (RFC 3986 3.2.2, 3.2.3) for the Host field and the
// authority of absolute-form and authority-form request-targets.

// validAuthority reports whether b is uri-host [":" port] (RFC 3986 3.2.2,
// 3.2.3) with these restrictions: the host is not empty; a reg-name holds no
// comma (a Host value with a comma reads as a list); an IP-literal is an
// IPv6address (no IPvFuture, no zone); no percent-encoding; a port, when its colon is
// present, is 1 to 5 digits not above 65535. needPort requires the port
// (CONNECT's authority-form, RFC 9112 3.2.3). Userinfo ("@") is never valid
// (RFC 9110 4.2.4).
func validAuthority(b []byte, needPort bool) bool {
	i := 0
	if len(b) > 0 && b[0] == '[' {
		for i = 1; i < len(b) && b[i] != ']'; i++ {
		}
		if i == len(b) || !validIPv6(b[1:i]) {
			return false
		}
		i++ // ']'
	} else {
		for i < len(b) && b[i] != ':' {
			c := b[i]
			switch {
			case c == '%':
				// A percent-encoded host (RFC 3986 allows it in reg-name)
				// names no real server and can hide a NUL or a dot from
				// whoever routes on it: refused.
				return false
			case chars[c]&cHost == 0:
				return false
			}
			i++
		}
		if i == 0 {
			return false
		}
	}
	if i == len(b) {
		return !needPort
	}
	if b[i] != ':' {
		return false
	}
	port := b[i+1:]
	if len(port) == 0 || len(port) > 5 {
		return false
	}
	n := 0
	for _, c := range port {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n <= 65535
}

// validIPv6 reports whether b is an IPv6address (RFC 3986 3.2.2): eight
// groups of 1 to 4 hex digits, or fewer with one "::", the last two groups
// possibly written as a dotted IPv4 address.
func validIPv6(b []byte) bool {
	groups, ellipsis, i := 0, false, 0
	switch {
	case len(b) >= 2 && b[0] == ':' && b[1] == ':':
		ellipsis, i = true, 2
	case len(b) > 0 && b[0] == ':':
		return false
	}
	for i < len(b) {
		j := i
		for j < len(b) && j-i <= 4 && chars[b[j]]&cHex != 0 {
			j++
		}
		if j < len(b) && b[j] == '.' {
			if !validIPv4(b[i:]) {
				return false
			}
			groups += 2
			break
		}
		if j == i || j-i > 4 {
			return false
		}
		groups++
		if i = j; i == len(b) {
			break
		}
		if b[i] != ':' || i+1 == len(b) {
			return false
		}
		i++
		if b[i] == ':' {
			if ellipsis {
				return false
			}
			ellipsis = true
			i++
		}
	}
	if ellipsis {
		return groups <= 7
	}
	return groups == 8
}

// validIPv4 reports whether b is a dotted-decimal IPv4address (RFC 3986
// 3.2.2): four dec-octets, without leading zeros.
func validIPv4(b []byte) bool {
	octets, i := 0, 0
	for {
		j, n := i, 0
		for j < len(b) && j-i < 3 && '0' <= b[j] && b[j] <= '9' {
			n = n*10 + int(b[j]-'0')
			j++
		}
		if j == i || n > 255 || j-i > 1 && b[i] == '0' {
			return false
		}
		octets++
		if j == len(b) {
			return octets == 4
		}
		if b[j] != '.' || octets == 4 {
			return false
		}
		i = j + 1
	}
}
