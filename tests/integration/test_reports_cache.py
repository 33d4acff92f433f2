"""The quality report's answers kept by stafetd (api/reports_cache.c,
migration 0016) against a real stafetd, slapd (the demo directory) and
PostgreSQL: an answer is served again only while the figures' version
(report_version(): the generation report_compact() and the backfills bump,
and the number of pending deltas) is the one it was computed under, so a
note changed through the API shows in the very next report, also right
after the deltas were folded; readers of different scopes never share an
answer; the spreadsheet forms come from the same kept report; a change of
the optional days off (SIGHUP) is a new answer; and the version itself
moves with every change the report can see and with nothing else."""

import csv
import io
import signal
import uuid

import openpyxl
import pytest

from tests.integration.handover_helpers import Api, User, note_body, note_ok
from tests.integration.test_auth import audit_rows, token_of
from tests.integration.test_counterparts import start_module_daemon
from tests.integration.test_directory import wait_until
from tests.integration.test_reports import report

PATH = "/api/v1/reports/quality"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FLAGS = [{"section": "goals", "kind": "missing", "comment": "Målet mangler en tidsramme."}]


def q(s):
    return "NULL" if s is None else "'" + s.replace("'", "''") + "'"


def note_sql(route, sender, receiver, status, filed, decided=None):
    """A note stored as a row (as the superuser), through the triggers."""
    hid = str(uuid.uuid4())
    return hid, (
        "INSERT INTO handovers (id, ref, route, template, template_version, status, "
        "version, sender_person, sender_unit, receiver_unit, citizen, submitted_at, "
        "first_submitted_at, decided_at) VALUES "
        f"({q(hid)}, {q('STF-T-' + hid)}, {q(route)}, 'test', 1, {q(status)}, 1, "
        f"'seed', {q(sender)}, {q(receiver)}, '{{}}', {q(filed)}, {q(filed)}, "
        f"{q(decided)});")


@pytest.fixture(scope="module")
def env(pg, slapd, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reports_cache")
    d, db = start_module_daemon(pg, slapd, tmp)
    try:
        api = Api(d)
        wait_until(lambda: api.template(User(d, "sbo")).status_code == 200,
                   what="the routes and templates loaded")
        tokens = {u: token_of(d, u) for u in ("kmo", "mha", "sbo", "lbk")}
        yield d, db, tokens
    finally:
        d.stop()


def periods(d, token, **params):
    r = report(d, token, **params)
    assert r.status_code == 200, (r.status_code, r.text)
    return r.json()["periods"]


def row(ps, route="BUR-UR"):
    """The (single) period of route in ps, or {} when none."""
    got = [p for p in ps if p["route"] == route]
    assert len(got) <= 1, got
    return got[0] if got else {}


def version(db):
    out = db.psql("SELECT o_generation || ' ' || o_deltas FROM report_version('t', 't', NULL);")
    g, n = out.split()
    return int(g), int(n)


def test_api_changes_show_in_the_next_report(env):
    """Submit, return with a flag, accept: each shows in the next report,
    read at once after the write's answer, though the same report was
    just read (and kept) before it."""
    d, _, tokens = env
    api = Api(d)
    sbo, mha = User(d, "sbo"), User(d, "mha")
    readers = ("kmo", "sbo", "mha")

    def now():
        # twice: the second read is the kept answer
        got = {u: row(periods(d, tokens[u])) for u in readers}
        assert {u: row(periods(d, tokens[u])) for u in readers} == got
        return got

    before = now()
    h = note_ok(api.create(sbo, note_body()), 201)
    assert now() == before  # a draft does not count
    note_ok(api.act(sbo, h["id"], "submit"))
    filed = now()
    for u in readers:
        assert filed[u]["filed"] == before[u].get("filed", 0) + 1, u
    note_ok(api.get(mha, h["id"]))
    note_ok(api.act(mha, h["id"], "return", {"flags": FLAGS}))
    returned = now()
    for u in readers:
        assert returned[u]["returned"] == filed[u]["returned"] + 1, u
        flags = {t["section"]: t["count"] for t in returned[u]["top_flagged_sections"]}
        old = {t["section"]: t["count"] for t in filed[u]["top_flagged_sections"]}
        assert flags.get("goals") == old.get("goals", 0) + 1, u

    h2 = note_ok(api.create(sbo, note_body()), 201)
    note_ok(api.act(sbo, h2["id"], "submit"))
    note_ok(api.get(mha, h2["id"]))
    acc0 = now()
    note_ok(api.act(mha, h2["id"], "accept", {"readback": "Modtaget."}))
    acc = now()
    for u in readers:
        assert acc[u]["filed"] == acc0[u]["filed"], u
        # accepted the day it was filed: 0 working days, a median now
        assert acc[u]["median_working_days_to_accept"] is not None, u
        assert acc[u] != acc0[u], u


def test_version_moves_with_every_change_and_only_then(env):
    _, db, _ = env
    hid, sql = note_sql("BUR-UR", "BUR", "UR", "submitted", "2026-02-03 09:00+00")
    db.psql(sql)
    v0 = version(db)
    assert version(db) == v0  # reading changes nothing
    # a transaction rolled back leaves it (the sequence moves; it is no version)
    db.psql(f"BEGIN; UPDATE handovers SET receiver_unit = 'PSY' WHERE id = {q(hid)};"
            " SET CONSTRAINTS ALL IMMEDIATE; ROLLBACK;")
    assert version(db) == v0
    # a change the report sees adds deltas
    db.psql(f"UPDATE handovers SET receiver_unit = 'PSY' WHERE id = {q(hid)};")
    v1 = version(db)
    assert v1[0] == v0[0] and v1[1] > v0[1]
    # a change it does not see (the note's text) adds none
    db.psql(f"UPDATE handovers SET version = version + 1 WHERE id = {q(hid)};")
    assert version(db) == v1
    # folding: a new generation, whatever the count
    db.psql("SELECT report_compact();")
    v2 = version(db)
    assert v2[0] > v1[0] and v2[1] == 0
    # the backfill's way (TRUNCATE and fill), in one transaction
    db.psql("BEGIN; TRUNCATE report_deltas; COMMIT;")
    v3 = version(db)
    assert v3[0] > v2[0]
    db.psql("BEGIN; DELETE FROM report_dists WHERE false; COMMIT;")
    assert version(db)[0] > v3[0]


def test_right_after_a_compaction(env):
    """40 changes, each its own transaction (each refresh's 32nd folds the
    deltas): the report after them counts every one, though the deltas'
    count may be back where it was when the answer was kept."""
    d, db, tokens = env
    span = {"from": "2026-01-01", "to": "2026-03-31"}
    hid, sql = note_sql("VSR-PSY", "VSR", "PSY", "submitted", "2026-03-10 09:00+00")
    db.psql(sql)
    before = row(periods(d, tokens["kmo"], **span), "VSR-PSY")
    assert row(periods(d, tokens["kmo"], **span), "VSR-PSY") == before
    g0 = version(db)[0]
    for i in range(40):
        db.psql("INSERT INTO handover_flags (handover_id, version, section, kind, by_person) "
                f"VALUES ({q(hid)}, 1, 'cachetest', 'missing', 'seed');")
        if i % 10 == 9:
            got = row(periods(d, tokens["kmo"], **span), "VSR-PSY")
            flags = {t["section"]: t["count"] for t in got["top_flagged_sections"]}
            assert flags.get("cachetest") == i + 1, (i, got)
    assert version(db)[0] > g0, "no fold in 40 refreshes"
    # a fold, then deltas again up to the count the last answer was kept
    # under (each flag adds three: its day, month and quarter): a later
    # generation, so not that answer
    if version(db)[1] == 0:
        db.psql("INSERT INTO handover_flags (handover_id, version, section, kind, by_person) "
                f"VALUES ({q(hid)}, 1, 'cachetest', 'missing', 'seed');")
    read = row(periods(d, tokens["kmo"], route="VSR-PSY", **span), "VSR-PSY")
    pending = version(db)[1]
    db.psql("SELECT report_compact();")
    added = 0
    while version(db)[1] < pending:
        db.psql("INSERT INTO handover_flags (handover_id, version, section, kind, by_person) "
                f"VALUES ({q(hid)}, 1, 'cachetest2', 'missing', 'seed');")
        added += 1
    got = row(periods(d, tokens["kmo"], route="VSR-PSY", **span), "VSR-PSY")
    flags = {t["section"]: t["count"] for t in got["top_flagged_sections"]}
    old = {t["section"]: t["count"] for t in read["top_flagged_sections"]}
    assert flags.get("cachetest") == old["cachetest"] and flags.get("cachetest2") == added, \
        (read, got)


def test_scopes_never_share_an_answer(env):
    d, db, tokens = env
    span = {"from": "2025-01-01", "to": "2025-03-31"}
    _, sql = note_sql("BUR-UR", "BUR", "UR", "submitted", "2025-02-03 09:00+00")
    db.psql(sql)
    _, sql = note_sql("VSR-PSY", "VSR", "PSY", "submitted", "2025-02-04 09:00+00")
    db.psql(sql)
    for _ in range(2):
        assert [p["route"] for p in periods(d, tokens["kmo"], **span)] == \
            ["BUR-UR", "VSR-PSY"]
        assert [p["route"] for p in periods(d, tokens["mha"], **span)] == ["BUR-UR"]
        assert periods(d, tokens["lbk"], **span) == []
        assert [p["route"] for p in periods(d, tokens["sbo"], **span)] == ["BUR-UR"]
    # the route and the range are in the key too
    assert [p["route"] for p in periods(d, tokens["kmo"], route="VSR-PSY", **span)] == \
        ["VSR-PSY"]
    assert periods(d, tokens["kmo"], **{"from": "2025-01-01", "to": "2025-02-03"})[0][
        "filed"] == 1


def test_spreadsheets_from_the_kept_report(env):
    d, db, tokens = env
    span = {"from": "2024-01-01", "to": "2024-03-31"}
    _, sql = note_sql("BUR-UR", "BUR", "UR", "accepted", "2024-02-05 09:00+00",
                      "2024-02-07 09:00+00")
    db.psql(sql)
    js = periods(d, tokens["kmo"], **span)
    assert [(p["route"], p["filed"], p["median_working_days_to_accept"]) for p in js] == \
        [("BUR-UR", 1, 2)]
    for _ in range(2):
        r = report(d, tokens["kmo"], headers={"Accept": "text/csv"}, **span)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
        assert [x[2:5] + x[6:7] for x in rows[1:]] == [["BUR-UR", "1", "0", "2"]]
        r = report(d, tokens["kmo"], headers={"Accept": XLSX}, **span)
        assert r.status_code == 200 and r.headers["Content-Type"] == XLSX
        ws = openpyxl.load_workbook(io.BytesIO(r.content)).active
        cells = [[c.value for c in x] for x in ws.iter_rows(min_row=2)]
        assert [[x[2], x[3], x[4], x[6]] for x in cells] == [["BUR-UR", 1, 0, 2]]
    # JSON again after the spreadsheets: the same
    assert periods(d, tokens["kmo"], **span) == js


def test_days_off_change_on_reload(env):
    """Filed Tue 22 December 2026, accepted Mon 4 January 2027: 7 working
    days, 5 with juleaftensdag and nytårsaftensdag off (read after a
    SIGHUP), 7 again without."""
    d, db, tokens = env
    span = {"from": "2026-10-01", "to": "2026-12-31"}
    _, sql = note_sql("VSR-PSY", "VSR", "PSY", "accepted", "2026-12-22 09:00+00",
                      "2027-01-04 09:00+00")
    db.psql(sql)

    def median():
        return row(periods(d, tokens["kmo"], **span), "VSR-PSY")[
            "median_working_days_to_accept"]

    def reload(days_off):
        before = d.log().count("config: reloaded")
        if days_off is None:
            d.settings.pop("days_off", None)
        else:
            d.settings["days_off"] = days_off
        d.write_config()
        d.signal(signal.SIGHUP)
        wait_until(lambda: d.log().count("config: reloaded") > before, what="the reload")

    assert median() == 7 and median() == 7
    reload("juleaftensdag nytaarsaftensdag")
    try:
        assert median() == 5 and median() == 5
    finally:
        reload(None)
    assert median() == 7


def test_every_read_is_audited_once(env):
    d, db, tokens = env
    before = len(audit_rows(db, "report.quality"))
    for _ in range(3):
        periods(d, tokens["sbo"], **{"from": "2023-01-01", "to": "2023-03-31"})
    got = audit_rows(db, "report.quality")
    assert len(got) == before + 3  # written before the answer, so there now
    for a in got[-3:]:
        assert (a["actor_username"], a["action"], a["object_type"], a["object_id"],
                a["detail"]) == ("sbo", "report.quality", None, None, None)
        assert a["actor_id"] and a["address"] == "127.0.0.1"
