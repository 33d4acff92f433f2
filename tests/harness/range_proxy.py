"""An LDAP proxy that makes a real slapd answer like Active Directory when an
attribute has many values: range retrieval (MS-ADTS 3.1.1.3.1.3.3).

slapd has no ranges and Samba 4.17 returns every value, so stafetd's range
code (directory/sync_map.c, all_ranged) never met a server that enforces
them.  This proxy sits in front of slapd on 127.0.0.1 (plain LDAP, no TLS),
forwards every LDAP message both ways unchanged, message IDs included (one
upstream connection per client connection, so IDs need no mapping; binds,
controls such as paged results, abandon and unbind pass as they are), and
rewrites two things the way AD's MaxValRange policy (default 1500) does:

  SearchRequest  an attribute asked for as "attr;range=LOW-HIGH" or
                 "attr;range=LOW-*" is asked of slapd as "attr";
  SearchResultEntry
                 such an attribute comes back as "attr;range=LOW-END" with
                 values LOW..END, at most `limit` of them; END is "*" when
                 the last value is among them (as AD: "member;range=1500-*"
                 ends the walk, "member;range=1500-2999" asks for more);
                 HIGH past the last value gives "*" too;
                 an attribute asked for without a range (by name, "*", or
                 by default) that has more than `limit` values comes back
                 as "attr;range=0-(limit-1)" with the first `limit` values;
                 one with `limit` values or fewer comes back unchanged.

A range whose LOW is at or past the number of values (a client that walks
one step too far) is answered according to `past_end`:
  "empty"   (default) "attr;range=LOW-*" with no values, as Samba's AD DC
            does (source4/dsdb/samdb/ldb_modules/ranged_results.c);
  "absent"  the entry without the attribute;
  "error"   the entry is dropped and the search ends in operationsError.
Windows documents only "the server can return fewer values than
requested"; a correct client never asks past the end (it stops at "*"),
so tests that care should assert the proxy never saw such a request
(past_end_requests == 0).

Counters for tests (read them under no lock; they only grow):
  ranged_entries     entries in which some attribute was cut to a range
  ranged_attrs       attributes so cut or answered with a range option
  range_requests     SearchRequests that asked for some attribute by range
  range_asked        the range attribute descriptions asked, in order
  past_end_requests  ranges asked whose LOW was past the values
  searches, entries, connections
  log                the last exchanges, one short line each (for reports)

    proxy = RangeProxy(slapd.uri, limit=1500)
    proxy.start()
    ... point the client at proxy.uri ...
    proxy.stop()

Also runnable: python3 -m tests.harness.range_proxy --upstream URI
[--port N] [--limit N].  Standard library only; a small BER codec below.
"""

import collections
import re
import socket
import threading
from urllib.parse import urlparse

# --- BER, the LDAP subset ----------------------------------------------------


def ber_len(n):
    if n < 0x80:
        return bytes([n])
    octets = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(octets)]) + octets


def tlv(tag, body):
    return bytes([tag]) + ber_len(len(body)) + body


def ber_int(tag, value):
    n = max(1, (value.bit_length() + 8) // 8)
    return tlv(tag, value.to_bytes(n, "big", signed=True))


def parse_tlv(buf, pos):
    """(tag, body start, body end) of the TLV at pos."""
    tag = buf[pos]
    if tag & 0x1F == 0x1F:
        raise ValueError("multi-byte tags are not LDAP")
    n = buf[pos + 1]
    pos += 2
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 4:
            raise ValueError("bad BER length")
        n = int.from_bytes(buf[pos:pos + k], "big")
        pos += k
    if pos + n > len(buf):
        raise ValueError("BER element runs past its container")
    return tag, pos, pos + n


def children(buf, start, end):
    """[(tag, start, end, raw start)] of the TLVs in buf[start:end]."""
    out, pos = [], start
    while pos < end:
        tag, s, e = parse_tlv(buf, pos)
        out.append((tag, s, e, pos))
        pos = e
    return out


def read_message(f):
    """The raw bytes of the next LDAPMessage from a binary file, or None at
    EOF (a connection closed between messages or in the middle of one)."""
    head = f.read(2)
    if len(head) < 2:
        return None
    n = head[1]
    extra = b""
    if n & 0x80:
        k = n & 0x7F
        if k == 0 or k > 4:
            raise ValueError("bad BER length in LDAP message")
        extra = f.read(k)
        if len(extra) < k:
            return None
        n = int.from_bytes(extra, "big")
    body = f.read(n)
    if len(body) < n:
        return None
    return head + extra + body


class Message:
    """An LDAPMessage split into messageID, protocolOp and the rest
    (controls), each kept as raw bytes so a message that is not rewritten
    goes out exactly as it came in."""

    def __init__(self, raw):
        self.raw = raw
        tag, s, e = parse_tlv(raw, 0)
        if tag != 0x30:
            raise ValueError("not an LDAPMessage")
        parts = children(raw, s, e)
        if len(parts) < 2:
            raise ValueError("LDAPMessage without protocolOp")
        t, a, b, r = parts[0]
        self.msgid = int.from_bytes(raw[a:b], "big", signed=True)
        self.msgid_raw = raw[r:b]
        self.op_tag, self.op_start, self.op_end, op_raw = parts[1]
        self.rest = raw[self.op_end:e]

    def op_children(self):
        return children(self.raw, self.op_start, self.op_end)

    def rebuild(self, op_tag, op_body):
        return tlv(0x30, self.msgid_raw + tlv(op_tag, op_body) + self.rest)


OP_BIND_REQ, OP_UNBIND, OP_SEARCH_REQ = 0x60, 0x42, 0x63
OP_SEARCH_ENTRY, OP_SEARCH_DONE, OP_SEARCH_REF = 0x64, 0x65, 0x73
OP_ABANDON, OP_EXT_REQ, OP_EXT_RESP = 0x50, 0x77, 0x78
STARTTLS_OID = b"1.3.6.1.4.1.1466.20037"
OPERATIONS_ERROR = 1

RANGE_OPT = re.compile(rb";range=(\d+)-(\d+|\*)", re.I)


def split_range(desc):
    """(description without the range option, low, high or None for "*")
    of an attribute description with a range option, or None without."""
    m = RANGE_OPT.search(desc)
    if m is None:
        return None
    high = None if m.group(2) == b"*" else int(m.group(2))
    return desc[:m.start()] + desc[m.end():], int(m.group(1)), high


# --- The proxy ---------------------------------------------------------------


class _Search:
    """What a SearchRequest asked for by range: lower-cased description ->
    (low, high)."""

    def __init__(self, ranges):
        self.ranges = ranges
        self.failed = None  # diagnostic when past_end == "error" struck


class RangeProxy:
    def __init__(self, upstream_uri, limit=1500, port=0, past_end="empty",
                 log_size=2000):
        if past_end not in ("empty", "absent", "error"):
            raise ValueError("past_end: empty, absent or error")
        u = urlparse(upstream_uri)
        if u.scheme != "ldap":
            raise ValueError("plain ldap:// upstream only")
        self.upstream = (u.hostname or "127.0.0.1", u.port or 389)
        self.limit = int(limit)
        self.past_end = past_end
        self.fail_range_steps = False  # tests: refuse every ";range=" request
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.port = self.sock.getsockname()[1]
        self.uri = "ldap://127.0.0.1:%d" % self.port
        self.lock = threading.Lock()
        self.ranged_entries = 0
        self.ranged_attrs = 0
        self.range_requests = 0
        self.range_asked = []
        self.past_end_requests = 0
        self.searches = 0
        self.entries = 0
        self.connections = 0
        self.errors = []
        self.log = collections.deque(maxlen=log_size)
        self._open = set()
        self._thread = None
        self._stopped = False

    # lifecycle

    def start(self):
        self.sock.listen(64)
        self._thread = threading.Thread(target=self._accept, daemon=True,
                                        name="range-proxy-accept")
        self._thread.start()
        return self

    def stop(self):
        self._stopped = True
        try:
            self.sock.close()
        except OSError:
            pass
        with self.lock:
            socks = list(self._open)
        for s in socks:
            _close(s)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def reset_counters(self):
        with self.lock:
            self.ranged_entries = self.ranged_attrs = self.range_requests = 0
            self.past_end_requests = self.searches = self.entries = 0
            self.range_asked = []
            self.log.clear()

    def _note(self, line):
        self.log.append(line)

    # connections

    def _accept(self):
        while not self._stopped:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            try:
                up = socket.create_connection(self.upstream, timeout=10)
                up.settimeout(None)
            except OSError as e:
                self.errors.append("upstream connect: %s" % e)
                _close(client)
                continue
            with self.lock:
                self.connections += 1
                self._open.update((client, up))
            conn = _Conn(self, client, up)
            threading.Thread(target=conn.client_to_upstream, daemon=True,
                             name="range-proxy-c2u").start()
            threading.Thread(target=conn.upstream_to_client, daemon=True,
                             name="range-proxy-u2c").start()

    # rewriting

    def rewrite_request(self, m, conn):
        """The bytes to send upstream for client message m."""
        if m.op_tag != OP_SEARCH_REQ:
            if m.op_tag == OP_ABANDON:
                self._note("abandon")
            return m.raw
        parts = m.op_children()
        if len(parts) != 8:
            raise ValueError("SearchRequest with %d parts" % len(parts))
        base = m.raw[parts[0][1]:parts[0][2]]
        atag, astart, aend, araw = parts[7]
        attrs = [m.raw[s:e] for _, s, e, _ in children(m.raw, astart, aend)]
        ranges, out = {}, []
        for a in attrs:
            r = split_range(a)
            if r is None:
                out.append(a)
                continue
            plain, low, high = r
            ranges[plain.lower()] = (low, high)
            out.append(plain)
        with self.lock:
            self.searches += 1
            if ranges:
                self.range_requests += 1
                self.range_asked += [a.decode("utf-8", "replace")
                                     for a in attrs if split_range(a)]
        conn.searches[m.msgid] = _Search(ranges)
        if ranges and self.fail_range_steps:
            # A server that gives up on the client's next chunk (a DC going
            # away mid-walk): every entry is dropped and the search ends in
            # operationsError.
            conn.searches[m.msgid].failed = "range step refused (fail_range_steps)"
        self._note("search #%d base=%s attrs=%s" % (
            m.msgid, base.decode("utf-8", "replace"),
            ",".join(a.decode("utf-8", "replace") for a in attrs)))
        if not ranges:
            return m.raw
        head = m.raw[m.op_start:araw]
        body = head + tlv(atag, b"".join(tlv(0x04, a) for a in out))
        return m.rebuild(m.op_tag, body)

    def rewrite_response(self, m, conn):
        """The bytes to send the client for upstream message m, or None to
        send nothing."""
        if m.op_tag == OP_SEARCH_ENTRY:
            search = conn.searches.get(m.msgid)
            if search is not None and search.failed:
                return None
            return self._entry(m, search)
        if m.op_tag == OP_SEARCH_DONE:
            search = conn.searches.pop(m.msgid, None)
            parts = m.op_children()
            code = int.from_bytes(m.raw[parts[0][1]:parts[0][2]], "big")
            if search is not None and search.failed and code == 0:
                self._note("done #%d operationsError (%s)" % (m.msgid, search.failed))
                body = (ber_int(0x0A, OPERATIONS_ERROR) + tlv(0x04, b"") +
                        tlv(0x04, search.failed.encode()))
                return m.rebuild(OP_SEARCH_DONE, body)
            self._note("done #%d result %d" % (m.msgid, code))
        return m.raw

    def _entry(self, m, search):
        parts = m.op_children()
        dn = m.raw[parts[0][1]:parts[0][2]]
        atag, astart, aend, araw = parts[1]
        ranges = search.ranges if search is not None else {}
        new_attrs, changed, cut, notes = [], False, False, []
        for _, s, e, r in children(m.raw, astart, aend):
            (tt, ts, te, _), (vt, vs, ve, _) = children(m.raw, s, e)[:2]
            desc = m.raw[ts:te]
            vals = [m.raw[a:b] for _, a, b, _ in children(m.raw, vs, ve)]
            n = len(vals)
            want = ranges.get(desc.lower())
            if want is None and n <= self.limit:
                new_attrs.append(m.raw[r:e])
                continue
            low, high = want if want is not None else (0, None)
            changed = True
            if want is None:
                cut = True
            if low >= n:
                with self.lock:
                    self.past_end_requests += 1
                notes.append("%s;range=%d-? past %d values" % (
                    desc.decode(), low, n))
                if self.past_end == "absent":
                    continue
                if self.past_end == "error":
                    search.failed = ("range %d-%s of %s starts past its %d values"
                                     % (low, "*" if high is None else high,
                                        desc.decode(), n))
                    return None
                new_attrs.append(tlv(0x30, tlv(0x04, desc + b";range=%d-*" % low)
                                     + tlv(vt, b"")))
                continue
            end = n - 1 if high is None else min(high, n - 1)
            end = min(end, low + self.limit - 1)
            if end < low:  # HIGH below LOW: nothing asked
                end = low - 1
            shown = b"*" if end >= n - 1 else str(end).encode()
            name = desc + b";range=%d-%s" % (low, shown)
            chunk = vals[low:end + 1]
            notes.append("%s (%d of %d)" % (name.decode(), len(chunk), n))
            new_attrs.append(tlv(0x30, tlv(0x04, name) + tlv(
                vt, b"".join(tlv(0x04, v) for v in chunk))))
        with self.lock:
            self.entries += 1
            if changed:
                self.ranged_attrs += len(notes)
            if cut:
                self.ranged_entries += 1
        if not changed:
            return m.raw
        self._note("entry #%d %s: %s" % (m.msgid, dn.decode("utf-8", "replace"),
                                        "; ".join(notes)))
        body = m.raw[m.op_start:araw] + tlv(atag, b"".join(new_attrs))
        return m.rebuild(OP_SEARCH_ENTRY, body)


class _Conn:
    def __init__(self, proxy, client, up):
        self.proxy, self.client, self.up = proxy, client, up
        self.searches = {}  # msgid -> _Search (dict ops are atomic)
        self.starttls = None  # msgid of a StartTLS request: go opaque

    def _finish(self):
        for s in (self.client, self.up):
            _close(s)
        with self.proxy.lock:
            self.proxy._open.discard(self.client)
            self.proxy._open.discard(self.up)

    def client_to_upstream(self):
        try:
            with self.client.makefile("rb") as f:
                while True:
                    raw = read_message(f)
                    if raw is None:
                        break
                    m = Message(raw)
                    out = self.proxy.rewrite_request(m, self)
                    if m.op_tag == OP_UNBIND:
                        # noted before it is relayed: the server closes
                        # the connection on it, and a client may look at
                        # the log as soon as it sees the close
                        self.proxy._note("unbind")
                    self.up.sendall(out)
                    if m.op_tag == OP_UNBIND:
                        break
                    if m.op_tag == OP_EXT_REQ and STARTTLS_OID in raw:
                        self.starttls = m.msgid
                        _pump(f, self.up)  # TLS from here on: bytes only
                        break
        except (OSError, ValueError) as e:
            if not self.proxy._stopped:
                self.proxy.errors.append("client side: %r" % e)
        finally:
            try:
                self.up.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def upstream_to_client(self):
        try:
            with self.up.makefile("rb") as f:
                while True:
                    raw = read_message(f)
                    if raw is None:
                        break
                    m = Message(raw)
                    out = self.proxy.rewrite_response(m, self)
                    if out is not None:
                        try:
                            self.client.sendall(out)
                        except (BrokenPipeError, ConnectionResetError):
                            # the client went away mid-answer (stafetd
                            # drops a connection whose ranged read failed):
                            # a close, not a fault of the proxy
                            break
                    if m.op_tag == OP_EXT_RESP and m.msgid == self.starttls:
                        _pump(f, self.client)
                        break
        except (OSError, ValueError) as e:
            if not self.proxy._stopped:
                self.proxy.errors.append("upstream side: %r" % e)
        finally:
            self._finish()


def _pump(f, dst):
    while True:
        chunk = f.read1(65536)
        if not chunk:
            return
        dst.sendall(chunk)


def _close(s):
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        s.close()
    except OSError:
        pass


def main(argv=None):
    import argparse
    import time
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--upstream", required=True, help="ldap://host:port")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--limit", type=int, default=1500)
    ap.add_argument("--past-end", default="empty",
                    choices=("empty", "absent", "error"))
    args = ap.parse_args(argv)
    p = RangeProxy(args.upstream, args.limit, args.port, args.past_end).start()
    print(p.uri, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        p.stop()


if __name__ == "__main__":
    main()
