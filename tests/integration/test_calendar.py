"""The deadline calendar (API.md 1.1 "Exports"; issue 21): POST and DELETE
/api/v1/me/calendar and GET /cal/{secret}.ics against a real stafetd,
slapd with the demo directory and PostgreSQL; every feed read back with
python3-icalendar (an independent RFC 5545 parser) and by a strict line
reader of our own (CRLF, 75 octets, folding).

The people, from the demo directory: BUR sends (sbo, hbr; pka leads it),
UR receives (mha, akh; kmo leads it); tlo leads BUF above BUR (reads
masked, acts on nothing: no feed of BUR's notes); lbk (BUR-H) is
elsewhere. One daemon serves the module; each test files notes of its own
and looks only at those (by id)."""

import datetime
import hashlib
import re
import secrets

import pytest
import requests
from icalendar import Calendar

from tests.integration.handover_helpers import (
    Api, User, add_months, born_for_age, iso, note_body, note_ok, ok, planned, section_texts)
from tests.integration.test_counterparts import start_module_daemon
from tests.integration.test_directory import wait_until

LOGINS = ["sbo", "hbr", "pka", "tlo", "mha", "akh", "kmo", "lbk"]
URL_RE = re.compile(r"^http://[^/]+/cal/([A-Za-z0-9_-]{43})\.ics$")
CPR_RE = re.compile(r"\b\d{6}-?\d{4}\b")


class Env:
    def __init__(self, d, db, users):
        self.d, self.db, self.users, self.api = d, db, users, Api(d)

    def __getattr__(self, name):
        users = self.__dict__.get("users", {})
        if name in users:
            return users[name]
        raise AttributeError(name)


@pytest.fixture(scope="module")
def env(pg, slapd, tmp_path_factory):
    d, db = start_module_daemon(pg, slapd, tmp_path_factory.mktemp("calendar"))
    try:
        users = {u: User(d, u) for u in LOGINS}
        e = Env(d, db, users)
        wait_until(lambda: e.api.template(users["sbo"]).status_code == 200,
                   what="the routes and templates loaded")
        yield e
    finally:
        d.stop()


# --- helpers -------------------------------------------------------------------


def subscribe(env, user):
    r = requests.post(env.d.url + "/api/v1/me/calendar", headers=user.headers, timeout=10)
    body = ok(r, 201)
    assert set(body) == {"url"}, body
    m = URL_RE.match(body["url"])
    assert m, body["url"]
    return body["url"], m.group(1)


def fetch(url):
    return requests.get(url, timeout=30)


def lines_of(raw):
    """The content lines of a feed, unfolded, after checking its framing:
    every line ends with CRLF and has at most 75 octets."""
    assert raw.endswith(b"\r\n"), raw[-40:]
    physical = raw[:-2].split(b"\r\n")
    for p in physical:
        assert len(p) <= 75, (len(p), p)
        assert b"\n" not in p and b"\r" not in p, p
        p.decode("utf-8")  # a fold never splits a UTF-8 sequence
    out = []
    for p in physical:
        if p.startswith(b" "):
            assert out, "a continuation line first"
            out[-1] += p[1:]
        else:
            out.append(p)
    return [x.decode("utf-8") for x in out]


def feed_of(env, url):
    """The feed at url: (raw bytes, parsed Calendar, {uid: event})."""
    r = fetch(url)
    assert r.status_code == 200, (r.status_code, r.text[:500])
    assert r.headers["Content-Type"] == "text/calendar; charset=utf-8", r.headers
    assert r.headers["Cache-Control"] == "no-store", r.headers
    raw = r.content
    lines_of(raw)
    cal = Calendar.from_ical(raw)
    assert str(cal["VERSION"]) == "2.0" and "PRODID" in cal
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    return raw, cal, events


def note_events(events, hid):
    return {uid.split("@")[0][len(hid) + 1:]: e for uid, e in events.items()
            if uid.startswith(hid + "-")}


def submitted_note(env, user=None, body=None):
    user = user or env.sbo
    body = body or note_body(age=17)
    h = note_ok(env.api.create(user, body), 201)
    h = note_ok(env.api.act(user, h["id"], "submit", if_match=h["version"]))
    return h, body


def milestone_body():
    """A placed 17-year-old whose decisions are not made yet (deliberately
    empty, with a reason): both Barnets Lov milestones are open."""
    on = planned()
    born = born_for_age(17, on)
    body = note_body(born=born, on=on, placed=True)
    comment = "Afventer møde med den unge og plejefamilien i næste uge (hemmelig kommentar)."
    body["sections"]["ungeplan"] = {"empty_reason": "ikke truffet endnu", "comment": comment}
    body["sections"]["support_after_18"] = {"empty_reason": "ikke truffet endnu",
                                            "comment": comment}
    return body, born, on


def date_of(e, prop="DTSTART"):
    v = e[prop].dt
    assert isinstance(v, datetime.date) and not isinstance(v, datetime.datetime), (prop, v)
    assert e[prop].params.get("VALUE") == "DATE", e[prop].params
    return v


# --- the address: create, replace, revoke --------------------------------------------


def test_create_replace_revoke(env):
    url1, secret1 = subscribe(env, env.hbr)
    assert fetch(url1).status_code == 200
    url2, secret2 = subscribe(env, env.hbr)
    assert secret2 != secret1
    old = fetch(url1)
    assert old.status_code == 404, old.text
    assert old.headers["Content-Type"] == "application/problem+json"
    assert fetch(url2).status_code == 200
    # Only the SHA-256 is stored: the raw secret is nowhere in the table.
    rows = env.db.query_json(
        "SELECT json_agg(json_build_object('person', person_id, 'hash', "
        "encode(secret_hash, 'hex'))) FROM calendar_feeds")
    mine = [r for r in rows if r["person"] == env.hbr.id]
    assert mine == [{"person": env.hbr.id, "hash": hashlib.sha256(secret2.encode()).hexdigest()}]
    dump = env.db.psql("SELECT calendar_feeds::text FROM calendar_feeds")
    assert secret1 not in dump and secret2 not in dump
    r = requests.delete(env.d.url + "/api/v1/me/calendar", headers=env.hbr.headers, timeout=10)
    assert r.status_code == 204 and r.content == b""
    revoked = fetch(url2)
    assert revoked.status_code == 404
    # Another DELETE is no error.
    r = requests.delete(env.d.url + "/api/v1/me/calendar", headers=env.hbr.headers, timeout=10)
    assert r.status_code == 204
    unknown = fetch(env.d.url + "/cal/" + secrets.token_urlsafe(32) + ".ics")
    assert unknown.status_code == 404
    assert old.content == revoked.content == unknown.content, (old.content, unknown.content)
    # The audit: two creates (the second replacing) and one revoke, by hash prefix only.
    audit = env.db.query_json(
        "SELECT json_agg(json_build_object('action', action, 'detail', detail) ORDER BY id) "
        f"FROM audit_log WHERE actor_id = '{env.hbr.id}' AND action LIKE 'calendar.%'")
    assert [a["action"] for a in audit] == ["calendar.create", "calendar.create",
                                            "calendar.revoke"], audit
    assert audit[1]["detail"].startswith("replaced; hash ")
    h2 = hashlib.sha256(secret2.encode()).hexdigest()
    assert audit[2]["detail"] == "hash " + h2[:8]
    for a in audit:
        assert secret1 not in a["detail"] and secret2 not in a["detail"]
    # The secret never reaches the log; its hash prefix may.
    log = env.d.log()
    assert secret1 not in log and secret2 not in log
    assert "/cal/" + h2[:8] in log


def test_needs_a_session(env):
    r = requests.post(env.d.url + "/api/v1/me/calendar", timeout=10)
    assert r.status_code == 401
    r = requests.delete(env.d.url + "/api/v1/me/calendar", timeout=10)
    assert r.status_code == 401
    r = requests.post(env.d.url + "/api/v1/me/calendar", params={"x": "1"},
                      headers=env.sbo.headers, timeout=10)
    assert r.status_code == 400


# --- the feed -------------------------------------------------------------------------


def test_feed_is_valid_icalendar_with_copenhagen(env):
    url, _ = subscribe(env, env.akh)
    raw, cal, _ = feed_of(env, url)
    tzs = list(cal.walk("VTIMEZONE"))
    assert len(tzs) == 1 and str(tzs[0]["TZID"]) == "Europe/Copenhagen"
    std = list(tzs[0].walk("STANDARD"))
    dst = list(tzs[0].walk("DAYLIGHT"))
    assert len(std) == 1 and len(dst) == 1
    assert std[0]["TZOFFSETTO"].td == datetime.timedelta(hours=1)
    assert dst[0]["TZOFFSETTO"].td == datetime.timedelta(hours=2)
    assert "BYDAY=-1SU" in raw.decode() and "BYMONTH=10" in raw.decode()
    head = requests.head(url, timeout=10)
    assert head.status_code == 200 and head.content == b""


def test_deadlines_of_a_note(env):
    body, born, on = milestone_body()
    h, _ = submitted_note(env, body=body)
    hid, ref = h["id"], h["ref"]
    url, _ = subscribe(env, env.sbo)
    raw1, _, events = feed_of(env, url)
    mine = note_events(events, hid)
    assert {"planned", "ms-ungeplan", "ms-support_after_18", "action-actions-1"} <= set(mine), \
        sorted(mine)
    assert "decide" not in mine  # the sender does not decide
    assert date_of(mine["planned"]) == on
    assert date_of(mine["planned"], "DTEND") == on + datetime.timedelta(days=1)
    assert date_of(mine["ms-ungeplan"]) == add_months(born, 16 * 12 + 3)
    assert date_of(mine["ms-support_after_18"]) == add_months(born, 18 * 12 - 6)
    due = body["sections"]["actions"][0]["due"]
    assert iso(date_of(mine["action-actions-1"])) == due
    assert str(mine["planned"]["SUMMARY"]) == f"Planlagt overdragelse {ref}"
    assert "Barnets Lov § 108" in str(mine["ms-ungeplan"]["SUMMARY"])
    assert "Barnets Lov § 111" in str(mine["ms-support_after_18"]["SUMMARY"])
    for e in mine.values():
        assert ref in str(e["SUMMARY"])
        assert int(e["SEQUENCE"]) == h["version"]
        assert str(e["STATUS"]) == "CONFIRMED"
        assert str(e["URL"]).endswith("/#/notater/" + hid)
    # The same feed again: the same UIDs, byte for byte the same.
    raw2, _, events2 = feed_of(env, url)
    assert set(note_events(events2, hid)) == set(mine)
    assert raw2 == raw1
    # The receiving side: the decision deadline too, a working day or more after today.
    url_r, _ = subscribe(env, env.mha)
    _, _, ev_r = feed_of(env, url_r)
    theirs = note_events(ev_r, hid)
    assert {"planned", "decide", "ms-ungeplan"} <= set(theirs), sorted(theirs)
    assert date_of(theirs["decide"]) > datetime.date.today()


def test_sequence_rises_and_uid_stays(env):
    body = note_body(age=17)
    h = note_ok(env.api.create(env.pka, body), 201)  # pka leads BUR: a member
    url, _ = subscribe(env, env.pka)
    _, _, ev = feed_of(env, url)
    before = note_events(ev, h["id"])
    etag = fetch(url).headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag), etag
    same = requests.get(url, headers={"If-None-Match": etag}, timeout=10)
    assert same.status_code == 304 and same.content == b"" and same.headers["ETag"] == etag
    assert {"planned", "send"} <= set(before), sorted(before)
    assert int(before["planned"]["SEQUENCE"]) == h["version"]
    assert date_of(before["send"]) < date_of(before["planned"])
    moved = datetime.date.fromisoformat(body["planned_date"]) + datetime.timedelta(days=7)
    h2 = note_ok(env.api.patch(env.pka, h["id"], {"planned_date": iso(moved)},
                               if_match=h["version"]))
    assert h2["version"] > h["version"]
    _, _, ev = feed_of(env, url)
    after = note_events(ev, h["id"])
    assert set(after) == set(before)
    assert int(after["planned"]["SEQUENCE"]) == h2["version"] > int(before["planned"]["SEQUENCE"])
    assert date_of(after["planned"]) == moved
    changed = requests.get(url, headers={"If-None-Match": etag}, timeout=10)
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    # A colleague's draft is not in another member's feed (drafts: own only).
    url_h, _ = subscribe(env, env.sbo)
    _, _, ev_h = feed_of(env, url_h)
    assert not note_events(ev_h, h["id"])


def test_withdrawn_and_accepted_notes_are_cancelled(env):
    url, _ = subscribe(env, env.sbo)
    h, _ = submitted_note(env)
    _, _, ev = feed_of(env, url)
    assert str(note_events(ev, h["id"])["planned"]["STATUS"]) == "CONFIRMED"
    w = note_ok(env.api.act(env.sbo, h["id"], "withdraw", {"reason": "Sendt ved en fejl."},
                            if_match=h["version"]))
    assert w["status"] == "withdrawn"
    _, _, ev = feed_of(env, url)
    gone = note_events(ev, h["id"])
    assert "planned" in gone and gone
    for e in gone.values():
        assert str(e["STATUS"]) == "CANCELLED", e
        assert int(e["SEQUENCE"]) == w["version"]
    # Accepted by the receiving side: cancelled in both feeds.
    h2, _ = submitted_note(env)
    g = note_ok(env.api.get(env.mha, h2["id"]))  # the first read receives it
    a = note_ok(env.api.act(env.mha, h2["id"], "accept", {"readback": "Modtaget og forstået."},
                            if_match=g["version"]))
    assert a["status"] == "accepted"
    url_r, _ = subscribe(env, env.mha)
    for u in (url, url_r):
        _, _, ev = feed_of(env, u)
        done = note_events(ev, h2["id"])
        assert "planned" in done and "decide" not in done
        assert {str(e["STATUS"]) for e in done.values()} == {"CANCELLED"}


def test_returned_note_has_a_fix_deadline(env):
    h, _ = submitted_note(env)
    g = note_ok(env.api.get(env.akh, h["id"]))  # received by UR
    flags = [{"section": "goals", "kind": "missing", "comment": "Målet for bolig mangler."}]
    r = note_ok(env.api.act(env.akh, h["id"], "return", {"flags": flags}, if_match=g["version"]))
    assert r["status"] == "returned"
    url, _ = subscribe(env, env.hbr)  # a member of the sending unit
    _, _, ev = feed_of(env, url)
    mine = note_events(ev, h["id"])
    assert "fix" in mine and "decide" not in mine, sorted(mine)
    assert date_of(mine["fix"]) > datetime.date.today()
    assert str(mine["fix"]["SUMMARY"]) == f"Frist for at rette og sende {h['ref']} igen"
    assert int(mine["fix"]["SEQUENCE"]) == r["version"]
    url_r, _ = subscribe(env, env.akh)
    _, _, ev_r = feed_of(env, url_r)
    theirs = note_events(ev_r, h["id"])
    assert "planned" in theirs and "fix" not in theirs and "decide" not in theirs, sorted(theirs)


def test_no_cpr_name_or_note_text(env):
    body, _, _ = milestone_body()
    h, _ = submitted_note(env, body=body)
    everyone = {}
    for u in ("sbo", "mha", "kmo", "akh"):
        url, _ = subscribe(env, env.users[u])
        raw, _, ev = feed_of(env, url)
        assert note_events(ev, h["id"]), u
        everyone[u] = raw.decode("utf-8")
    cpr = body["citizen"]["cpr"]
    texts = [t for t in section_texts(body["sections"]) if len(t) >= 20]
    texts.append(body["citizen"]["name"])
    for name in body["citizen"]["name"].split():
        if len(name) > 4:
            texts.append(name)
    assert texts
    for u, text in everyone.items():
        unfolded = "\n".join(lines_of(text.encode()))
        for hay in (text, unfolded):
            assert cpr not in hay and cpr.replace("-", "") not in hay, u
            assert not CPR_RE.search(hay), (u, CPR_RE.search(hay))
            for t in texts:
                assert t not in hay, (u, t)
        assert "hemmelig kommentar" not in unfolded


def test_other_units_notes_absent(env):
    h, _ = submitted_note(env)
    for u, present in (("kmo", True), ("akh", True), ("hbr", True), ("tlo", False),
                       ("lbk", False)):
        url, _ = subscribe(env, env.users[u])
        raw, _, ev = feed_of(env, url)
        assert bool(note_events(ev, h["id"])) == present, u
        if not present:
            assert h["ref"].encode() not in raw and h["id"].encode() not in raw, u


def test_hostile_secrets(env):
    url, secret = subscribe(env, env.kmo)
    base = env.d.url + "/cal/"
    reference = fetch(base + secrets.token_urlsafe(32) + ".ics")
    assert reference.status_code == 404
    hostile = [
        "x" * 5000 + ".ics",
        "x",
        secret + ".ICS",
        secret,
        secret + ".ics.ics",
        secret[:-1] + ".ics",
        secret + "A.ics",
        "%2E%2E",
        "%C3%A6%C3%B8%C3%A5" * 14 + "a.ics",
        secret[:40] + "%C3%A6.ics",
        "%E2%80%AE" + secret[3:] + ".ics",
        "'%20OR%201=1;--.ics",
    ]
    for h in hostile:
        r = requests.get(base + h, timeout=10)
        assert r.status_code == 404, (h[:60], r.status_code, r.text[:200])
        assert r.content == reference.content, (h[:60], r.content)
    # More than one segment is no address at all: 404 too; other methods 405.
    for h in (secret + ".ics/" + secret + ".ics", "", "../" + secret + ".ics",
              "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd", "..%2f..%2fetc%2fpasswd.ics"):
        r = requests.get(base + h, timeout=10)
        assert r.status_code == 404, (h[:60], r.status_code, r.text[:200])
    for m in ("POST", "PUT", "DELETE", "PATCH"):
        r = requests.request(m, url, timeout=10)
        assert r.status_code == 405 and "GET" in r.headers["Allow"], (m, r.status_code)
    # A path that is not UTF-8 is refused before any route (400, for any path).
    for h in ("%FF%FE" + secret[2:] + ".ics", secret + "%C0%AF.ics", secret + ".ics%00"):
        r = requests.get(base + h, timeout=10)
        assert r.status_code == 400, (h[:60], r.status_code, r.text[:200])
    # the address sent without /cal/ (a pasting mistake) is no feed, and the
    # access log does not keep the secret either
    r = requests.get(env.d.url + "/" + secret + ".ics", timeout=10)
    assert r.status_code == 404
    assert fetch(url).status_code == 200  # the real one still works
    log = env.d.log()
    assert secret not in log
    assert "x" * 100 not in log


def test_rate_limited_per_address(pg, slapd, tmp_path):
    d, db = start_module_daemon(pg, slapd, tmp_path, calendar_miss_max="6")
    try:
        u = User(d, "akh")
        r = requests.post(d.url + "/api/v1/me/calendar", headers=u.headers, timeout=10)
        url = ok(r, 201)["url"]
        assert fetch(url).status_code == 200
        # Unknown addresses: calendar_miss_max in 10 minutes, then every
        # fetch from the address is 429 for a while, the real one's too.
        statuses = [fetch(d.url + "/cal/" + secrets.token_urlsafe(32) + ".ics").status_code
                    for _ in range(7)]
        assert statuses == [404] * 6 + [429], statuses
        r = fetch(url)
        assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
        assert r.headers["Content-Type"] == "application/problem+json"
    finally:
        d.stop()


def test_fetches_rate_limited(pg, slapd, tmp_path):
    """calendar_fetch_max fetches a minute from one address; the default (120)
    as the operator may set it, here 10."""
    d, db = start_module_daemon(pg, slapd, tmp_path, calendar_fetch_max="10")
    try:
        u = User(d, "akh")
        url = ok(requests.post(d.url + "/api/v1/me/calendar", headers=u.headers,
                               timeout=10), 201)["url"]
        s = requests.Session()
        answers = [s.get(url, timeout=10) for _ in range(12)]
        statuses = [r.status_code for r in answers]
        assert statuses == [200] * 10 + [429] * 2, statuses
        assert 0 < int(answers[-1].headers["Retry-After"]) <= 60
    finally:
        d.stop()
