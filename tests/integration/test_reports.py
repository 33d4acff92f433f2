"""GET /api/v1/reports/quality against a real stafetd, slapd (the demo
directory) and PostgreSQL: the figures per quarter and route (filed,
returned, share, median working days to acceptance across Easter and
Ascension Day, the top five flagged sections), the quarter of a note filed
late on 31 March UTC (1 April in Copenhagen), the spreadsheet forms (the
CSV Danish Excel opens as columns, read back with Python's csv and the ';'
dialect; the XLSX read back with openpyxl), who sees what
(the quality role all, a caseworker the notes of their units, a caseworker
of another unit nothing), hostile parameters and the audit row.

The notes are seeded as rows straight into PostgreSQL (as the superuser),
so the report is tested apart from the handover API that writes them."""

import csv
import datetime
import io
import json
import os
import uuid
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.integration.test_auth import assert_problem, audit_rows, bearer, token_of
from tests.integration.test_counterparts import start_module_daemon
from tests.integration.test_directory import wait_until

PATH = "/api/v1/reports/quality"
CSV_HEADER = ["Kvartal", "Rute", "Rutekode", "Indsendte notater", "Returnerede",
              "Andel returneret", "Median arbejdsdage til accept",
              "Hyppigst markerede afsnit (antal)", "Median dage fra varsel til accept",
              "Andel varslet mindst 6 måneder før accept"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
with open(os.path.join(REPO, "schema", "routes", "bur-ur.json"), encoding="utf-8") as _f:
    BUR_UR = json.load(_f)["name"]
with open(os.path.join(REPO, "schema", "templates", "bur-ur.json"), encoding="utf-8") as _f:
    LABEL = {s["key"]: s["label"] for s in json.load(_f)["sections"]}
PERIOD_FIELDS = {"period", "route", "filed", "returned", "returned_share",
                 "median_working_days_to_accept", "top_flagged_sections", "lead_time_days",
                 "share_noticed_6_months"}
# Notices that became notes (issue 22's lead time): note key, notice made (UTC).
# n2 was noticed 223 days (over six months) before its acceptance on 9 Feb,
# n1 37 days before 7 Jan; no other note had one.
NOTICES = [("n2", "2025-07-01 10:00"), ("n1", "2025-12-01 10:00")]

# (key, route, sender unit, receiver unit, status, filed (UTC), decided (UTC),
#  returns, flag sections)
NOTES = [
    # 2026-Q1, BUR-UR
    ("n1", "BUR-UR", "BUR", "UR", "accepted", "2026-01-05 09:00", "2026-01-07 10:00", 0, []),
    # returned once with three flags, then accepted: Mon 2 to Mon 9 Feb, 5 days
    ("n2", "BUR-UR", "BUR", "UR", "accepted", "2026-02-02 09:00", "2026-02-09 12:00", 1,
     ["goals", "goals", "contact"]),
    # over Easter 2026 (2, 3 and 6 April): Mon 30 March to Tue 7 April, 3 days
    ("n4", "BUR-UR", "BUR", "UR", "accepted", "2026-03-30 10:00", "2026-04-07 08:00", 0, []),
    ("n6", "BUR-UR", "BUR", "UR", "returned", "2026-03-02 09:00", "2026-03-03 09:00", 1,
     ["contact", "placering", "skole", "sundhed", "økonomi"]),
    # a draft never filed does not count
    ("n5", "BUR-UR", "BUR", "UR", "draft", None, None, 0, []),
    # 2026-Q2, BUR-UR: 22:30 UTC on 31 March is 00:30 on 1 April in Copenhagen
    ("n3", "BUR-UR", "BUR", "UR", "submitted", "2026-03-31 22:30", None, 0, []),
    # Tue 14 to Mon 20 April: 4 days
    ("n7", "BUR-UR", "BUR", "UR", "accepted", "2026-04-14 09:00", "2026-04-20 09:00", 0, []),
    # Tue 12 to Mon 18 May over Kristi himmelfartsdag (14 May): 3 days
    ("n8", "BUR-UR", "BUR", "UR", "accepted", "2026-05-12 09:00", "2026-05-18 09:00", 1, []),
    # 2026-Q1, VSR-PSY: accepted the day it was filed; a flag whose section
    # needs quoting in CSV
    ("n9", "VSR-PSY", "VSR", "PSY", "accepted", "2026-02-10 08:00", "2026-02-10 14:00", 0,
     ['say "hi", then']),
]

EXPECTED = [
    {"period": "2026-Q1", "route": "BUR-UR", "filed": 4, "returned": 2,
     "returned_share": 0.5, "median_working_days_to_accept": 3,
     "lead_time_days": {"median": 130, "p25": 83.5, "p75": 176.5, "notes": 2},
     "share_noticed_6_months": 0.333,
     "top_flagged_sections": [{"section": "contact", "count": 2},
                              {"section": "goals", "count": 2},
                              {"section": "placering", "count": 1},
                              {"section": "skole", "count": 1},
                              {"section": "sundhed", "count": 1}]},
    {"period": "2026-Q1", "route": "VSR-PSY", "filed": 1, "returned": 0,
     "returned_share": 0, "median_working_days_to_accept": 0,
     "lead_time_days": None, "share_noticed_6_months": 0,
     "top_flagged_sections": [{"section": 'say "hi", then', "count": 1}]},
    {"period": "2026-Q2", "route": "BUR-UR", "filed": 3, "returned": 1,
     "returned_share": 0.333, "median_working_days_to_accept": 3.5,
     "lead_time_days": None, "share_noticed_6_months": 0,
     "top_flagged_sections": []},
]

# Route and section names from the shipped route and template; a route or
# section the loaded routes do not know keeps its code.
TOP_Q1 = ", ".join("%s (%d)" % (LABEL.get(k, k), n) for k, n in
                   [("contact", 2), ("goals", 2), ("placering", 1), ("skole", 1),
                    ("sundhed", 1)])
EXPECTED_CSV = [
    CSV_HEADER,
    ["1. kvartal 2026", BUR_UR, "BUR-UR", "4", "2", "0,500", "3", TOP_Q1, "130", "0,333"],
    ["1. kvartal 2026", "VSR-PSY", "VSR-PSY", "1", "0", "0,000", "0", 'say "hi", then (1)',
     "", "0,000"],
    ["2. kvartal 2026", BUR_UR, "BUR-UR", "3", "1", "0,333", "3,5", "", "", "0,000"],
]


def q(s):
    return "NULL" if s is None else "'" + s.replace("'", "''") + "'"


def seed_sql():
    out = []
    for i, (key, route, sender, receiver, status, filed, decided, returns, flags) in \
            enumerate(NOTES):
        hid = str(uuid.uuid5(uuid.NAMESPACE_URL, "stafet-report-" + key))
        filed_ts = None if filed is None else filed + "+00"
        decided_ts = None if decided is None else decided + "+00"
        out.append(
            "INSERT INTO handovers (id, ref, route, template, template_version, status, "
            "version, sender_person, sender_unit, receiver_unit, citizen, submitted_at, "
            "first_submitted_at, decided_at) VALUES "
            f"({q(hid)}, {q('STF-2026-9%05d' % i)}, {q(route)}, 'test', 1, {q(status)}, 1, "
            f"'seed', {q(sender)}, {q(receiver)}, '{{}}', {q(filed_ts)}, {q(filed_ts)}, "
            f"{q(decided_ts)});")
        for _ in range(returns):
            out.append(
                "INSERT INTO handover_events (handover_id, at, by_person, action, "
                f"from_status, to_status, version) VALUES ({q(hid)}, {q(filed_ts)}, 'seed', "
                "'return', 'received', 'returned', 2);")
        if status == "accepted":
            out.append(
                "INSERT INTO handover_events (handover_id, at, by_person, action, "
                f"from_status, to_status, version) VALUES ({q(hid)}, {q(decided_ts)}, "
                "'seed', 'accept', 'received', 'accepted', 3);")
        for section in flags:
            out.append(
                "INSERT INTO handover_flags (handover_id, version, section, kind, by_person, "
                f"at) VALUES ({q(hid)}, 2, {q(section)}, 'missing', 'seed', {q(filed_ts)});")
    for j, (key, made) in enumerate(NOTICES):
        hid = str(uuid.uuid5(uuid.NAMESPACE_URL, "stafet-report-" + key))
        out.append(
            "INSERT INTO notices (id, ref, route, status, version, citizen, sender_person, "
            "sender_unit, receiver_unit, expected_date, handover_id, created_at) VALUES "
            f"({q(str(uuid.uuid4()))}, {q('VAR-2025-9%05d' % j)}, 'BUR-UR', 'converted', 2, "
            f"'{{}}', 'seed', 'BUR', 'UR', '2026-01-15', {q(hid)}, {q(made + '+00')});")
    return "\n".join(out)


@pytest.fixture(scope="module")
def env(pg, slapd, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reports")
    d, db = start_module_daemon(pg, slapd, tmp)
    try:
        db.psql(seed_sql())
        tokens = {u: token_of(d, u) for u in ("kmo", "mha", "sbo", "lbk")}
        yield d, db, tokens
    finally:
        d.stop()


def report(d, token, headers=None, **params):
    h = bearer(token)
    h.update(headers or {})
    return requests.get(d.url + PATH, headers=h, params=params, timeout=30)


def periods(d, token, **params):
    r = report(d, token, **params)
    assert r.status_code == 200, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json"), r.headers
    body = r.json()
    for p in body["periods"]:
        assert set(p) == PERIOD_FIELDS, p
    return body["periods"]


def test_route_is_wired(env):
    d, _, tokens = env
    r = report(d, tokens["kmo"])
    if r.status_code == 404:
        pytest.skip("GET /api/v1/reports/quality is not routed yet (app/routes.c)")
    assert r.status_code == 200, r.text


def test_figures_for_the_quality_role(env):
    d, _, tokens = env
    got = periods(d, tokens["kmo"], **{"from": "2026-01-01", "to": "2026-06-30"})
    assert got == EXPECTED


def test_share_has_three_decimals_in_the_text(env):
    d, _, tokens = env
    r = report(d, tokens["kmo"], **{"from": "2026-04-01", "to": "2026-06-30"})
    assert r.status_code == 200, r.text
    assert '"returned_share":0.333,' in r.text, r.text
    assert '"median_working_days_to_accept":3.5' in r.text, r.text


def test_range_is_by_local_date(env):
    d, _, tokens = env
    # n3 was filed at 22:30 UTC on 31 March: 1 April in Copenhagen, so Q2
    q1 = periods(d, tokens["kmo"], **{"from": "2026-01-01", "to": "2026-03-31"})
    assert [(p["period"], p["route"], p["filed"]) for p in q1] == \
        [("2026-Q1", "BUR-UR", 4), ("2026-Q1", "VSR-PSY", 1)]
    day = periods(d, tokens["kmo"], **{"from": "2026-04-01", "to": "2026-04-01"})
    assert [(p["period"], p["filed"], p["median_working_days_to_accept"]) for p in day] == \
        [("2026-Q2", 1, None)]
    # a day with nothing filed
    assert periods(d, tokens["kmo"], **{"from": "2026-01-06", "to": "2026-01-06"}) == []


def test_route_filter(env):
    d, _, tokens = env
    got = periods(d, tokens["kmo"], route="VSR-PSY", **{"from": "2026-01-01",
                                                        "to": "2026-12-31"})
    assert got == [EXPECTED[1]]
    assert periods(d, tokens["kmo"], route="NO-SUCH", **{"from": "2026-01-01"}) == []
    # empty route: no filter
    assert len(periods(d, tokens["kmo"], route="", **{"from": "2026-01-01",
                                                      "to": "2026-06-30"})) == 3


def test_defaults(env):
    d, _, tokens = env
    r = report(d, tokens["kmo"])
    assert r.status_code == 200, r.text
    body = r.json()
    today = datetime.datetime.now(ZoneInfo("Europe/Copenhagen")).date()
    assert body["to"] == today.isoformat()
    q = (today.year * 4 + (today.month - 1) // 3) - 4
    assert body["from"] == datetime.date(q // 4, q % 4 * 3 + 1, 1).isoformat()
    # only `to` given: from is four quarters before its quarter
    body = report(d, tokens["kmo"], to="2026-05-20").json()
    assert (body["from"], body["to"]) == ("2025-04-01", "2026-05-20")
    assert [p["period"] for p in body["periods"]] == ["2026-Q1", "2026-Q1", "2026-Q2"]


def test_visibility(env):
    d, _, tokens = env
    span = {"from": "2026-01-01", "to": "2026-06-30"}
    # mha (UR) and sbo (BUR) see BUR-UR, not VSR-PSY
    for user in ("mha", "sbo"):
        got = periods(d, tokens[user], **span)
        assert got == [EXPECTED[0], EXPECTED[2]], user
    # lbk (BUR-H) takes part in none of the notes
    assert periods(d, tokens["lbk"], **span) == []
    r = report(d, tokens["lbk"], headers={"Accept": "text/csv"}, **span)
    assert r.status_code == 200
    assert r.content.decode("utf-8") == "\ufeff" + ";".join(CSV_HEADER) + "\r\n"


def test_csv(env):
    d, _, tokens = env
    r = report(d, tokens["kmo"], headers={"Accept": "text/csv, application/json;q=0.5"},
               **{"from": "2026-01-01", "to": "2026-06-30"})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = r.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and "stafet-kvalitet.csv" in disposition
    assert "Accept" in r.headers.get("Vary", "")
    text = r.content.decode("utf-8")
    assert text.startswith("\ufeff"), "a BOM, so Excel reads UTF-8"
    assert text.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(text[1:], newline=""), delimiter=";"))
    assert rows == EXPECTED_CSV
    # one column per field as Danish Excel splits them: no ',' decimal point
    # or separator it would misread, every row the header's width
    assert all(len(row) == len(CSV_HEADER) for row in rows)
    assert '\r\n1. kvartal 2026;VSR-PSY;VSR-PSY;1;0;0,000;0;"say ""hi"", then (1)";;0,000\r\n' \
        in text, text
    assert text.endswith(";3;1;0,333;3,5;;;0,000\r\n"), text
    # without text/csv in Accept: JSON
    r = report(d, tokens["kmo"], headers={"Accept": "application/json"},
               **{"from": "2026-01-01", "to": "2026-06-30"})
    assert r.headers["Content-Type"].startswith("application/json")


def test_xlsx(env):
    """The same report as a workbook, read back by openpyxl: a header row,
    numbers as numbers, the share a percentage, the median empty for none."""
    openpyxl = pytest.importorskip("openpyxl")  # python3-openpyxl (make deps)
    d, _, tokens = env
    r = report(d, tokens["kmo"], headers={"Accept": XLSX},
               **{"from": "2026-01-01", "to": "2026-06-30"})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == XLSX
    assert "stafet-kvalitet.xlsx" in r.headers["Content-Disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["Kvalitet"]
    ws = wb["Kvalitet"]
    rows = [list(row) for row in ws.iter_rows(values_only=True)]
    assert rows[0] == CSV_HEADER
    assert rows[1] == ["1. kvartal 2026", BUR_UR, "BUR-UR", 4, 2, 0.5, 3, TOP_Q1, 130, 0.333]
    assert rows[2] == ["1. kvartal 2026", "VSR-PSY", "VSR-PSY", 1, 0, 0, 0,
                       'say "hi", then (1)', None, 0]
    assert rows[3] == ["2. kvartal 2026", BUR_UR, "BUR-UR", 3, 1, 0.333, 3.5, None, None, 0]
    assert len(rows) == 4
    assert ws["F2"].number_format == "0.0%" and ws["D2"].data_type == "n"
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:J4"
    assert wb.properties.title and "2026-01-01" in (wb.properties.description or "")
    # someone who sees no note gets the header row alone
    r = report(d, tokens["lbk"], headers={"Accept": XLSX},
               **{"from": "2026-01-01", "to": "2026-06-30"})
    rows = list(openpyxl.load_workbook(io.BytesIO(r.content))["Kvalitet"]
                .iter_rows(values_only=True))
    assert [list(x) for x in rows] == [CSV_HEADER]


@pytest.mark.parametrize("params,field", [
    ({"from": "2026-02-30"}, "from"),
    ({"from": "2026-1-1"}, "from"),
    ({"to": "tomorrow"}, "to"),
    ({"to": "2026-06-30T00:00:00Z"}, "to"),
    ({"from": "1899-12-31", "to": "1900-01-05"}, "from"),
    ({"from": "2201-01-01"}, "from"),
    ({"from": "2026-07-01", "to": "2026-06-30"}, "from"),
    ({"from": "2016-01-01", "to": "2026-06-30"}, "from"),
    ({"from": "2050-01-01"}, "from"),
    ({"route": "R" * 65}, "route"),
    ({"limit": "10"}, "limit"),
    ({"from": "2026-01-01", "cursor": "x"}, "cursor"),
])
def test_bad_parameters(env, params, field):
    d, _, tokens = env
    body = assert_problem(report(d, tokens["kmo"], **params), 400)
    assert [e["field"] for e in body.get("errors", [])] == [field], body


def test_hostile_parameters(env):
    d, _, tokens = env
    # SQL in the route is just an unknown route
    assert periods(d, tokens["kmo"], route="BUR-UR' OR '1'='1",
                   **{"from": "2026-01-01"}) == []
    assert periods(d, tokens["kmo"], route="'; DROP TABLE handovers; --",
                   **{"from": "2026-01-01"}) == []
    assert len(periods(d, tokens["kmo"], **{"from": "2026-01-01", "to": "2026-06-30"})) == 3
    # a NUL byte, invalid UTF-8
    for raw in ("from=2026-01-01%00", "route=%ff%fe", "to=%00"):
        r = requests.get(d.url + PATH + "?" + raw, headers=bearer(tokens["kmo"]), timeout=10)
        assert_problem(r, 400)
    # ten years exactly is allowed
    assert report(d, tokens["kmo"], **{"from": "2016-06-30", "to": "2026-06-30"}) \
        .status_code == 200


def test_needs_authentication(env):
    d, _, _ = env
    r = requests.get(d.url + PATH, timeout=10)
    assert_problem(r, 401)


def test_reading_is_audited(env):
    d, db, tokens = env
    before = len(audit_rows(db, "report.quality"))
    periods(d, tokens["sbo"], **{"from": "2026-01-01"})
    requests.get(d.url + "/healthz", timeout=5)

    def rows():
        got = audit_rows(db, "report.quality")
        return got if len(got) > before else None

    got = wait_until(rows, what="the report's audit row")
    assert got[-1]["actor_username"] == "sbo"
