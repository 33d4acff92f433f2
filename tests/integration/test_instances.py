"""Several stafetd instances on one PostgreSQL (issue 10, part 2): two
daemons on different ports, the same database, the same slapd and the same
SMTP sink, as behind a load balancer.

  - the same note edited through both at the same moment (PATCH with the
    same If-Match, released together by a barrier): exactly one 200, the
    other 412, round after round, and both then show the winner's version;
  - alerts: both run the outbox worker, and every alert arrives exactly
    once per recipient;
  - sessions: a login on one is valid on the other, and a logout on one is
    seen by the other at once (API.md: "the token is dead at once"): the
    very next request there is 401, though the session was cached;
  - reminders and the daily digest, with both daemons' clocks (the test
    clock of a test build, daemon/clock.c) moved together: each reminder
    written and mailed once, a digest a day at most."""

import collections
import contextlib
import os
import signal
import threading
import time

import pytest
import requests

from tests.harness.stafetd import Stafetd, has_test_clock
from tests.integration.handover_helpers import API, Api, User, note_body, note_ok, ok
from tests.integration.test_alerts import (
    FLAGS, UR_MAILBOX, alert_settings, judged_since, mails, new_sink, outbox_idle,
    outbox_rows, put_alerts, reminder_round, wait_delivered)
from tests.integration.test_auth import (
    assert_problem, auth_settings, bearer, delete_session, me, ready, token_of)
from tests.integration.test_counterparts import start_module_daemon
from tests.integration.test_directory import wait_until

WRAPPER = os.environ.get("STAFETD_WRAPPER", "")
VALGRIND = "valgrind" in WRAPPER
SANITIZED = "asan" in os.environ.get("STAFETD", "")
SLOW = 10 if VALGRIND else 3 if SANITIZED else 1
# Where the reminder test leaves both clocks: a day in the past, where the
# database's clock is the real one (its offset never goes below 0).
BACK_DAY = "2026-11-30"


class Pair:
    """Two daemons on one database, and what the tests share."""

    def __init__(self, a, b, db, sink):
        self.a, self.b, self.db, self.sink = a, b, db, sink
        self.apis = (Api(a), Api(b))
        self.users = {n: User(a, n) for n in ("sbo", "akh", "kmo")}


@pytest.fixture(scope="module")
def pair(pg, slapd, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("instances")
    sink = new_sink(tmp / "smtp")
    a = b = None
    try:
        extra = alert_settings(sink.port, digest_time="00:00")
        os.makedirs(tmp / "a")
        os.makedirs(tmp / "b")
        a, db = start_module_daemon(pg, slapd, tmp / "a", **extra)
        settings = auth_settings(tmp / "b", slapd.uri, routes_reload_interval="0.5s")
        settings.update(extra)
        settings.update(db.settings())
        b = Stafetd(tmp / "b" / "stafetd", settings)
        b.start()  # no --migrate: the schema is a's
        wait_until(lambda: ready(b), timeout=20 * SLOW, what="the second daemon ready")
        assert a.port != b.port
        p = Pair(a, b, db, sink)
        for api in p.apis:
            wait_until(lambda: api.template(p.users["sbo"]).status_code == 200,
                       timeout=15 * SLOW, what="the routes and templates loaded")
        yield p
    finally:
        errors = []
        for d in (b, a):
            if d is not None:
                try:
                    d.stop()
                except Exception as e:  # report both
                    errors.append(e)
        sink.stop()
        if errors:
            raise errors[0]


def test_concurrent_edits_one_wins(pair):
    sbo = pair.users["sbo"]
    api_a, api_b = pair.apis
    h = note_ok(api_a.create(sbo, note_body()), 201)
    rounds = 12
    wins = collections.Counter()
    for i in range(rounds):
        version = note_ok(api_b.get(sbo, h["id"]))["version"]
        barrier = threading.Barrier(2)
        out = {}

        def edit(name, api):
            text = f"Runde {i}: rettet gennem {name}."
            barrier.wait(timeout=10)
            out[name] = (api.patch(sbo, h["id"], {"sections": {"situation": text}},
                                   if_match=version), text)
        threads = [threading.Thread(target=edit, args=(n, api))
                   for n, api in (("a", api_a), ("b", api_b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        codes = sorted(r.status_code for r, _ in out.values())
        assert codes == [200, 412], (i, {n: (r.status_code, r.text[:300])
                                         for n, (r, _) in out.items()})
        [winner] = [n for n, (r, _) in out.items() if r.status_code == 200]
        [loser] = [n for n, (r, _) in out.items() if r.status_code == 412]
        wins[winner] += 1
        won = note_ok(out[winner][0])
        assert won["version"] == version + 1, (version, won["version"])
        assert_problem(out[loser][0], 412)
        # both daemons now show the winner's version and text
        for api in pair.apis:
            n = note_ok(api.get(sbo, h["id"]))
            assert n["version"] == version + 1
            assert n["sections"]["situation"] == out[winner][1]
    rows = pair.db.query_json(
        "SELECT json_build_object('versions', (SELECT count(*) FROM handover_versions "
        f"WHERE handover_id = '{h['id']}'), 'events', (SELECT count(*) FROM handover_events "
        f"WHERE handover_id = '{h['id']}'), 'version', (SELECT version FROM handovers "
        f"WHERE id = '{h['id']}'));")
    assert rows == {"versions": rounds + 1, "events": rounds + 1, "version": rounds + 1}, rows
    print(f"\nFIGURE two daemons, {rounds} simultaneous PATCHes with one If-Match: "
          f"{rounds} times one 200 and one 412 (a won {wins['a']}, b won {wins['b']})")


def test_sessions_are_shared(pair):
    """A login on one daemon works on the other; a logout on one ends the
    session on the other within a moment (the session cache hears of it
    through PostgreSQL's NOTIFY)."""
    for i in range(6):
        here, there = (pair.a, pair.b) if i % 2 else (pair.b, pair.a)
        token = token_of(here, "mha")
        assert me(there, bearer(token)).status_code == 200, i
        assert me(here, bearer(token)).status_code == 200, i
        r = delete_session(here, bearer(token))
        assert r.status_code == 204, r.text
        assert me(here, bearer(token)).status_code == 401, i
        t0 = time.monotonic()
        wait_until(lambda: me(there, bearer(token)).status_code == 401, timeout=2 * SLOW,
                   what=f"round {i}: the logout seen by the other daemon")
        assert time.monotonic() - t0 < 2 * SLOW


def test_logout_is_seen_by_the_other_at_once(pair):
    """API.md: DELETE /session makes the token dead at once, on every
    daemon: the very next request on the other one is 401, round after
    round, both ways, also when the other has just served the session."""
    rounds = 20
    for i in range(rounds):
        here, there = (pair.a, pair.b) if i % 2 else (pair.b, pair.a)
        token = token_of(here, "mha")
        assert me(there, bearer(token)).status_code == 200, i
        assert me(here, bearer(token)).status_code == 200, i
        assert me(there, bearer(token)).status_code == 200, i
        r = delete_session(here, bearer(token))
        assert r.status_code == 204, r.text
        seen = [me(there, bearer(token)).status_code, me(here, bearer(token)).status_code]
        assert seen == [401, 401], (f"round {i}: after a logout on one daemon, "
                                    f"(other, same) answered {seen}")


def delivered_once(sink, rows, held=()):
    """Every row's mail arrived once per recipient: one message per
    Message-ID, to exactly the row's recipients but those who take the
    daily digest (`held`). Returns the mails."""
    by_mid = {r["message_id"]: r for r in rows}
    got = [m for m in mails(sink) if m.message_id in by_mid]
    seen = collections.Counter((m.message_id, rcpt) for m in got for rcpt in m.rcpt)
    doubles = [k for k, n in seen.items() if n > 1]
    assert not doubles, doubles
    for mid, r in by_mid.items():
        rcpt = sorted(x for (m, x) in seen if m == mid)
        want = {x["email"] if isinstance(x, dict) else x for x in r["recipients"]}
        assert rcpt == sorted(want - set(held)), (r, rcpt)
    return got


def test_alerts_once_per_recipient(pair):
    sbo, akh = pair.users["sbo"], pair.users["akh"]
    claimed0 = [metric(d, "stafet_alerts_claimed_total") for d in (pair.a, pair.b)]
    hids = []
    for i in range(24):
        api = pair.apis[i % 2]
        body = note_body()
        if i % 3 == 0:
            body["receiver"] = {"unit": "UR", "person": akh.id}
        h = note_ok(api.create(sbo, body), 201)
        note_ok(api.act(sbo, h["id"], "submit"))
        if i % 4 == 0:  # returned through the other daemon: a mail to the sender
            note_ok(pair.apis[1 - i % 2].act(akh, h["id"], "return", {"flags": FLAGS}))
        hids.append(h["id"])
    rows = wait_delivered(pair.db, hids, count=24 + 6, timeout=30)
    assert all(r["state"] == "sent" for r in rows), rows
    outbox_idle(pair.db)  # a second copy would have come by now
    got = delivered_once(pair.sink, rows)
    assert len(got) == len(rows) == 30
    events = collections.Counter((m.event, tuple(m.rcpt)) for m in got)
    assert events == {("submitted", (akh.email,)): 8, ("submitted", (UR_MAILBOX,)): 16,
                      ("returned", (sbo.email,)): 6}, events
    claimed = [metric(d, "stafet_alerts_claimed_total") - c
               for d, c in zip((pair.a, pair.b), claimed0)]
    assert sum(claimed) >= 30, claimed
    print(f"\nFIGURE two daemons, 30 alerts: 30 mails, each recipient once; "
          f"claimed {int(claimed[0])} by a, {int(claimed[1])} by b")


def metric(d, name):
    for line in requests.get(d.url + "/metrics", timeout=10).text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {name} in /metrics")


def reload_both(pair, **changes):
    """Rewrites both configs with `changes` (None removes a key) and sends
    both SIGHUP; waits until both say they reloaded."""
    before = [d.log().count("config: reloaded") for d in (pair.a, pair.b)]
    for d in (pair.a, pair.b):
        for k, v in changes.items():
            if v is None:
                d.settings.pop(k, None)
            else:
                d.settings[k] = v
        d.write_config()
        d.signal(signal.SIGHUP)
    for d, n in zip((pair.a, pair.b), before):
        wait_until(lambda: d.log().count("config: reloaded") > n, timeout=10 * SLOW,
                   what="the reload")


@contextlib.contextmanager
def alerts_held(pair):
    """Neither daemon claims from the outbox while the body runs: once no
    alert is pending, smtp_url is unset on both (a reload), and set again
    after. For moving the clocks: they move one after the other, and a
    lease taken by a daemon still on the old day, or by a claim it sent
    then (the claim carries its clock), has ended on the new day: the other
    daemon would claim the alert and send it again."""
    outbox_idle(pair.db)
    smtp = pair.a.settings["smtp_url"]
    reload_both(pair, smtp_url=None)
    try:
        yield
    finally:
        reload_both(pair, smtp_url=smtp)


def date_both(pair, day):
    """Sets both daemons' dates (a test build; else the test is skipped),
    inside alerts_held, and waits for each one's reminder round of the day,
    its writes done."""
    before = time.time()
    for d in (pair.a, pair.b):
        d.set_date(day)
    for d in (pair.a, pair.b):
        judged_since(d, before + d.clock_offsets[0])


def test_reminders_and_digest_not_doubled(pair):
    if not has_test_clock():
        pytest.skip("both daemons' clocks are moved: a test build's clock "
                    "(make check runs build/asan/stafetd)")
    sbo, akh = pair.users["sbo"], pair.users["akh"]
    db = pair.db
    api_a, api_b = pair.apis
    assert ok(put_alerts(pair_env(pair.a), akh, json_body={"digest": True})) == {"digest": True}
    try:
        # held for akh's digest (akh alone receives it)
        held = note_ok(api_a.create(sbo, dict(note_body(),
                                              receiver={"unit": "UR", "person": akh.id})), 201)
        note_ok(api_b.act(sbo, held["id"], "submit"))
        # undecided since Monday 22 March 2027: a reminder due on 1 April
        u = note_ok(api_b.create(sbo, note_body()), 201)
        note_ok(api_a.act(sbo, u["id"], "submit"))
        db.psql("UPDATE handovers SET submitted_at = timestamp '2027-03-22 12:00' AT TIME ZONE "
                f"'Europe/Copenhagen' WHERE id = '{u['id']}';")
        wait_until(lambda: all(r["state"] in ("sent", "digest")
                               for r in outbox_rows(db, [held["id"], u["id"]])),
                   timeout=20 * SLOW, what="the submits' alerts handled")
        assert [r["state"] for r in outbox_rows(db, [held["id"]])] == ["digest"]
        for d in (pair.a, pair.b):
            reminder_round(d)  # both have looked at the notes as they are now
        assert db.psql("SELECT count(*) FROM reminders;").strip() == "0"

        # Both clocks move together, twice: every reminder due then, once;
        # each day's alerts go once both clocks are on it.
        for day in ("2027-04-01", "2027-04-02"):
            with alerts_held(pair):
                date_both(pair, day)  # both daemons' rounds of the day done
            assert db.psql(f"SELECT count(*) FROM reminders WHERE handover_id = "
                           f"'{u['id']}' AND kind = 'undecided';").strip() == "1", day
            assert db.psql(f"SELECT count(*) FROM digest_runs WHERE day = "
                           f"'{day}';").strip() == "1", day
        reminders = db.query_json(
            "SELECT coalesce(json_agg(json_build_object('h', handover_id, 'kind', kind, "
            "'point', due_point, 'outbox_id', outbox_id)), '[]') FROM reminders;")
        assert reminders
        # one outbox row per reminder, no reminder outbox row without its reminder
        reminder_rows = outbox_rows(db, where="event IN (SELECT DISTINCT kind FROM reminders)")
        assert sorted(r["id"] for r in reminder_rows) == \
            sorted(x["outbox_id"] for x in reminders), (reminder_rows, reminders)
        per_note = collections.Counter((x["h"], x["kind"]) for x in reminders)
        assert per_note[(u["id"], "undecided")] == 1, reminders
        rows = wait_delivered(db, list({x["h"] for x in reminders}), timeout=30)
        # A digest a day at most, made by one daemon: as many digest rows as
        # digest_runs counted, each mailed once, every held item in one.
        digest_rows = outbox_rows(db, where="event = 'digest'")
        made = int(db.psql("SELECT coalesce(sum(mails), 0) FROM digest_runs;"))
        assert 1 <= len(digest_rows) == made, (digest_rows, made)
        outbox_idle(db)  # every mail in; a second copy would have come by now
        kinds = {x["kind"] for x in reminders}
        delivered_once(pair.sink, [r for r in rows if r["event"] in kinds], held=[akh.email])
        digest_rows = outbox_rows(db, where="event = 'digest'")
        assert all(r["state"] == "sent" for r in digest_rows), digest_rows
        digests = [m for m in mails(pair.sink) if m.event == "digest"]
        assert sorted(m.message_id for m in digests) == \
            sorted(r["message_id"] for r in digest_rows), digests
        assert all(m.rcpt == [akh.email] for m in digests), digests
        assert held["ref"] in digests[0].body
        items = db.query_json("SELECT coalesce(json_agg(digest_id), '[]') FROM digest_items;")
        assert items and all(i is not None for i in items), items
        assert set(items) <= {r["id"] for r in digest_rows}
        print(f"\nFIGURE two daemons, clocks moved together over two days: {len(reminders)} "
              f"reminders written and mailed once each, {len(digests)} digests (one a day)")
    except BaseException:
        with contextlib.suppress(Exception):  # the failure is what to report
            back_to_the_past(pair)
        raise
    back_to_the_past(pair)


def back_to_the_past(pair):
    """Both clocks back to a day in the past, everyone logged in again (the
    sessions ended with the move ahead), akh's digest off."""
    with alerts_held(pair):
        date_both(pair, BACK_DAY)
    pair.users = {n: User(pair.a, n) for n in pair.users}
    assert ok(put_alerts(pair_env(pair.a), pair.users["akh"], json_body={"digest": False})) \
        == {"digest": False}


def pair_env(d):
    """What test_alerts.put_alerts needs of an Env: the daemon as .d."""
    class E:
        pass
    e = E()
    e.d = d
    return e


def test_both_serve_the_api(pair):
    """Both daemons answer the same lists (a smoke check for the load balancer).
    A note of its own: pytest-xdist may run this test in a module of its own
    on another worker, where no other test filed one."""
    sbo = pair.users["sbo"]
    note_ok(pair.apis[0].create(sbo, note_body()), 201)
    lists = []
    for api in pair.apis:
        r = api.list(sbo, box="outgoing", limit=500)
        lists.append(sorted(i["id"] for i in ok(r)["items"]))
    assert lists[0] == lists[1] and lists[0]
    r = requests.get(pair.b.url + API + "/me", headers=sbo.headers, timeout=10)
    assert r.status_code == 200
