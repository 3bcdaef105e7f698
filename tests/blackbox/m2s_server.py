"""m2s_server.py - a local Manage2Soar API for sync tests and benchmarks.

M2S serves every club at  /CLUB/api/email-lists/  (GET, header X-API-Key),
over HTTPS (a private CA made here with the openssl command) and over plain
HTTP, both on 127.0.0.1 with ports of their own, in threads of the calling
process. It records every request (path, headers, scheme, time) so a test can
count attempts and check what was sent, and it can be told per club to
misbehave: an HTTP status (some times, then answer normally), a hang, a
stall in the middle of the body, a truncated body, raw bytes instead of the
JSON, an oversized body, a connection closed without an answer, a redirect.

    certs = m2s_server.Certs(tmpdir)      # CA + server certificate
    srv = m2s_server.M2S(certs)            # HTTPS + HTTP, started
    srv.add_club("ssc", {"lists": {...}, "whitelist": [...]}, key="k")
    srv.add_club("x", data, key=None)      # a server with no key configured
    srv.url("ssc")                         # https://127.0.0.1:PORT/ssc/api/email-lists/
    srv.url("ssc", scheme="http")
    srv.fault("ssc", "status", code=500, times=1)
    srv.set_delay("ssc", 0.8)              # every answer 0.8 s late
    srv.set_delay(None, 0.8)               # every club's answers
    srv.requests("ssc")                    # [Request]
    srv.connections                        # TCP connections accepted
    srv.close()

/moved/CLUB/api/email-lists/ always answers with a redirect to the club's
`redirect_to` (set with srv.redirect(slug, location)).

Errors are answered as M2S's members/api.py does: a wrong or missing key
401 {"error": "Invalid or missing API key"}; a club whose server has no key
configured (key=None) 500 {"error": "API key not configured on server"}.
"""
import functools
import http.server
import json
import os
import re
import socket
import ssl
import subprocess
import threading
import time

PATH_RE = re.compile(r"^/(?:(moved)/)?([^/?]+)/api/email-lists/?(?:\?.*)?$")


class Certs:
    """A private CA and a server certificate signed by it, made with the
    openssl command in DIRECTORY. ca_file is the CA's PEM file (for the
    ca_file key of soarlist), cert/key the server's. NAMES are the server
    certificate's subjectAltNames."""

    def __init__(self, directory, names=("IP:127.0.0.1", "DNS:localhost"),
                 ca=None):
        os.makedirs(directory, exist_ok=True)
        self.dir = directory
        if ca is None:
            self.ca_file = os.path.join(directory, "ca.pem")
            self.ca_key = os.path.join(directory, "ca.key")
            self._openssl("req", "-x509", "-newkey", "ec",
                          "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                          "-keyout", self.ca_key, "-out", self.ca_file,
                          "-days", "3", "-subj", "/CN=soarlist test CA",
                          "-addext", "basicConstraints=critical,CA:TRUE",
                          "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        else:
            self.ca_file, self.ca_key = ca.ca_file, ca.ca_key
        tag = "server-%d" % len([n for n in os.listdir(directory)
                                 if n.startswith("server-")])
        self.key = os.path.join(directory, tag + ".key")
        self.cert = os.path.join(directory, tag + ".pem")
        csr = os.path.join(directory, tag + ".csr")
        ext = os.path.join(directory, tag + ".ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\n"
                    "keyUsage=critical,digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage=serverAuth\n"
                    "subjectAltName=%s\n" % ",".join(names))
        cn = names[0].split(":", 1)[1]
        self._openssl("req", "-new", "-newkey", "ec",
                      "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                      "-keyout", self.key, "-out", csr, "-subj", "/CN=%s" % cn)
        self._openssl("x509", "-req", "-in", csr, "-CA", self.ca_file,
                      "-CAkey", self.ca_key, "-CAcreateserial",
                      "-out", self.cert, "-days", "3", "-extfile", ext)

    @staticmethod
    def _openssl(*args):
        p = subprocess.run(["openssl"] + list(args), capture_output=True, timeout=60)
        if p.returncode != 0:
            raise RuntimeError("openssl %s failed: %s" % (args[0], p.stderr.decode()))


class Request:
    def __init__(self, scheme, method, path, headers, t):
        self.scheme = scheme
        self.method = method
        self.path = path
        self.headers = headers  # {lower-case name: value}
        self.time = t

    def __repr__(self):
        return "Request(%s %s %s)" % (self.scheme, self.method, self.path)


class Club:
    def __init__(self, slug, data, key):
        self.slug = slug
        self.data = data      # dict, bytes, or a callable returning either
        self.key = key
        self.delay = 0.0      # seconds before every answer
        self.faults = []      # [fault dict], the first one with times left applies
        self.redirect_to = None
        self.served = 0       # normal answers given

    def body(self):
        data = self.data() if callable(self.data) else self.data
        if isinstance(data, (dict, list)):
            data = json.dumps(data).encode()
        elif isinstance(data, str):
            data = data.encode()
        return data


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeM2S/1.0"

    def log_message(self, fmt, *args):  # keep the TAP output clean
        pass

    def setup(self):
        super().setup()
        with self.server.m2s.lock:
            self.server.m2s.connections += 1
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.settimeout(30)
            self.connection.do_handshake()
            self.connection.settimeout(None)

    def do_GET(self):
        m2s = self.server.m2s
        headers = {k.lower(): v for k, v in self.headers.items()}
        req = Request(self.server.scheme, "GET", self.path, headers, time.monotonic())
        with m2s.lock:
            m2s.log.append(req)
            m2s.inflight += 1
            m2s.peak = max(m2s.peak, m2s.inflight)
        try:
            self._answer(m2s)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True
        finally:
            with m2s.lock:
                m2s.inflight -= 1

    def _send(self, code, body, ctype="application/json", extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _answer(self, m2s):
        m = PATH_RE.match(self.path)
        club = m2s.clubs.get(m.group(2)) if m else None
        if club is None:
            self._send(404, b'{"detail": "Not found."}')
            return
        if m.group(1) == "moved":
            self._send(302, b"", "text/plain", [("Location", club.redirect_to)])
            return
        if club.delay:
            m2s.stop.wait(club.delay)
        fault = m2s.take_fault(club)
        if fault is None or fault["kind"] not in ("status", "close"):
            # what M2S's members/api.py answers
            if club.key is None:
                self._send(500, b'{"error": "API key not configured on server"}')
                return
            if self.headers.get("X-API-Key") != club.key:
                self._send(401, b'{"error": "Invalid or missing API key"}')
                return
        if fault is None:
            with m2s.lock:
                club.served += 1
            self._send(200, club.body())
            return
        kind = fault["kind"]
        if kind == "status":
            self._send(fault["code"], fault.get("body", b'{"detail": "error"}'))
        elif kind == "close":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif kind == "hang":
            # nothing at all, then close the connection
            m2s.stop.wait(fault.get("seconds", 60))
            self.close_connection = True
        elif kind == "stall":
            body = club.body()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            m2s.stop.wait(fault.get("seconds", 60))
            self.close_connection = True
        elif kind == "truncate":
            body = club.body()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body) + 1000))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            self.close_connection = True
        elif kind == "body":
            self._send(fault.get("code", 200), fault["body"],
                       fault.get("ctype", "application/json"))
        elif kind == "oversize":
            body = oversized_json(fault["size"])
            if fault.get("length", True):
                self._send(200, body)
            else:
                # chunked: the size is known only by reading
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for i in range(0, len(body), 65536):
                    chunk = body[i:i + 65536]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
        else:
            raise ValueError("unknown fault %r" % kind)


@functools.lru_cache(maxsize=4)
def oversized_json(size):
    """A valid M2S answer of at least SIZE bytes: what json.dumps() makes of
    {"lists": {"members": [N addresses]}, ...}, written out directly, which
    takes half the time for the 17 MB one, and made once."""
    n = size // 24 + 1
    emails = b'", "'.join(b"m%07d@big.example.org" % i for i in range(n))
    return (b'{"lists": {"members": ["' + emails +
            b'"]}, "whitelist": [], "bypass_lists": []}')


class _Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    # socketserver's default backlog of 5 drops SYNs when many transfers
    # start at once, and the client's retransmission costs a second
    request_queue_size = 1024

    def handle_error(self, request, client_address):
        pass  # a client that gave up (TLS refused, transfer aborted) is normal here


class M2S:
    """The fake M2S: an HTTPS and an HTTP server sharing the clubs."""

    def __init__(self, certs, host="127.0.0.1"):
        self.clubs = {}
        self.log = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.inflight = 0
        self.peak = 0
        self.connections = 0  # accepted, over both schemes
        self.host = host
        self._servers = []
        self._threads = []
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certs.cert, certs.key)
        self.https_port = self._start("https", ctx)
        self.http_port = self._start("http", None)

    def _start(self, scheme, ctx):
        cls = _Server
        if ":" in self.host:
            cls = type("_Server6", (_Server,), {"address_family": socket.AF_INET6})
        srv = cls((self.host, 0), _Handler)
        srv.m2s = self
        srv.scheme = scheme
        if ctx is not None:
            srv.socket = ctx.wrap_socket(srv.socket, server_side=True,
                                         do_handshake_on_connect=False)
        t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                             daemon=True)
        t.start()
        self._servers.append(srv)
        self._threads.append(t)
        return srv.server_address[1]

    def close(self):
        self.stop.set()
        for srv in self._servers:
            srv.shutdown()
            srv.server_close()
        for t in self._threads:
            t.join(5)

    # --- clubs -----------------------------------------------------------
    def add_club(self, slug, data, key):
        self.clubs[slug] = Club(slug, data, key)
        return self.clubs[slug]

    def set_data(self, slug, data):
        self.clubs[slug].data = data

    def set_delay(self, slug, seconds):
        """Answer club SLUG (None: every club added so far) SECONDS late,
        every time: the request is recorded on arrival, then waits."""
        for club in ([self.clubs[slug]] if slug is not None
                     else self.clubs.values()):
            club.delay = seconds

    def redirect(self, slug, location):
        self.clubs[slug].redirect_to = location

    def fault(self, slug, kind, times=None, **kw):
        """Misbehave for club SLUG: KIND is status (code=), hang (seconds=),
        stall (seconds=), truncate, body (body=, code=, ctype=), oversize
        (size=, length=True|False) or close. TIMES: how many requests (None:
        every one); afterwards the club answers normally again."""
        f = dict(kw, kind=kind, times=times)
        with self.lock:
            self.clubs[slug].faults.append(f)

    def clear_faults(self, slug):
        with self.lock:
            self.clubs[slug].faults = []

    def take_fault(self, club):
        with self.lock:
            for f in club.faults:
                if f["times"] is None:
                    return f
                if f["times"] > 0:
                    f["times"] -= 1
                    return f
        return None

    # --- what happened ---------------------------------------------------
    def url(self, slug, scheme="https", host=None, moved=False):
        port = self.https_port if scheme == "https" else self.http_port
        host = host or self.host
        if ":" in host:
            host = "[%s]" % host
        return "%s://%s:%d/%s%s/api/email-lists/" % (
            scheme, host, port, "moved/" if moved else "", slug)

    def requests(self, slug=None):
        with self.lock:
            log = list(self.log)
        if slug is None:
            return log
        return [r for r in log if PATH_RE.match(r.path)
                and PATH_RE.match(r.path).group(2) == slug]

    def reset_log(self):
        with self.lock:
            self.log = []
            self.peak = 0
            self.connections = 0


class ProxyRecorder:
    """A plain TCP listener that records what a client sends it (used as
    http_proxy/https_proxy to prove that soarlist made no request) and
    closes the connection."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.got = []
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            c.settimeout(2)
            try:
                self.got.append(c.recv(4096))
            except OSError:
                self.got.append(b"")
            c.close()

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class ConnectionCounter:
    """A TCP listener that accepts connections and closes them at once
    without a byte (a connection error for the client), counting them."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.count = 0
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.count += 1
            c.close()

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def free_port():
    """A loopback port nobody listens on (connection refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
