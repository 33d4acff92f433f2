"""The session cache (auth/session_cache.c): sessions kept in memory
between requests while the daemon hears session ends (LISTEN
stafet_session_end, migrations 0006 and 0007), against real PostgreSQL and slapd.

A logout on any daemon is final on every daemon before its 204: the very
first request another daemon answers after it is refused, whether that
daemon answers from its lease (a confirm on the listening connection
completed less than 0.25 s ago) or its listening connection is stalled or
gone (then it waits for a confirm, or asks the database). A session that
ends otherwise (a DELETE by an operator, TRUNCATE, the janitor) ends here
within the lease; when the listening connection is lost, nothing is
answered from memory until it is back."""

import os
import re
import signal
import threading
import time

import pytest
import requests

from tests.integration.test_auth import (WRAPPED, assert_unauthorized, auth_settings,
                                         bearer, delete_session, me, start, token_of)
from tests.integration.test_directory import wait_until


def metric(d, name, labels=""):
    text = requests.get(d.url + "/metrics", timeout=10).text
    m = re.search(r"^%s%s (\S+)$" % (re.escape(name), re.escape(labels)), text, re.M)
    assert m, (name, labels)
    return float(m.group(1))


def hits(d):
    return metric(d, "stafet_session_cache_lookups_total", '{result="hit"}')


def listening(d):
    return metric(d, "stafet_session_cache_listening") == 1


def listener_pids(db):
    out = db.psql("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                  "AND application_name = 'stafetd session listener'")
    return [int(x) for x in out.split()]


@pytest.fixture
def d(slapd, db, stafetd, tmp_path):
    inst = start(stafetd, db, auth_settings(tmp_path, slapd.uri))
    wait_until(lambda: listening(inst), timeout=30, what="the session cache listening")
    return inst


def test_repeated_requests_are_answered_from_memory(d):
    token = token_of(d, "mha")
    before, lease = hits(d), leased(d)
    for _ in range(5):
        assert me(d, bearer(token)).status_code == 200
    # the first may go to the database (the login did not cache), the rest not
    assert hits(d) - before >= 4
    # the hits keep confirms going on the timer: within the lease, no wait
    for _ in range(5):
        assert me(d, bearer(token)).status_code == 200
    assert leased(d) > lease


def test_logout_ends_the_cached_session_at_once(d):
    token = token_of(d, "mha")
    for _ in range(3):
        assert me(d, bearer(token)).status_code == 200
    assert delete_session(d, bearer(token)).status_code == 204
    assert_unauthorized(me(d, bearer(token)))


def ends_soon(d, token, what):
    """A session ended in the database is refused here as soon as the
    notification is read: before the next request is answered, in practice.
    Polls for up to 2 s (valgrind: 10 s) so a slow machine cannot flake."""
    deadline = time.monotonic() + (10 if WRAPPED else 2)
    while True:
        r = me(d, bearer(token))
        if r.status_code == 401:
            return
        assert r.status_code == 200, r.text
        assert time.monotonic() < deadline, what + ": still answered from memory"
        time.sleep(0.02)


def test_a_session_deleted_in_the_database_ends(d, db):
    token, other = token_of(d, "mha"), token_of(d, "sbo")
    for _ in range(3):
        assert me(d, bearer(token)).status_code == 200
        assert me(d, bearer(other)).status_code == 200
    db.psql("DELETE FROM sessions WHERE username = 'mha'")
    ends_soon(d, token, "DELETE")
    assert me(d, bearer(other)).status_code == 200


def test_truncate_ends_every_cached_session(d, db):
    tokens = [token_of(d, u) for u in ("mha", "sbo", "ano")]
    for t in tokens:
        assert me(d, bearer(t)).status_code == 200
        assert me(d, bearer(t)).status_code == 200
    db.psql("TRUNCATE sessions")
    for t in tokens:
        ends_soon(d, t, "TRUNCATE")


def test_lost_listener_forgets_and_comes_back(d, db):
    token, other = token_of(d, "mha"), token_of(d, "sbo")
    for _ in range(3):
        assert me(d, bearer(token)).status_code == 200
        assert me(d, bearer(other)).status_code == 200
    pids = listener_pids(db)
    assert len(pids) == 1, pids
    # The listener goes, and while it is gone a session ends: no notification
    # can reach us, so the cache must not answer for it.
    db.psql("SELECT pg_terminate_backend(%d)" % pids[0])
    db.psql("DELETE FROM sessions WHERE username = 'mha'")
    assert_unauthorized(me(d, bearer(token)))
    assert me(d, bearer(other)).status_code == 200
    wait_until(lambda: listening(d) and len(listener_pids(db)) == 1, timeout=30,
               what="the listener back")
    assert metric(d, "stafet_session_cache_drops_total") >= 1
    before = hits(d)
    for _ in range(3):
        assert me(d, bearer(other)).status_code == 200
    assert hits(d) > before
    assert_unauthorized(me(d, bearer(token)))


def two_daemons(slapd, db, stafetd, tmp_path, **extra):
    """Daemons a and b on one database, both listening; with b's listener's
    backend pid (the one that appeared when b started)."""
    for n in ("a-cfg", "b-cfg"):  # each its own snapshot file
        (tmp_path / n).mkdir()
    a = start(stafetd, db, auth_settings(tmp_path / "a-cfg", slapd.uri), name="a")
    wait_until(lambda: listening(a) and len(listener_pids(db)) == 1, timeout=30,
               what="a listening")
    a_pid = listener_pids(db)[0]
    b = start(stafetd, db, auth_settings(tmp_path / "b-cfg", slapd.uri, **extra), name="b")
    wait_until(lambda: listening(b) and len(listener_pids(db)) == 2, timeout=30,
               what="b listening")
    b_pid = [p for p in listener_pids(db) if p != a_pid][0]
    return a, b, b_pid


class Busy:
    """Keeps a daemon answering cached sessions (another user's) in a
    thread, so that its lease is held: its confirms go out on the timer."""

    def __init__(self, d, token):
        self.d, self.token = d, token
        self.stop = threading.Event()
        self.codes = []
        self.th = threading.Thread(target=self.run, daemon=True)

    def run(self):
        s = requests.Session()
        while not self.stop.is_set():
            try:
                self.codes.append(s.get(self.d.url + "/api/v1/me", headers=bearer(self.token),
                                        timeout=30).status_code)
            except requests.RequestException:
                self.codes.append(None)

    def __enter__(self):
        self.th.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.th.join()


def leased(d):
    return metric(d, "stafet_session_cache_leased_total")


def test_two_daemons_hear_each_others_logouts(slapd, db, stafetd, tmp_path):
    """The first request on the other daemon after the 204 is refused, with
    that daemon answering from its lease all along."""
    a, b, _ = two_daemons(slapd, db, stafetd, tmp_path)
    busy_a, busy_b = token_of(a, "sbo"), token_of(b, "sbo")
    before = [leased(a), leased(b)]
    with Busy(a, busy_a), Busy(b, busy_b):
        for i in range(10):
            token = token_of(a if i % 2 else b, "mha")
            gone, other = (a, b) if i % 2 else (b, a)
            for _ in range(3):  # cached on both, the other answering from its lease
                assert me(a, bearer(token)).status_code == 200
                assert me(b, bearer(token)).status_code == 200
            t0 = time.monotonic()
            assert delete_session(gone, bearer(token)).status_code == 204
            took = time.monotonic() - t0
            assert_unauthorized(me(other, bearer(token)))
            assert_unauthorized(me(gone, bearer(token)))
            # the 204 waits out the lease (api/session.c): a lower bound only
            assert took >= 0.25, took
    # both answered from their leases meanwhile (the refusals above are then
    # the logout's wait at work, not a confirm waited for)
    assert leased(a) > before[0] and leased(b) > before[1]


def test_logout_is_final_on_a_daemon_whose_listener_is_stalled(slapd, db, stafetd, tmp_path):
    """b's listening connection stops answering (its backend SIGSTOPped):
    no confirm completes, its lease runs out, and a cached session waits
    for a confirm that does not come, until b gives the connection up and
    asks the database. The first answer after a's 204 is still a refusal."""
    a, b, b_pid = two_daemons(slapd, db, stafetd, tmp_path, db_query_timeout="2s")
    token, other = token_of(a, "mha"), token_of(b, "sbo")
    with Busy(b, other) as busy:
        for _ in range(3):
            assert me(b, bearer(token)).status_code == 200
        os.kill(b_pid, signal.SIGSTOP)
        try:
            assert delete_session(a, bearer(token)).status_code == 204
            assert_unauthorized(me(b, bearer(token)))
        finally:
            os.kill(b_pid, signal.SIGCONT)
    assert set(busy.codes) == {200}, set(busy.codes)
    assert b.wait_log("no answer to the empty query")
    wait_until(lambda: listening(b), timeout=30, what="b listening again")
    assert_unauthorized(me(b, bearer(token)))


def test_logout_is_final_on_a_daemon_whose_listener_is_gone(slapd, db, stafetd, tmp_path):
    """b's listening connection is killed just before a's logout: b forgets
    everything and asks the database, and refuses the session at once."""
    a, b, b_pid = two_daemons(slapd, db, stafetd, tmp_path)
    token, other = token_of(a, "mha"), token_of(b, "sbo")
    with Busy(b, other):
        for _ in range(3):
            assert me(b, bearer(token)).status_code == 200
        db.psql("SELECT pg_terminate_backend(%d)" % b_pid)
        assert delete_session(a, bearer(token)).status_code == 204
        assert_unauthorized(me(b, bearer(token)))


def test_a_test_clock_step_does_not_cut_the_logout_short(d):
    """The 204 waits on the real clock: a step of the test clock fires every
    timer it reaches, the logout's too, which must then wait on."""
    token = token_of(d, "mha")
    assert me(d, bearer(token)).status_code == 200
    out = {}

    def logout():
        t0 = time.monotonic()
        out["status"] = delete_session(d, bearer(token)).status_code
        out["took"] = time.monotonic() - t0

    th = threading.Thread(target=logout)
    th.start()
    try:
        time.sleep(0.1)  # the DELETE has committed: the 204 is waiting
        d.advance(5)  # skips where the clock cannot move (build/stafetd)
    finally:
        th.join()
    assert out["status"] == 204
    assert out["took"] >= 0.25, out["took"]


def test_cache_off(slapd, db, stafetd, tmp_path):
    d = start(stafetd, db, auth_settings(tmp_path, slapd.uri, session_cache="no"))
    token = token_of(d, "mha")
    for _ in range(3):
        assert me(d, bearer(token)).status_code == 200
    assert hits(d) == 0 and not listening(d)
    assert listener_pids(db) == []
    db.psql("DELETE FROM sessions")
    assert_unauthorized(me(d, bearer(token)))


def test_reload_with_new_database_settings_listens_anew(d, db):
    token = token_of(d, "mha")
    for _ in range(3):
        assert me(d, bearer(token)).status_code == 200
    old = listener_pids(db)
    conninfo = d.settings["db_conninfo"].strip('"')
    d.settings["db_conninfo"] = '"%s application_name=stafetd-reloaded"' % conninfo
    d.write_config()
    d.signal(signal.SIGHUP)
    assert d.wait_log("session cache: database settings changed")
    wait_until(lambda: listening(d) and listener_pids(db) not in ([], old), timeout=30,
               what="a new listener")
    assert metric(d, "stafet_session_cache_drops_total") >= 1
    db.psql("DELETE FROM sessions")
    ends_soon(d, token, "DELETE after the reload")


def ends(d):
    return metric(d, "stafet_session_cache_ends_total")


def test_a_bulk_delete_is_announced_once(d, db):
    """The janitor's sweep of many sessions is one '*', not a notification
    (and a look through the whole cache) per session (migration 0007)."""
    token, other = token_of(d, "mha"), token_of(d, "sbo")
    for _ in range(2):
        assert me(d, bearer(token)).status_code == 200
        assert me(d, bearer(other)).status_code == 200
    db.psql("INSERT INTO sessions (token_hash, person_id, username, expires_at) "
            "SELECT sha256(g::text::bytea), 'nobody', 'nobody', now() + interval '1 hour' "
            "FROM generate_series(1, 200) g")
    before = ends(d)
    db.psql("DELETE FROM sessions WHERE username IN ('nobody', 'mha')")
    ends_soon(d, token, "bulk DELETE")
    assert ends(d) - before == 1
    assert me(d, bearer(other)).status_code == 200  # forgotten here, alive there
    # A few are still announced one by one.
    db.psql("INSERT INTO sessions (token_hash, person_id, username, expires_at) "
            "SELECT sha256(g::text::bytea), 'nobody', 'nobody', now() + interval '1 hour' "
            "FROM generate_series(1, 3) g")
    before = ends(d)
    db.psql("DELETE FROM sessions WHERE username = 'nobody'")
    wait_until(lambda: ends(d) - before == 3, timeout=10, what="three ends announced")


def test_expiry_moved_earlier_ends_the_session(d, db):
    token, other = token_of(d, "mha"), token_of(d, "sbo")
    for _ in range(2):
        assert me(d, bearer(token)).status_code == 200
        assert me(d, bearer(other)).status_code == 200
    before = ends(d)
    # Moving the idle clock, or the expiry later, ends nothing.
    db.psql("UPDATE sessions SET last_seen_at = now(), "
            "expires_at = expires_at + interval '1 minute'")
    assert me(d, bearer(token)).status_code == 200
    assert ends(d) == before
    db.psql("UPDATE sessions SET expires_at = now() WHERE username = 'mha'")
    ends_soon(d, token, "expires_at moved to now")
    assert me(d, bearer(other)).status_code == 200


def test_the_cache_keeps_the_idle_clock_moving(d, db):
    """A session is cached only until its row's idle clock is due to move
    (30 s with the default timeouts), counted from the row's last_seen_at,
    not from the lookup: the row trails real use by at most that."""
    token = token_of(d, "mha")

    def last_use():
        """Seconds since the row's last use, on the daemon's (test) clock."""
        return float(db.psql("SELECT extract(epoch FROM now() + make_interval(secs => %f) "
                             "- last_seen_at) FROM sessions WHERE username = 'mha'"
                             % max(d.clock_offsets[0], 0)))
    db.psql("UPDATE sessions SET last_seen_at = now() - interval '25 seconds' "
            "WHERE username = 'mha'")
    assert me(d, bearer(token)).status_code == 200  # looked up, cached; not moved
    first = last_use()
    assert 25 <= first < 30, first
    d.advance(30 - first + 0.5)  # the row's clock is due now
    assert me(d, bearer(token)).status_code == 200  # looked up again, and moved
    # Kept for 30 s from the lookup, the row would say some 30 s here.
    age = last_use()
    assert age < 10, f"the idle clock was not moved: last use {age:.1f} s ago"


def test_a_disabled_trigger_stops_the_cache(d, db):
    """The triggers are looked for every 10 s: disabled, or enabled only
    for origin sessions (not ALWAYS), nothing is answered from memory. The
    test clock makes the next look (and the reconnect's backoff) due."""
    token = token_of(d, "mha")
    for _ in range(2):
        assert me(d, bearer(token)).status_code == 200
    db.psql("ALTER TABLE sessions ENABLE TRIGGER sessions_announce_end")
    d.advance(10)  # the next look for the triggers
    wait_until(lambda: not listening(d), timeout=20 if WRAPPED else 5,
               what="the cache off")
    assert d.wait_log("triggers that announce session ends are gone")
    before = hits(d)
    for _ in range(3):
        assert me(d, bearer(token)).status_code == 200
    assert hits(d) == before
    db.psql("ALTER TABLE sessions ENABLE ALWAYS TRIGGER sessions_announce_end")
    # a schema without the triggers is tried again after 10 s (+25 % jitter)
    d.advance(13)
    wait_until(lambda: listening(d), timeout=20 if WRAPPED else 5, what="the cache back")
    for _ in range(3):
        assert me(d, bearer(token)).status_code == 200
    assert hits(d) > before
