"""One client must not take every connection (security review, "one client
can take every connection"): a new connection has http_header_timeout
from accept to send its request head, not http_idle_timeout, and no
client address may hold more than http_max_connections_per_address
connections; one over it is answered 503 and closed, and logged once per
address a minute, not once per connection.

Clients other than the flooding one connect from 127.0.0.2 (all of
127.0.0.0/8 is loopback on Linux), so the daemon tells them apart."""

import json
import re
import resource
import socket
import time

import pytest

from tests.harness.common import wait_peer_read
from tests.harness.stafetd import Stafetd
from tests.integration.conftest import Database
from tests.integration.test_directory import wait_until
from tests.integration.test_hostile import (PROBLEM, SLOW, WRAPPED, connect, exchange,
                                            make_daemon, none_closed, open_gauge, raise_nofile,
                                            reach, readable, responses, wait_closed)

OTHER = "127.0.0.2"
PER_ADDRESS_LINE = "the limit per address"


# --- helpers -------------------------------------------------------------------


def request_from(d, path, source=OTHER, timeout=10 * SLOW, host="127.0.0.1"):
    """GET path with Connection: close from a client bound to source;
    returns (status, raw answer). Fails the test when the whole answer has
    not come within timeout seconds."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    deadline = time.monotonic() + timeout
    s = socket.socket(family, socket.SOCK_STREAM)
    out = b""
    try:
        s.settimeout(timeout)
        s.bind((source, 0))
        s.connect((host, d.port))
        s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path.encode())
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout
            s.settimeout(left)
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
    except socket.timeout:
        raise AssertionError(f"GET {path} from {source}: no whole answer within {timeout:.0f} s "
                             f"(got {out[:100]!r})") from None
    finally:
        s.close()
    assert out.startswith(b"HTTP/1.1 "), out[:300]
    return int(out.split(b" ", 2)[1]), out


def metric(d, name, source=OTHER, host="127.0.0.1"):
    """A metric's value (0 when absent), read from another address."""
    status, out = request_from(d, "/metrics", source=source, host=host)
    assert status == 200, out[:300]
    for line in out.decode().splitlines():
        if line.startswith(f"stafet_{name} "):
            return float(line.split()[1])
    return 0


def open_many(d, n):
    """n connections from 127.0.0.1 that send nothing (non-blocking)."""
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", d.port))
        except BlockingIOError:
            pass
        socks.append(s)
    return socks


def collect_closed(socks, want, deadline):
    """Reads the sockets until `want` of them are closed by the server or
    the deadline passes; returns {socket: bytes received} of the closed."""
    pending = {s: b"" for s in socks}
    done = {}
    while len(done) < want and time.monotonic() < deadline:
        for s in readable(list(pending), 0.1):
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, BlockingIOError):
                chunk = b""
            if chunk:
                pending[s] += chunk
                continue
            done[s] = pending.pop(s)
    return done


def assert_refused_503(answer):
    """One 503 problem answer with Retry-After and Connection: close."""
    got = responses(answer)
    assert len(got) == 1, answer[:400]
    status, head, body = got[0]
    assert status == 503, answer[:400]
    assert b"\r\nRetry-After: " in head, head
    assert b"\r\nConnection: close" in head, head
    assert PROBLEM in head, head
    doc = json.loads(body)
    assert doc["status"] == 503 and "address" in doc["detail"], doc


def read_response(s, timeout=10 * SLOW):
    """One response (head and Content-Length body) from a keep-alive socket."""
    s.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        assert chunk, f"closed after {data[:200]!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"\r\nContent-Length: (\d+)", head).group(1))
    while len(body) < length:
        chunk = s.recv(65536)
        assert chunk, "closed inside a body"
        body += chunk
    return int(head.split(b" ", 2)[1]), head, body


# --- the header timeout from accept ----------------------------------------------


def test_a_silent_new_connection_is_closed_at_the_header_timeout(pg, tmp_path):
    """Connections that send nothing are closed, without an answer, once
    http_header_timeout (1 s) has passed since accept, though
    http_idle_timeout is 60 s."""
    header = 1.0 * SLOW
    d, _ = make_daemon(tmp_path, pg, "silent",
                       {"http_header_timeout": f"{header}s", "http_idle_timeout": "60s"})
    try:
        socks = [connect(d) for _ in range(3)]
        # Times are the daemon's (d.mono): the header timeout comes at once
        # on a test build's clock, for real on a plain build.
        t0 = d.mono()
        wait_until(lambda: open_gauge(d) >= 4, timeout=10 * SLOW, what="3 connections accepted")
        reach(d, t0 + header - 0.3)
        assert none_closed(socks), "a silent connection closed before the header timeout"
        reach(d, t0 + header + 0.1)
        done = wait_closed(socks, t0 + header + 5 * SLOW, origin=t0, clock=d.mono)
        assert len(done) == len(socks), (
            f"{len(socks) - len(done)} silent connections still open {header + 5 * SLOW:.0f} s "
            f"after accept (header timeout {header:.0f} s, idle timeout 60 s)")
        for when, answer in done.values():
            assert answer == b"", answer[:200]
            assert when >= header - 0.3, when
        print(f"silent connections closed {min(w for w, _ in done.values()):.2f} to "
              f"{max(w for w, _ in done.values()):.2f} s after accept (header timeout "
              f"{header:.0f} s, idle timeout 60 s)")
        for s in socks:
            s.close()
    finally:
        d.stop()


def test_the_header_timeout_of_a_new_connection_runs_from_accept(pg, tmp_path):
    """A first byte late in the header timeout does not start it again: a
    head begun at 0.8 of it is cut with 408 at the timeout from accept, not
    a whole timeout after that byte."""
    header = 3.0 * SLOW
    d, _ = make_daemon(tmp_path, pg, "fromaccept",
                       {"http_header_timeout": f"{header}s", "http_idle_timeout": "60s"})
    try:
        s = connect(d)
        # Times are the daemon's (d.mono): its clock is moved on a test
        # build, waited for on a plain build.
        t0 = d.mono()
        wait_until(lambda: open_gauge(d) >= 2, timeout=10 * SLOW, what="the connection accepted")
        reach(d, t0 + 0.8 * header)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # the head is not finished
        wait_peer_read(s)
        reach(d, t0 + header - 0.3)
        assert none_closed([s]), "cut before the header timeout"
        reach(d, t0 + header + 0.1)
        done = wait_closed([s], t0 + 3 * header, origin=t0, clock=d.mono)
        assert s in done, "the unfinished head was never cut"
        when, answer = done[s]
        s.close()
        print(f"head begun at {0.8 * header:.1f} s cut at {when:.2f} s after accept "
              f"(header timeout {header:.0f} s)")
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
        assert header - 0.3 <= when < 1.5 * header, when
    finally:
        d.stop()


def test_keep_alive_connections_keep_the_idle_timeout_between_requests(pg, tmp_path):
    """After a response, a keep-alive connection waits http_idle_timeout
    for the next request, well past http_header_timeout; that request's
    head then has the header timeout from its first byte."""
    header = 1.0 * SLOW
    d, _ = make_daemon(tmp_path, pg, "keepalive",
                       {"http_header_timeout": f"{header}s", "http_idle_timeout": "60s"})
    try:
        s = connect(d)
        request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
        s.sendall(request)
        assert read_response(s)[0] == 200
        d.let_pass(2.5 * header)  # at once on a test build's clock, for real on a plain one
        assert none_closed([s]), "the keep-alive connection was closed between requests"
        s.sendall(request)
        assert read_response(s)[0] == 200
        s.sendall(b"GET /healthz HTTP/1.1\r\n")
        t0 = d.mono()
        wait_peer_read(s)  # its first byte read: the head's timeout runs
        reach(d, t0 + header - 0.3)
        assert none_closed([s]), "an unfinished head cut before the header timeout"
        reach(d, t0 + header + 0.1)
        done = wait_closed([s], t0 + header + 5 * SLOW, origin=t0, clock=d.mono)
        assert s in done, "an unfinished head on a keep-alive connection was never cut"
        when, answer = done[s]
        s.close()
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
        assert when >= header - 0.3, when
    finally:
        d.stop()


# --- the cap per address ---------------------------------------------------------


def test_one_address_cannot_take_every_connection(pg, tmp_path):
    """2,000 connections from 127.0.0.1 that send nothing, with the default
    limits (1024 connections, 64 per address): 64 are held, the rest are
    answered 503 and closed at once, accepting never pauses, one line is
    logged for the address, and a client on 127.0.0.2 gets /healthz
    within 2 s every time meanwhile."""
    n, cap = 2000, 64
    old = raise_nofile(n + 1000)
    try:
        if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < n + 200:
            pytest.skip("descriptor limit too low for this test")
        # The daemon inherits the raised limit, so without the cap per
        # address it would reach http_max_connections (1024) and pause.
        d, _ = make_daemon(tmp_path, pg, "flood",
                           {"http_header_timeout": "60s", "db_pool_size": "1"})
        try:
            t0 = time.monotonic()
            socks = open_many(d, n)
            took = []
            for _ in range(10):
                t = time.monotonic()
                status, answer = request_from(d, "/healthz", timeout=2 * SLOW)
                assert status == 200, answer[:300]
                took.append(time.monotonic() - t)
                time.sleep(0.05)  # probes spread over the flood's refusals: real time
            done = collect_closed(socks, n - cap, time.monotonic() + 30 * SLOW)
            refused_in = time.monotonic() - t0
            assert len(done) == n - cap, f"{len(done)} of {n - cap} refused by the deadline"
            for answer in done.values():
                assert_refused_503(answer)
            held = [s for s in socks if s not in done]
            assert not readable(held, 0.5), "a connection within the cap was closed"
            assert metric(d, "http_connections_open") == cap + 1  # + the metrics request
            assert metric(d, "http_connections_refused_total") == n - cap
            log = d.log()
            lines = [line for line in log.splitlines() if PER_ADDRESS_LINE in line]
            print(f"flood: {n} connections from 127.0.0.1, {len(held)} held, {len(done)} "
                  f"refused with 503 within {refused_in:.1f} s; /healthz from {OTHER} "
                  f"in {min(took) * 1000:.0f} to {max(took) * 1000:.0f} ms; log: {lines}")
            assert len(lines) == 1, lines
            assert "127.0.0.1" in lines[0], lines
            assert "pausing accept" not in log
            for s in socks:
                s.close()
            wait_until(lambda: metric(d, "http_connections_open") <= 1, timeout=10 * SLOW,
                       what="the held connections closed")
        finally:
            d.stop()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, old)


def test_over_the_cap_a_connection_is_answered_503_and_logged_once(pg, tmp_path):
    """With http_max_connections_per_address = 3 and three connections
    held: ten more from that address each get a 503 problem with
    Retry-After and Connection: close, and are closed; another address is
    served; one line is logged, and the other nine are counted in the line
    logged at stop; once a held connection closes, its address is served
    again."""
    d, _ = make_daemon(tmp_path, pg, "cap3", {"http_max_connections_per_address": "3",
                                              "http_header_timeout": "60s"})
    try:
        held = [connect(d) for _ in range(3)]
        wait_until(lambda: metric(d, "http_connections_open") == 4, timeout=10 * SLOW,
                   what="three connections held")
        for i in range(10):
            # half of them send a request first, half send nothing
            data = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" if i % 2 else b""
            out, closed = exchange(d, data)
            assert closed, "a refused connection was left open"
            assert_refused_503(out)
        status, out = request_from(d, "/healthz")
        assert status == 200, out[:300]
        assert metric(d, "http_connections_refused_total") == 10
        held[0].close()
        wait_until(lambda: metric(d, "http_connections_open") == 3, timeout=10 * SLOW,
                   what="a held connection closed")
        status, out = request_from(d, "/healthz", source="127.0.0.1")
        assert status == 200, out[:300]
        lines = [line for line in d.log().splitlines() if PER_ADDRESS_LINE in line]
        assert len(lines) == 1, lines
        assert "http: 127.0.0.1: 3 connections open" in lines[0], lines
        for s in held[1:]:
            s.close()
    finally:
        d.stop()
    assert "http: 127.0.0.1: 9 more connections refused" in d.log(), d.log()[-2000:]


def test_a_trusted_proxy_is_not_capped(pg, tmp_path):
    """A proxy named in http_trusted_proxies carries many clients: its
    connections count towards http_max_connections only."""
    d, _ = make_daemon(tmp_path, pg, "proxy", {"http_max_connections_per_address": "2",
                                               "http_trusted_proxies": "127.0.0.1",
                                               "http_header_timeout": "60s"})
    try:
        held = [connect(d) for _ in range(5)]
        wait_until(lambda: metric(d, "http_connections_open") == 6, timeout=10 * SLOW,
                   what="five connections from the proxy held")
        status, out = request_from(d, "/healthz", source="127.0.0.1")
        assert status == 200, out[:300]
        others = []
        for _ in range(2):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((OTHER, 0))
            s.connect(("127.0.0.1", d.port))
            others.append(s)
        wait_until(lambda: metric(d, "http_connections_open", source="127.0.0.3") == 8,
                   timeout=10 * SLOW, what="two connections from 127.0.0.2 held")
        status, out = request_from(d, "/healthz")
        assert status == 503, out[:300]
        assert_refused_503(out)
        for s in held + others:
            s.close()
    finally:
        d.stop()


def test_the_cap_per_address_can_be_turned_off(pg, tmp_path):
    """http_max_connections_per_address = 0: one address may hold up to
    http_max_connections. The key is listed by --config-keys."""
    n = 100
    d, _ = make_daemon(tmp_path, pg, "nocap", {"http_max_connections_per_address": "0",
                                               "http_header_timeout": "60s"})
    try:
        keys = d.run("--config-keys").stdout
        assert re.search(r"^http_max_connections_per_address +64 ", keys, re.M), keys
        socks = open_many(d, n)
        wait_until(lambda: metric(d, "http_connections_open") == n + 1, timeout=20 * SLOW,
                   what=f"{n} connections held")
        assert metric(d, "http_connections_refused_total") == 0
        assert PER_ADDRESS_LINE not in d.log()
        for s in socks:
            s.close()
    finally:
        d.stop()


@pytest.mark.skipif(not socket.has_ipv6, reason="no IPv6")
def test_ipv6_clients_are_capped_by_their_64(pg, tmp_path):
    """Listening on [::1]: an IPv6 client's connections count by its /64
    (one host or customer usually holds a whole /64), and the log names the
    /64."""
    db = Database(pg, tmp_path)
    settings = dict(db.settings())
    d = Stafetd(tmp_path / "v6", settings)
    d.settings.update({"listen": f"[::1]:{d.port}", "http_max_connections_per_address": "2",
                       "http_header_timeout": "60s", "db_connect_timeout": "15s"})
    d.write_config()
    d.migrate()
    d.start(wait=False)
    try:
        def healthy():
            try:
                return request_from(d, "/healthz", source="::1", host="::1",
                                    timeout=2 * SLOW)[0] == 200
            except (AssertionError, OSError):
                return False
        wait_until(healthy, timeout=60 if WRAPPED else 30, what="stafetd on [::1]")
        # accepted in the order they connect: the third is over the cap
        held = [socket.create_connection(("::1", d.port)) for _ in range(2)]
        status, out = request_from(d, "/healthz", source="::1", host="::1")
        assert status == 503, out[:300]
        assert_refused_503(out)
        lines = [line for line in d.log().splitlines() if PER_ADDRESS_LINE in line]
        assert lines == [lines[0]] and "http: ::/64: 2 connections open" in lines[0], lines
        for s in held:
            s.close()
    finally:
        d.stop()
