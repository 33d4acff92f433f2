"""Email alerts end to end (DESIGN.md "Alerts"; the issue "Email alerts:
reliable delivery, reminders on working days, and no personal data")
against a real stafetd, slapd with the demo directory, PostgreSQL and real
SMTP servers (tests/harness/smtp_sink.py on aiosmtpd, and a relay written
here that refuses with 5xx or 4xx).

What is checked is what arrives: every stored mail's envelope (X-RcptTo,
X-MailFrom), headers, Message-ID and bytes, against the outbox rows.

  - each alert-worthy transition gives exactly one mail, to the right
    addresses (a named receiver who is away today and their deputy; the
    unit's mailbox; the sender; the one who returned it; the new unit);
  - no mail holds a CPR number (either spelling), the citizen's name or a
    phrase of the note's sections;
  - an SMTP outage loses nothing; a 5xx relay dead-letters after
    alert_max_attempts, which an admin lists and retries (others get 404);
    a 4xx relay is tried again without limit;
  - kill -9 in the middle of a burst, and two daemons on one database:
    every alert delivered, and a Message-ID never twice but for a resend
    of the same alert;
  - reminders on the test clock (daemon/clock.c, moved day by day):
    Easter 2027 and Christmas 2026 in Danish working days, with and without
    the optional days off; draft_due; BUR-H's 18th birthday minus 6 and 3
    months; each once;
  - the daily digest (PUT /api/v1/me/alerts);
  - stafetd --check-config on the alert keys (and no key moves the clock).

The demo directory does not move with the calendar: mha is away from
2026-01-12 to 2026-03-03 with akh as her deputy, so the main daemon's clock
is set to 2026-02-16. The reminder daemon's is set to a day before any due
date before a note is filed, so that no reminder is due before the test
sets the dates it wants. Only a test build's clock moves (make check runs
build/asan/stafetd): on a production build what needs another day is
skipped, and what waits on the outbox's timers waits for them in real time.

Nothing here waits a fixed time for something not to happen: a check that
no second mail came looks once the outbox has nothing pending (a mail is
in the sink before the sink answers 250, and its row is marked sent after
that), and one that no reminder was written looks once a reminder round
that began after the change has finished, its writes included
(stafet_reminder_last_round_timestamp_seconds)."""

import datetime
import email
import email.policy
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

import pytest
import requests

from tests.harness.common import free_port
from tests.harness.smtp import SmtpSink
from tests.harness.stafetd import Stafetd, has_test_clock
from tests.integration.conftest import Database
from tests.integration.handover_helpers import (
    MAIL, Api, User, cpr_for, note_body, note_ok, ok, section_texts)
from tests.integration.test_auth import assert_problem, auth_settings, ready
from tests.integration.test_counterparts import start_module_daemon
from tests.integration.test_directory import wait_until

API = "/api/v1"
FROM = "stafet@test.example"
UR_MAILBOX = "ur" + MAIL
JC_MAILBOX = "jc-ung" + MAIL
VH_MAILBOX = "vh" + MAIL
ABSENT_DAY = "2026-02-16"  # mha away (2026-01-12..2026-03-03), deputy akh
FLAGS = [{"section": "goals", "kind": "missing",
          "comment": "Målet for bolig mangler en tidsramme."}]
SANITIZED = "asan" in os.environ.get("STAFETD", "")
VALGRIND = "valgrind" in os.environ.get("STAFETD_WRAPPER", "")
SLOW = 10 if VALGRIND else 3 if SANITIZED else 1  # timeouts


# --- settings, daemons, sinks -------------------------------------------------------


def alert_settings(smtp_port, **extra):
    s = {
        "smtp_url": f"smtp://127.0.0.1:{smtp_port}",
        "smtp_starttls": "no",
        "smtp_from": FROM,
        "smtp_timeout": "5s",
        "alert_poll_interval": "0.1s",
        "alert_retry_min": "0.2s",
        "alert_retry_max": "1s",
        "reminder_interval": "0.2s",
        "db_connect_timeout": "10s",  # a busy machine (sanitizers, other suites)
        # The demo directory does not change here: the defaults, not
        # test_directory's reload in full every 3 s (under ASan each full
        # load costs ~0.8 s of CPU, a quarter of a core per idle daemon).
        "directory_refresh_interval": "60s",
        "directory_reconcile_interval": "1h",
    }
    s.update(extra)
    return s


class Env:
    """One daemon with its database, API helper, logged-in users and sink."""

    def __init__(self, d, db, sink, names):
        self.d, self.db, self.sink = d, db, sink
        self.api = Api(d)
        self.users = {n: User(d, n) for n in names}

    def __getattr__(self, name):
        users = self.__dict__.get("users", {})
        if name in users:
            return users[name]
        raise AttributeError(name)

    def to(self, day):
        """Sets the daemon's date (a test build; else the test is skipped)
        once no alert is pending, so that each day's alerts go on their day
        (the recipients are judged when a mail is sent: absences, deputies),
        and waits for the reminder round of the new day."""
        outbox_idle(self.db)
        to_date(self.d, day)

    def at(self, day):
        """to(day), and everyone logged in again if their sessions ended (a
        move ahead reaches their expiry, and the janitor's sweep runs at
        the step)."""
        self.to(day)
        first = next(iter(self.users.values()))
        if requests.get(self.d.url + API + "/me", headers=first.headers,
                        timeout=10).status_code == 401:
            self.users = {n: User(self.d, n) for n in self.users}


SINKS = []  # every maildir of the module, for the final scan


def new_sink(tmp):
    sink = SmtpSink(str(tmp))
    SINKS.append(sink.maildir)
    sink.start()
    return sink


def start_daemon(pg, slapd, tmp, daemon_env=None, **extra):
    """start_module_daemon (test_counterparts.py), with an environment for
    the process (e.g. its time zone)."""
    if daemon_env is None:
        return start_module_daemon(pg, slapd, tmp, **extra)
    db = Database(pg, tmp)
    settings = auth_settings(tmp, slapd.uri, routes_reload_interval="0.5s")
    settings.update(extra)
    settings.update(db.settings())
    d = Stafetd(tmp / "stafetd", settings, env=daemon_env)
    d.migrate()
    d.start()
    try:
        wait_until(lambda: ready(d), timeout=20 * SLOW,
                   what="stafetd ready (database and first snapshot)")
    except BaseException:
        d.stop()
        raise
    return d, db


def start_env(pg, slapd, tmp, sink_port, names, sink=None, daemon_env=None, **extra):
    d, db = start_daemon(pg, slapd, tmp, daemon_env, **alert_settings(sink_port, **extra))
    try:
        env = Env(d, db, sink, names)
        user = next(iter(env.users.values()))
        wait_until(lambda: env.api.template(user).status_code == 200, timeout=20 * SLOW,
                   what="the routes and templates loaded")
        return env
    except BaseException:
        d.stop()
        raise


def reload(d, **changes):
    """Rewrites the config with `changes` (None removes a key), sends SIGHUP
    and waits until the daemon says it reloaded."""
    before = d.log().count("config: reloaded")
    for k, v in changes.items():
        if v is None:
            d.settings.pop(k, None)
        else:
            d.settings[k] = v
    d.write_config()
    d.signal(signal.SIGHUP)
    wait_until(lambda: d.log().count("config: reloaded") > before, timeout=10 * SLOW,
               what="the reload")


def metric(d, name):
    text = requests.get(d.url + "/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no metric {name} in /metrics")


def poll(fn, timeout, what):
    """wait_until, looking every 20 ms: what the daemon does after a move
    of its clock takes milliseconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


# --- the daemon's clock ---------------------------------------------------------------


def daemon_now(d):
    """Now on the daemon's wall clock (the test clock's offset added)."""
    return time.time() + d.clock_offsets[0]


def judged_since(d, since, timeout=10):
    """Waits until the daemon's last whole reminder round (the digests, the
    read of the open notes and every reminder it wrote) began at `since` on
    its clock or later, but not ahead of its clock now: a round begun
    before the clock was set back is not one."""
    def done():
        t = metric(d, "stafet_reminder_last_round_timestamp_seconds")
        return since <= t <= daemon_now(d) + 0.001
    poll(done, timeout * SLOW, "a reminder round")


def reminder_round(d):
    """Waits for a whole reminder round begun after now: it has seen the
    notes as they are now, and written what is due."""
    judged_since(d, daemon_now(d))


def to_date(d, day):
    """Sets the daemon's date (noon in Copenhagen; a test build, else the
    test is skipped) and waits for the reminder round of that day; a move
    ahead fires the round's timer at once."""
    before = time.time()
    d.set_date(day)
    judged_since(d, before + d.clock_offsets[0])


def pass_time(d, seconds):
    """Lets `seconds` pass for the daemon: a test build's clock moves on at
    once, and every timer that reaches fires. A production build's cannot,
    so the caller's wait (a poll with a timeout) takes them in real time."""
    if has_test_clock():
        d.advance(seconds)


def outbox_idle(db, timeout=20):
    """Waits until no alert is pending. A mail is in the sink before the
    sink answers 250 and its row is marked sent after that, so every mail of
    the rows has arrived by then, and a row that is not pending is not
    claimed again: a check that no second copy came may look."""
    poll(lambda: db.psql("SELECT count(*) FROM outbox WHERE state = 'pending';").strip() == "0",
         timeout * SLOW, "no alert pending in the outbox")


# --- mails ------------------------------------------------------------------------


class Mail:
    def __init__(self, path):
        with open(path, "rb") as f:
            self.raw = f.read()
        self.msg = email.message_from_bytes(self.raw, policy=email.policy.default)
        self.rcpt = sorted(a.strip() for a in str(self.msg["X-RcptTo"]).split(",") if a.strip())
        self.mail_from = str(self.msg["X-MailFrom"])
        self.message_id = str(self.msg["Message-ID"]).strip()
        self.event = str(self.msg["X-Stafet-Event"])
        self.subject = str(self.msg["Subject"])
        self.body = self.msg.get_content()
        self.to = sorted(a.addr_spec for a in self.msg["To"].addresses)

    def __repr__(self):
        return f"Mail({self.event}, {self.subject!r}, {self.rcpt})"


def maildir_files(maildir):
    new = os.path.join(maildir, "new")
    if not os.path.isdir(new):
        return []
    return [os.path.join(new, n) for n in sorted(os.listdir(new)) if n.endswith(".eml")]


def mails(sink):
    return [Mail(p) for p in maildir_files(sink.maildir)]


def mails_about(sink, ref, event=None):
    return [m for m in mails(sink)
            if m.event != "digest" and ref in m.subject and (event is None or m.event == event)]


# --- notes and the outbox ----------------------------------------------------------

_seq = itertools.count(1)
PERSONAL = []  # (cpr, name, [section texts]) of every note the module files


def private_body(**kw):
    """A valid BUR-UR note with a distinctive citizen name and section
    phrases, remembered for the scan of every mail."""
    n = next(_seq)
    body = note_body(**kw)
    body["citizen"]["name"] = f"Zacharias Ørnebjerg Alarmsen {n:03d}"
    s = body["sections"]
    s["situation"] = f"Fortroligt nr. {n:03d}: angst og skolevægring siden 8. klasse. " \
        + s["situation"]
    s["background"] = f"Hemmelig baggrund nr. {n:03d} om vold i hjemmet. " + s["background"]
    s["assessment"] = f"Vurdering nr. {n:03d}: brug for psykiatrisk udredning. " \
        + s["assessment"]
    PERSONAL.append((body["citizen"]["cpr"], body["citizen"]["name"],
                     [t for t in section_texts(s) if len(t) >= 20]))
    return body


def file_note(env, user=None, submit=True, **kw):
    user = user or env.sbo
    h = note_ok(env.api.create(user, private_body(**kw)), 201)
    if submit:
        h = note_ok(env.api.act(user, h["id"], "submit"))
        assert h["status"] == "submitted", h
    return h


def outbox_rows(db, hids=None, where="true"):
    if hids is not None:
        ids = ",".join(f"'{h}'" for h in hids) or "NULL"
        where = f"handover_id IN ({ids})"
    return db.query_json(
        "SELECT coalesce(json_agg(json_build_object('id', id, 'handover_id', handover_id, "
        "'event', event, 'state', state, 'attempts', attempts, 'message_id', message_id, "
        "'last_error', last_error, 'recipients', recipients, 'detail', detail) "
        f"ORDER BY id), '[]') FROM outbox WHERE {where};")


def hurry_retries(d, db, hids):
    """When an alert of the notes waits for its next attempt (tried, not
    claimed), moves a test build's clock past the longest backoff
    (alert_retry_max 1 s and its jitter of +25 %), so it is tried at once;
    a production build's wait takes the backoff in real time."""
    if d is None or not has_test_clock():
        return
    ids = ",".join(f"'{h}'" for h in hids) or "NULL"
    n = db.psql(f"SELECT count(*) FROM outbox WHERE handover_id IN ({ids}) AND state = "
                "'pending' AND attempts > 0 AND lease_until IS NULL;")
    if int(n) > 0:
        d.advance(2)


def wait_delivered(db, hids, count=None, timeout=20, d=None):
    """Waits until the notes' outbox rows (at least `count`) are all sent or
    held for a digest; returns them. With the daemon d, retries are not
    waited for (hurry_retries)."""
    def done():
        hurry_retries(d, db, hids)
        rows = outbox_rows(db, hids)
        if count is not None and len(rows) < count:
            return None
        if rows and all(r["state"] in ("sent", "digest") for r in rows):
            return rows
        return None
    return wait_until(done, timeout=timeout * SLOW, what=f"the alerts of {len(hids)} notes sent")


def reminders_of(db, hid, kind):
    return db.query_json(
        "SELECT coalesce(json_agg(json_build_object('point', due_point, 'outbox_id', outbox_id) "
        f"ORDER BY created_at), '[]') FROM reminders WHERE handover_id = '{hid}' "
        f"AND kind = '{kind}';")


def set_time(db, hid, column, local):
    """Sets a note's timestamp as a Copenhagen wall-clock time."""
    db.psql(f"UPDATE handovers SET {column} = timestamp '{local}' AT TIME ZONE "
            f"'Europe/Copenhagen' WHERE id = '{hid}';")


# --- the main daemon: transitions, outage, digest -------------------------------------


@pytest.fixture(scope="module")
def env(pg, slapd, tmp_path_factory):
    sink = new_sink(tmp_path_factory.mktemp("alerts-smtp"))
    try:
        e = start_env(pg, slapd, tmp_path_factory.mktemp("alerts"), sink.port,
                      ["sbo", "mha", "akh", "kmo", "ano"], sink=sink, digest_time="00:00")
    except BaseException:
        sink.stop()
        raise
    try:
        # A day in the past: the database's clock stays the real one (the
        # offset never goes below 0), so sessions and retries run as ever.
        if has_test_clock():
            e.to(ABSENT_DAY)
        yield e
    finally:
        e.d.stop()
        sink.stop()


def check_mail(m, row, rcpt):
    """One delivered alert: envelope, headers and Message-ID against its row."""
    assert m.rcpt == sorted(rcpt), (m, rcpt)
    assert m.to == sorted(rcpt), (m.to, rcpt)
    assert m.mail_from == FROM, m.mail_from
    assert m.message_id == row["message_id"], (m.message_id, row)
    assert re.fullmatch(r"<[0-9a-f-]{36}@stafet>", m.message_id), m.message_id
    assert str(m.msg["Auto-Submitted"]) == "auto-generated"
    assert m.event == row["event"]


def test_each_transition_mails_the_right_people_once(env):
    sbo, mha, akh = env.sbo, env.mha, env.akh
    assert (mha.email, akh.email, sbo.email) == ("mha" + MAIL, "akh" + MAIL, "sbo" + MAIL)

    # A: named receiver mha, away on ABSENT_DAY: she and her deputy akh.
    # (A production build's clock cannot be set there: today she is in.)
    away = has_test_clock()
    a = file_note(env, receiver={"unit": "UR", "person": mha.id})
    note_ok(env.api.get(akh, a["id"]))  # received: no alert
    note_ok(env.api.act(akh, a["id"], "return", {"flags": FLAGS}))  # -> the sender
    note_ok(env.api.act(sbo, a["id"], "submit"))  # -> the one who returned it: akh
    note_ok(env.api.act(akh, a["id"], "accept", {"readback": "Modtaget og forstået."}))
    # B: nobody named: the UR mailbox; forwarded: Jobcenter Ung's mailbox.
    b = file_note(env)
    note_ok(env.api.act(akh, b["id"], "forward",
                        {"unit": "JC-UNG", "reason": "Den unge er ledig og skal i job."}))

    rows = wait_delivered(env.db, [a["id"], b["id"]], count=6)
    assert [r["state"] for r in rows] == ["sent"] * 6, rows
    by_note = {a["id"]: a["ref"], b["id"]: b["ref"]}
    want = {
        (a["ref"], "submitted"): [mha.email, akh.email] if away else [mha.email],
        (a["ref"], "returned"): [sbo.email],
        (a["ref"], "resubmitted"): [akh.email],
        (a["ref"], "accepted"): [sbo.email],
        (b["ref"], "submitted"): [UR_MAILBOX],
        (b["ref"], "forwarded"): [JC_MAILBOX],
    }
    assert sorted((by_note[r["handover_id"]], r["event"]) for r in rows) == sorted(want)
    wait_until(lambda: len(mails_about(env.sink, a["ref"])) >= 4
               and len(mails_about(env.sink, b["ref"])) >= 2,
               timeout=10 * SLOW, what="the six mails")
    outbox_idle(env.db)  # a second copy would have come by now
    got = mails_about(env.sink, a["ref"]) + mails_about(env.sink, b["ref"])
    for row in rows:
        key = (by_note[row["handover_id"]], row["event"])
        hits = [m for m in got if m.event == row["event"] and key[0] in m.subject]
        assert len(hits) == 1, (key, hits)
        check_mail(hits[0], row, want[key])
        # the body: the reference, the route, a link; nothing else of the note
        assert f"Reference: {key[0]}" in hits[0].body
        assert "Rute: BUR-UR" in hits[0].body
        assert f"/#/notater/{row['handover_id']}" in hits[0].body
    ids = [m.message_id for m in got]
    assert len(set(ids)) == len(ids) == 6, ids


def test_smtp_outage_loses_nothing(env):
    sbo, akh = env.sbo, env.akh
    temporary = metric(env.d, 'stafet_alerts_total{outcome="temporary_failure"}')
    env.sink.stop()
    try:
        notes = [file_note(env) for _ in range(4)]
        for h in notes[:2]:
            note_ok(env.api.act(akh, h["id"], "return", {"flags": FLAGS}))
        hids = [h["id"] for h in notes]

        def retried():
            rows = outbox_rows(env.db, hids)
            return len(rows) == 6 and all(r["state"] == "pending" and r["attempts"] >= 2
                                          and r["last_error"] for r in rows)
        wait_until(retried, timeout=15 * SLOW, what="every alert tried at least twice")
        # the counter moves when the attempt's result is recorded, which under
        # valgrind can trail the row by a moment
        wait_until(lambda: metric(env.d, 'stafet_alerts_total{outcome="temporary_failure"}')
                   >= temporary + 12, timeout=5 * SLOW, what="the temporary failures counted")
        # the gauge sees them waiting
        gauge(env.d, lambda v: v >= 6, "stafet_outbox_pending counting the waiting alerts")
        assert not mails_about(env.sink, notes[0]["ref"])
    finally:
        env.sink.start()
    rows = wait_delivered(env.db, hids, count=6, timeout=20)
    assert all(r["state"] == "sent" for r in rows), rows
    gauge(env.d, lambda v: v == 0, "stafet_outbox_pending back to 0")
    outbox_idle(env.db)
    for h in notes:
        got = mails_about(env.sink, h["ref"])
        events = sorted(m.event for m in got)
        want = ["returned", "submitted"] if h in notes[:2] else ["submitted"]
        assert events == want, (h["ref"], got)
    for m in [m for h in notes for m in mails_about(env.sink, h["ref"])]:
        row = [r for r in rows if r["message_id"] == m.message_id]
        assert len(row) == 1, m
        check_mail(m, row[0], [UR_MAILBOX] if m.event == "submitted" else [sbo.email])


def gauge(d, ok_, what):
    """Waits for stafet_outbox_pending to satisfy ok_. The outbox gauges are
    read every 10 s: a test build's clock is moved on to the next read when
    the gauge is not there yet (at most once a second, giving the read time
    to answer); a production build's waits for it."""
    deadline = time.monotonic() + 15 * SLOW
    moved = 0
    while not ok_(metric(d, "stafet_outbox_pending")):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        if time.monotonic() - moved >= 1:
            pass_time(d, 10)
            moved = time.monotonic()
        time.sleep(0.02)


def put_alerts(env, user, data=None, json_body=None, params=None):
    h = dict(user.headers)
    h["Content-Type"] = "application/json"
    if json_body is not None:
        data = json.dumps(json_body)
    return requests.put(env.d.url + API + "/me/alerts", headers=h, data=data, params=params,
                        timeout=10)


def get_alerts(env, user, params=None):
    return requests.get(env.d.url + API + "/me/alerts", headers=user.headers, params=params,
                        timeout=10)


def test_alert_settings_api(env):
    kmo = env.kmo
    assert ok(get_alerts(env, kmo)) == {"digest": False}
    assert ok(put_alerts(env, kmo, json_body={"digest": True})) == {"digest": True}
    assert ok(get_alerts(env, kmo)) == {"digest": True}
    for bad in ({"digest": "yes"}, {"digest": 1}, {"digest": None}, {}, [],
                {"digest": True, "daily": True}, "true", True):
        r = put_alerts(env, kmo, json_body=bad)
        assert_problem(r, 400)
    for raw in ("", "{", "{\"digest\": tru}", "null"):
        assert_problem(put_alerts(env, kmo, data=raw), 400)
    assert_problem(put_alerts(env, kmo, json_body={"digest": False}, params={"x": "1"}), 400)
    assert_problem(get_alerts(env, kmo, params={"x": "1"}), 400)
    assert ok(get_alerts(env, kmo)) == {"digest": True}  # nothing bad was stored
    assert ok(put_alerts(env, kmo, json_body={"digest": False})) == {"digest": False}
    assert ok(get_alerts(env, kmo)) == {"digest": False}
    r = requests.get(env.d.url + API + "/me/alerts", timeout=10)
    assert r.status_code == 401, r.text


def digest_made(db, day):
    return db.psql(f"SELECT count(*) FROM digest_runs WHERE day = '{day}';").strip() == "1"


def test_daily_digest(env):
    mha, akh = env.mha, env.akh
    env.to(ABSENT_DAY)  # (the fixture's day; a production build skips)
    # Today's digest was made at the first round of the day (digest_time
    # 00:00): what is held now waits for tomorrow's.
    poll(lambda: digest_made(env.db, ABSENT_DAY), 10 * SLOW, "the digest run of the day")
    assert ok(put_alerts(env, akh, json_body={"digest": True})) == {"digest": True}
    try:
        # akh is the only recipient: the whole alert is held.
        e1 = file_note(env, receiver={"unit": "UR", "person": akh.id})
        # mha is away, akh her deputy: mha gets hers now, akh's is held.
        e2 = file_note(env, receiver={"unit": "UR", "person": mha.id})
        rows = wait_delivered(env.db, [e1["id"], e2["id"]], count=2)
        state = {r["handover_id"]: r["state"] for r in rows}
        assert state == {e1["id"]: "digest", e2["id"]: "sent"}, rows
        wait_until(lambda: mails_about(env.sink, e2["ref"]), timeout=10 * SLOW,
                   what="mha's own alert")
        outbox_idle(env.db)
        assert not mails_about(env.sink, e1["ref"])
        [m2] = mails_about(env.sink, e2["ref"])
        assert m2.rcpt == [mha.email], m2
        items = env.db.query_json(
            "SELECT coalesce(json_agg(json_build_object('email', email, 'outbox_id', "
            "outbox_id, 'digest_id', digest_id) ORDER BY id), '[]') FROM digest_items;")
        assert [(i["email"], i["digest_id"]) for i in items] == [(akh.email, None)] * 2, items
        assert not [m for m in mails(env.sink) if m.event == "digest"]

        # The next day's first round makes the digest.
        env.to("2026-02-17")
        assert digest_made(env.db, "2026-02-17")
        outbox_idle(env.db)
        digests = [m for m in mails(env.sink) if m.event == "digest"]
        assert len(digests) == 1, digests
        d = digests[0]
        assert d.rcpt == [akh.email] and d.to == [akh.email], d
        assert d.subject == "Dagens overdragelser i Stafet (2)", d.subject
        assert e1["ref"] in d.body and e2["ref"] in d.body, d.body
        assert f"/#/notater/{e1['id']}" in d.body and f"/#/notater/{e2['id']}" in d.body
        row = outbox_rows(env.db, where="event = 'digest'")
        assert len(row) == 1 and row[0]["state"] == "sent", row
        assert row[0]["message_id"] == d.message_id
        items = env.db.query_json(
            "SELECT coalesce(json_agg(digest_id), '[]') FROM digest_items;")
        assert items == [row[0]["id"]] * 2, items
        # a day more: nothing held, no second digest of it
        env.to("2026-02-18")
        assert digest_made(env.db, "2026-02-18")
        outbox_idle(env.db)
        assert len([m for m in mails(env.sink) if m.event == "digest"]) == 1
    finally:
        put_alerts(env, akh, json_body={"digest": False})
        if has_test_clock():
            env.to(ABSENT_DAY)


def test_cpr_guard_refuses_the_mail_and_counts_it(env):
    """The last guard: a mail whose text holds something shaped like a CPR
    number is not sent; the alert is dead with the reason, the refusal is
    counted, and the number is neither mailed nor logged. (Nothing the
    daemon writes holds one, so the route code of a draft is set to one by
    SQL, and its alert written as handover_write() would.)"""
    before = metric(env.d, 'stafet_alerts_total{outcome="refused_cpr"}')
    h = note_ok(env.api.create(env.sbo, private_body()), 201)
    env.db.psql(f"UPDATE handovers SET route = 'BUR-UR 010190-1234' WHERE id = '{h['id']}';"
                "INSERT INTO outbox (handover_id, event, audience, recipients, message_id) "
                f"VALUES ('{h['id']}', 'submitted', '[{{\"unit\": \"UR\"}}]', '[]', "
                "'<' || gen_random_uuid()::text || '@stafet>');")

    def dead():
        rows = outbox_rows(env.db, [h["id"]])
        return rows[0] if rows and rows[0]["state"] == "dead" else None
    row = wait_until(dead, timeout=10 * SLOW, what="the alert refused")
    assert "CPR" in row["last_error"] and "010190" not in row["last_error"], row
    assert row["attempts"] == 1, row
    assert metric(env.d, 'stafet_alerts_total{outcome="refused_cpr"}') == before + 1
    outbox_idle(env.db)
    for m in mails(env.sink):
        assert b"010190" not in m.raw, m
    log = env.d.log()
    assert "010190-1234" not in log and "0101901234" not in log
    # an admin sees it among the dead, with the reason
    page = ok(outbox_api(env.d, env.ano, state="dead"))
    assert [i["last_error"] for i in page["items"] if i["id"] == row["id"]] == \
        [row["last_error"]], page


# --- a relay that refuses ---------------------------------------------------------------

RELAY_SRC = r'''
import asyncio, signal, sys
from aiosmtpd.smtp import SMTP

port, mode = int(sys.argv[1]), sys.argv[2]


class Relay:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if mode == "rcpt":
            return "550 5.7.1 refused"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if mode == "data":
            return "550 5.7.1 refused"
        if mode == "tempfail":
            return "451 4.7.1 try again later"
        return "250 OK"


loop = asyncio.new_event_loop()
server = loop.run_until_complete(loop.create_server(
    lambda: SMTP(Relay(), hostname="refusing-relay"), host="127.0.0.1", port=port,
    reuse_address=True))
for sig in (signal.SIGTERM, signal.SIGINT):
    loop.add_signal_handler(sig, loop.stop)
print("relay", mode, "on", port, flush=True)
loop.run_forever()
server.close()
'''


class Relay:
    """A real SMTP server (Debian's aiosmtpd) that refuses every mail:
    mode "data" (550 after DATA), "rcpt" (550 to RCPT TO) or "tempfail"
    (451 after DATA)."""

    def __init__(self, tmp, port):
        self.port = port
        self.script = os.path.join(str(tmp), "relay.py")
        with open(self.script, "w") as f:
            f.write(RELAY_SRC)
        self.log = os.path.join(str(tmp), "relay.log")
        self.proc = None

    def start(self, mode):
        self.stop()
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(["/usr/bin/python3", self.script, str(self.port), mode],
                                         stdout=log, stderr=log, stdin=subprocess.DEVNULL)

        def greets():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    return s.recv(4).startswith(b"220")
            except OSError:
                assert self.proc.poll() is None, open(self.log).read()
                return False
        wait_until(greets, timeout=10, what=f"the {mode} relay")

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


def outbox_api(d, user, **params):
    return requests.get(d.url + API + "/outbox", headers=user.headers, params=params, timeout=10)


def retry_api(d, user, oid):
    return requests.post(f"{d.url}{API}/outbox/{oid}/retry", headers=user.headers, timeout=10)


def test_5xx_relay_dead_letters_and_admin_retries(pg, slapd, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("alerts-relay")
    port = free_port()
    relay = Relay(tmp, port)
    relay.start("data")
    sink = None
    env = None
    try:
        env = start_env(pg, slapd, tmp, port, ["sbo", "akh", "ano"], alert_max_attempts="2")
        sbo, ano = env.sbo, env.ano
        dead0 = metric(env.d, 'stafet_alerts_total{outcome="dead"}')

        def dead_row(hid):
            def f():
                hurry_retries(env.d, env.db, [hid])
                rows = outbox_rows(env.db, [hid])
                return rows[0] if rows and rows[0]["state"] == "dead" else None
            return wait_until(f, timeout=15 * SLOW, what="the alert dead-lettered")

        # 550 after DATA: two attempts (alert_max_attempts), then dead.
        n1 = file_note(env)
        r1 = dead_row(n1["id"])
        assert r1["attempts"] == 2, r1
        assert "550" in r1["last_error"], r1
        assert metric(env.d, 'stafet_alerts_total{outcome="dead"}') >= dead0 + 1
        assert metric(env.d, 'stafet_alerts_total{outcome="permanent_failure"}') >= 2

        # 550 to RCPT TO: the same.
        relay.start("rcpt")
        n2 = file_note(env)
        r2 = dead_row(n2["id"])
        assert r2["attempts"] == 2 and "550" in r2["last_error"], r2
        # n1 was not tried again in all the claims (and clock moves) since
        assert outbox_rows(env.db, [n1["id"]])[0]["attempts"] == 2

        # The admin's list of dead letters.
        page = ok(outbox_api(env.d, ano, state="dead"))
        listed = {i["id"]: i for i in page["items"]}
        assert {r1["id"], r2["id"]} <= set(listed), page
        i1 = listed[r1["id"]]
        assert (i1["state"], i1["event"], i1["ref"], i1["route"]) == \
            ("dead", "submitted", n1["ref"], "BUR-UR"), i1
        assert i1["recipients"] == [UR_MAILBOX] and "550" in i1["last_error"], i1
        assert i1["message_id"] == r1["message_id"]
        assert all(i["state"] == "dead" for i in page["items"])
        assert not ok(outbox_api(env.d, ano, state="sent"))["items"]
        # Not an admin: 404 on both, the row untouched.
        assert_problem(outbox_api(env.d, sbo), 404)
        assert_problem(outbox_api(env.d, sbo, state="dead"), 404)
        assert_problem(retry_api(env.d, sbo, r1["id"]), 404)
        assert_problem(retry_api(env.d, env.akh, r1["id"]), 404)
        assert outbox_rows(env.db, [n1["id"]])[0]["state"] == "dead"
        assert_problem(outbox_api(env.d, ano, state="nope"), 400)
        assert_problem(retry_api(env.d, ano, "abc"), 404)

        # 451: tried again without limit, never dead.
        relay.start("tempfail")
        n3 = file_note(env)

        def tried_four_times():
            hurry_retries(env.d, env.db, [n3["id"]])
            return outbox_rows(env.db, [n3["id"]])[0]["attempts"] >= 4
        wait_until(tried_four_times, timeout=15 * SLOW, what="the 4xx alert tried four times")
        r3 = outbox_rows(env.db, [n3["id"]])[0]
        assert r3["state"] == "pending" and "451" in r3["last_error"], r3

        # The relay accepts again; an admin's retry brings the dead back.
        relay.stop()
        sink = SmtpSink(str(tmp / "sink"), port=port)
        SINKS.append(sink.maildir)
        sink.start()
        for r in (r1, r2):
            assert ok(retry_api(env.d, ano, r["id"])) == {"id": r["id"], "state": "pending"}
        rows = wait_delivered(env.db, [n1["id"], n2["id"], n3["id"]], count=3, d=env.d)
        assert all(r["state"] == "sent" for r in rows), rows
        assert_problem(retry_api(env.d, ano, r1["id"]), 409)  # not dead any more
        assert_problem(retry_api(env.d, ano, "999999999"), 409)
        for n in (n1, n2, n3):
            got = mails_about(sink, n["ref"])
            assert len(got) == 1 and got[0].rcpt == [UR_MAILBOX], got
        audit = env.db.query_json(
            "SELECT coalesce(json_agg(object_id ORDER BY id), '[]') FROM audit_log "
            "WHERE action = 'outbox.retry';")
        assert audit == [str(r1["id"]), str(r2["id"])], audit
    finally:
        if env is not None:
            env.d.stop()
        relay.stop()
        if sink is not None:
            sink.stop()


# --- kill -9 mid-burst; two daemons on one database -------------------------------------


def check_once_each(sink, rows):
    """Every row sent; each Message-ID of the rows arrived, and a
    Message-ID that arrived twice is the same alert (resent)."""
    assert all(r["state"] == "sent" for r in rows), [r for r in rows if r["state"] != "sent"]
    by_mid = {r["message_id"]: r for r in rows}
    got = [m for m in mails(sink) if m.message_id in by_mid]
    assert {m.message_id for m in got} == set(by_mid), "alerts never delivered"
    assert len({m.message_id for m in got}) == len(rows)
    subjects = {}
    for m in got:
        r = by_mid[m.message_id]
        assert m.event == r["event"], (m, r)
        subjects.setdefault(m.message_id, set()).add((m.subject, tuple(m.rcpt)))
    # a Message-ID twice is the same alert sent again, never another one
    assert all(len(v) == 1 for v in subjects.values()), subjects
    return got


def test_kill9_in_a_burst_loses_nothing(pg, slapd, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("alerts-kill")
    sink = new_sink(tmp / "smtp")
    env = None
    try:
        env = start_env(pg, slapd, tmp, sink.port, ["sbo"], alert_lease="2s")
        drafts = [note_ok(env.api.create(env.sbo, private_body()), 201) for _ in range(50)]
        hids = [h["id"] for h in drafts]
        sink.stop()
        for h in drafts:
            note_ok(env.api.act(env.sbo, h["id"], "submit"))
        wait_until(lambda: sum(r["attempts"] >= 1 for r in outbox_rows(env.db, hids)) == 50,
                   timeout=15 * SLOW, what="every alert tried once")
        sink.start()
        deadline = time.monotonic() + 20 * SLOW
        while len(maildir_files(sink.maildir)) < 10:
            assert time.monotonic() < deadline, "no mails flowing"
            time.sleep(0.005)
        env.d.proc.send_signal(signal.SIGKILL)
        at_kill = len(maildir_files(sink.maildir))
        env.d.stop()
        unsent = [r for r in outbox_rows(env.db, hids) if r["state"] != "sent"]
        assert unsent, f"all 50 sent before the kill ({at_kill} mails): nothing was in flight"
        # The rows the dead daemon held come back when its lease (2 s) ends:
        # on a test build its clock, read at start, is that far on already,
        # and the first look at the outbox (1 s after the start) is made now.
        pass_time(env.d, 3)
        env.d.start()
        pass_time(env.d, 1)
        rows = wait_delivered(env.db, hids, count=50, timeout=30, d=env.d)
        assert len(rows) == 50
        outbox_idle(env.db)
        got = check_once_each(sink, rows)
        assert len(got) >= 50, (at_kill, len(unsent))
        assert all(m.rcpt == [UR_MAILBOX] for m in got)
    finally:
        if env is not None:
            env.d.stop()
        sink.stop()


def test_two_daemons_one_database_send_each_alert_once(pg, slapd, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("alerts-two")
    sink = new_sink(tmp / "smtp")
    env = second = None
    try:
        os.makedirs(tmp / "a", exist_ok=True)
        env = start_env(pg, slapd, tmp / "a", sink.port, ["sbo"])
        os.makedirs(tmp / "b", exist_ok=True)
        settings = auth_settings(tmp / "b", slapd.uri, routes_reload_interval="0.5s")
        settings.update(alert_settings(sink.port))
        settings.update(env.db.settings())
        second = Stafetd(tmp / "b" / "stafetd", settings)
        second.start()
        wait_until(lambda: ready(second), timeout=20 * SLOW, what="the second daemon ready")
        api2 = Api(second)
        wait_until(lambda: api2.template(env.sbo).status_code == 200, timeout=20 * SLOW,
                   what="the second daemon's routes")
        drafts = [note_ok((env.api if i % 2 else api2).create(env.sbo, private_body()), 201)
                  for i in range(40)]
        hids = [h["id"] for h in drafts]
        sink.stop()
        # The burst: submitted through both daemons at once.
        errors = []

        def submit_all(api, part):
            try:
                for h in part:
                    note_ok(api.act(env.sbo, h["id"], "submit"))
            except BaseException as e:  # reported below
                errors.append(e)
        threads = [threading.Thread(target=submit_all, args=(api, drafts[i::2]))
                   for i, api in enumerate((env.api, api2))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        # both daemons find the backlog and fail on it
        wait_until(lambda: all(metric(x, "stafet_alerts_claimed_total") > 0
                               for x in (env.d, second)),
                   timeout=15 * SLOW, what="both daemons claiming from the outbox")
        sink.start()
        rows = wait_delivered(env.db, hids, count=40, timeout=30)
        outbox_idle(env.db)
        got = check_once_each(sink, rows)
        assert len(got) == 40, sorted(m.message_id for m in got)
        claimed = [metric(x, "stafet_alerts_claimed_total") for x in (env.d, second)]
        assert all(c > 0 for c in claimed), claimed
    finally:
        if second is not None:
            second.stop()
        if env is not None:
            env.d.stop()
        sink.stop()


# --- reminders on the test clock ----------------------------------------------------------

# Earlier than any due date of the notes below, and in the past: the
# database's clock is the real one there, so sessions made then are good.
BEFORE_ALL = "2026-11-30"


@pytest.fixture(scope="module")
def remind_env(pg, slapd, tmp_path_factory):
    if not has_test_clock():
        pytest.skip("the reminders are followed day by day on a test build's clock "
                    "(make check runs build/asan/stafetd)")
    tmp = tmp_path_factory.mktemp("alerts-remind")
    sink = new_sink(tmp / "smtp")
    try:
        # The server's clock runs in UTC, as many do; the municipality's
        # dates are Copenhagen's all the same.
        e = start_env(pg, slapd, tmp, sink.port, ["sbo", "akh", "lbk", "kmo"], sink=sink,
                      daemon_env={"TZ": "UTC"})
    except BaseException:
        sink.stop()
        raise
    try:
        e.at(BEFORE_ALL)
        yield e
    finally:
        e.d.stop()
        sink.stop()


def days(first, last):
    d = datetime.date.fromisoformat(first)
    end = datetime.date.fromisoformat(last)
    while d <= end:
        yield d.isoformat()
        d += datetime.timedelta(days=1)


def reminder_mails(env, ref, event):
    return [m for m in mails(env.sink) if m.event == event and ref in m.subject]


def test_reminders_over_easter_2027(remind_env):
    env = remind_env
    env.at(BEFORE_ALL)
    sbo, lbk, kmo = env.sbo, env.lbk, env.kmo
    # U: submitted Monday 22 March 2027 at noon. 5 working days: 23, 24,
    # (25 skærtorsdag, 26 langfredag, 27-28 weekend, 29 2. påskedag) 30,
    # 31 March, 1 April.
    u = file_note(env)
    set_time(env.db, u["id"], "submitted_at", "2027-03-22 12:00")
    # D: a draft planned for Friday 9 April 2027: 10 working days ahead on
    # 23 March (24, 30, 31 March, 1, 2, 5, 6, 7, 8, 9 April), 11 on 22 March.
    dft = file_note(env, submit=False, on=datetime.date(2027, 4, 9))
    assert dft["planned_date"] == "2027-04-09"
    # B: a BUR-H youth who turns 18 on 28 September 2027: reminders from
    # 28 March (6 months) and 28 June (3 months) until the note is accepted.
    born = datetime.date(2009, 9, 28)
    b18_cpr = cpr_for(born)
    b18 = note_ok(env.api.create(lbk, {"route": "BURH-AEHF", "citizen": {
        "cpr": b18_cpr, "name": "Zacharias Ørnebjerg Alarmsen B18"}}), 201)
    assert b18["citizen"]["cpr"] == b18_cpr[:6] + "-XXXX"  # masked in a write's answer
    PERSONAL.append((b18_cpr, "Zacharias Ørnebjerg Alarmsen B18", []))
    assert b18["citizen"]["birthdate"] == "2009-09-28", b18["citizen"]
    reminder_round(env.d)
    for h in (u, dft, b18):
        for kind in ("undecided", "draft_due", "before_18"):
            assert reminders_of(env.db, h["id"], kind) == [], (h["ref"], kind)

    first = {}
    note_of = {"undecided": u, "draft_due": dft, "before_18": b18}
    for day in days("2027-03-22", "2027-04-02"):
        env.to(day)  # the day's round has written what is due
        expect = {"undecided": day >= "2027-04-01", "draft_due": day >= "2027-03-23",
                  "before_18": day >= "2027-03-28"}
        for kind, due in expect.items():
            got = reminders_of(env.db, note_of[kind]["id"], kind)
            assert len(got) == (1 if due else 0), (day, kind, got)
            if due and kind not in first:
                first[kind] = day
    assert first == {"draft_due": "2027-03-23", "before_18": "2027-03-28",
                     "undecided": "2027-04-01"}, first

    # The 3-month point: 28 June; the 6-month one is not written again.
    for day, n in (("2027-06-27", 1), ("2027-06-28", 2), ("2027-06-29", 2)):
        env.to(day)
        got = reminders_of(env.db, b18["id"], "before_18")
        assert sorted(g["point"] for g in got) == (["6"] if n == 1 else ["3", "6"]), (day, got)

    # Each reminder: one outbox row, one mail, to the right people.
    rows = wait_delivered(env.db, [u["id"], dft["id"], b18["id"]], count=5)
    reminder_rows = [r for r in rows if r["event"] in ("undecided", "draft_due", "before_18")]
    assert sorted(r["event"] for r in reminder_rows) == \
        ["before_18", "before_18", "draft_due", "undecided"], rows
    outbox_idle(env.db)
    want = {(u["ref"], "undecided"): sorted([UR_MAILBOX, kmo.email]),
            (dft["ref"], "draft_due"): [sbo.email],
            (b18["ref"], "before_18"): sorted([lbk.email, VH_MAILBOX])}
    for (ref, event), rcpt in want.items():
        got = reminder_mails(env, ref, event)
        assert len(got) == (2 if event == "before_18" else 1), (ref, event, got)
        for m in got:
            assert m.rcpt == rcpt, (ref, event, m)
    [mu] = reminder_mails(env, u["ref"], "undecided")
    assert "Frist: 2027-04-01" in mu.body, mu.body
    assert "Påmindelse" in mu.subject
    [md] = reminder_mails(env, dft["ref"], "draft_due")
    assert "2027-04-09" in md.body
    months = sorted(re.search(r"under (\d) måneder", m.body).group(1)
                    for m in reminder_mails(env, b18["ref"], "before_18"))
    assert months == ["3", "6"], months
    mids = [r["message_id"] for r in reminder_rows]
    assert len(set(mids)) == len(mids)


def test_reminder_rows_point_at_their_outbox_rows(remind_env):
    """reminders.outbox_id names the alert the reminder wrote (0005_alerts.sql:
    "the row here is written with the reminder's outbox row"). A reminder of
    its own (undecided, due 1 April 2027), whatever else ran on this worker."""
    env = remind_env
    env.at(BEFORE_ALL)
    u = file_note(env)
    set_time(env.db, u["id"], "submitted_at", "2027-03-22 12:00")
    env.to("2027-04-01")
    assert len(reminders_of(env.db, u["id"], "undecided")) == 1
    rows = env.db.query_json(
        "SELECT coalesce(json_agg(json_build_object('kind', r.kind, 'outbox_id', r.outbox_id, "
        "'match', (SELECT count(*) FROM outbox o WHERE o.id = r.outbox_id AND "
        "o.handover_id = r.handover_id AND o.event = r.kind))), '[]') FROM reminders r;")
    assert rows, "no reminders were written"
    assert all(r["outbox_id"] is not None for r in rows), rows
    assert all(r["match"] == 1 for r in rows), rows


def returned_on(env, local):
    """A note filed, returned by akh, its return moved to `local`."""
    env.at(BEFORE_ALL)
    h = file_note(env)
    note_ok(env.api.act(env.akh, h["id"], "return", {"flags": FLAGS}))
    set_time(env.db, h["id"], "decided_at", local)
    reminder_round(env.d)
    assert reminders_of(env.db, h["id"], "returned_waiting") == []
    return h


def step_returned(env, h, plan):
    """plan: [(day, reminded?)]; returns the day it was first written."""
    first = None
    for day, due in plan:
        env.to(day)
        got = reminders_of(env.db, h["id"], "returned_waiting")
        assert len(got) == (1 if due else 0), (day, got)
        if due and first is None:
            first = day
    return first


def test_returned_waiting_over_christmas_2026(remind_env):
    env = remind_env
    # Returned Tuesday 22 December 2026. Without optional days off: 23, 24,
    # (25 juledag, 26 2. juledag, 27 Sunday) 28, 29, 30 -> due 30 December.
    x = returned_on(env, "2026-12-22 12:00")
    plan = [("2026-12-23", False), ("2026-12-24", False), ("2026-12-28", False),
            ("2026-12-29", False), ("2026-12-30", True), ("2026-12-31", True),
            ("2027-01-04", True)]
    assert step_returned(env, x, plan) == "2026-12-30"

    # With juleaftensdag and nytårsaftensdag off: 23, 28, 29, 30, (31, 1 Jan
    # nytårsdag, 2-3 weekend) 4 January 2027.
    reload(env.d, days_off="juleaftensdag nytaarsaftensdag")
    try:
        y = returned_on(env, "2026-12-22 12:00")
        plan = [("2026-12-24", False), ("2026-12-30", False), ("2026-12-31", False),
                ("2027-01-01", False), ("2027-01-03", False), ("2027-01-04", True),
                ("2027-01-05", True)]
        assert step_returned(env, y, plan) == "2027-01-04"
    finally:
        reload(env.d, days_off=None)
    rows = wait_delivered(env.db, [x["id"], y["id"]], count=6)
    outbox_idle(env.db)
    for h in (x, y):
        assert [r["event"] for r in rows if r["handover_id"] == h["id"]] == \
            ["submitted", "returned", "returned_waiting"]
        got = reminder_mails(env, h["ref"], "returned_waiting")
        assert len(got) == 1 and got[0].rcpt == [env.sbo.email], got
    assert "Frist: 2026-12-30" in reminder_mails(env, x["ref"], "returned_waiting")[0].body
    assert "Frist: 2027-01-04" in reminder_mails(env, y["ref"], "returned_waiting")[0].body


def test_working_days_count_from_the_copenhagen_date(remind_env):
    """Sent at 00:30 on Monday 22 March 2027 in Copenhagen (Sunday 23:30 UTC,
    the server's zone): 5 working days from Monday is 1 April, as for a note
    sent at noon, not 31 March (5 working days from Sunday). The quality
    report counts in Europe/Copenhagen too."""
    env = remind_env
    env.at(BEFORE_ALL)
    u = file_note(env)
    set_time(env.db, u["id"], "submitted_at", "2027-03-22 00:30")
    for day, due in (("2027-03-30", False), ("2027-03-31", False), ("2027-04-01", True)):
        env.to(day)
        got = reminders_of(env.db, u["id"], "undecided")
        assert [g["point"] for g in got] == (["2027-03-22 UR"] if due else []), (day, got)
    wait_delivered(env.db, [u["id"]], count=2)
    outbox_idle(env.db)
    [m] = reminder_mails(env, u["ref"], "undecided")
    assert "Frist: 2027-04-01" in m.body, m.body


# --- configuration ------------------------------------------------------------------


@pytest.mark.parametrize("key,value", [
    ("smtp_url", "http://relay.example"),
    ("smtp_url", "relay.example:25"),
    ("smtp_url", "smtp:/relay.example"),
    ("smtp_url", "ldap://relay.example"),
    ("days_off", "paaskedag"),
    ("days_off", "juleaftensdag grundlovsdag fredag"),
    ("days_off", "2026-12-24"),
    ("digest_time", "7:00"),
    ("digest_time", "24:00"),
    ("digest_time", "07:60"),
    ("digest_time", "0700"),
    ("digest_time", "07:00:00"),
    ("digest_time", "morgen"),
    ("digest_time", "+7:00"),
    ("digest_time", '" 7:00"'),
    # no key moves the clock: a file may not pin the date (a test build's
    # clock is moved by the test, daemon/clock.c)
    ("clock_today", "2026-12-24"),
])
def test_check_config_refuses_bad_alert_keys(tmp_path, key, value):
    d = Stafetd(tmp_path, {key: value})
    r = d.run("--check-config")
    assert r.returncode == 1, (key, value, r.stdout, r.stderr)
    assert key in r.stderr, r.stderr
    assert "configuration ok" not in r.stdout


def test_check_config_takes_good_alert_keys(tmp_path):
    d = Stafetd(tmp_path, {
        "smtp_url": "smtps://relay.kommune.example:465",
        "smtp_starttls": "required",
        "smtp_from": "stafet@kommune.example",
        "days_off": "grundlovsdag juleaftensdag nytaarsaftensdag",
        "digest_time": "06:30",
        "alert_max_attempts": "2",
        "alert_lease": "2s",
    })
    r = d.run("--check-config")
    assert r.returncode == 0, r.stderr
    for key, value in (("smtp_url", "smtp://127.0.0.1:2525"),
                       ("days_off", "juleaftensdag, nytaarsaftensdag"), ("days_off", ""),
                       ("digest_time", "00:00"), ("digest_time", "23:59")):
        d.settings[key] = value
        d.write_config()
        r = d.run("--check-config")
        assert r.returncode == 0, (key, value, r.stderr)


# --- last: nothing personal in any mail of the module ------------------------------------


def test_no_mail_holds_personal_data(env):
    """Every mail of the module's sinks on this worker: pytest-xdist may run
    this test where none of the others ran, so a note of its own is mailed
    first."""
    h = file_note(env)
    wait_delivered(env.db, [h["id"]], count=1)
    files = [p for m in SINKS for p in maildir_files(m)]
    assert files
    assert PERSONAL
    for path in files:
        m = Mail(path)
        decoded = m.subject + "\n" + m.body
        texts = [m.raw, decoded.encode()]
        for cpr, name, sections in PERSONAL:
            needles = [cpr, cpr.replace("-", ""), cpr.replace("-", " "), name,
                       name.split()[1]] + sections
            for n in needles:
                b = n.encode()
                for t in texts:
                    assert b not in t, (path, n)
        # nothing shaped like a CPR number at all (dates and refs aside)
        assert not re.search(rb"(?<![0-9])[0-9]{6}[- ]?[0-9]{4}(?![0-9])",
                             re.sub(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                                    rb"[0-9a-f]{12}", b"", m.raw)), path
