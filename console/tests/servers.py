"""Small local servers for the failures no real server produces on demand.

moto answers signatures and permissions faithfully, but it cannot pretend its clock
is wrong, speak TLS with a certificate of our choosing, or hang. These stand-ins
answer just enough of the S3 protocol for the connection test to see those cases.
`TcpProxy` stands between the console and its database, and can cut it off.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

LIST_BUCKETS_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    "<Owner><ID>fake</ID><DisplayName>fake</DisplayName></Owner>"
    "<Buckets><Bucket><Name>tls-bucket</Name>"
    "<CreationDate>2024-01-01T00:00:00.000Z</CreationDate></Bucket></Buckets>"
    "</ListAllMyBucketsResult>"
)

SKEWED_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    "<Error><Code>RequestTimeTooSkewed</Code>"
    "<Message>The difference between the request time and the current time is too large."
    "</Message><RequestId>skew-request-1</RequestId></Error>"
)


class _Handler(BaseHTTPRequestHandler):
    status = 200
    body = LIST_BUCKETS_XML
    request_id = "fake-request-1"
    # Every request answered, as "METHOD path", so tests can count the tries.
    hits: list[str] = []
    # Other answers for some subresources: {"acl": (500, body)} fails GET ?acl only.
    answers: dict[str, tuple[int, str]] = {}

    def _answer(self):
        self.hits.append(f"{self.command} {self.path}")
        subresource = urlsplit(self.path).query.split("&")[0].split("=")[0]
        status, body = self.answers.get(subresource, (self.status, self.body))
        payload = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-amz-request-id", self.request_id)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _answer

    def log_message(self, *args):  # keep test output quiet
        pass


class FakeS3:
    """An HTTP(S) server on 127.0.0.1 that gives every request the same answer.

    `answers` gives some subresources their own: {"acl": (500, "...")}.
    """

    def __init__(
        self,
        *,
        status=200,
        body=LIST_BUCKETS_XML,
        request_id="fake-request-1",
        tls=None,
        answers=None,
    ):
        self.hits: list[str] = []
        attrs = {"status": status, "body": body, "request_id": request_id, "hits": self.hits}
        handler = type("Handler", (_Handler,), {**attrs, "answers": answers or {}})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls.cert_path, tls.key_path)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.scheme = "https" if tls else "http"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class SilentServer:
    """Accepts connections and never says a word: the endpoint that hangs.

    It counts the connections it accepts, which is how often a client tried.
    """

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        # A short accept timeout lets the accepting thread notice the end of the test.
        self.sock.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self):
        while not self._stop.is_set():
            try:
                conn, _address = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            self._held.append(conn)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self.thread.join(timeout=2)
        for conn in self._held:
            conn.close()
        self.sock.close()


def closed_port_url() -> str:
    """A URL on a port where nothing listens (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _alt_name(host: str):
    from cryptography import x509

    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


class SelfSignedCert:
    """A self-signed certificate (for 127.0.0.1 and localhost), written to `folder`."""

    def __init__(self, folder: Path, hosts=("localhost", "127.0.0.1")):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "console test endpoint")])
        now = dt.datetime.now(dt.UTC)
        public = key.public_key()
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName([_alt_name(host) for host in hosts]),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        self.pem = cert.public_bytes(serialization.Encoding.PEM).decode()
        self.cert_path = str(folder / "cert.pem")
        self.key_path = str(folder / "key.pem")
        Path(self.cert_path).write_text(self.pem)
        Path(self.key_path).write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )


class TcpProxy:
    """A TCP proxy from a free local port to `target` (PostgreSQL, say), with a switch.

    `cut()` is the service going away: every connection through the proxy is
    dropped and new ones are refused (nothing listens on the port any more), as
    while a database restarts. `restore()` listens again on the same port.
    `drop()` breaks the open connections only.
    """

    def __init__(self, target_port: int, target_host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self.port = 0
        self.accepted = 0  # connections forwarded, over the proxy's life
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._listener: socket.socket | None = None

    @property
    def down(self) -> bool:
        return self._listener is None

    def __enter__(self):
        self.restore()
        return self

    def __exit__(self, *exc):
        self.cut()

    def restore(self) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(64)
        # A short accept timeout lets the accepting thread notice a cut.
        sock.settimeout(0.1)
        self.port = sock.getsockname()[1]
        with self._lock:
            self._listener = sock
        threading.Thread(target=self._accept, args=(sock,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            connections, self._open = self._open, []
        if listener is not None:
            listener.close()
        for conn in connections:
            _drop(conn)

    def drop(self) -> None:
        """Break every connection open through the proxy (a network blip), and go
        on accepting new ones."""
        with self._lock:
            connections, self._open = self._open, []
        for conn in connections:
            _drop(conn)

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _address = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _drop(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:  # cut meanwhile
                    _drop(client)
                    _drop(upstream)
                    return
                self._open += [client, upstream]
                self.accepted += 1
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        with self._lock:
            self._open = [conn for conn in self._open if conn not in (source, sink)]
        _drop(source)
        _drop(sink)


def _drop(sock: socket.socket) -> None:
    """Close a socket at once; shutting it down first wakes a thread reading from it."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
