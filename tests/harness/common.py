"""Small helpers shared by the integration harnesses (ports, waiting)."""

import socket
import struct
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


# --- TCP socket states, as the kernel shows them (/proc/net/tcp) ------------------------


def _proc_addr(host, port):
    """host:port as /proc/net/tcp writes it (the IPv4 address in the
    machine's byte order, both in hex)."""
    return "%08X:%04X" % (struct.unpack("=I", socket.inet_aton(host))[0], port)


def tcp_sockets():
    """Every connected IPv4 TCP socket of this network namespace as (local,
    remote, bytes queued to send, bytes received and not yet read), the
    addresses as /proc/net/tcp writes them. Listening sockets are left out
    (their queue counts connections, not bytes)."""
    out = []
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if fields[3] == "0A":  # LISTEN
                continue
            tx, rx = fields[4].split(":")
            out.append((fields[1], fields[2], int(tx, 16), int(rx, 16)))
    return out


def unread_by_peer(sock):
    """Bytes sent on sock (a connected IPv4 TCP socket) that the process at
    the other end has not read yet: those still in sock's send queue and
    those waiting in the receive queue of the peer's socket."""
    mine = _proc_addr(*sock.getsockname())
    theirs = _proc_addr(*sock.getpeername())
    n = 0
    for local, remote, tx, rx in tcp_sockets():
        if local == mine and remote == theirs:
            n += tx
        elif local == theirs and remote == mine:
            n += rx
    return n


def wait_peer_read(sock, timeout=30.0):
    """Waits until the server at the other end of sock has read everything
    sent on it (so the next bytes come to it in another read); raises
    AssertionError after timeout seconds."""
    deadline = time.monotonic() + timeout
    while unread_by_peer(sock):
        if time.monotonic() > deadline:
            raise AssertionError(f"the server did not read {unread_by_peer(sock)} bytes "
                                 f"sent {timeout} s ago")
        time.sleep(0.01)


def unread_at_port(port):
    """Bytes that arrived at the server on 127.0.0.1:port, on connections
    it holds (accepted or not), and that it has not read: a request a hung
    server sits on."""
    me = _proc_addr("127.0.0.1", port)
    return sum(rx for local, _, _, rx in tcp_sockets() if local == me)
