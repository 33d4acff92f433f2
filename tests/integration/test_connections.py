"""A silent connection must not hold a place for long (security review,
"one client can take every connection"): a new connection has
http_header_timeout from accept to send its request head, not
http_idle_timeout; a keep-alive connection keeps the idle timeout between
requests."""

import re
import time

from tests.integration.test_hostile import SLOW, connect, make_daemon, readable, wait_closed


# --- helpers -------------------------------------------------------------------


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
        t0 = time.monotonic()
        done = wait_closed(socks, t0 + header + 5 * SLOW, origin=t0)
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
        t0 = time.monotonic()
        time.sleep(0.8 * header)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # the head is not finished
        done = wait_closed([s], t0 + 3 * header, origin=t0)
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
        time.sleep(2.5 * header)
        assert not readable([s], 0), "the keep-alive connection was closed between requests"
        s.sendall(request)
        assert read_response(s)[0] == 200
        s.sendall(b"GET /healthz HTTP/1.1\r\n")
        t0 = time.monotonic()
        done = wait_closed([s], t0 + header + 5 * SLOW, origin=t0)
        assert s in done, "an unfinished head on a keep-alive connection was never cut"
        when, answer = done[s]
        s.close()
        assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
        assert when >= header - 0.3, when
    finally:
        d.stop()
