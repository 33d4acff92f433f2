"""The HTTP server as clients see it: problem documents, limits, routing,
static files, metrics, OpenAPI and an access log without personal data."""

import socket

import pytest
import requests

from tests.harness.common import unread_by_peer, wait_peer_read

PROBLEM = "application/problem+json"


@pytest.fixture
def d(db, stafetd):
    return stafetd(db=db)


def assert_problem(r, status):
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == PROBLEM
    body = r.json()
    assert body["status"] == status
    assert body["type"] and body["title"]
    return body


def raw(d, data, read_all=True, timeout=10):
    """Sends raw bytes; returns everything the server answers until it closes."""
    s = socket.create_connection(("127.0.0.1", d.port), timeout=timeout)
    s.sendall(data)
    out = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
            if not read_all:
                break
    except socket.timeout:
        pass
    s.close()
    return out


def test_healthz(d):
    r = requests.get(d.url + "/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def hsts_of_answers(d):
    """The Strict-Transport-Security header (or None) of every kind of
    answer: ok, problem, 404, static file, and one the parser refuses."""
    answers = {
        "healthz": requests.get(d.url + "/healthz"),
        "session 422": requests.post(d.url + "/api/v1/session", json={}),
        "404": requests.get(d.url + "/no/such/thing"),
        "static": requests.get(d.url + "/"),
    }
    found = {k: r.headers.get("Strict-Transport-Security") for k, r in answers.items()}
    head = raw(d, b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), head[:100]
    lines = head.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")[1:]
    hsts = [v.strip() for k, _, v in (h.partition(":") for h in lines)
            if k.lower() == "strict-transport-security"]
    found["400 from the parser"] = hsts[0] if hsts else None
    return found


def test_hsts_behind_a_tls_proxy_only(db, stafetd):
    """Every answer carries HSTS behind a TLS proxy (http_tls_proxy = yes),
    a year by default; plain HTTP and http_hsts = 0 send none."""
    proxy = {"http_tls_proxy": "yes", "public_url": "https://stafet.kommune.example"}
    cases = [("proxy", proxy, "max-age=31536000; includeSubDomains"),
             ("month", dict(proxy, http_hsts="30d"), "max-age=2592000; includeSubDomains"),
             ("off", dict(proxy, http_hsts="0"), None),
             ("plain", {}, None)]
    # four daemons side by side on one database, migrated once
    daemons = [stafetd(db=db, settings=settings, name=name, migrate=i == 0, start=False)
               for i, (name, settings, _) in enumerate(cases)]
    for d in daemons:
        d.start(wait=False)
    for d, (name, _, want) in zip(daemons, cases):
        d.wait_healthy()
        found = hsts_of_answers(d)
        assert set(found.values()) == {want}, (name, found)


def test_openapi_document(d):
    r = requests.get(d.url + "/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.1")
    for path in ("/healthz", "/readyz", "/metrics", "/api/v1/session"):
        assert path in doc["paths"]


def test_two_mib_body_is_413(d):
    body = b"{" + b" " * (2 * 1024 * 1024) + b"}"
    r = requests.post(d.url + "/api/v1/session", data=body,
                      headers={"Content-Type": "application/json"})
    assert_problem(r, 413)


def test_two_mib_chunked_body_is_413(d):
    def gen():
        for _ in range(64):
            yield b" " * 32768
    r = requests.post(d.url + "/api/v1/session", data=gen(),
                      headers={"Content-Type": "application/json"})
    assert_problem(r, 413)


def test_declared_oversized_body_is_refused_before_sending(d):
    out = raw(d, b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                 b"\r\nContent-Length: 2097152\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 413 ")
    assert b"Connection: close" in out


def test_malformed_json_is_400(d):
    r = requests.post(d.url + "/api/v1/session", data=b'{"username": "a", ',
                      headers={"Content-Type": "application/json"})
    body = assert_problem(r, 400)
    assert "Malformed JSON" in body["detail"]


@pytest.mark.parametrize("payload,detail", [
    (b'{"username": "\xff\xfe"}', "UTF-8"),
    (b"[" * 33 + b"]" * 33, "deeper than 32"),
    (b'{"username": "' + b"a" * (64 * 1024 + 1) + b'"}', "longer than"),
    (b'{"username": "a", "username": "b"}', "duplicate"),
    (b'{"username": "a\\u0000b", "password": "x"}', "Malformed"),
    (b"", "required"),
    (b"null", "Malformed"),
    (b'["username"]', "object"),
])
def test_hostile_json_is_400(d, payload, detail):
    r = requests.post(d.url + "/api/v1/session", data=payload,
                      headers={"Content-Type": "application/json"})
    body = assert_problem(r, 400)
    assert detail in body["detail"]


def test_unknown_field_is_400_naming_it(d):
    r = requests.post(d.url + "/api/v1/session",
                      json={"username": "mha", "password": "x", "admin": True})
    body = assert_problem(r, 400)
    assert body["errors"][0]["field"] == "admin"


def test_wrong_content_type_is_415(d):
    r = requests.post(d.url + "/api/v1/session", data="username=a&password=b",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_problem(r, 415)


def test_session_fields_are_checked(d):
    # Empty strings are a failed login (401, see test_auth.py); wrong types are 422.
    r = requests.post(d.url + "/api/v1/session", json={"username": 7, "password": 5})
    body = assert_problem(r, 422)
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"username", "password"}
    for e in body["errors"]:
        assert e["message"]  # Danish text for the caseworker


def test_login_without_directory_is_503(d):
    r = requests.post(d.url + "/api/v1/session", json={"username": "mha", "password": "demo"})
    body = assert_problem(r, 503)
    assert "LDAP" in body["detail"]


def test_unknown_route_and_method(d):
    # Under /api/v1 a login comes first, also for what names nothing
    # (test_authz_matrix.py has the answers after it); elsewhere 404 at once.
    for method, path in (("GET", "/api/v1/nothing"), ("GET", "/api/v1"),
                         ("DELETE", "/api/v1/me"), ("GET", "/api/v1/session")):
        r = requests.request(method, d.url + path)
        assert_problem(r, 401)
        assert "Allow" not in r.headers
    assert_problem(requests.get(d.url + "/api/v2/nothing"), 404)
    r = requests.delete(d.url + "/healthz")
    assert_problem(r, 405)
    assert r.headers["Allow"] == "GET, HEAD"
    r = requests.request("BREW", d.url + "/healthz")
    assert_problem(r, 405)


def test_static_files(d):
    r = requests.get(d.url + "/")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp
    assert 'lang="da"' in r.text
    etag = r.headers["ETag"]
    r2 = requests.get(d.url + "/", headers={"If-None-Match": etag})
    assert r2.status_code == 304 and r2.content == b""
    r = requests.head(d.url + "/stafet.js")
    assert r.status_code == 200 and r.content == b""
    assert int(r.headers["Content-Length"]) > 0


@pytest.mark.parametrize("path", [
    b"/../../../../etc/passwd", b"/%2e%2e/%2e%2e/etc/passwd", b"/.hidden",
    b"/..%2fetc/passwd", b"/web/../Makefile", b"//etc/passwd", b"/index.html%00.css",
])
def test_path_traversal(d, path):
    out = raw(d, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    status = int(out.split(b" ", 2)[1])
    assert status in (400, 404), out[:200]
    assert b"root:" not in out


def test_head_and_pipelining(d):
    out = raw(d, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                 b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                 b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    parts = out.split(b"HTTP/1.1 ")
    assert [p[:3] for p in parts[1:]] == [b"200", b"200", b"404"]
    assert out.count(b'{"status":"ok"}') == 1  # HEAD has no body


@pytest.mark.parametrize("request_bytes,status", [
    (b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    (b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
     b"Content-Length: 5\r\n\r\nabcd", 400),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n", 431),
    (b"GET /" + b"a" * 33000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"GET / HTTP/3.0\r\nHost: x\r\n\r\n", 505),
    (b"GET / HTTP/1.1\r\n\r\n", 400),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),
    (b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"zz\r\n", 400),
], ids=["cl-and-te", "two-cl", "big-header", "long-target", "http3", "no-host", "tls-hello",
        "bad-chunk"])
def test_hostile_heads(d, request_bytes, status):
    out = raw(d, request_bytes)
    assert out.startswith(b"HTTP/1.1 %d " % status), out[:200]
    assert b"Connection: close" in out
    assert b"application/problem+json" in out


@pytest.mark.parametrize("split", [b"\r\n\r", b"\r\n", b"\r", b"\n"])
def test_head_end_split_across_reads(d, split):
    """The blank line ending a head may arrive in pieces: the search that
    resumes where the last one stopped must still find it."""
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    cut = head.rindex(split) + len(split) if split != b"\r\n\r" else len(head) - 1
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    # each piece read by the daemon before the next is sent: three reads
    s.sendall(head[:cut - 1])
    wait_peer_read(s)
    s.sendall(head[cut - 1:cut])
    wait_peer_read(s)
    s.sendall(head[cut:])
    out = b""
    while chunk := s.recv(4096):
        out += chunk
    s.close()
    assert out.startswith(b"HTTP/1.1 200 "), out[:200]


def test_head_trickling_in(d):
    """A head sent a few bytes at a time is read whole (and, with the
    resumed search, in linear time)."""
    head = (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * 3000 +
            b"\r\nConnection: close\r\n\r\n")
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(0, len(head), 7):
        s.sendall(head[i:i + 7])
        if i % 700 == 0:
            wait_peer_read(s)  # read in many pieces, whatever the machine's pace
    out = b""
    while chunk := s.recv(4096):
        out += chunk
    s.close()
    assert out.startswith(b"HTTP/1.1 200 "), out[:200]


def test_chunked_body_is_accepted(d):
    body = b'{"username": "mha", "password": "demo"}'
    req = (b"POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
           b"%x\r\n" % 10 + body[:10] + b"\r\n" +
           b"%x;ext=1\r\n" % (len(body) - 10) + body[10:] + b"\r\n0\r\n\r\n")
    out = raw(d, req)
    assert out.startswith(b"HTTP/1.1 503 "), out[:200]


def test_slow_head_gets_408(db, stafetd):
    # A one-second limit is only for this test: a cold daemon under valgrind
    # can take that long to read a 70 KB head (test_hostile_heads).
    d = stafetd(db=db, settings={"http_header_timeout": "1s"})
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # never finished
    wait_peer_read(s)  # accepted and read: its header timer runs
    d.let_pass(1)  # the header timeout (at once on a test build's clock)
    out = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        out += chunk
    s.close()
    assert out.startswith(b"HTTP/1.1 408 ")


def test_connection_limit(db, stafetd):
    d = stafetd(db=db, settings={"http_max_connections": "3"}, name="limited")
    idle = [socket.create_connection(("127.0.0.1", d.port)) for _ in range(3)]
    extra = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    extra.sendall(request)
    # not served while three are open: accept paused at the third, the
    # request waits unread in the kernel's queue
    assert d.wait_log("3 connections open, the limit; pausing accept"), d.log()[-2000:]
    assert unread_by_peer(extra) == len(request)
    idle[0].close()
    extra.settimeout(10)
    assert extra.recv(100).startswith(b"HTTP/1.1 200")
    for s in idle[1:] + [extra]:
        s.close()


def test_metrics(d):
    requests.get(d.url + "/healthz")
    requests.get(d.url + "/api/nothing")
    m = requests.get(d.url + "/metrics")
    assert m.status_code == 200
    assert m.headers["Content-Type"].startswith("text/plain")
    text = m.text
    assert 'stafet_http_requests_total{route="/healthz",method="GET",status="200"}' in text
    assert 'stafet_http_requests_total{route="unmatched",method="GET",status="404"}' in text
    assert 'stafet_http_request_duration_seconds_bucket{route="/healthz",le="+Inf"}' in text
    assert 'stafet_db_connections{state="idle"}' in text


def test_access_log_has_no_query_and_no_body(d):
    requests.get(d.url + "/api/v1/people?q=010203-1234+S%C3%B8ren")
    requests.post(d.url + "/api/v1/session",
                  json={"username": "0102031234", "password": "hemmelig-kode"})
    log = d.log()
    assert '"GET /api/v1/people" 401' in log  # no login here
    for secret in ("010203", "S\u00f8ren", "Søren", "hemmelig", "0102031234"):
        assert secret not in log
