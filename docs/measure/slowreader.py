#!/usr/bin/env python3
"""Slow-reader memory check: a server streams SIZE bytes as fast as it can to a
client that reads at RATE through lb; every INTERVAL seconds print what the
server has sent, what the client has received, and lb's RSS.

If lb buffered the stream, "sent" would run ahead of "received" and RSS would
grow; with working back-pressure "sent - received" stays at the size of the
kernel socket buffers and RSS stays flat.

usage: slowreader.py LB_BINARY [--mode tcp|http] [--size 1G] [--rate 1M] [--interval 10]
"""
import argparse, os, socket, subprocess, sys, tempfile, threading, time


def parse_size(s):
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(float(s[:-1]) * mult[s[-1]]) if s[-1] in mult else int(s)


def rss_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lb")
    ap.add_argument("--mode", default="tcp")
    ap.add_argument("--size", default="1G")
    ap.add_argument("--rate", default="1M")
    ap.add_argument("--interval", type=float, default=10)
    a = ap.parse_args()
    size, rate = parse_size(a.size), parse_size(a.rate)

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    sport = srv.getsockname()[1]
    sent = [0]

    def serve():
        c, _ = srv.accept()
        if a.mode == "http":
            c.recv(65536)
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
        chunk = b"\0" * 65536
        left = size
        while left > 0:
            n = c.send(chunk[: min(left, len(chunk))])
            sent[0] += n
            left -= n
        c.close()

    threading.Thread(target=serve, daemon=True).start()
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    fport = probe.getsockname()[1]
    probe.close()
    cfg = f"""
[global]
access_log = "off"
[frontend.f]
bind = ["127.0.0.1:{fport}"]
mode = "{a.mode}"
default_backend = "b"
[frontend.f.timeout]
client = "1h"
[backend.b]
[backend.b.timeout]
server = "1h"
tunnel = "1h"
[[backend.b.server]]
name = "s"
address = "127.0.0.1:{sport}"
"""
    path = os.path.join(tempfile.mkdtemp(), "lb.toml")
    open(path, "w").write(cfg)
    lb = subprocess.Popen([a.lb, "-f", path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                cl = socket.create_connection(("127.0.0.1", fport), timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        cl.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 256 << 10)
        if a.mode == "http":
            cl.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        else:
            cl.sendall(b"go")
        got, start, next_report = 0, time.time(), time.time()
        print(f"{'t (s)':>6} {'server sent':>14} {'client got':>14} {'in flight':>12} {'lb RSS KB':>10}")
        while got < size:
            t0 = time.time()
            b = cl.recv(min(65536, rate // 10))
            if not b:
                break
            got += len(b)
            # pace to RATE bytes per second
            ahead = got / rate - (time.time() - start)
            if ahead > 0:
                time.sleep(ahead)
            if time.time() >= next_report:
                print(f"{time.time()-start:6.0f} {sent[0]:14d} {got:14d} {sent[0]-got:12d} {rss_kb(lb.pid):10d}", flush=True)
                next_report += a.interval
        print(f"{time.time()-start:6.0f} {sent[0]:14d} {got:14d} {sent[0]-got:12d} {rss_kb(lb.pid):10d}  (done)")
    finally:
        lb.terminate()
        lb.wait()


if __name__ == "__main__":
    main()
