"""An LDAP peer that says goodbye: it accepts simple binds and answers every
search with an RFC 4511 Notice of Disconnection (resultCode 52, no message),
then closes, as slapd does when it shuts down during a search.

slapd sends one only in a race (SIGTERM while back-mdb walks its candidates),
so a test that needs one every time gets it from here. Everything else in the
tests talks to a real slapd."""

import socket
import threading

NOTICE_OF_DISCONNECTION = b"1.3.6.1.4.1.1466.20036"


def tlv(tag, body):
    n = len(body)
    if n < 128:
        return bytes([tag, n]) + body
    octets = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(octets)]) + octets + body


def ldap_message(msgid, op):
    return tlv(0x30, tlv(0x02, msgid.to_bytes(4, "big").lstrip(b"\0") or b"\0") + op)


def read_message(f):
    """(messageID, protocolOp tag) of the next message, or None at EOF."""
    head = f.read(2)
    if len(head) < 2:
        return None
    n = head[1]
    if n & 0x80:
        n = int.from_bytes(f.read(n & 0x7F), "big")
    body = f.read(n)
    if len(body) < n or len(body) < 3:
        return None
    idlen = body[1]
    return int.from_bytes(body[2:2 + idlen], "big"), body[2 + idlen]


class NoticePeer:
    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.uri = f"ldap://127.0.0.1:{self.port}"
        self.notices = 0
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        with conn, conn.makefile("rb") as f:
            while (m := read_message(f)) is not None:
                msgid, op = m
                if op == 0x60:  # BindRequest: success
                    result = tlv(0x0A, b"\x00") + tlv(0x04, b"") + tlv(0x04, b"")
                    conn.sendall(ldap_message(msgid, tlv(0x61, result)))
                elif op == 0x63:  # SearchRequest: goodbye
                    notice = (tlv(0x0A, b"\x34") + tlv(0x04, b"") + tlv(0x04, b"") +
                              tlv(0x8A, NOTICE_OF_DISCONNECTION))
                    conn.sendall(ldap_message(0, tlv(0x78, notice)))
                    with self.lock:
                        self.notices += 1
                    return
                elif op == 0x42:  # UnbindRequest
                    return

    def stop(self):
        self.sock.close()
