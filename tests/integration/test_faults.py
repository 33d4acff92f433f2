"""Faults under load (issue 10, part 1), against a real stafetd, PostgreSQL,
slapd and SMTP server, each fault made for real:

  - SIGKILL of stafetd in the middle of 500 concurrent submits: every
    acknowledged submit is stored whole (the note's row, its version row,
    its event and its outbox row), no note is half-written, and the notes
    left as drafts can be submitted after the restart;
  - PostgreSQL stopped (fast shutdown) while clients list, read and submit:
    503 at once (no request hangs), /readyz 503; started again: full
    service within seconds, no acknowledged write lost;
  - both LDAP servers stopped while clients search people and ask for
    counterparts: answers keep coming from the snapshot, marked stale;
    logins fail cleanly with 503 (never 401: the password was not judged)
    and work again soon after slapd is back;
  - the SMTP relay down while notes are submitted concurrently: the alerts
    wait in the outbox and are delivered once each when it returns;
  - the disk of the saved directory snapshot (directory_snapshot_file)
    full, for real (a tiny tmpfs, ENOSPC): logged, the old file left whole,
    searches go on, and the save is tried again and succeeds once there is
    room.

Each test prints its figures (run with -s to see them); README.md's
Reliability section quotes them. FAULTS_DEBUG=1 prints the PostgreSQL
test's timeline (every request, the daemon's db: lines). Times are scaled for the sanitizer build
and valgrind (STAFETD, STAFETD_WRAPPER)."""

import concurrent.futures
import json
import os
import random
import signal
import subprocess
import tempfile
import threading
import time

import pytest
import requests

from tests.harness.pg import Postgres
from tests.harness.slapd import Slapd
from tests.harness.smtp import SmtpSink
from tests.harness.stafetd import Stafetd
from tests.integration.conftest import Database
from tests.integration.handover_helpers import API, Api, User, note_body, note_ok
from tests.integration.test_alerts import (
    UR_MAILBOX, alert_settings, check_once_each, mails, outbox_rows, wait_delivered)
from tests.integration.test_auth import auth_settings, login, ready
from tests.integration.test_directory import wait_until

WRAPPER = os.environ.get("STAFETD_WRAPPER", "")
VALGRIND = "valgrind" in WRAPPER
SANITIZED = "asan" in os.environ.get("STAFETD", "")
SLOW = 10 if VALGRIND else 3 if SANITIZED else 1
# No request may take longer than this (s): 10 s with the normal build.
BOUND = 30.0 if VALGRIND else 20.0 if SANITIZED else 10.0


def figure(text):
    """A figure for README.md's Reliability section (shown with -s)."""
    print(f"\nFIGURE {text}", flush=True)


# --- daemons and load ------------------------------------------------------------


def start_daemon(server, ldap_uris, tmp, **extra):
    """A stafetd with login on, its own database on `server` (a Postgres),
    the given LDAP servers; returns (Stafetd, Database) once it is ready
    and has its routes and templates."""
    os.makedirs(tmp, exist_ok=True)
    db = Database(server, tmp)
    settings = auth_settings(tmp, ldap_uris, routes_reload_interval="0.5s",
                             db_connect_timeout="10s")  # a busy machine
    if os.environ.get("FAULTS_DEBUG"):
        settings["log_timestamps"] = "yes"
    settings.update(extra)
    settings.update(db.settings())
    d = Stafetd(tmp / "stafetd", settings)
    d.migrate()
    start(d)
    try:
        wait_until(lambda: ready(d), timeout=20 * SLOW,
                   what="stafetd ready (database and first snapshot)")
    except BaseException:
        d.stop()
        raise
    return d, db


def start(d):
    """Starts the process and waits for /healthz (valgrind on a busy machine
    can take longer than the harness's 20 s)."""
    d.start(wait=False)
    d.wait_healthy(timeout=20 * SLOW)


def wait_templates(d, user):
    api = Api(d)
    wait_until(lambda: api.template(user).status_code == 200, timeout=15 * SLOW,
               what="the routes and templates loaded")


def create_drafts(d, user, n, workers=8):
    """n complete BUR-UR drafts, filed concurrently; returns their ids."""
    api = Api(d)
    bodies = [note_body() for _ in range(n)]  # the helpers' counters are not thread-safe
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda b: note_ok(api.create(user, b), 201)["id"], bodies))


class Load:
    """Client threads that call `work(session)` in a loop until stop(),
    each call recorded as (kind, start, end, status or exception name)."""

    def __init__(self):
        self.records = []
        self.lock = threading.Lock()
        self.halt = threading.Event()
        self.threads = []

    def add(self, kind, work, pause=0.0):
        def run():
            s = requests.Session()
            while not self.halt.is_set():
                t0 = time.monotonic()
                try:
                    out = work(s)
                except requests.RequestException as e:
                    out = type(e).__name__
                t1 = time.monotonic()
                if out is None:  # nothing left to do
                    return
                with self.lock:
                    self.records.append((kind, t0, t1, out))
                if pause:
                    self.halt.wait(pause)
        t = threading.Thread(target=run, daemon=True)
        self.threads.append(t)
        t.start()

    def stop(self, timeout=60):
        self.halt.set()
        for t in self.threads:
            t.join(timeout)
        assert not any(t.is_alive() for t in self.threads), "a client thread hangs"
        return list(self.records)

    def snapshot(self):
        with self.lock:
            return list(self.records)


def slow_calls(records, bound=BOUND):
    return [r for r in records if r[2] - r[1] > bound or not isinstance(r[3], int)]


def answered(load, kinds, since=0.0, n=3, status=None):
    """Whether each of the kinds of call has been answered n times, by
    calls begun at `since` (monotonic) or later, with `status` if given."""
    recs = load.snapshot()
    return all(sum(1 for r in recs if r[0] == k and r[1] >= since
                   and (status is None or r[3] == status)) >= n for k in kinds)


# --- the state of notes in SQL ---------------------------------------------------------

NOTE_STATE_SQL = """
SELECT coalesce(json_agg(json_build_object(
  'id', h.id, 'status', h.status, 'version', h.version,
  'submitted_at', h.submitted_at IS NOT NULL,
  'versions', (SELECT coalesce(json_agg(v.version ORDER BY v.version), '[]')
               FROM handover_versions v WHERE v.handover_id = h.id),
  'last_version_status', (SELECT v.status FROM handover_versions v
                          WHERE v.handover_id = h.id ORDER BY v.version DESC LIMIT 1),
  'events', (SELECT coalesce(json_agg(json_build_array(e.action, e.from_status, e.to_status,
                                                       e.version) ORDER BY e.id), '[]')
             FROM handover_events e WHERE e.handover_id = h.id),
  'outbox', (SELECT coalesce(json_agg(o.event ORDER BY o.id), '[]')
             FROM outbox o WHERE o.handover_id = h.id))), '[]')
FROM handovers h WHERE h.id = ANY('{%s}'::uuid[]);
"""


def note_states(db, ids):
    out = {}
    ids = list(ids)
    for i in range(0, len(ids), 200):
        for row in db.query_json(NOTE_STATE_SQL % ",".join(ids[i:i + 200])):
            out[row["id"]] = row
    return out


def whole(row):
    """Why a note's stored state is not whole (a draft, or a draft submitted
    once with everything a submit writes), or None when it is."""
    versions, events, outbox = row["versions"], row["events"], row["outbox"]
    if versions != list(range(1, row["version"] + 1)):
        return f"versions {versions} do not run 1..{row['version']}"
    if row["last_version_status"] != row["status"]:
        return f"last version says {row['last_version_status']}, the note {row['status']}"
    if not events or events[-1][2] != row["status"] or events[-1][3] != row["version"]:
        return f"last event {events[-1:]} does not end at {row['status']} v{row['version']}"
    submits = [e for e in events if e[2] == "submitted"]
    if row["status"] == "draft":
        if submits or outbox or row["submitted_at"] or row["version"] != 1:
            return "a draft with traces of a submit"
    elif row["status"] == "submitted":
        if len(submits) != 1 or submits[0][1] != "draft" or outbox != ["submitted"] \
                or not row["submitted_at"] or row["version"] != 2:
            return "a submitted note without one submit event, one outbox row, version 2"
    else:
        return f"status {row['status']}"
    return None


# --- 1. SIGKILL in the middle of 500 concurrent submits ---------------------------------

# 500 with the normal build; fewer where every call is many times slower
NOTES = 100 if VALGRIND else 200 if SANITIZED else 500


def test_sigkill_during_concurrent_submits(pg, slapd, tmp_path):
    # No smtp_url: the alerts stay in the outbox, where they are counted.
    d, db = start_daemon(pg, slapd.uri, tmp_path)
    try:
        sbo = User(d, "sbo")
        wait_templates(d, sbo)
        api = Api(d)
        t0 = time.monotonic()
        ids = create_drafts(d, sbo, NOTES)
        created = time.monotonic() - t0
        assert len(set(ids)) == NOTES

        results = {}  # id -> ("ack", version) | ("status", code) | ("error", name)
        lock = threading.Lock()

        def submit(hid):
            try:
                r = requests.post(api.url(f"/handovers/{hid}/submit"), headers=sbo.headers,
                                  timeout=BOUND)
                if r.status_code == 200:
                    out = ("ack", r.json()["version"])
                    assert r.json()["status"] == "submitted", r.text
                else:
                    out = ("status", r.status_code)
            except requests.RequestException as e:
                out = ("error", "refused" if "refused" in str(e) else "cut")
            with lock:
                results[hid] = out

        acked = lambda: sum(1 for v in list(results.values()) if v[0] == "ack")  # noqa: E731
        kill_at = NOTES // 3
        with concurrent.futures.ThreadPoolExecutor(32) as pool:
            futures = [pool.submit(submit, hid) for hid in ids]
            deadline = time.monotonic() + 60 * SLOW
            while acked() < kill_at:
                assert time.monotonic() < deadline, f"only {acked()} submits in time"
                time.sleep(0.001)
            d.proc.send_signal(signal.SIGKILL)
            killed_after = acked()
            for f in futures:
                f.result(timeout=BOUND * 2)
        assert d.stop() == -signal.SIGKILL
        kinds = {}
        for v in results.values():
            kinds[v[0]] = kinds.get(v[0], 0) + 1
        ack_ids = {h for h, v in results.items() if v[0] == "ack"}
        # Only 200 or a cut connection: the daemon never said "failed" for another reason.
        assert all(v[0] != "status" for v in results.values()), kinds
        assert len(ack_ids) < NOTES, "every submit finished before the kill"

        # Straight in the database, before the daemon runs again.
        states = note_states(db, ids)
        assert set(states) == set(ids), "notes lost"
        broken = {h: whole(s) for h, s in states.items() if whole(s)}
        assert not broken, list(broken.items())[:5]
        for h in ack_ids:
            assert states[h]["status"] == "submitted", (h, states[h])
            assert states[h]["version"] == results[h][1], (h, states[h], results[h])
        submitted = {h for h, s in states.items() if s["status"] == "submitted"}
        drafts = set(ids) - submitted
        assert drafts, "nothing was left to submit after the kill"
        in_flight = {h for h, v in results.items() if v[0] == "error"}
        # a submit cut off by the kill may have committed or not, but nothing else
        assert submitted <= ack_ids | in_flight
        outbox = db.query_json("SELECT coalesce(json_agg(json_build_object('h', handover_id, "
                               "'e', event)), '[]') FROM outbox;")
        assert sorted(o["h"] for o in outbox) == sorted(submitted), "outbox rows off"

        # Restarted: the API says the same, and the drafts left can be submitted.
        start(d)
        wait_until(lambda: ready(d), timeout=20 * SLOW, what="ready after the restart")
        sbo = User(d, "sbo")
        for h in random.Random(10).sample(sorted(ack_ids), min(50, len(ack_ids))):
            n = note_ok(api.get(sbo, h))
            assert (n["status"], n["version"]) == ("submitted", results[h][1]), n
        box = requests.get(api.url("/handovers"), headers=sbo.headers,
                           params={"box": "outgoing", "limit": 500}, timeout=BOUND)
        listed = []
        while True:
            page = box.json()
            listed += page["items"]
            if not page["next_cursor"]:
                break
            box = requests.get(api.url("/handovers"), headers=sbo.headers,
                               params={"box": "outgoing", "limit": 500,
                                       "cursor": page["next_cursor"]}, timeout=BOUND)
        by_status = {}
        for i in listed:
            by_status.setdefault(i["status"], set()).add(i["id"])
        assert by_status.get("submitted", set()) == submitted, "the list disagrees with SQL"
        assert by_status.get("draft", set()) == drafts
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            codes = list(pool.map(lambda h: api.act(sbo, h, "submit").status_code,
                                  sorted(drafts)))
        assert codes == [200] * len(drafts), codes
        states = note_states(db, ids)
        assert all(s["status"] == "submitted" and not whole(s) for s in states.values())
        assert int(db.psql("SELECT count(*) FROM outbox;")) == NOTES
        figure(f"SIGKILL during {NOTES} concurrent submits (32 clients): "
               f"{len(ack_ids)} acknowledged, {len(ack_ids)} present and whole, "
               f"{len(in_flight)} without an answer ("
               f"{sum(1 for v in results.values() if v == ('error', 'cut'))} cut off in flight, "
               f"the rest refused; {len(submitted - ack_ids)} of them had committed), "
               f"0 half-written; kill after {killed_after} acks; "
               f"{len(drafts)} drafts submitted after the restart; "
               f"{NOTES} drafts filed in {created:.1f} s")
    finally:
        d.stop()


# --- 2. PostgreSQL stopped and started under load ---------------------------------------


def test_postgres_restart_under_load(slapd, tmp_path):
    with Postgres() as own:
        d, db = start_daemon(own, slapd.uri, tmp_path)
        load = None
        try:
            sbo, mha = User(d, "sbo"), User(d, "mha")
            wait_templates(d, sbo)
            api = Api(d)
            ids = create_drafts(d, sbo, 160)
            readable = ids[:20]
            for h in readable:
                note_ok(api.act(sbo, h, "submit"))
            todo = list(ids[20:])
            todo_lock = threading.Lock()
            submits = {}  # id -> status or exception name

            def get_list(user, box):
                return lambda s: s.get(api.url("/handovers"), headers=user.headers,
                                       params={"box": box, "limit": 50},
                                       timeout=BOUND).status_code

            def get_note(s):
                h = random.choice(readable)
                return s.get(api.url("/handovers/" + h), headers=sbo.headers,
                             timeout=BOUND).status_code

            def submit(s):
                with todo_lock:
                    if not todo:
                        return None
                    h = todo.pop()
                try:
                    code = s.post(api.url(f"/handovers/{h}/submit"), headers=sbo.headers,
                                  timeout=BOUND).status_code
                except requests.RequestException as e:
                    code = type(e).__name__
                submits[h] = code
                return code

            load = Load()
            load.add("list", get_list(sbo, "outgoing"), 0.02)
            load.add("list", get_list(mha, "incoming"), 0.02)
            load.add("get", get_note, 0.01)
            load.add("get", get_note, 0.01)
            load.add("submit", submit, 0.05)
            load.add("submit", submit, 0.05)
            wait_until(lambda: answered(load, ("list", "get", "submit"), n=5),
                       timeout=30 * SLOW, what="the load under way")
            before = load.snapshot()
            assert before and all(r[3] == 200 for r in before), \
                [r for r in before if r[3] != 200][:5]

            t_stop = time.monotonic()
            own.stop()
            t_down = time.monotonic()
            [r] = wait_until(lambda: (lambda x: [x] if x.status_code == 503 else None)(
                requests.get(d.url + "/readyz", timeout=BOUND)), timeout=10,
                what="/readyz 503")
            assert "database" in r.json()["detail"], r.text
            # Down a while: every kind of call has met the outage (503) a few
            # times, and the pool has tried to reconnect and failed twice a
            # connection (8 connections, the default pool) -- and /readyz still says 503.
            failures = metric_value(d, "stafet_db_connect_failures_total")
            wait_until(lambda: answered(load, ("list", "get", "submit"), since=t_down + 0.2,
                                        n=5, status=503)
                       and metric_value(d, "stafet_db_connect_failures_total") >= failures + 8,
                       timeout=30 * SLOW, what="503s of every kind and failed reconnects")
            r = requests.get(d.url + "/readyz", timeout=BOUND)
            assert r.status_code == 503, r.text
            t_start = time.monotonic()
            own.start()
            t_up = time.monotonic()
            deadline = t_up + 30 * SLOW

            def first_ok(kind):
                hits = [r[2] for r in load.snapshot()
                        if r[0] == kind and r[1] >= t_up and r[3] == 200]
                return min(hits) if hits else None
            while (first_ok("list") is None or first_ok("get") is None) \
                    and time.monotonic() < deadline:
                time.sleep(0.05)
            ready_at = wait_until(lambda: ready(d) and time.monotonic(), timeout=30 * SLOW,
                                  what="/readyz 200 again")
            # lists and reads go on after it (the submits may have run out)
            wait_until(lambda: answered(load, ("list", "get"), since=ready_at + 0.5, n=5),
                       timeout=30 * SLOW, what="calls after /readyz said 200")
            records = load.stop()
            load = None
        finally:
            if load is not None:
                load.stop()
        if os.environ.get("FAULTS_DEBUG"):
            print(f"stop {t_stop:.2f}..{t_down:.2f}, start {t_start:.2f}..{t_up:.2f}, "
                  f"ready {ready_at:.2f} (monotonic); wall now {time.time():.2f}, "
                  f"monotonic now {time.monotonic():.2f}")
            print("\n".join(x for x in d.log().splitlines() if "db:" in x))
            for r in sorted(records, key=lambda r: r[1]):
                if r[1] > t_start - 0.5 and r[1] < ready_at + 0.5:
                    print(r)
        try:
            assert d.proc.poll() is None, "stafetd died"
            # No request hung or failed but with 200 or 503 (never 401, 500).
            assert not slow_calls(records), (
                f"stop {t_stop:.2f}..{t_down:.2f}, start {t_start:.2f}..{t_up:.2f}",
                slow_calls(records)[:8], d.log()[-3000:])
            codes = {r[3] for r in records}
            assert codes <= {200, 503}, codes
            # While the database was away: 503, and quickly.
            during = [r for r in records if r[1] >= t_down + 0.2 and r[2] <= t_start]
            assert during and all(r[3] == 503 for r in during), during[:5]
            slowest_503 = max(r[2] - r[1] for r in records if r[3] == 503)
            assert slowest_503 < (5 if not VALGRIND else 15), slowest_503
            # Back: every kind answers 200 within seconds of PostgreSQL's start.
            recovery = {k: (first_ok_in(records, k, t_up) or float("inf")) - t_up
                        for k in ("list", "get")}
            assert all(v < 10 * SLOW for v in recovery.values()), recovery
            after = [r for r in records if r[1] >= ready_at + 0.5]
            assert after and all(r[3] == 200 for r in after), \
                [r for r in after if r[3] != 200][:5]
            # Every acknowledged submit is there; the refused ones can be sent
            # again (200, or 409 when the refused one had committed after all).
            acked = {h for h, c in submits.items() if c == 200}
            assert acked
            states = note_states(db, ids)
            broken = {h: whole(s) for h, s in states.items() if whole(s)}
            assert not broken, list(broken.items())[:5]
            assert all(states[h]["status"] == "submitted" for h in acked)
            refused = {h for h, c in submits.items() if c != 200}
            assert refused, "no submit met the outage"
            for h in refused:
                r = api.act(sbo, h, "submit")
                assert r.status_code in (200, 409), r.text
                assert (r.status_code == 409) == (states[h]["status"] == "submitted"), \
                    (r.status_code, states[h])
            figure(f"PostgreSQL fast shutdown under load (6 clients, {len(records)} "
                   f"requests): {len([r for r in records if r[3] == 503])} answered 503, "
                   f"slowest 503 in {slowest_503 * 1000:.0f} ms, 0 hung; stop took "
                   f"{t_down - t_stop:.1f} s; first 200 after PostgreSQL is up: "
                   f"list {recovery['list']:.2f} s, note {recovery['get']:.2f} s; "
                   f"/readyz 200 after {ready_at - t_up:.2f} s; {len(acked)} acknowledged "
                   f"submits all present, {len(refused)} refused (503) and 0 half-written")
        finally:
            d.stop()


def first_ok_in(records, kind, since):
    hits = [r[2] for r in records if r[0] == kind and r[1] >= since and r[3] == 200]
    return min(hits) if hits else None


# --- 3. LDAP servers stopped and started under load --------------------------------------

COUNTERPART = {"route": "BUR-UR", "citizen": {"birthdate": "2008-03-14",
                                              "target_group": "ung-social"},
               "date": "2026-02-24"}


def test_ldap_outage_under_load(tmp_path, pg):
    one, two = Slapd(str(tmp_path / "slapd1")), Slapd(str(tmp_path / "slapd2"))
    one.start()
    two.start()
    load = None
    d = None
    try:
        d, db = start_daemon(pg, f"{one.uri} {two.uri}", tmp_path / "d")
        sbo = User(d, "sbo")
        wait_templates(d, sbo)
        stale = []  # (time, stale) of every answer

        def search(s):
            r = s.get(d.url + API + "/people", headers=sbo.headers,
                      params={"q": "soren"}, timeout=BOUND)
            if r.status_code == 200:
                assert any(p["display_name"] == "Søren Bøgh" for p in r.json()["items"])
                stale.append((time.monotonic(), r.json()["directory"]["stale"]))
            return r.status_code

        def counterparts(s):
            r = s.post(d.url + API + "/counterparts", headers=sbo.headers, json=COUNTERPART,
                       timeout=BOUND)
            if r.status_code == 200:
                assert r.json()["candidates"], r.text
            return r.status_code

        def me(s):
            return s.get(d.url + API + "/me", headers=sbo.headers, timeout=BOUND).status_code

        load = Load()
        load.add("people", search, 0.02)
        load.add("counterparts", counterparts, 0.02)
        load.add("me", me, 0.05)
        wait_until(lambda: answered(load, ("people", "counterparts", "me")),
                   timeout=30 * SLOW, what="the load under way")
        assert stale and not stale[-1][1]

        # Measured from the first stop: the daemon may notice (and mark its
        # answers stale) while the second slapd is still shutting down, and
        # under valgrind that shutdown took longer than the notice.
        t_down = time.monotonic()
        one.stop()
        two.stop()
        wait_until(lambda: stale and stale[-1][1], timeout=15 * SLOW,
                   what="the answers marked stale")
        t_stale = next(t for t, s in stale if s and t >= t_down)
        logins = []
        for _ in range(4):
            t = time.monotonic()
            r = login(d, "mha")
            logins.append((r.status_code, time.monotonic() - t, r.headers.get("Retry-After")))
        assert all(c == 503 and ra and int(ra) >= 1 for c, _, ra in logins), logins
        assert all(secs < BOUND for _, secs, _ in logins), logins
        assert requests.get(d.url + "/readyz", timeout=BOUND).status_code == 200

        one.start()
        two.start()
        t_up = time.monotonic()

        def logs_in():
            r = login(d, "mha")
            assert r.status_code in (201, 503), (r.status_code, r.text)
            return r.status_code == 201
        wait_until(logs_in, timeout=30 * SLOW, what="login after slapd is back")
        login_back = time.monotonic() - t_up
        wait_until(lambda: stale[-1][1] is False and stale[-1][0] > t_up, timeout=30 * SLOW,
                   what="fresh answers again")
        fresh_back = next(t for t, s in stale if t > t_up and not s) - t_up
        t_fresh = time.monotonic()
        wait_until(lambda: answered(load, ("people", "counterparts", "me"), since=t_fresh),
                   timeout=30 * SLOW, what="calls after the answers were fresh again")
        records = load.stop()
        load = None
        assert not slow_calls(records), slow_calls(records)[:5]
        assert {r[3] for r in records} == {200}, [r for r in records if r[3] != 200][:5]
        assert any(s for _, s in stale), "never stale"
        assert d.proc.poll() is None
        figure(f"Both LDAP servers stopped under load ({len(records)} searches, counterpart "
               f"lookups and /me): all 200, marked stale {t_stale - t_down:.1f} s after the "
               f"stop; logins 503 with Retry-After (slowest {max(x[1] for x in logins):.2f} s);"
               f" login works {login_back:.1f} s and answers are fresh {fresh_back:.1f} s "
               f"after slapd is back")
    finally:
        if load is not None:
            load.stop()
        if d is not None:
            d.stop()
        one.stop()
        two.stop()


# --- 4. SMTP outage under concurrent submits ---------------------------------------------


def test_smtp_outage_under_concurrent_submits(pg, slapd, tmp_path):
    sink = SmtpSink(str(tmp_path / "smtp"))
    sink.start()
    d = None
    load = None
    try:
        d, db = start_daemon(pg, slapd.uri, tmp_path / "d", **alert_settings(sink.port))
        sbo, mha = User(d, "sbo"), User(d, "mha")
        wait_templates(d, sbo)
        api = Api(d)
        n = 30 if VALGRIND else 60 if SANITIZED else 120
        ids = create_drafts(d, sbo, n)
        sink.stop()
        load = Load()
        load.add("list", lambda s: s.get(api.url("/handovers"), headers=mha.headers,
                                         params={"box": "incoming"},
                                         timeout=BOUND).status_code, 0.01)
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            codes = list(pool.map(lambda h: api.act(sbo, h, "submit").status_code, ids))
        assert codes == [200] * n, codes

        def waiting():
            rows = outbox_rows(db, ids)
            return len(rows) == n and all(r["state"] == "pending" and r["attempts"] >= 1
                                          for r in rows)
        wait_until(waiting, timeout=30 * SLOW, what="every alert tried while SMTP is down")
        assert not mails(sink)
        t_up = time.monotonic()
        sink.start()
        rows = wait_delivered(db, ids, count=n, timeout=60)
        delivered = time.monotonic() - t_up
        # a second copy would be on its way now: wait until every row the
        # daemon claimed has its result, so none is in flight
        wait_until(lambda: nothing_in_flight(d), timeout=30 * SLOW,
                   what="every claimed alert's result")
        records = load.stop()
        load = None
        got = check_once_each(sink, rows)
        assert len(got) == n, (len(got), n)
        assert all(m.rcpt == [UR_MAILBOX] for m in got)
        assert not slow_calls(records) and {r[3] for r in records} == {200}
        figure(f"SMTP down during {n} concurrent submits (16 clients): {n} alerts queued, "
               f"{len(got)} mails delivered {delivered:.1f} s after the relay returned, "
               f"0 duplicates")
    finally:
        if load is not None:
            load.stop()
        if d is not None:
            d.stop()
        sink.stop()


# --- 5. The disk of the saved snapshot full ----------------------------------------------


def metric_value(d, name):
    for line in requests.get(d.url + "/metrics", timeout=BOUND).text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {name} in /metrics")


def nothing_in_flight(d):
    """Every outbox row the daemon claimed has come back with an outcome
    (stafet_alerts_claimed_total against stafet_alerts_total; "dead" is
    counted among the failures already)."""
    text = requests.get(d.url + "/metrics", timeout=BOUND).text
    claimed, outcomes = None, 0
    for line in text.splitlines():
        if line.startswith("stafet_alerts_claimed_total "):
            claimed = float(line.split()[1])
        elif line.startswith("stafet_alerts_total{") and 'outcome="dead"' not in line:
            outcomes += float(line.split()[1])
    assert claimed is not None, "no stafet_alerts_claimed_total in /metrics"
    return claimed == outcomes


@pytest.fixture
def tiny_fs():
    """A 4 MiB tmpfs of our own (ENOSPC for real once it is full)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    path = tempfile.mkdtemp(prefix="stafet-full-")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", path],
                       capture_output=True, text=True)
    if r.returncode != 0:
        os.rmdir(path)
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", path])
        os.rmdir(path)


def fill(path):
    """Fills the filesystem of path with one file; returns its name."""
    filler = os.path.join(path, "filler")
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (65536, 512, 1):
            try:
                while os.write(fd, b"\0" * size) > 0:
                    pass
            except OSError as e:
                assert e.errno == 28, e  # ENOSPC
    finally:
        os.close(fd)
    return filler


def test_snapshot_disk_full(pg, slapd, tmp_path, tiny_fs):
    snap = os.path.join(tiny_fs, "directory.json")
    # A reconcile (a full read, saved whole) every second, the shortest
    # there is, at refreshes a quarter second apart: the saves this test
    # waits for come one after the other.
    d, db = start_daemon(pg, slapd.uri, tmp_path, directory_snapshot_file=snap,
                         directory_reconcile_interval="1s", directory_refresh_interval="0.25s")
    try:
        sbo = User(d, "sbo")
        wait_until(lambda: os.path.exists(snap), timeout=15 * SLOW, what="the first save")
        with open(snap) as f:
            first = f.read()
        saved = json.loads(first)  # whole
        assert "Søren Bøgh" in first, "the saved snapshot lacks the demo people"
        assert os.path.getsize(snap) < 2 * 1024 * 1024  # room for a second copy's start
        errors0 = metric_value(d, "stafet_directory_save_errors_total")
        assert errors0 == 0

        # The next reconcile saves the whole snapshot, and fails. The disk is
        # kept full until then: a save that was under way while it filled
        # gives the old copy's room back when it is renamed in.
        def full_and_failed():
            fill(tiny_fs)
            return d.wait_log("cannot save the snapshot", timeout=0.1)
        wait_until(full_and_failed, timeout=20 * SLOW, what="the failed save logged")
        filler = os.path.join(tiny_fs, "filler")
        line = next(x for x in d.log().splitlines() if "cannot save the snapshot" in x)
        assert snap in line and "No space left on device" in line, line
        with open(snap) as f:
            kept = f.read()  # the last save that went through: `first`, or one after it
        assert json.loads(kept) and "Søren Bøgh" in kept
        failed_once = metric_value(d, "stafet_directory_save_errors_total")
        wait_until(lambda: metric_value(d, "stafet_directory_save_errors_total") > failed_once,
                   timeout=20 * SLOW, what="the save tried again (and failed again)")
        # The old file is untouched, no temporary file is left, and searches go on.
        with open(snap) as f:
            assert f.read() == kept
        # (between two saves: one under way has its temporary file there)
        wait_until(lambda: sorted(os.listdir(tiny_fs)) == ["directory.json", "filler"],
                   timeout=10 * SLOW, what="no temporary file left")
        r = requests.get(d.url + API + "/people", headers=sbo.headers, params={"q": "soren"},
                         timeout=BOUND)
        assert r.status_code == 200 and r.json()["directory"]["stale"] is False, r.text
        assert requests.get(d.url + "/readyz", timeout=BOUND).status_code == 200
        assert d.proc.poll() is None

        mtime = os.stat(snap).st_mtime_ns
        os.unlink(filler)
        wait_until(lambda: os.stat(snap).st_mtime_ns != mtime, timeout=20 * SLOW,
                   what="the snapshot saved again once there is room")
        # saves run one at a time: every failed one came before that save
        failed = metric_value(d, "stafet_directory_save_errors_total")
        with open(snap) as f:
            again = json.load(f)
        assert type(again) is type(saved) and len(json.dumps(again)) > 1000
        # one more reconcile, begun after that save: no new failures (a
        # full sync is counted after its save, so the second one counted
        # from here has begun after the save seen)
        syncs = metric_value(d, "stafet_directory_full_syncs_total")
        wait_until(lambda: metric_value(d, "stafet_directory_full_syncs_total") >= syncs + 2,
                   timeout=20 * SLOW, what="one more reconcile")
        assert metric_value(d, "stafet_directory_save_errors_total") == failed
        figure(f"Snapshot disk full (tmpfs, ENOSPC): {int(failed)} failed saves logged, "
               "the old file kept whole, searches 200 throughout, saved again at the "
               "next reconcile once there was room")
    finally:
        d.stop()
