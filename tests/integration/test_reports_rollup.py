"""The quality report read from the rollups of migration 0015 (report_notes,
report_items, kept by triggers) against the full scan it replaced, on a
varied data set: several routes, unit pairs and quarters, notes filed late
in the evening UTC (the next day in Copenhagen), drafts, every status,
returns, flags (resolved or not), notices before and after acceptance,
acceptance across Easter, Christmas and grundlovsdag with the optional days
off configured, and notes accepted the day they were filed or years later.

The oracle is the full-scan SQL stafetd sent before migration 0015
(OLD_SQL, verbatim) with the figures computed from its rows here as
api/reports.c computed them (Danish working days re-implemented in Python
from handover/workdays.c). Every comparison covers many (from, to, route)
combinations and four readers (the quality role, a team lead who sees the
units below, two caseworkers), JSON and the CSV's row count.

The data goes in first with the report's triggers and tables removed, then
`stafetd --migrate` applies 0015 for real (the backfill on an existing
database); then the notes change in many ways (accepted, returned again,
forwarded, flagged and unflagged, noticed, withdrawn, deleted, a draft filed
for the first time, handover_write() itself), each batch compared again."""

import datetime
import json
import random
import threading
import uuid

import pytest
import requests

from tests.integration.test_auth import bearer, login, token_of
from tests.integration.test_counterparts import start_module_daemon

PATH = "/api/v1/reports/quality"
DAYS_OFF = "grundlovsdag juleaftensdag nytaarsaftensdag"
OFF = 7  # the three HO_OFF_* bits
ROUTES = ["BUR-UR", "VSR-PSY", "GENERISK", "BURH-AEHF"]
PAIRS = [("BUR", "UR"), ("VSR", "PSY"), ("BUR-H", "UR"), ("UR", "VSR"), ("PSY", "BUR"),
         ("BUR-H", "VSR")]
SECTIONS = ["goals", "situation", "contact", "consent", "own_room", "actions", "økonomi",
            'say "hi", then']
STATUSES = ["submitted", "received", "returned", "accepted", "accepted", "accepted",
            "withdrawn"]

# The SQL api/reports.c sent before migration 0015, verbatim ($1 from, $2 to,
# $3 route or NULL, $4 units or NULL, $5 the note limit plus one).
OLD_SQL = (
    "WITH n AS ("
    " SELECT h.id, h.route,"
    "  (h.first_submitted_at AT TIME ZONE 'Europe/Copenhagen')::date AS filed,"
    "  CASE WHEN h.status = 'accepted' THEN"
    "   (h.decided_at AT TIME ZONE 'Europe/Copenhagen')::date END AS accepted,"
    "  EXISTS (SELECT 1 FROM handover_events e"
    "   WHERE e.handover_id = h.id AND e.action = 'return') AS returned,"
    "  (SELECT (min(nt.created_at) AT TIME ZONE 'Europe/Copenhagen')::date"
    "   FROM notices nt WHERE nt.handover_id = h.id) AS noticed"
    " FROM handovers h"
    " WHERE h.first_submitted_at >= ($1::date::timestamp AT TIME ZONE 'Europe/Copenhagen')"
    "  AND h.first_submitted_at < (($2::date + 1)::timestamp AT TIME ZONE 'Europe/Copenhagen')"
    "  AND ($3::text IS NULL OR h.route = $3::text)"
    "  AND ($4::text[] IS NULL OR h.sender_unit = ANY ($4::text[])"
    "   OR h.receiver_unit = ANY ($4::text[]))"
    " LIMIT $5::int"
    "), p AS ("
    " SELECT n.*, to_char(n.filed, 'YYYY-\"Q\"Q') AS period FROM n"
    "), f AS ("
    " SELECT p.period, p.route, fl.section, count(*) AS c,"
    "  row_number() OVER (PARTITION BY p.period, p.route"
    "   ORDER BY count(*) DESC, fl.section COLLATE \"C\") AS rn"
    " FROM p JOIN handover_flags fl ON fl.handover_id = p.id"
    " GROUP BY p.period, p.route, fl.section"
    ")"
    "SELECT k, period, route, a, b, c, r, d, e FROM ("
    " SELECT 0 AS k, period, route, to_char(filed, 'YYYY-MM-DD') AS a,"
    "  to_char(accepted, 'YYYY-MM-DD') AS b, count(*) AS c,"
    "  count(*) FILTER (WHERE returned) AS r,"
    "  accepted - noticed AS d,"
    "  noticed <= (accepted - interval '6 months')::date AS e"
    " FROM p GROUP BY period, route, filed, accepted, noticed"
    " UNION ALL"
    " SELECT 1, period, route, section, NULL, c, rn, NULL, NULL FROM f WHERE rn <= 5"
    ") u ORDER BY k, period, route COLLATE \"C\", r")

# What 0015 creates (and 0016 on top of it), to take it away again (the
# database as it was before).
UNDO_0015 = """
DROP FUNCTION report_version(text, text, text);
DROP TABLE report_generation;
DROP FUNCTION report_generation_bump() CASCADE;
DELETE FROM schema_migrations WHERE version = 16;
DROP TRIGGER report_handovers_insert ON handovers;
DROP TRIGGER report_handovers_update ON handovers;
DROP TRIGGER report_handovers_delete ON handovers;
DROP TRIGGER report_events_insert ON handover_events;
DROP TRIGGER report_flags_insert ON handover_flags;
DROP TRIGGER report_flags_update ON handover_flags;
DROP TRIGGER report_flags_delete ON handover_flags;
DROP TRIGGER report_notices_insert ON notices;
DROP TRIGGER report_notices_update ON notices;
DROP TRIGGER report_notices_delete ON notices;
DROP FUNCTION report_quality(date, date, text, text[]),
    report_child_changed(), report_handover_changed(),
    report_refresh(uuid), report_compact(), report_items_of(report_notes), report_note(uuid);
DROP VIEW report_note_rows, report_all, report_items;
DROP INDEX notices_handover;
DROP TABLE report_deltas, report_dists, report_notes;
DROP SEQUENCE report_deltas_seq;
DROP FUNCTION report_workdays(date, date), report_weekdays_before(date), report_easter(integer);
DELETE FROM schema_migrations WHERE version = 15;
"""


# ---- the oracle: api/reports.c before 0015, in Python ----------------------------

def q(s):
    return "NULL" if s is None else "'" + str(s).replace("'", "''") + "'"


def easter(y):
    a, b, c = y % 19, y // 100, y % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l) // 451
    return datetime.date(y, (h + l - 7 * m + 114) // 31, (h + l - 7 * m + 114) % 31 + 1)


def holidays(y, off):
    e = easter(y)
    dd = datetime.timedelta
    out = [datetime.date(y, 1, 1), e - dd(3), e - dd(2), e, e + dd(1)]
    if y <= 2023:
        out.append(e + dd(26))
    out += [e + dd(39), e + dd(49), e + dd(50)]
    june5 = datetime.date(y, 6, 5)
    if off & 1 and june5 not in (e + dd(49), e + dd(50)):
        out.append(june5)
    if off & 2:
        out.append(datetime.date(y, 12, 24))
    out += [datetime.date(y, 12, 25), datetime.date(y, 12, 26)]
    if off & 4:
        out.append(datetime.date(y, 12, 31))
    return out


def weekdays_before(d):
    n = (d - datetime.date(1970, 1, 1)).days - 4
    qq = n // 7
    return qq * 5 + min(n - qq * 7, 5)


def workdays_between(a, b, off):
    if not (1900 <= a.year <= 2200 and 1900 <= b.year <= 2200):
        return -1
    if b <= a:
        return 0
    n = weekdays_before(b + datetime.timedelta(1)) - weekdays_before(a + datetime.timedelta(1))
    for y in range(a.year, b.year + 1):
        for h in holidays(y, off):
            if a < h <= b and h.isoweekday() <= 5:
                n -= 1
    return n


def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def quantile(v, p):
    h = (len(v) - 1) * p
    lo = int(h)
    if lo + 1 >= len(v):
        return v[-1]
    return v[lo] + (h - lo) * (v[lo + 1] - v[lo])


def milli(part, whole):
    return 0 if whole == 0 else (part * 2000 + whole) // (2 * whole)


def oracle(db, frm, to, route, units):
    arr = None if units is None else "{" + ",".join('"%s"' % u for u in units) + "}"
    sql = OLD_SQL
    for k, v in (("$1", q(frm)), ("$2", q(to)), ("$3", q(route)), ("$4", q(arr)),
                 ("$5", "200001")):
        sql = sql.replace(k, v)
    groups = {}
    for line in db.psql(sql + ";").splitlines():
        k, period, rt, a, b, c, r, d, e = line.split("|")
        if k == "0":
            g = groups.setdefault((period, rt), {"filed": 0, "returned": 0, "days": [],
                                                 "accepted": 0, "noticed6": 0, "lead": [],
                                                 "top": []})
            g["filed"] += int(c)
            g["returned"] += int(r)
            if b:
                days = workdays_between(datetime.date.fromisoformat(a),
                                        datetime.date.fromisoformat(b), OFF)
                if days >= 0:
                    g["days"] += [days] * int(c)
                g["accepted"] += int(c)
                if d:
                    g["lead"] += [max(int(d), 0)] * int(c)
                if e == "t":
                    g["noticed6"] += int(c)
        else:
            g = groups.get((period, rt))
            if g is not None and len(g["top"]) < 5:
                g["top"].append({"section": a, "count": int(c)})
    out = []
    for (period, rt) in sorted(groups):
        g = groups[(period, rt)]
        lead = None
        if g["lead"]:
            v = sorted(g["lead"])
            lead = {"median": quantile(v, 0.5), "p25": quantile(v, 0.25),
                    "p75": quantile(v, 0.75), "notes": len(v)}
        out.append({"period": period, "route": rt, "filed": g["filed"],
                    "returned": g["returned"],
                    "returned_share": milli(g["returned"], g["filed"]) / 1000,
                    "median_working_days_to_accept": median(g["days"]) if g["days"] else None,
                    "top_flagged_sections": g["top"], "lead_time_days": lead,
                    "share_noticed_6_months":
                        milli(g["noticed6"], g["accepted"]) / 1000 if g["accepted"] else None})
    return out


# ---- the data ---------------------------------------------------------------------

def note_id(i):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "stafet-rollup-%d" % i))


def ts(dt):
    return q(dt.strftime("%Y-%m-%d %H:%M:%S+00"))


def seed_sql(rng, first, count):
    """count notes from number `first` on: rows of handovers, events, flags
    and notices, as SQL."""
    out = []
    start = datetime.datetime(2024, 11, 20, 8, 0)
    for i in range(first, first + count):
        hid = note_id(i)
        route = rng.choice(ROUTES)
        sender, receiver = rng.choice(PAIRS)
        filed = start + datetime.timedelta(days=rng.randrange(0, 500),
                                           minutes=rng.randrange(0, 24 * 60))
        if rng.random() < 0.1:  # late in the evening UTC: the next day in Copenhagen
            filed = filed.replace(hour=22, minute=rng.randrange(0, 60))
        status = "draft" if rng.random() < 0.08 else rng.choice(STATUSES)
        decided = None
        if status in ("accepted", "returned", "withdrawn"):
            r = rng.random()
            lag = (0 if r < 0.1 else rng.randrange(400, 800) if r < 0.15
                   else rng.randrange(0, 45))
            decided = filed + datetime.timedelta(days=lag, hours=rng.randrange(0, 10))
            if status == "accepted" and rng.random() < 0.03:
                decided = None  # accepted without a decision time: not counted accepted
        f_ts = None if status == "draft" else ts(filed)
        out.append(
            "INSERT INTO handovers (id, ref, route, template, template_version, status, "
            "version, sender_person, sender_unit, receiver_unit, citizen, submitted_at, "
            "first_submitted_at, decided_at) VALUES "
            f"({q(hid)}, {q('STF-2099-%06d' % i)}, {q(route)}, 'test', 1, {q(status)}, 1, "
            f"'seed', {q(sender)}, {q(receiver)}, '{{}}', {f_ts or 'NULL'}, "
            f"{f_ts or 'NULL'}, {ts(decided) if decided else 'NULL'});")
        if i % 7 == 3:
            continue  # some notes without events, flags or notices (they may be deleted)
        for _ in range(rng.choice([0, 0, 0, 1, 1, 2])):
            out.append(
                "INSERT INTO handover_events (handover_id, at, by_person, action, "
                f"from_status, to_status, version) VALUES ({q(hid)}, {ts(filed)}, 'seed', "
                "'return', 'received', 'returned', 2);")
        out.append(
            "INSERT INTO handover_events (handover_id, at, by_person, action, from_status, "
            f"to_status, version) VALUES ({q(hid)}, {ts(filed)}, 'seed', 'receive', "
            "'submitted', 'received', 2);")
        for _ in range(rng.choice([0, 0, 1, 2, 4])):
            out.append(
                "INSERT INTO handover_flags (handover_id, version, section, kind, by_person, "
                f"at, resolved_at) VALUES ({q(hid)}, 2, {q(rng.choice(SECTIONS))}, 'missing', "
                f"'seed', {ts(filed)}, {ts(filed) if rng.random() < 0.5 else 'NULL'});")
        for _ in range(rng.choice([0, 0, 0, 1, 2])):
            made = filed + datetime.timedelta(days=rng.randrange(-400, 30))
            out.append(notice_sql(rng, hid, made))
    return "\n".join(out)


def notice_sql(rng, hid, made):
    return ("INSERT INTO notices (id, ref, route, status, version, citizen, sender_person, "
            "sender_unit, receiver_unit, expected_date, handover_id, created_at) VALUES "
            f"({q(str(uuid.UUID(int=rng.getrandbits(128))))}, "
            f"{q('VAR-2099-%08d' % rng.randrange(10 ** 8))}, 'BUR-UR', 'converted', 2, '{{}}', "
            f"'seed', 'BUR', 'UR', '2026-01-15', {q(hid)}, {ts(made)});")


# ---- the readers and the comparisons -----------------------------------------------

RANGES = [
    (None, None),
    ("2024-01-01", "2026-12-31"),   # everything, whole quarters
    ("2025-01-01", "2025-06-30"),   # two whole quarters
    ("2025-02-01", "2025-08-31"),   # whole months, quarters in the middle
    ("2025-02-17", "2025-11-03"),   # days, months and quarters
    ("2024-12-24", "2025-01-02"),   # days only, across the year
    ("2025-03-01", "2025-03-31"),   # one month
    ("2025-06-05", "2025-06-05"),   # one day
    ("2025-03-31", "2025-04-01"),   # two days in two quarters
    ("2025-04-01", "2025-12-31"),   # to the end of a year
    ("2024-11-20", "2026-04-03"),   # from the first note to the last
]


def units_tree(d, token):
    r = requests.get(d.url + "/api/v1/units", headers=bearer(token), timeout=10)
    assert r.status_code == 200, r.text
    units = {}

    def walk(u):
        units[u["code"]] = u
        for c in u.get("children", []):
            walk(c)
    for u in r.json()["items"]:
        walk(u)
    return units


def visible_units(units, me):
    """access_visible_units(): the subtrees the person leads, and their unit."""
    out = set()

    def subtree(u):
        out.add(u["code"])
        for c in u.get("children", []):
            subtree(c)
    for u in units.values():
        if (u.get("lead") or {}).get("id") == me["id"]:
            subtree(u)
    if me.get("unit"):
        out.add(me["unit"]["code"])
    return sorted(out)


@pytest.fixture(scope="module")
def env(pg, slapd, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reports_rollup")
    d, db = start_module_daemon(pg, slapd, tmp, days_off=DAYS_OFF)
    try:
        readers = {"kmo": None}
        kmo = token_of(d, "kmo")
        units = units_tree(d, kmo)
        # a team lead (units below theirs), and two caseworkers
        lead = units["BUF"]["lead"]["id"] if units.get("BUF", {}).get("lead") else None
        names = ["mha", "sbo"] + ([lead] if lead else [])
        tokens = {"kmo": kmo}
        for name in names:
            if login(d, name, "demo").status_code != 201:
                continue
            tokens[name] = token_of(d, name, "demo")
            me = requests.get(d.url + "/api/v1/me", headers=bearer(tokens[name]),
                              timeout=10).json()
            readers[name] = visible_units(units, me)
        yield d, db, tokens, readers
    finally:
        d.stop()


def compare(env, what, full=True):
    """The report against the oracle: every range, route and reader, or
    (full=False) a third of the ranges with the routes all and BUR-UR."""
    d, db, tokens, readers = env
    checked = 0
    for user, units in readers.items():
        for frm, to in RANGES if full else RANGES[::3]:
            for route in [None] + ROUTES[:2] + ["NO-SUCH"] if full else [None, ROUTES[0]]:
                params = {}
                if frm:
                    params = {"from": frm, "to": to}
                if route:
                    params["route"] = route
                r = requests.get(d.url + PATH, headers=bearer(tokens[user]), params=params,
                                 timeout=30)
                assert r.status_code == 200, (what, user, params, r.text)
                body = r.json()
                want = oracle(db, body["from"], body["to"], route, units)
                assert body["periods"] == want, (what, user, params)
                checked += 1
    # the CSV is built from the same figures: a row per period
    r = requests.get(d.url + PATH, headers={**bearer(tokens["kmo"]), "Accept": "text/csv"},
                     params={"from": "2024-01-01", "to": "2026-12-31"}, timeout=30)
    assert r.status_code == 200
    assert len(r.content.decode("utf-8").split("\r\n")) - 2 == len(
        oracle(db, "2024-01-01", "2026-12-31", None, None))
    return checked


EXPECTED = (
    "SELECT i.grain, i.bucket, i.quarter, i.route, i.sender_unit, i.receiver_unit, "
    " i.kind, i.val, i.cg, i.cj, i.cn, i.section, sum(i.n) "
    "FROM report_notes r CROSS JOIN LATERAL report_items_of(r) i "
    "GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12")


def differ(db, held):
    """How many rows the rollup `held` (a SELECT of report_items' columns)
    and the sum of report_notes' contributions do not share."""
    return db.psql("SELECT count(*) FROM ((%s EXCEPT %s) UNION ALL (%s EXCEPT %s)) x;" % (
        EXPECTED, held, held, EXPECTED)).strip()


def rollup_matches_notes(db):
    """report_items and the pending report_deltas sum to exactly the sum of
    report_notes' contributions, and report_notes is what the tables say."""
    assert differ(db, "SELECT grain, bucket, quarter, route, sender_unit, receiver_unit, kind, "
                  "val, cg, cj, cn, section, sum(n) FROM report_all "
                  "GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 HAVING sum(n) <> 0") == "0"
    # and report_notes is what the tables say, note by note
    stale = db.psql(
        "SELECT count(*) FROM (SELECT r.* FROM handovers h CROSS JOIN LATERAL report_note(h.id) r"
        " WHERE h.first_submitted_at IS NOT NULL"
        " EXCEPT SELECT * FROM report_notes) x;")
    assert db.psql("SELECT count(*) FROM (SELECT * FROM report_note_rows"
                   " EXCEPT SELECT * FROM report_notes) x;").strip() == "0"
    assert stale.strip() == "0"
    assert db.psql("SELECT count(*) FROM report_notes").strip() == db.psql(
        "SELECT count(*) FROM handovers WHERE first_submitted_at IS NOT NULL").strip()


def compacted_matches_notes(db):
    """report_compact() folds every delta into report_items, which then
    holds exactly the sum of the contributions, one row a key and no row
    at zero."""
    db.psql("SELECT report_compact();")
    assert db.psql("SELECT count(*) FROM report_deltas").strip() == "0"
    assert differ(db, "SELECT grain, bucket, quarter, route, sender_unit, receiver_unit, kind, "
                  "val, cg, cj, cn, section, n FROM report_items") == "0"


NOTES = 400


def lock_grant(op):
    """GRANT or REVOKE the row locks the foreign keys' check needs on the
    append-only tables, for their owner (the database's role)."""
    return ("DO $$ BEGIN EXECUTE format('%s UPDATE ON handover_versions, handover_events %s %%I', "
            "(SELECT tableowner FROM pg_tables WHERE tablename = 'handover_versions')); END $$;"
            % (op, "TO" if op == "GRANT" else "FROM"))


@pytest.fixture(scope="module")
def seeded(env):
    """The notes stored before 0015, then `stafetd --migrate` (the backfill)."""
    d, db, _, _ = env
    db.psql(UNDO_0015)
    rng = random.Random(23)
    db.psql("BEGIN;\n" + seed_sql(rng, 0, NOTES) + "\nCOMMIT;")
    r = d.migrate()
    assert "2 migrations applied" in r.stdout, r.stdout
    return rng


def test_backfill_on_an_existing_database(env, seeded):
    _, db, _, readers = env
    assert len(readers) >= 3, readers  # the quality role and at least two more readers
    assert int(db.psql("SELECT count(*) FROM report_notes")) > NOTES * 0.8
    rollup_matches_notes(db)
    assert db.psql("SELECT count(*) FROM report_deltas").strip() == "0"
    compacted_matches_notes(db)
    assert compare(env, "after the backfill") > 100


def test_the_report_reads_no_note(env, seeded):
    """The report's query reads report_items, not handovers: a note whose
    row is changed behind the triggers' back does not move it."""
    d, db, tokens, _ = env
    params = {"from": "2024-01-01", "to": "2026-12-31"}
    before = requests.get(d.url + PATH, headers=bearer(tokens["kmo"]), params=params,
                          timeout=30).json()
    db.psql("ALTER TABLE handovers DISABLE TRIGGER report_handovers_update;"
            "UPDATE handovers SET route = 'GHOST' WHERE id = "
            "(SELECT handover_id FROM report_notes ORDER BY handover_id LIMIT 1);"
            "ALTER TABLE handovers ENABLE TRIGGER report_handovers_update;")
    try:
        after = requests.get(d.url + PATH, headers=bearer(tokens["kmo"]), params=params,
                             timeout=30).json()
        assert after == before
        assert all(p["route"] != "GHOST" for p in after["periods"])
    finally:
        db.psql("UPDATE handovers h SET route = r.route FROM report_notes r "
                "WHERE r.handover_id = h.id AND h.route = 'GHOST';")
    rollup_matches_notes(db)


def test_changes_keep_the_figures(env, seeded):
    d, db, _, _ = env
    rng = seeded
    ids = [note_id(i) for i in range(NOTES)]

    def some(k):
        return ", ".join(q(x) for x in rng.sample(ids, k))

    batches = [
        ("accepted now and then", [
            f"UPDATE handovers SET status = 'accepted', decided_at = first_submitted_at "
            f"+ interval '9 days 3 hours' WHERE id IN ({some(25)}) "
            f"AND first_submitted_at IS NOT NULL;"]),
        ("no longer accepted", [
            f"UPDATE handovers SET status = 'returned', decided_at = decided_at "
            f"+ interval '1 day' WHERE id IN ({some(25)}) AND status = 'accepted';"]),
        ("returned (events), flagged and unflagged", [
            "\n".join("INSERT INTO handover_events (handover_id, at, by_person, action, "
                      "from_status, to_status, version) VALUES (%s, now(), 'seed', 'return', "
                      "'received', 'returned', 3);" % q(x) for x in rng.sample(ids, 20)),
            "\n".join("INSERT INTO handover_flags (handover_id, version, section, kind, "
                      "by_person) VALUES (%s, 3, %s, 'imprecise', 'seed');" % (
                          q(x), q(rng.choice(SECTIONS))) for x in rng.sample(ids, 40)),
            f"DELETE FROM handover_flags WHERE handover_id IN ({some(30)});",
            f"UPDATE handover_flags SET section = 'goals' WHERE handover_id IN ({some(30)});",
            f"UPDATE handover_flags SET resolved_at = now() WHERE handover_id IN ({some(30)});",
        ]),
        ("forwarded, moved to another route, filed again", [
            f"UPDATE handovers SET receiver_unit = 'VSR' WHERE id IN ({some(20)});",
            f"UPDATE handovers SET sender_unit = 'BUR-H', route = 'GENERISK' "
            f"WHERE id IN ({some(20)});",
            f"UPDATE handovers SET first_submitted_at = first_submitted_at - interval '47 days' "
            f"WHERE id IN ({some(20)});",
        ]),
        ("drafts filed for the first time, notes withdrawn", [
            "UPDATE handovers SET status = 'submitted', submitted_at = now(), "
            "first_submitted_at = '2025-12-24 10:00+00' WHERE status = 'draft';",
            f"UPDATE handovers SET status = 'withdrawn', decided_at = now() "
            f"WHERE id IN ({some(15)});",
        ]),
        ("noticed, notices moved and deleted", [
            "\n".join(notice_sql(rng, x, datetime.datetime(2024, 6, 1) + datetime.timedelta(
                days=rng.randrange(0, 500))) for x in rng.sample(ids, 30)),
            f"UPDATE notices SET handover_id = {q(ids[1])} WHERE handover_id IN ({some(10)});",
            f"UPDATE notices SET created_at = created_at - interval '200 days' "
            f"WHERE handover_id IN ({some(30)});",
            f"UPDATE notices SET handover_id = NULL, status = 'open' "
            f"WHERE handover_id IN ({some(10)});",
        ]),
        ("deleted", [
            # Filed notes are never deleted (the append-only tables' owner
            # may not lock their rows, which the foreign keys' check does):
            # allowed here for the test, for notes without events (the seed
            # left every seventh bare).
            lock_grant("GRANT"),
            "DELETE FROM handover_flags WHERE handover_id IN (SELECT h.id FROM handovers h "
            " WHERE h.ref LIKE 'STF-2099-%' AND NOT EXISTS (SELECT 1 FROM handover_events e"
            " WHERE e.handover_id = h.id) AND NOT EXISTS (SELECT 1 FROM notices n"
            " WHERE n.handover_id = h.id) LIMIT 20);",
            "DELETE FROM handovers h WHERE h.ref LIKE 'STF-2099-%' AND NOT EXISTS ("
            " SELECT 1 FROM handover_events e WHERE e.handover_id = h.id) AND NOT EXISTS ("
            " SELECT 1 FROM notices n WHERE n.handover_id = h.id) AND NOT EXISTS ("
            " SELECT 1 FROM handover_flags f WHERE f.handover_id = h.id)"
            " AND NOT EXISTS (SELECT 1 FROM handover_versions v WHERE v.handover_id = h.id)"
            " AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.handover_id = h.id);",
            lock_grant("REVOKE"),
        ]),
        ("many changes to one note in one transaction, and handover_write()", [
            "BEGIN;"
            f"UPDATE handovers SET status = 'accepted', decided_at = '2025-06-04 09:00+00', "
            f"first_submitted_at = '2025-05-30 09:00+00' WHERE id = {q(ids[5])};"
            "INSERT INTO handover_flags (handover_id, version, section, kind, by_person) "
            f"VALUES ({q(ids[5])}, 4, 'contact', 'missing', 'seed');"
            f"UPDATE handovers SET receiver_unit = 'PSY' WHERE id = {q(ids[5])};"
            f"UPDATE handovers SET decided_at = '2025-06-06 09:00+00' WHERE id = {q(ids[5])};"
            "COMMIT;",
            "SELECT count(handover_write(h.id, h.version, 'seed', 'seed', '127.0.0.1', 'return',"
            " '{\"status\": \"returned\", \"returned_by\": \"seed\"}', NULL,"
            " '[{\"section\": \"goals\", \"kind\": \"missing\"},"
            "   {\"section\": \"actions\", \"kind\": \"imprecise\"}]', NULL))"
            f" FROM handovers h WHERE h.id IN ({some(10)});",
            "SELECT count(handover_write(h.id, h.version, 'seed', 'seed', '127.0.0.1', 'accept',"
            " '{\"status\": \"accepted\", \"readback\": \"ok\"}', NULL, NULL, NULL))"
            f" FROM handovers h WHERE h.id IN ({some(10)}) AND h.first_submitted_at IS NOT NULL;",
            "SELECT count(handover_write(h.id, h.version, 'seed', 'seed', '127.0.0.1', 'submit',"
            " '{\"status\": \"submitted\"}', NULL, NULL, NULL))"
            f" FROM handovers h WHERE h.id IN ({some(10)});",
        ]),
        ("new notes after the migration", [seed_sql(rng, NOTES, 60)]),
    ]
    for what, statements in batches:
        for sql in statements:
            db.psql(sql)
        rollup_matches_notes(db)
        # the report with the deltas pending, then folded
        pending = int(db.psql("SELECT count(*) FROM report_deltas").strip())
        compare(env, what, full=what.startswith("new notes"))
        compacted_matches_notes(db)
        if pending:
            compare(env, what + ", compacted", full=False)


def test_concurrent_changes_to_one_key(env, seeded):
    """8 connections change notes filed the same day on the same route and
    units at once (acceptance on and off, flags, returns; the deltas
    folded now and then by whichever refresh comes 32nd): every change is
    counted once, and the report equals the oracle."""
    d, db, _, _ = env
    hot = db.psql("SELECT id FROM handovers WHERE first_submitted_at IS NOT NULL "
                  "ORDER BY id LIMIT 40;").split()
    assert len(hot) == 40
    db.psql("UPDATE handovers SET route = 'BUR-UR', sender_unit = 'BUR-H', "
            "receiver_unit = 'VSR', first_submitted_at = '2025-09-10 08:00+00', "
            "status = 'received', decided_at = NULL WHERE id IN (%s);" % ", ".join(
                q(x) for x in hot))
    rollup_matches_notes(db)
    seq0 = int(db.psql("SELECT last_value FROM report_deltas_seq").strip())
    rng = random.Random(2323)
    scripts = []
    for c in range(8):
        mine = hot[c * 5:c * 5 + 5]
        stmts = []
        for k in range(40):
            x = q(rng.choice(mine if k % 2 else hot))
            op = k % 4
            if op == 0:
                stmts.append("UPDATE handovers SET status = CASE status WHEN 'accepted' THEN "
                             "'received' ELSE 'accepted' END, decided_at = CASE status WHEN "
                             "'accepted' THEN NULL ELSE timestamptz '2025-09-%02d 12:00+00' END "
                             "WHERE id = %s;" % (11 + k % 17, x))
            elif op == 1:
                stmts.append("INSERT INTO handover_flags (handover_id, version, section, kind, "
                             "by_person) VALUES (%s, 3, %s, 'imprecise', 'seed');" % (
                                 x, q(rng.choice(SECTIONS))))
            elif op == 2:
                stmts.append("INSERT INTO handover_events (handover_id, at, by_person, action, "
                             "from_status, to_status, version) VALUES (%s, now(), 'seed', "
                             "'return', 'received', 'returned', 3);" % x)
            else:
                stmts.append("BEGIN; DELETE FROM handover_flags WHERE handover_id = %s; "
                             "UPDATE handovers SET decided_at = decided_at + interval '1 day' "
                             "WHERE id = %s AND status = 'accepted'; COMMIT;" % (x, x))
        scripts.append("\n".join(stmts))
    errors = []

    def run(sql):
        try:
            db.psql(sql)
        except Exception as e:  # reported below
            errors.append(e)
    threads = [threading.Thread(target=run, args=(sql,)) for sql in scripts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert int(db.psql("SELECT last_value FROM report_deltas_seq").strip()) - seq0 >= 64
    rollup_matches_notes(db)
    compare(env, "8 connections on one key", full=False)
    compacted_matches_notes(db)
    compare(env, "8 connections on one key, compacted", full=False)


def test_many_notes_in_one_transaction(env, seeded):
    """A bulk load (300 notes with their events, flags and notices in one
    transaction) folds its deltas only now and then (every 4,096th refresh
    of a transaction past its 64th: each fold would re-read the dead rows
    of the folds before it): what it leaves pending counts in the report
    all the same, and the next fold takes it in."""
    _, db, _, _ = env
    db.psql("SELECT report_compact();")
    before = int(db.psql("SELECT count(*) FROM report_notes").strip())
    rng = random.Random(4096)
    db.psql("BEGIN;\n" + seed_sql(rng, 10 * NOTES, 300) + "\nCOMMIT;")
    assert int(db.psql("SELECT count(*) FROM report_notes").strip()) > before + 200
    # past the transaction's 64th refresh nothing was folded: the new notes'
    # own rows (one 'F' a note at day grain) are pending for all but the
    # first 64 or so (every 32nd refresh would leave at most 31)
    assert int(db.psql("SELECT count(*) FROM report_deltas WHERE grain = 'd' AND kind = 'F' "
                       "AND n > 0").strip()) >= 200
    rollup_matches_notes(db)
    compare(env, "300 notes in one transaction, pending", full=False)
    compacted_matches_notes(db)
    compare(env, "300 notes in one transaction, folded", full=False)
