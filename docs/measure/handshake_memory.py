#!/usr/bin/env python3
"""What a stalled TLS handshake costs lb: opens N connections to examples/tls.toml's
frontend (127.0.0.1:8443) that send half a ClientHello, then N that send a whole
one, and prints lb's RSS growth per connection for each.

usage: handshake_memory.py LB_BINARY N   (run from the repository's root)
"""
import socket, ssl, subprocess, time, os, sys
lb = subprocess.Popen([sys.argv[1], "-f", "examples/tls.toml"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ, GOMAXPROCS="1"))
time.sleep(1)
def rss(pid):
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS:"): return int(l.split()[1])
# capture a ClientHello with a memory BIO
ctx = ssl.create_default_context(); ctx.check_hostname=False; ctx.verify_mode=ssl.CERT_NONE
inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
o = ctx.wrap_bio(inc, out, server_hostname="localhost")
try: o.do_handshake()
except ssl.SSLWantReadError: pass
hello = out.read()
N = int(sys.argv[2])
for kind in ("half", "whole"):
    base = rss(lb.pid)
    socks = []
    for i in range(N):
        s = socket.create_connection(("127.0.0.1", 8443))
        s.sendall(hello[: len(hello)//2] if kind == "half" else hello)
        socks.append(s)
    time.sleep(2)
    grown = rss(lb.pid) - base
    print(f"{kind} ClientHello x{N}: RSS +{grown} KB, {grown/N:.2f} KB per stalled handshake")
    for s in socks: s.close()
    time.sleep(1)
lb.terminate(); lb.wait()
