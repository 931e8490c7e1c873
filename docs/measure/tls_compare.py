#!/usr/bin/env python3
"""HTTPS side by side: lb against HAProxy, both terminating TLS, on one core.

It extends ../shared/bench/compare.py (same machine layout, same backend, same
figures; its helpers are imported from there) to TLS frontends configured the
same way in both proxies: one thread, `bind ... ssl crt FILE alpn http/1.1`
for HAProxy, a [frontend.NAME.tls] table for lb, each in front of the nginx
backend of compare.py. Certificates are made for the run with openssl: ECDSA
P-256 and RSA 2048.

Scenarios (wrk over HTTPS, one thread):
  hs    a new connection per request (Connection: close): full handshakes per second
  ka    keep-alive HTTPS, small responses
  big   keep-alive HTTPS, 1 MiB responses

usage: tls_compare.py [--rounds N] [--secs S] [--scen hs,ka,big] [--keys ecdsa,rsa] --lb PATH [PROXY...]
  PROXY: lb | haproxy (default both)
Needs what compare.py needs (wrk, nginx, haproxy) and openssl.
"""
import argparse, importlib.util, os, signal, statistics, subprocess, sys, time

BENCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "bench")
spec = importlib.util.spec_from_file_location("compare", os.path.join(BENCH, "compare.py"))
cmp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cmp)

TMP = "/tmp/lb-bench-tls"
PORT = 18443
URL = f"https://127.0.0.1:{PORT}/"
SCEN = {
    "hs": (["-c50", "-H", "Connection: close"], URL),
    "ka": (["-c50"], URL),
    "big": (["-c8"], URL + "f/1m.bin"),
}


def make_cert(kind):
    path = f"{TMP}/{kind}.pem"
    if not os.path.exists(path):
        key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] if kind == "ecdsa" else ["-newkey", "rsa:2048"]
        subprocess.run(["openssl", "req", "-x509", *key, "-nodes", "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                        "-keyout", f"{TMP}/{kind}.key", "-out", f"{TMP}/{kind}.crt"], check=True, capture_output=True)
        with open(path, "w") as f:
            f.write(open(f"{TMP}/{kind}.crt").read() + open(f"{TMP}/{kind}.key").read())
    return path


def configs(cert):
    hap = f"""global
  nbthread 1
  maxconn 6000
  tune.ssl.default-dh-param 2048
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
  http-reuse safe
frontend fe
  bind 127.0.0.1:{PORT} ssl crt {cert} alpn http/1.1
  default_backend be
backend be
  balance roundrobin
  server s1 127.0.0.1:18081
  server s2 127.0.0.1:18082
"""
    lb = f"""[global]
maxconn = 4000
access_log = "off"

[defaults.timeout]
connect = "5s"
client = "30s"
server = "30s"

[frontend.fe]
bind = ["127.0.0.1:{PORT}"]
mode = "http"
default_backend = "be"

[frontend.fe.tls]
cert = ["{cert}"]
alpn = ["http/1.1"]

[backend.be]
balance = "roundrobin"

[[backend.be.server]]
name = "s1"
address = "127.0.0.1:18081"

[[backend.be.server]]
name = "s2"
address = "127.0.0.1:18082"
"""
    open(f"{TMP}/haproxy.cfg", "w").write(hap)
    open(f"{TMP}/lb.toml", "w").write(lb)


def up(secs=10):
    end = time.time() + secs
    while time.time() < end:
        if subprocess.run(["curl", "-sk", "-o", "/dev/null", URL]).returncode == 0:
            return True
        time.sleep(0.1)
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--secs", type=int, default=5)
    ap.add_argument("--scen", default="hs,ka,big")
    ap.add_argument("--keys", default="ecdsa,rsa")
    ap.add_argument("--lb", required=True)
    ap.add_argument("proxies", nargs="*", default=["lb", "haproxy"])
    a = ap.parse_args()
    os.makedirs(TMP, exist_ok=True)
    os.makedirs(cmp.TMP, exist_ok=True)
    if not os.path.exists(f"{cmp.TMP}/1m.bin"):
        with open(f"{cmp.TMP}/1m.bin", "wb") as f:
            f.write(os.urandom(1 << 20))
    be = subprocess.Popen(["taskset", "-c", "1", "nginx", "-c", f"{BENCH}/nginx-backend.conf"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    res = {}
    try:
        if not cmp.wait_up("http://127.0.0.1:18081/"):
            raise SystemExit("backend nginx did not start")
        for key in a.keys.split(","):
            configs(make_cert(key))
            for _ in range(a.rounds):
                for p in a.proxies:
                    cmd, env = (["haproxy", "-f", f"{TMP}/haproxy.cfg"], {}) if p == "haproxy" else \
                        ([os.path.abspath(a.lb), "-f", f"{TMP}/lb.toml"], {"GOMAXPROCS": "1"})
                    pr = subprocess.Popen(["taskset", "-c", "0"] + cmd, env=dict(os.environ, **env),
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
                    try:
                        if not up():
                            print(f"{p}: did not come up", file=sys.stderr)
                            continue
                        for s in a.scen.split(","):
                            if key == "rsa" and s != "hs":
                                continue  # the key only matters for handshakes
                            c0 = cmp.tree_cpu(pr.pid)
                            r = cmp.run_wrk(*SCEN[s], a.secs)
                            r["cpu_us"] = (cmp.tree_cpu(pr.pid) - c0) * 1e6 / r["reqs"] if r["reqs"] else None
                            res.setdefault((s, key), {}).setdefault(p, []).append(r)
                    finally:
                        os.killpg(pr.pid, signal.SIGTERM)
                        try:
                            pr.wait(5)
                        except subprocess.TimeoutExpired:
                            os.killpg(pr.pid, signal.SIGKILL)
                            pr.wait()
                        time.sleep(0.3)
    finally:
        os.killpg(be.pid, signal.SIGTERM)
        be.wait()
    med = lambda rs, k: statistics.median([x[k] for x in rs if x.get(k) is not None] or [0])
    print("| scenario | key | proxy | req/s | MB/s | p50 ms | p99 ms | max ms | CPU us/req | errors | ratio lb/haproxy (req/s) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for (s, key), by in res.items():
        base = med(by.get("haproxy", []), "rps") if "haproxy" in by else None
        for p, rs in by.items():
            rps = med(rs, "rps")
            ratio = f"{rps / base:.2f}x" if p == "lb" and base else ""
            errs = max(x.get("non2xx", 0) + x.get("sockerr", 0) for x in rs)
            print(f"| {s} | {key} | {p} | {rps:.0f} | {med(rs, 'mbps'):.1f} | {med(rs, 'p50'):.2f} | {med(rs, 'p99'):.2f} | "
                  f"{max(x.get('max', 0) for x in rs):.1f} | {med(rs, 'cpu_us'):.1f} | {errs} | {ratio} |")


if __name__ == "__main__":
    main()
