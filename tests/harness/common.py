"""Small helpers shared by the integration harnesses (ports, waiting)."""

import socket
import time


def free_port():
    """Return a TCP port on 127.0.0.1 that was free a moment ago.

    The kernel picks it (bind to port 0); the socket is closed before the
    caller binds, so another process could take it in between.  That race
    is accepted: tests on one machine rarely collide."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log_tail(path, lines=30):
    """The last lines of a server's log, for error messages."""
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_for_port(host, port, timeout=10.0, proc=None):
    """Wait until host:port accepts a TCP connection; return True, or False
    after timeout seconds.  If proc (a subprocess.Popen) is given, give up
    early once it has exited, since a dead server will never answer."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            pass
        if proc is not None and proc.poll() is not None:
            return False
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
