#!/usr/bin/python3
"""grpcscope benchmark: the echo server driven by the closed-loop load
generator, directly and through grpcscope (and nghttpx / HAProxy when they are
installed), in alternating rounds within one run.

Standard library only. See bench/README.md for what is measured and how to
read the tables; docs/performance.md records the figures.

    /usr/bin/python3 bench/run.py [--build-dir build] [--rounds 3] [--seconds 5]
        [--warmup 2] [--pin split|none] [--scenarios unary,unary-1x1,...|tls|all]
        [--targets direct,grpcscope,nghttpx,haproxy] [--json-out FILE]

TLS scenarios (unary-tls, server-stream-tls, handshake-full,
handshake-resumed) generate a CA and a server certificate with the openssl
CLI in the run's temporary folder and speak TLS on every leg.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024

# name -> loadgen arguments. "ops" are calls (unary, server-stream) or round
# trips (bidi ping-pong), as the load generator counts them. tls: TLS on every
# leg (client -> proxy -> server, and client -> server direct);
# connection_per_call: a new channel and TCP connection (so a TLS handshake)
# for every call; tls_resume: the load generator's channels share one TLS
# session cache, so that new connections resume.
SCENARIOS = {
    "unary": dict(
        title="unary 100 B, 4 connections, 64 in flight",
        scenario="unary", connections=4, concurrency=64,
        request_size=100, response_size=100),
    "unary-1x1": dict(
        title="unary 100 B, one call at a time (1 connection, 1 in flight)",
        scenario="unary", connections=1, concurrency=1,
        request_size=100, response_size=100),
    "server-stream": dict(
        title="server streaming, 16 x 64 KiB messages per call, 2 connections, 8 calls in flight",
        scenario="server-stream", connections=2, concurrency=8,
        request_size=100, response_size=65536, stream_messages=16),
    "bidi": dict(
        title="bidi ping-pong 100 B, 2 connections, 16 streams in flight",
        scenario="bidi-pingpong", connections=2, concurrency=16,
        request_size=100, response_size=100),
    "unary-tls": dict(
        title="TLS on both legs: unary 100 B, 4 connections, 64 in flight",
        scenario="unary", connections=4, concurrency=64,
        request_size=100, response_size=100, tls=True),
    "server-stream-tls": dict(
        title="TLS on both legs: server streaming, 16 x 64 KiB messages per call, 2 connections, 8 calls in flight",
        scenario="server-stream", connections=2, concurrency=8,
        request_size=100, response_size=65536, stream_messages=16, tls=True),
    "handshake-full": dict(
        title="TLS, a new connection per unary call (full handshakes), 4 calls in flight",
        scenario="unary", connections=1, concurrency=4,
        request_size=100, response_size=100, tls=True, connection_per_call=True),
    "handshake-resumed": dict(
        title="TLS, a new connection per unary call, sessions resumed (shared client cache), 4 calls in flight",
        scenario="unary", connections=1, concurrency=4,
        request_size=100, response_size=100, tls=True, connection_per_call=True, tls_resume=True),
}
DEFAULT_SCENARIOS = ["unary", "unary-1x1", "server-stream", "bidi"]
TLS_SCENARIOS = ["unary-tls", "server-stream-tls", "handshake-full", "handshake-resumed"]
SCENARIO_GROUPS = {"default": DEFAULT_SCENARIOS, "tls": TLS_SCENARIOS, "all": DEFAULT_SCENARIOS + TLS_SCENARIOS}
# The name the server certificate is issued for (besides IP 127.0.0.1). The
# clients send it as SNI and check the certificate against it: gRPC keys its
# client session cache by SNI, and sends none to an IP address.
TLS_NAME = "localhost"
ALL_TARGETS = ["direct", "grpcscope", "grpcscope-off", "nghttpx", "haproxy"]
# grpcscope-off: the same binary with --measure=false (the relay alone), so one
# run shows what measurement costs.

# The performance targets on the 2-core machine (docs/performance.md).
TARGET_RPS_RATIO = 0.70        # unary: proxied RPS / direct RPS
TARGET_P50_ADDED_US = 100.0    # unary-1x1: proxied p50 - direct p50
TARGET_MEASURE_RATIO = 0.90    # unary: RPS with measurement / RPS with --measure=false


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# /proc readings

def proc_cpu_seconds(pid):
    """utime + stime of one process (all its threads), in seconds; None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    # The command name may contain spaces: fields start after the last ')'.
    fields = data[data.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK   # fields 14, 15 of stat(5)


def proc_children(pid):
    kids = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids.extend(int(x) for x in f.read().split())
    except OSError:
        pass
    return kids


def proc_tree(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(proc_children(p))
    return out


def tree_cpu_seconds(pid):
    total = 0.0
    for p in proc_tree(pid):
        c = proc_cpu_seconds(p)
        if c is not None:
            total += c
    return total


def proc_status_kib(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def tree_hwm_kib(pid):
    """Sum of VmHWM (peak resident set) over a process and its descendants."""
    total = 0
    for p in proc_tree(pid):
        v = proc_status_kib(p, "VmHWM")
        if v is not None:
            total += v
    return total


def tree_reset_hwm(pid):
    """Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0),
    so the peak can be read per round. Returns False where not permitted."""
    ok = True
    for p in proc_tree(pid):
        try:
            with open(f"/proc/{p}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            ok = False
    return ok


def system_cpu_seconds():
    """(busy, softirq) CPU time of the whole machine (all cores), in seconds.
    Softirq is apart: the kernel runs loopback packet delivery there and
    charges it to no process, so it is part of our own traffic's cost."""
    with open("/proc/stat") as f:
        parts = f.readline().split()
    vals = [int(x) for x in parts[1:]] + [0] * 10
    # user nice system idle iowait irq softirq steal (guest* are inside user/nice)
    busy = vals[0] + vals[1] + vals[2] + vals[5] + vals[7]
    return busy / CLK_TCK, vals[6] / CLK_TCK


def system_busy_seconds():
    busy, softirq = system_cpu_seconds()
    return busy + softirq


def machine_busy_fraction(interval=1.0):
    b0, t0 = system_busy_seconds(), time.monotonic()
    time.sleep(interval)
    b1, t1 = system_busy_seconds(), time.monotonic()
    return (b1 - b0) / (t1 - t0) / os.cpu_count()


def wait_quiet(max_wait, threshold):
    """Other work on this shared machine (builds, test suites) skews every
    figure: wait up to max_wait seconds for the machine to be mostly idle."""
    if max_wait <= 0:
        return None
    deadline = time.monotonic() + max_wait
    while True:
        busy = machine_busy_fraction(1.0)
        if busy <= threshold:
            return busy
        if time.monotonic() >= deadline:
            log(f"warning: machine still {busy * 100:.0f}% busy after waiting {max_wait:.0f} s; "
                "running anyway (see other_cpu_cores in the results)")
            return busy
        log(f"machine {busy * 100:.0f}% busy with other work; waiting for it to settle")
        time.sleep(4)


# --------------------------------------------------------------------------
# TLS material

OPENSSL_CNF = """[req]
distinguished_name = dn
prompt = no
[dn]
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


def make_certs(workdir, key_type):
    """A CA and a server certificate (SAN DNS:localhost, IP:127.0.0.1) signed
    by it, made with the openssl CLI in workdir/certs. key_type: p256 (ECDSA
    P-256) or rsa2048, for both. Returns the paths."""
    d = os.path.join(workdir, "certs")
    os.makedirs(d, exist_ok=True)
    cnf = os.path.join(d, "openssl.cnf")
    with open(cnf, "w") as f:
        f.write(OPENSSL_CNF)
    newkey = (["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] if key_type == "p256"
              else ["-newkey", "rsa:2048"])
    c = {k: os.path.join(d, v) for k, v in (("ca", "ca.pem"), ("ca_key", "ca.key"), ("cert", "server.pem"),
                                            ("key", "server.key"), ("csr", "server.csr"),
                                            ("combined", "server-combined.pem"))}
    cmds = [
        ["openssl", "req", "-x509", "-config", cnf, "-extensions", "v3_ca"] + newkey +
        ["-nodes", "-keyout", c["ca_key"], "-out", c["ca"], "-subj", "/CN=grpcscope-bench-ca", "-days", "2"],
        ["openssl", "req", "-new", "-config", cnf] + newkey +
        ["-nodes", "-keyout", c["key"], "-out", c["csr"], "-subj", "/CN=localhost"],
        ["openssl", "x509", "-req", "-in", c["csr"], "-CA", c["ca"], "-CAkey", c["ca_key"], "-set_serial", "2",
         "-days", "2", "-extfile", cnf, "-extensions", "server", "-out", c["cert"]],
    ]
    for cmd in cmds:
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"`{' '.join(cmd)}` exited {r.returncode}: {r.stderr.strip()[-300:]}")
    with open(c["combined"], "w") as out:   # HAProxy wants certificate and key in one file
        for part in (c["cert"], c["key"]):
            with open(part) as f:
                out.write(f.read())
    c["key_type"] = key_type
    return c


# --------------------------------------------------------------------------
# processes

def free_port():
    # A small race (the port may be taken before the proxy binds it); fine on
    # a loopback benchmark, and the proxy's start is checked below.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


NICE = 0   # set from --nice in main()
LOADGEN_HAS_THREADS = False   # set in main(): older load generators lack --threads


def boost(pid):
    """The kernel's autogroup scheduling (kernel.sched_autogroup_enabled=1, as
    here) shares CPU between sessions first and applies nice only within a
    session. Each process we start gets its own session, and that session's
    autogroup gets our priority, so that a compiler in another session
    cannot take the CPU from a process under measurement."""
    if not NICE:
        return
    try:
        with open(f"/proc/{pid}/autogroup", "w") as f:
            f.write(str(NICE))
    except OSError:
        pass


def pinned(cmd, cpus):
    if cpus is None:
        return cmd
    return ["taskset", "-c", cpus] + cmd


class Service:
    """A long-running process (echo server or proxy) with its log file."""

    def __init__(self, name, cmd, workdir):
        self.name = name
        self.cmd = cmd
        self.log_path = os.path.join(workdir, f"{name}.log")
        # Append mode: the child's stderr and our copy of its stdout share the file.
        self.log_file = open(self.log_path, "a")
        self.proc = None
        self.endpoint = None

    def start_and_read_line(self, prefix, timeout=15.0):
        """Starts the process and returns its stdout line that starts with prefix."""
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=self.log_file,
                                     text=True, start_new_session=True)
        boost(self.proc.pid)
        result = {}

        def reader():
            for line in self.proc.stdout:
                if "line" not in result and line.startswith(prefix):
                    result["line"] = line.strip()
                    done.set()
                self.log_file.write(line)
                self.log_file.flush()
            done.set()

        done = threading.Event()
        threading.Thread(target=reader, daemon=True).start()
        done.wait(timeout)
        if "line" not in result:
            self.stop()
            raise RuntimeError(f"{self.name} did not start: {' '.join(self.cmd)}; "
                               f"log: {self.log_tail()}")
        return result["line"]

    def start_and_wait_port(self, port):
        self.proc = subprocess.Popen(self.cmd, stdout=self.log_file, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        boost(self.proc.pid)
        if not wait_port(port, self.proc):
            self.stop()
            raise RuntimeError(f"{self.name} did not listen on port {port}: {' '.join(self.cmd)}; "
                               f"log: {self.log_tail()}")
        self.endpoint = f"127.0.0.1:{port}"

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=20.0):
        """SIGTERM, wait; returns the exit status (None if it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        return self.proc.returncode

    def log_tail(self, n=5):
        try:
            self.log_file.flush()
            with open(self.log_path) as f:
                lines = f.read().splitlines()
            return " | ".join(lines[-n:]) if lines else "(empty)"
        except OSError:
            return "(unreadable)"

    def log_lines(self):
        try:
            self.log_file.flush()
            with open(self.log_path) as f:
                return f.read().splitlines()
        except OSError:
            return []


def echo_server_has_tls(path):
    """Whether grpcscope-echo-server takes --tls-cert/--tls-key (its usage
    line lists its flags)."""
    try:
        r = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "--tls-cert" in r.stderr + r.stdout


def start_echo_server(bins, cpus, workdir, certs=None):
    """The h2c echo server, or with certs one serving TLS with them."""
    if certs is None:
        cmd, name = [bins["echo"], "--listen", "127.0.0.1:0"], "echo-server"
    else:
        cmd = [bins["echo"], "--listen", "127.0.0.1:0", "--tls-cert", certs["cert"], "--tls-key", certs["key"]]
        name = "echo-server-tls"
    s = Service(name, pinned(cmd, cpus), workdir)
    line = s.start_and_read_line("echo server listening on ")
    s.endpoint = line.rsplit(" ", 1)[1]
    return s


def grpcscope_tls_args(certs):
    """TLS termination toward the client, origination toward the server
    (verified against the bench CA, with the same server name the direct
    client uses)."""
    return ["--tls-cert", certs["cert"], "--tls-key", certs["key"],
            "--upstream-tls", "--upstream-ca", certs["ca"], "--upstream-sni", TLS_NAME]


def start_grpcscope(bins, upstream, cpus, workdir, extra_args, tag, certs=None, log_level="warn"):
    cmd = [bins["grpcscope"], "--listen", "127.0.0.1:0", "--upstream", upstream,
           "--admin", "127.0.0.1:0", "--workers", "1", "--log-level", log_level]
    if certs is not None:
        cmd += grpcscope_tls_args(certs)
    cmd += extra_args
    s = Service(f"grpcscope-{tag}", pinned(cmd, cpus), workdir)
    line = s.start_and_read_line("grpcscope listening on ")
    # "grpcscope listening on 127.0.0.1:41234 (h2c) -> upstream ..."
    s.endpoint = line.split()[3]
    return s


def start_nghttpx(upstream, cpus, workdir, tag, certs=None):
    port = free_port()
    host, uport = upstream.rsplit(":", 1)
    if certs is None:
        cmd = ["nghttpx", "--conf=/dev/null", f"--frontend=127.0.0.1,{port};no-tls",
               f"--backend={host},{uport};;proto=h2;no-tls"]
    else:
        # TLS frontend (key and certificate are positional), TLS backend
        # verified against the CA with SNI TLS_NAME.
        cmd = ["nghttpx", "--conf=/dev/null", f"--frontend=127.0.0.1,{port}",
               f"--backend={host},{uport};;proto=h2;tls;sni={TLS_NAME}", f"--cacert={certs['ca']}",
               "--no-ocsp", certs["key"], certs["cert"]]
    cmd += ["--workers=1", "--log-level=WARN", "--errorlog-file=/dev/stderr"]   # otherwise as shipped
    s = Service(f"nghttpx-{tag}", pinned(cmd, cpus), workdir)
    s.start_and_wait_port(port)
    return s


def start_haproxy(upstream, cpus, workdir, tag, certs=None):
    port = free_port()
    bind = f"bind 127.0.0.1:{port} proto h2"
    server = f"server s1 {upstream} proto h2"
    if certs is not None:
        bind = f"bind 127.0.0.1:{port} ssl crt {certs['combined']} alpn h2"
        server = (f"server s1 {upstream} ssl verify required ca-file {certs['ca']} "
                  f"sni str({TLS_NAME}) alpn h2 proto h2")
    cfg = os.path.join(workdir, f"haproxy-{tag}.cfg")
    with open(cfg, "w") as f:
        f.write(f"""global
    nbthread 1
    maxconn 1000

defaults
    mode http
    timeout connect 5s
    timeout client 120s
    timeout server 120s

frontend fe
    {bind}
    default_backend be

backend be
    {server}
""")
    cmd = ["haproxy", "-db", "-f", cfg]
    s = Service(f"haproxy-{tag}", pinned(cmd, cpus), workdir)
    s.start_and_wait_port(port)
    return s


# --------------------------------------------------------------------------
# one load generator run

def run_loadgen(bins, cpus, target, sc, seconds, warmup=0.0, certs=None):
    cmd = [bins["loadgen"], "--target", target, "--scenario", sc["scenario"],
           "--connections", str(sc["connections"]), "--concurrency", str(sc["concurrency"]),
           "--request-size", str(sc["request_size"]), "--response-size", str(sc["response_size"]),
           "--duration", f"{seconds:g}", "--warmup", f"{warmup:g}", "--json"]
    if "stream_messages" in sc:
        cmd += ["--stream-messages", str(sc["stream_messages"])]
    if sc.get("tls"):
        cmd += ["--tls-ca", certs["ca"], "--tls-server-name", TLS_NAME]
        if sc.get("tls_resume"):
            cmd += ["--tls-resume"]
    if sc.get("connection_per_call"):
        cmd += ["--connection-per-call"]
    if cpus is not None and LOADGEN_HAS_THREADS:
        # Its default (one completion-queue thread per core, up to one per
        # connection) counts the machine's cores, not the one it is pinned to.
        cmd += ["--threads", str(len(cpus.split(",")))]
    cmd = pinned(cmd, cpus)
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    boost(p.pid)
    # A hung proxy must not hang the benchmark.
    watchdog = threading.Timer(seconds + warmup + 60, p.kill)
    watchdog.daemon = True
    watchdog.start()
    try:
        out = p.stdout.read()
        err = p.stderr.read()
        # wait4 gives the load generator's own CPU time (rusage of the child).
        _, status, ru = os.wait4(p.pid, 0)
    except BaseException:
        p.kill()   # interrupted: do not leave it running in its own session
        raise
    finally:
        watchdog.cancel()
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError(f"load generator exited {p.returncode}: {err.strip()[-500:]}")
    result = None
    for line in out.splitlines():
        if line.startswith("{"):
            result = json.loads(line)
    if result is None:
        raise RuntimeError(f"load generator printed no JSON: {out[-300:]} {err[-300:]}")
    result["loadgen_cpu_s"] = ru.ru_utime + ru.ru_stime
    result["command"] = " ".join(cmd)
    return result


def measure_round(bins, lg_cpus, target_name, endpoint, sc, seconds, server, proxy, certs=None):
    """One measured run of the load generator against one target."""
    hwm_ok = tree_reset_hwm(proxy.proc.pid) if proxy else False
    sys0, soft0 = system_cpu_seconds()
    srv0 = tree_cpu_seconds(server.proc.pid)
    px0 = tree_cpu_seconds(proxy.proc.pid) if proxy else 0.0
    t0 = time.monotonic()
    r = run_loadgen(bins, lg_cpus, endpoint, sc, seconds, certs=certs)
    wall = time.monotonic() - t0
    px1 = tree_cpu_seconds(proxy.proc.pid) if proxy else 0.0
    srv1 = tree_cpu_seconds(server.proc.pid)
    sys1, soft1 = system_cpu_seconds()
    ops = r["operations"]
    row = {
        "target": target_name,
        "rps": r["rps"],
        "p50_us": r["latency_us"]["p50"],
        "p90_us": r["latency_us"]["p90"],
        "p99_us": r["latency_us"]["p99"],
        "mb_per_s": r["mb_per_s"],
        "operations": ops,
        "errors": r["errors"],
        "errors_by_status": r["errors_by_status"],
        "seconds": r["seconds"],
        "wall_s": wall,
        "loadgen_cores": r["loadgen_cpu_s"] / wall,
        "server_cores": (srv1 - srv0) / wall,
    }
    if r.get("tls_handshakes"):
        # New connections whose handshake the client saw resume (its auth
        # context): the client leg only; the proxy's upstream leg is in its log.
        row["tls_handshakes"] = r["tls_handshakes"]
        row["tls_resumed"] = r["tls_resumed"]
    ours = r["loadgen_cpu_s"] + (srv1 - srv0) + (px1 - px0)
    # Everything but softirq that none of our processes used: other users.
    row["other_cpu_cores"] = max(0.0, ((sys1 - sys0) - ours) / wall)
    row["softirq_cores"] = (soft1 - soft0) / wall
    if proxy:
        cpu = px1 - px0
        row["proxy_cpu_s"] = cpu
        row["proxy_cores"] = cpu / wall
        # The window of the load generator is the whole run (no --warmup in
        # measured rounds), so its operations match the CPU delta closely;
        # the connection set-up and teardown are included.
        row["proxy_cpu_s_per_100k"] = cpu / ops * 1e5 if ops else None
        row["proxy_cpu_s_per_gb"] = cpu / (r["mb_per_s"] * r["seconds"] / 1e3) if r["mb_per_s"] else None
        row["proxy_peak_rss_mib"] = tree_hwm_kib(proxy.proc.pid) / 1024.0
        row["peak_rss_per_round"] = hwm_ok
        row["proxy_alive"] = proxy.alive()
    return row


HANDSHAKE_LINE = re.compile(r"\] (\w+) TLS handshake \d+ us .* resumed=(true|false)")


def resume_check(bins, lg_cpus, px_cpus, server, sc, certs, workdir, tag, seconds, extra_args, results):
    """Runs the scenario's load for `seconds` through a grpcscope that logs at
    debug level (not a measured round: debug logging costs CPU), and counts
    the TLS handshakes its log reports, per leg (downstream: client ->
    grpcscope; upstream: grpcscope -> server), resumed or not."""
    proxy = start_grpcscope(bins, server.endpoint, px_cpus, workdir, extra_args, f"{tag}-debug", certs,
                            log_level="debug")
    counts = {}
    try:
        r = run_loadgen(bins, lg_cpus, proxy.endpoint, sc, seconds, certs=certs)
    except RuntimeError as e:
        results["problems"].append(f"[{tag}] resume check: {e}")
        r = None
    finally:
        proxy.stop()
    for line in proxy.log_lines():
        m = HANDSHAKE_LINE.search(line)
        if m:
            leg = counts.setdefault(m.group(1), {"true": 0, "false": 0})
            leg[m.group(2)] += 1
    out = {"seconds": seconds, "log": proxy.log_path, "calls": r["operations"] if r else None,
           "client_reported": {"handshakes": r.get("tls_handshakes"), "resumed": r.get("tls_resumed")} if r else None,
           "legs": {leg: {"handshakes": c["true"] + c["false"], "resumed": c["true"]} for leg, c in counts.items()}}
    return out


def print_resume_check(check):
    legs = ", ".join(f"{leg} {c['resumed']} of {c['handshakes']} resumed"
                     + (f" ({c['resumed'] / c['handshakes'] * 100:.1f} %)" if c["handshakes"] else "")
                     for leg, c in sorted(check["legs"].items()))
    cr = check.get("client_reported") or {}
    print(f"grpcscope log at debug level, {check['seconds']:g} s of the same load: "
          f"{legs or 'no TLS handshake lines'}; the client saw {cr.get('resumed')} of "
          f"{cr.get('handshakes')} resumed")


# --------------------------------------------------------------------------
# aggregation and printing

def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def summarize(rounds_by_target):
    """Medians across rounds, and proxied/direct ratios paired per round."""
    summary = {}
    direct = rounds_by_target.get("direct", [])
    for name, rows in rounds_by_target.items():
        if not rows:
            continue
        s = {k: median([r.get(k) for r in rows]) for k in
             ("rps", "p50_us", "p90_us", "p99_us", "mb_per_s", "loadgen_cores", "server_cores",
              "other_cpu_cores", "softirq_cores", "proxy_cores", "proxy_cpu_s_per_100k", "proxy_cpu_s_per_gb")}
        s["proxy_peak_rss_mib"] = max((r.get("proxy_peak_rss_mib") or 0 for r in rows), default=0) or None
        s["errors"] = sum(r["errors"] for r in rows)
        hs = sum(r.get("tls_handshakes", 0) for r in rows)
        if hs:
            s["tls_handshakes"] = hs
            s["tls_resumed_share"] = sum(r.get("tls_resumed", 0) for r in rows) / hs
        s["rounds"] = len(rows)
        rps_list = [r["rps"] for r in rows]
        s["rps_spread"] = (max(rps_list) - min(rps_list)) / s["rps"] if s["rps"] else None
        if name != "direct" and direct:
            by_round = {d["round"]: d for d in direct}
            pairs = [(by_round[r["round"]], r) for r in rows if r["round"] in by_round]
            s["rps_ratio"] = median([p["rps"] / d["rps"] if d["rps"] else None for d, p in pairs])
            s["mb_ratio"] = median([p["mb_per_s"] / d["mb_per_s"] if d["mb_per_s"] else None
                                    for d, p in pairs])
            s["p50_added_us"] = median([p["p50_us"] - d["p50_us"] for d, p in pairs])
            s["p99_added_us"] = median([p["p99_us"] - d["p99_us"] for d, p in pairs])
        off = rounds_by_target.get("grpcscope-off", [])
        if name == "grpcscope" and off:
            # What measurement costs: grpcscope against itself with --measure=false, paired per round.
            by_round = {o["round"]: o for o in off}
            s["rps_vs_off"] = median([r["rps"] / by_round[r["round"]]["rps"]
                                      for r in rows if r["round"] in by_round and by_round[r["round"]]["rps"]])
            s["cpu_vs_off"] = median([r["proxy_cpu_s_per_100k"] / by_round[r["round"]]["proxy_cpu_s_per_100k"]
                                      for r in rows if r["round"] in by_round
                                      and r.get("proxy_cpu_s_per_100k")
                                      and by_round[r["round"]].get("proxy_cpu_s_per_100k")])
        summary[name] = s
    return summary


def fmt(v, spec, dash="-"):
    return dash if v is None else format(v, spec)


def print_table(title, summary, out=sys.stdout):
    cols = [("target", 10, lambda s, n: n),
            ("RPS", 9, lambda s, n: fmt(s["rps"], ".0f")),
            ("p50 µs", 8, lambda s, n: fmt(s["p50_us"], ".0f")),
            ("p99 µs", 8, lambda s, n: fmt(s["p99_us"], ".0f")),
            ("MB/s", 8, lambda s, n: fmt(s["mb_per_s"], ".1f")),
            ("CPU s/100k", 10, lambda s, n: fmt(s["proxy_cpu_s_per_100k"], ".2f")),
            ("proxy cores", 11, lambda s, n: fmt(s["proxy_cores"], ".2f")),
            ("RSS MiB", 8, lambda s, n: fmt(s["proxy_peak_rss_mib"], ".1f")),
            ("RPS ratio", 9, lambda s, n: fmt(s.get("rps_ratio", 1.0 if n == "direct" else None), ".2f")),
            ("MB/s ratio", 10, lambda s, n: fmt(s.get("mb_ratio", 1.0 if n == "direct" else None), ".2f")),
            ("p50 +µs", 8, lambda s, n: fmt(s.get("p50_added_us"), "+.0f")),
            ("p99 +µs", 8, lambda s, n: fmt(s.get("p99_added_us"), "+.0f")),
            ("errors", 6, lambda s, n: str(s["errors"])),
            ("lg/srv/other cores", 18, lambda s, n: "{}/{}/{}".format(
                fmt(s["loadgen_cores"], ".2f"), fmt(s["server_cores"], ".2f"),
                fmt(s["other_cpu_cores"], ".2f"))),
            ]
    if any(s.get("rps_vs_off") is not None for s in summary.values()):
        # grpcscope with measurement against grpcscope --measure=false.
        cols.insert(9, ("vs off", 6, lambda s, n: fmt(s.get("rps_vs_off"), ".2f")))
    if any(s.get("tls_handshakes") for s in summary.values()):
        # A new connection per call: ops/s is also the rate of TLS handshakes
        # the client made; the share of them that resumed a session.
        cols.insert(13, ("resumed", 7, lambda s, n: "-" if s.get("tls_resumed_share") is None
                         else f"{s['tls_resumed_share'] * 100:.0f} %"))
    print(f"\n## {title}", file=out)
    print("| " + " | ".join(c[0] for c in cols) + " |", file=out)
    print("|" + "|".join("-" * (max(c[1], len(c[0])) + 2) for c in cols) + "|", file=out)
    for name, s in summary.items():
        cells = [c[2](s, name).rjust(max(c[1], len(c[0]))) if i else c[2](s, name).ljust(max(c[1], len(c[0])))
                 for i, c in enumerate(cols)]
        print("| " + " | ".join(cells) + " |", file=out)
    out.flush()


# --------------------------------------------------------------------------

def find_binaries(build_dir, need_tls_server=False):
    bins = {}
    names = {"grpcscope": "grpcscope", "echo": "grpcscope-echo-server", "loadgen": "grpcscope-loadgen"}
    for key, name in names.items():
        for cand in (os.path.join(build_dir, name), os.path.join(build_dir, "test", "support", name)):
            if os.access(cand, os.X_OK):
                bins[key] = cand
                break
        else:
            sys.exit(f"bench: {name} not found in {build_dir} (build it: cmake --build {build_dir} "
                     f"--target grpcscope grpcscope-echo-server grpcscope-loadgen)")
    if need_tls_server and not echo_server_has_tls(bins["echo"]):
        sys.exit(f"bench: the TLS scenarios need a grpcscope-echo-server with --tls-cert/--tls-key "
                 f"(commit e70422c or later); {bins['echo']} has none: rebuild it")
    if need_tls_server and shutil.which("openssl") is None:
        sys.exit("bench: the TLS scenarios need the openssl CLI (Debian package openssl)")
    return bins


def tool_version(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).splitlines()[0].strip()
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return None


def machine_info():
    cpu = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    meminfo = None
    try:
        with open("/proc/meminfo") as f:
            meminfo = int(f.readline().split()[1]) // 1024
    except OSError:
        pass
    commit = None
    try:
        commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True).stdout.strip() or None
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu_model": cpu, "mem_mib": meminfo,
            "kernel": platform.release(), "python": platform.python_version(), "commit": commit}


def check_targets(results):
    """Issue 2's targets, on the grpcscope rows."""
    checks = []
    by_name = {s["name"]: s["summary"] for s in results["scenarios"]}
    gs = by_name.get("unary", {}).get("grpcscope")
    if gs and gs.get("rps_ratio") is not None:
        checks.append({"check": f"unary RPS proxied/direct >= {TARGET_RPS_RATIO:.2f}",
                       "value": round(gs["rps_ratio"], 3), "met": gs["rps_ratio"] >= TARGET_RPS_RATIO})
    if gs and gs.get("rps_vs_off") is not None:
        checks.append({"check": f"unary RPS measuring / --measure=false >= {TARGET_MEASURE_RATIO:.2f}",
                       "value": round(gs["rps_vs_off"], 3), "met": gs["rps_vs_off"] >= TARGET_MEASURE_RATIO})
    gs = by_name.get("unary-1x1", {}).get("grpcscope")
    if gs and gs.get("p50_added_us") is not None:
        checks.append({"check": f"unary-1x1 p50 added <= {TARGET_P50_ADDED_US:.0f} µs",
                       "value": gs["p50_added_us"], "met": gs["p50_added_us"] <= TARGET_P50_ADDED_US})
    return checks


def print_checks_and_problems(results):
    if results.get("checks"):
        print("\nTargets (issues 2 and 4):")
        for c in results["checks"]:
            print(f"  {'met   ' if c['met'] else 'MISSED'} {c['check']}: {c['value']}")
    if results.get("problems"):
        print("\nProblems seen:")
        for p in results["problems"]:
            print(f"  - {p}")


def print_saved(path):
    """--from-json: the tables of an earlier run, e.g. for docs/performance.md."""
    with open(path) as f:
        results = json.load(f)
    m, st = results["machine"], results["settings"]
    print(f"grpcscope benchmark {results['started']}: {m['cpus']} CPUs ({m['cpu_model']}), "
          f"commit {m['commit']}, {st['rounds']} rounds x {st['seconds']:g} s, "
          f"nice {st.get('nice', 0)}, pin={st['pin']}" + (f"; {st['label']}" if st.get("label") else ""))
    for sc in results["scenarios"]:
        print_table(sc["title"], sc["summary"])
        if sc.get("discarded_rounds"):
            print(f"({len(sc['discarded_rounds'])} round(s) discarded for other load on the machine)")
        if sc.get("grpcscope_log_handshakes"):
            print_resume_check(sc["grpcscope_log_handshakes"])
    print_checks_and_problems(results)


def on_sigterm(signum, frame):
    raise KeyboardInterrupt


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=os.path.join(REPO, "build"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5.0, help="measured seconds per round and target")
    ap.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds per target before the rounds")
    ap.add_argument("--scenarios", default=",".join(DEFAULT_SCENARIOS),
                    help="comma list of " + ",".join(SCENARIOS) + "; or a group: " + ",".join(SCENARIO_GROUPS))
    ap.add_argument("--targets", default=",".join(ALL_TARGETS),
                    help="comma list; nghttpx/haproxy are skipped when not installed")
    ap.add_argument("--pin", choices=["split", "none"], default="split",
                    help="split: load generator + echo server on CPU 0, proxy on CPU 1 (default); "
                         "none: no pinning")
    ap.add_argument("--quiet-wait", type=float, default=120.0,
                    help="wait up to this many seconds for the machine to be idle before each scenario")
    ap.add_argument("--quiet-threshold", type=float, default=0.15,
                    help="machine busy fraction counted as idle")
    ap.add_argument("--nice", type=int, default=-20 if os.geteuid() == 0 else 0,
                    help="scheduling priority of the harness and every process it starts "
                         "(default -20 as root: other work on the machine then disturbs less)")
    ap.add_argument("--max-other-cores", type=float, default=0.25,
                    help="discard and repeat a round in which other processes used more CPU than this")
    ap.add_argument("--retries", type=int, default=4,
                    help="repeated rounds allowed per scenario before a noisy round is kept")
    ap.add_argument("--grpcscope-arg", action="append", default=[],
                    help="extra argument for grpcscope (repeatable)")
    ap.add_argument("--tls-key-type", choices=["p256", "rsa2048"], default="p256",
                    help="key of the generated CA and server certificate for the TLS scenarios "
                         "(ECDSA P-256 or RSA 2048)")
    ap.add_argument("--resume-check", type=float, default=3.0, metavar="S",
                    help="after each new-connection-per-call scenario, run its load for S seconds through a "
                         "grpcscope at --log-level debug and count the TLS handshakes it logged as resumed, "
                         "per leg (not a measured round; 0: skip)")
    ap.add_argument("--label", help="free text recorded with the results (e.g. which source the binaries came from)")
    ap.add_argument("--json-out", help="write every round and the summaries to this file")
    ap.add_argument("--from-json", metavar="FILE", help="print the tables of a saved --json-out file and exit")
    args = ap.parse_args()
    if args.from_json:
        print_saved(args.from_json)
        return 0

    scenarios = []
    for s in args.scenarios.split(","):
        scenarios += SCENARIO_GROUPS.get(s, [s] if s else [])
    for s in scenarios:
        if s not in SCENARIOS:
            sys.exit(f"bench: unknown scenario {s} (known: {', '.join(SCENARIOS)}; groups: "
                     f"{', '.join(SCENARIO_GROUPS)})")
    need_tls = any(SCENARIOS[s].get("tls") for s in scenarios)
    bins = find_binaries(os.path.abspath(args.build_dir), need_tls)
    if args.nice:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, args.nice)   # inherited by every child
        except OSError as e:
            log(f"cannot set priority {args.nice}: {e}; running at {os.getpriority(os.PRIO_PROCESS, 0)}")
            args.nice = os.getpriority(os.PRIO_PROCESS, 0)
    global NICE, LOADGEN_HAS_THREADS
    NICE = args.nice
    help_text = subprocess.run([bins["loadgen"], "--help"], capture_output=True, text=True).stderr
    LOADGEN_HAS_THREADS = "--threads" in help_text
    targets = [t for t in args.targets.split(",") if t]
    for t in targets:
        if t not in ALL_TARGETS:
            sys.exit(f"bench: unknown target {t} (known: {', '.join(ALL_TARGETS)})")
    if "direct" not in targets:
        targets.insert(0, "direct")
    skipped = {}
    for t in ("nghttpx", "haproxy"):
        if t in targets and shutil.which(t) is None:
            skipped[t] = "not installed"
            targets.remove(t)
    if skipped:
        log("skipping: " + ", ".join(f"{k} ({v})" for k, v in skipped.items()))

    if args.pin == "split" and (os.cpu_count() or 1) < 2:
        log("one CPU only: not pinning")
        args.pin = "none"
    if args.pin == "split" and shutil.which("taskset") is None:
        log("taskset not found: not pinning")
        args.pin = "none"
    lg_cpus, px_cpus = ("0", "1") if args.pin == "split" else (None, None)

    info = machine_info()
    versions = {"nghttpx": tool_version(["nghttpx", "--version"]) if "nghttpx" in targets else None,
                "haproxy": tool_version(["haproxy", "-v"]) if "haproxy" in targets else None}
    started = datetime.datetime.now(datetime.timezone.utc)
    results = {
        "started": started.isoformat(timespec="seconds"),
        "machine": info, "versions": versions,
        "settings": {"rounds": args.rounds, "seconds": args.seconds, "warmup": args.warmup,
                     "nice": args.nice, "max_other_cores": args.max_other_cores,
                     "pin": args.pin, "loadgen_server_cpus": lg_cpus, "proxy_cpus": px_cpus,
                     "targets": targets, "skipped": skipped, "binaries": bins,
                     "binary_mtimes": {k: datetime.datetime.fromtimestamp(
                         os.path.getmtime(v), datetime.timezone.utc).isoformat(timespec="seconds")
                         for k, v in bins.items()},
                     "tls_key_type": args.tls_key_type if need_tls else None,
                     "label": args.label, "loadgen_threads_flag": LOADGEN_HAS_THREADS,
                     "grpcscope_args": args.grpcscope_arg},
        "scenarios": [], "problems": [],
    }
    print(f"grpcscope benchmark {results['started']}: {info['cpus']} CPUs ({info['cpu_model']}), "
          f"commit {info['commit']}, {args.rounds} rounds x {args.seconds:g} s, nice {args.nice}, pin={args.pin}"
          + (f" (load generator + server on CPU {lg_cpus}, proxy on CPU {px_cpus})" if lg_cpus else "")
          + (f"; {args.label}" if args.label else ""))
    sys.stdout.flush()

    # SIGTERM ends the run like Ctrl-C: the finally below stops what we started.
    signal.signal(signal.SIGTERM, on_sigterm)
    workdir = tempfile.mkdtemp(prefix="grpcscope-bench-")
    servers = {}   # "h2c" / "tls" -> the echo server, started when first needed
    certs = None
    proxies = {}
    exit_code = 0
    try:
        for sc_name in scenarios:
            sc = SCENARIOS[sc_name]
            kind = "tls" if sc.get("tls") else "h2c"
            if kind == "tls" and certs is None:
                certs = make_certs(workdir, args.tls_key_type)
                log(f"TLS: CA and server certificate ({args.tls_key_type}) in {os.path.dirname(certs['ca'])}")
            if kind not in servers:
                servers[kind] = start_echo_server(bins, lg_cpus, workdir, certs if kind == "tls" else None)
                log(f"echo server ({kind}) on {servers[kind].endpoint}; logs in {workdir}")
            server = servers[kind]
            sc_certs = certs if kind == "tls" else None
            busy = wait_quiet(args.quiet_wait, args.quiet_threshold)
            # Fresh proxies per scenario: peak RSS and errors belong to it.
            proxies = {}
            sc_targets = ["direct"]
            for t in targets:
                try:
                    if t in ("grpcscope", "grpcscope-off"):
                        extra = args.grpcscope_arg + (["--measure=false"] if t == "grpcscope-off" else [])
                        proxies[t] = start_grpcscope(bins, server.endpoint, px_cpus, workdir,
                                                     extra, f"{sc_name}-{t}", sc_certs)
                    elif t == "nghttpx":
                        proxies[t] = start_nghttpx(server.endpoint, px_cpus, workdir, sc_name, sc_certs)
                    elif t == "haproxy":
                        proxies[t] = start_haproxy(server.endpoint, px_cpus, workdir, sc_name, sc_certs)
                    else:
                        continue
                    sc_targets.append(t)
                except RuntimeError as e:
                    msg = f"[{sc_name}] {e}"
                    log(msg)
                    results["problems"].append(msg)
            endpoints = {t: (server.endpoint if t == "direct" else proxies[t].endpoint) for t in sc_targets}
            log(f"[{sc_name}] {sc['title']}: targets " +
                ", ".join(f"{t}={e}" for t, e in endpoints.items()))
            # Warm-up: connections, allocator pools, page cache, CPU clocks.
            if args.warmup > 0:
                for t in sc_targets:
                    try:
                        run_loadgen(bins, lg_cpus, endpoints[t], sc, args.warmup, certs=sc_certs)
                    except RuntimeError as e:
                        log(f"[{sc_name}] warm-up {t}: {e}")
            rounds = {t: [] for t in sc_targets}
            discarded = []
            dead = set()
            done_rounds, attempts = 0, 0
            while done_rounds < args.rounds:
                attempts += 1
                last_chance = attempts > args.rounds + args.retries
                label = done_rounds + 1
                this_round = {}
                for t in sc_targets:
                    if t in dead:
                        continue
                    proxy = proxies.get(t)
                    try:
                        row = measure_round(bins, lg_cpus, t, endpoints[t], sc, args.seconds, server, proxy,
                                            sc_certs)
                    except RuntimeError as e:
                        msg = f"[{sc_name}] round {label} {t}: {e}"
                        log(msg)
                        results["problems"].append(msg)
                        if proxy and not proxy.alive():
                            dead.add(t)
                            results["problems"].append(
                                f"[{sc_name}] {t} exited with {proxy.proc.returncode}; log: {proxy.log_tail()}")
                        continue
                    row["round"] = label
                    this_round[t] = row
                    log(f"[{sc_name}] round {label} {t:9s} {row['rps']:9.0f} ops/s  p50 {row['p50_us']:6.0f} µs"
                        f"  p99 {row['p99_us']:6.0f} µs  {row['mb_per_s']:8.1f} MB/s"
                        + (f"  proxy {row['proxy_cores']:.2f} cores" if proxy else "")
                        + (f"  errors {row['errors']}" if row["errors"] else "")
                        + f"  other {row['other_cpu_cores']:.2f} cores")
                    if row["errors"]:
                        results["problems"].append(
                            f"[{sc_name}] round {label} {t}: {row['errors']} errors {row['errors_by_status']}")
                    if proxy and not row.get("proxy_alive", True):
                        dead.add(t)
                        results["problems"].append(
                            f"[{sc_name}] {t} died during round {label}; log: {proxy.log_tail()}")
                # Work of other users of the machine during a round skews the
                # whole round: it is discarded and run again (pairs stay whole).
                other = max((r["other_cpu_cores"] for r in this_round.values()), default=0.0)
                if other > args.max_other_cores and not last_chance:
                    log(f"[{sc_name}] round {label} discarded: other processes used {other:.2f} cores")
                    discarded.append(this_round)
                    wait_quiet(args.quiet_wait, args.quiet_threshold)
                    continue
                if other > args.max_other_cores:
                    results["problems"].append(
                        f"[{sc_name}] round {label} kept although other processes used {other:.2f} cores "
                        "(out of retries)")
                for t, row in this_round.items():
                    rounds[t].append(row)
                done_rounds += 1
            # Stop the proxies: a clean drain is part of the contract (exit 0).
            for t, proxy in proxies.items():
                rc = proxy.stop()
                noisy = [l for l in proxy.log_lines()
                         if l.strip() and not l.startswith("grpcscope listening on ")]
                if t in ("grpcscope", "grpcscope-off"):
                    if rc != 0:
                        results["problems"].append(f"[{sc_name}] grpcscope exit status {rc} on SIGTERM "
                                                   f"(expected 0); log: {proxy.log_tail()}")
                    if noisy:
                        results["problems"].append(f"[{sc_name}] grpcscope logged {len(noisy)} lines at "
                                                   f"warn or above, e.g.: {' | '.join(noisy[:3])}")
            proxies = {}
            summary = summarize(rounds)
            print_table(sc["title"], summary)
            entry = {"name": sc_name, "title": sc["title"], "params": sc,
                     "machine_busy_before": busy, "rounds": rounds,
                     "discarded_rounds": discarded, "summary": summary}
            if sc.get("connection_per_call") and "grpcscope" in sc_targets and args.resume_check > 0:
                entry["grpcscope_log_handshakes"] = resume_check(
                    bins, lg_cpus, px_cpus, server, sc, sc_certs, workdir, sc_name, args.resume_check,
                    args.grpcscope_arg, results)
                print_resume_check(entry["grpcscope_log_handshakes"])
            results["scenarios"].append(entry)
        for kind, server in servers.items():
            if not server.alive():
                results["problems"].append(f"echo server ({kind}) exited early; log: {server.log_tail()}")
    except RuntimeError as e:
        results["problems"].append(str(e))
        log(f"bench: {e}")
        exit_code = 1
    except KeyboardInterrupt:
        results["problems"].append("interrupted")
        exit_code = 130
    finally:
        for p in proxies.values():
            p.stop()
        for server in servers.values():
            server.stop()

    results["checks"] = check_targets(results)
    results["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    print_checks_and_problems(results)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(results, f, indent=1)
        print(f"\nJSON: {args.json_out}")
    shutil.rmtree(workdir, ignore_errors=True) if not results["problems"] else \
        print(f"logs kept in {workdir}")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
