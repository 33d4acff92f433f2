"""POST /api/v1/counterparts: one answer (API.md "Counterparts: one
answer", issue 19). Colleagues equal by the allocation rules are settled by
continuity (an earlier note for the same citizen, matched by the CPR
number's key), then load (open notes per receiver), then a stable rotation;
an absent choice gives way to their deputy; a route may send new cases to
intake or change the steps; the citizen's age is checked against the
route's window.

One daemon with its own database serves the module, so the notes filed
here move no other module's rankings. Notes are filed by Søren Bøgh (BUR)
on BUR-UR to a named UR colleague and submitted, as a caseworker would
after a lookup."""

import datetime
import os

import pytest
import requests

from tests.integration.handover_helpers import Api, User, cpr_for, note_body, note_ok
from tests.integration.test_auth import bearer, token_of
from tests.integration.test_counterparts import (DATE, import_routes, person_by_username,
                                                 resolve, start_module_daemon)

OPEN = ("submitted", "received", "returned")


class Env:
    def __init__(self, d, db, headers, tmp):
        self.d, self.db, self.headers, self.tmp = d, db, headers, tmp
        self.api = Api(d)
        self.sbo = User(d, "sbo")


@pytest.fixture(scope="module")
def env(pg, slapd, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("counterpart_answer")
    d, db = start_module_daemon(pg, slapd, tmp)
    try:
        yield Env(d, db, bearer(token_of(d, "sbo")), tmp)
    finally:
        d.stop()


def born_on_day(day, n, on=DATE):
    """The n-th of a series of birth dates on `day` of a month, each 17
    years old on `on`: another citizen each time, the same allocation."""
    ref = datetime.date.fromisoformat(on)
    months = [(ref.year - 18, m) for m in range(ref.month + 1, 13)] + \
             [(ref.year - 17, m) for m in range(1, ref.month)]
    year, month = months[n % len(months)]
    return datetime.date(year, month, day)


_cprs = set()


def new_cpr(born):
    """A CPR number no other citizen here has: century digit 9 (2000-2036;
    handover_helpers.cpr_for uses 4), the serial counted here. Modulus 11
    is not required (API.md)."""
    while True:
        cpr = "%s-9%03d" % (born.strftime("%d%m%y"), len(_cprs) % 1000)
        if cpr not in _cprs:
            _cprs.add(cpr)
            return cpr
        _cprs.add(cpr + "x")


def lookup(env, citizen, route="BUR-UR", date=DATE):
    return resolve(env.d, env.headers, {"route": route, "citizen": citizen}, date=date)


def tied(ans):
    """The colleagues equal at the top, in the answer's order."""
    out = []
    for c in ans["candidates"]:
        if c["tie_break"] is None:
            break
        out.append(c)
    return out


def file_note(env, person_id, born=None, cpr=None):
    """A BUR-UR note for a citizen to a UR colleague, submitted; its id."""
    body = note_body(born=born or born_on_day(DAY, 0))
    if cpr:
        body["citizen"]["cpr"] = cpr
    body["receiver"] = {"person": person_id}
    r = env.api.create(env.sbo, body)
    assert r.status_code == 201, r.text[:2000]
    h = r.json()
    out = note_ok(env.api.act(env.sbo, h["id"], "submit"))
    assert out["status"] == "submitted", out
    return h["id"]


def open_counts(env, ids):
    """Open notes per receiver (PostgreSQL's count, as the lookup reads it)."""
    out = env.db.psql(
        "SELECT receiver_person || '=' || count(*) FROM handovers WHERE status IN "
        "('submitted', 'received', 'returned') GROUP BY receiver_person")
    have = dict(line.split("=") for line in out.split() if "=" in line)
    return {i: int(have.get(i, 0)) for i in ids}


# UR's caseworkers on a day of birth: two equal ones on days 1-10 (Marie
# Ahmadi, Ali Khan) and 21-31; on 11-20 Mette Hansen (away until 3 March,
# deputy Ali Khan) and Susanne Lorentzen.
CITIZEN = {}
DAY = 3


def ur_group(env):
    """The UR colleagues equal for a citizen born on DAY (none away on
    DATE): the ids, in the answer's order."""
    ans = lookup(env, dict(CITIZEN, birthdate=born_on_day(DAY, 0).isoformat()))
    group = tied(ans)
    assert len(group) >= 2, ans
    assert all(c["available"] and c["acting_for"] is None for c in group), group
    return [c["person"]["id"] for c in group], ans


# --- the demo's six colleagues in Voksenhandicap ------------------------------


def test_demo_burh_aehf_answers_one_person(env):
    """BUR-H -> ÆHF for a young person born on the 14th: six equal
    colleagues in Voksenhandicap on days 11-20; one answer, settled by
    rotation (no notes yet: load equal; no CPR: no continuity), and each
    reason names what separates it from the next."""
    ans = lookup(env, {"birthdate": "2008-06-14"}, route="BURH-AEHF")
    group = tied(ans)
    assert len(group) == 6, [c["person"]["display_name"] for c in ans["candidates"]]
    a = ans["answer"]
    assert a["kind"] == "person" and a["unit"] == "VH", a
    assert a["decided_by"] == "rotation", a
    assert a["person"] == {"id": group[0]["person"]["id"],
                           "display_name": group[0]["person"]["display_name"]}
    assert "6 kolleger i Voksenhandicap passer lige godt" in a["why"], a["why"]
    assert "dagens tur" in a["why"], a["why"]
    for i, c in enumerate(group):
        # what separates it from an absent equal: being present (at the
        # load step, the first that looks at the desks); else the turn
        assert c["tie_break"] == "rotation" or "fraværende" in c["reason"], c
        assert "fødselsdag 11.–20." in c["reason"], c["reason"]
        others = [o["person"]["display_name"] for o in group if o is not c]
        assert any(o in c["reason"] for o in others), c["reason"]
        assert "dagens tur" in c["reason"] or "fraværende" in c["reason"], c["reason"]
    # The absent one (Rikke Brøndum, away until 30 March) is never the turn's.
    assert ans["candidates"][0]["available"] and ans["candidates"][0]["acting_for"] is None
    assert ans["citizen"] == {"birthdate": "2008-06-14", "age_on_date": 17}
    assert ans["plausibility"] == {"ok": True, "route_ages": [16, 18], "message": None}
    # Stable: the same lookup the same day, the same answer.
    assert lookup(env, {"birthdate": "2008-06-14"}, route="BURH-AEHF")["answer"] == a


# --- plausibility -------------------------------------------------------------


def test_116_year_old(env):
    """140310-1235 is 14 March 1910: 116 years old on 6 December 2026, on a
    route for 15-18-year-olds. The answer says so, by the units' names; the
    candidates are still given."""
    ans = lookup(env, {"cpr": "140310-1235", "placed": False}, date="2026-12-06")
    assert ans["citizen"] == {"birthdate": "1910-03-14", "age_on_date": 116}
    p = ans["plausibility"]
    assert p["ok"] is False and p["route_ages"] == [15, 18], p
    assert p["message"] == (
        "Borgeren er 116 år den 6. december 2026; ruten fra Børn- og Ungerådgivningen "
        "til Ungerådgivningen er for unge på 15–18 år. Er CPR-nummeret rigtigt?"), p
    assert ans["candidates"] and ans["answer"]["kind"] == "person", ans
    assert "140310" not in str(ans)


def test_too_young_by_birthdate(env):
    ans = lookup(env, {"birthdate": "2016-05-14", "placed": False})
    p = ans["plausibility"]
    assert p["ok"] is False, p
    assert p["message"].startswith("Borgeren er 9 år den 15. februar 2026;"), p
    assert p["message"].endswith("Er fødselsdatoen rigtig?"), p


def test_no_birthdate_no_window_judged(env):
    ans = lookup(env, {"surname": "Hansen", "placed": False})
    assert ans["citizen"] == {"birthdate": None, "age_on_date": None}
    assert ans["plausibility"] == {"ok": True, "route_ages": [15, 18], "message": None}


# --- load, continuity, deputies -----------------------------------------------


def test_load_settles_the_tie(env):
    """Every equal colleague but the one the rotation puts last has an open
    note: the last one takes it, decided by load, and the reasons count."""
    ids, ans = ur_group(env)
    base = open_counts(env, ids)
    target = ids[-1]
    for pid in ids:
        for _ in range(max(base.values()) + 1 - base[pid] - (pid == target)):
            file_note(env, pid)
    ans = lookup(env, dict(CITIZEN, birthdate=born_on_day(DAY, 0).isoformat()))
    a = ans["answer"]
    assert a["decided_by"] == "load" and a["person"]["id"] == target, a
    first = tied(ans)[0]
    n = open_counts(env, [target])[target]
    assert first["tie_break"] == "load", first
    assert f"{a['person']['display_name']} har færrest åbne overdragelser ({n})" \
        in first["reason"], first["reason"]
    assert "færrest åbne overdragelser" in a["why"], a["why"]


def test_continuity_beats_load(env):
    """A colleague who already received a note for this citizen takes the
    next one, though others have fewer open notes; the CPR number is
    matched by its key, never echoed."""
    ids, _ = ur_group(env)
    counts = open_counts(env, ids)
    busiest = max(ids, key=lambda i: counts[i])
    born = born_on_day(DAY, 3)
    cpr = cpr_for(born)
    file_note(env, busiest, born=born, cpr=cpr)
    ans = lookup(env, dict(CITIZEN, cpr=cpr))
    a = ans["answer"]
    assert a["decided_by"] == "continuity" and a["person"]["id"] == busiest, a
    assert tied(ans)[0]["tie_break"] == "continuity"
    assert "har før modtaget en overdragelse om borgeren" in tied(ans)[0]["reason"]
    assert cpr not in str(ans) and cpr.replace("-", "") not in str(ans)
    # Another citizen born the same day: no continuity, load again.
    other = lookup(env, dict(CITIZEN, cpr=cpr_for(born)))
    assert other["answer"]["decided_by"] in ("load", "rotation"), other["answer"]
    assert other["answer"]["person"]["id"] != busiest or len(set(counts.values())) == 1


def test_chosen_one_absent_gives_their_deputy(env):
    """Mette Hansen (UR, away until 3 March; deputy Ali Khan) received a
    note for this citizen: continuity chooses her among her equals, and her
    deputy answers."""
    mha = person_by_username(env, "mha")
    akh = person_by_username(env, "akh")
    born = born_on_day(15, 5)
    citizen = {"birthdate": born.isoformat()}
    ans = lookup(env, citizen)
    assert mha["id"] in [c.get("acting_for", {}) and c["acting_for"]["id"]
                         for c in ans["candidates"] if c["acting_for"]], ans["candidates"]
    cpr = cpr_for(born)
    file_note(env, mha["id"], born=born, cpr=cpr)
    ans = lookup(env, {"cpr": cpr})
    a = ans["answer"]
    assert a["decided_by"] == "deputy", a
    assert a["person"] == {"id": akh["id"], "display_name": "Ali Khan"}, a
    assert "Mette Hansen er fraværende til 3. marts" in a["why"], a["why"]
    first = ans["candidates"][0]
    assert first["acting_for"]["id"] == mha["id"] and first["tie_break"] == "continuity"


# --- routes: intake, steps -----------------------------------------------------


ROUTES = [
    {"code": "TEST-INTAKE", "name": "Test: nye sager til visitationen", "from_unit": "BUR",
     "to_unit": "UR", "template": "bur-ur",
     "rules": {"placed_target_group": "anbragt", "intake": True}},
    {"code": "TEST-LOAD", "name": "Test: kun belastning og tur", "from_unit": "BUR",
     "to_unit": "UR", "template": "bur-ur",
     "rules": {"placed_target_group": "anbragt", "tie_break": ["load"]}},
]


@pytest.fixture(scope="module")
def routes(env):
    r = import_routes(env.d, env.tmp, ROUTES, name="answer-routes.json")
    assert r.returncode == 0, r.stderr

    def there():
        r = requests.get(env.d.url + "/api/v1/routes", headers=env.headers, timeout=10)
        return {"TEST-INTAKE", "TEST-LOAD"} <= {i["code"] for i in r.json()["items"]}
    from tests.integration.test_directory import wait_until
    wait_until(there, what="the test routes")
    return ROUTES


def test_intake_route(env, routes):
    """New cases go to the unit's intake: its lead (Karen Mortensen leads
    UR) distributes; a citizen a colleague already knows still goes to that
    colleague."""
    ans = lookup(env, dict(CITIZEN, birthdate=born_on_day(DAY, 7).isoformat()),
                 route="TEST-INTAKE")
    a = ans["answer"]
    assert a["kind"] == "intake" and a["decided_by"] == "intake", a
    assert a["unit"] == "UR"
    assert a["person"] is not None and a["person"]["id"] == \
        person_by_username(env, "kmo")["id"], a
    assert "visitationen" in a["why"], a["why"]
    assert ans["candidates"], ans  # still listed
    ids, _ = ur_group(env)
    born = born_on_day(DAY, 8)
    cpr = cpr_for(born)
    file_note(env, ids[0], born=born, cpr=cpr)
    a = lookup(env, dict(CITIZEN, cpr=cpr), route="TEST-INTAKE")["answer"]
    assert a["kind"] == "person" and a["decided_by"] == "continuity", a
    assert a["person"]["id"] == ids[0]


def test_route_without_continuity(env, routes):
    """tie_break ["load"]: continuity is skipped (rotation is added last)."""
    ids, _ = ur_group(env)
    counts = open_counts(env, ids)
    busiest = max(ids, key=lambda i: counts[i])
    born = born_on_day(DAY, 9)
    cpr = cpr_for(born)
    file_note(env, busiest, born=born, cpr=cpr)
    counts = open_counts(env, ids)
    ans = lookup(env, dict(CITIZEN, cpr=cpr), route="TEST-LOAD")
    a = ans["answer"]
    assert a["decided_by"] in ("load", "rotation"), a
    assert counts[a["person"]["id"]] == min(counts.values()), (a, counts)
    assert all(c["tie_break"] != "continuity" for c in ans["candidates"])


def test_bad_tie_break_refused(env):
    bad = [dict(ROUTES[1], code="TEST-BAD", rules={"tie_break": ["load", "load"]})]
    r = import_routes(env.d, env.tmp, bad, name="bad-routes.json")
    assert r.returncode != 0 and "tie_break" in r.stderr, r.stderr
    bad = [dict(ROUTES[1], code="TEST-BAD", rules={"ages": [18, 15]})]
    r = import_routes(env.d, env.tmp, bad, name="bad-routes.json")
    assert r.returncode != 0 and "ages" in r.stderr, r.stderr


# --- rotation with submits -----------------------------------------------------


def test_300_lookups_with_submits_spread_within_one(env):
    """300 citizens born on the 14th, each looked up and filed to the
    answer at once: the equal colleagues' open notes end within one of each
    other (load evens out what the turn starts)."""
    ids, _ = ur_group(env)
    before = open_counts(env, ids)
    # Start even, so the spread measured is this test's.
    top = max(before.values())
    for pid in ids:
        for _ in range(top - before[pid]):
            file_note(env, pid)
    start = open_counts(env, ids)
    assert len(set(start.values())) == 1, start
    for n in range(300):
        born = born_on_day(DAY, n)
        cpr = new_cpr(born)
        a = lookup(env, dict(CITIZEN, cpr=cpr))["answer"]
        assert a["kind"] == "person" and a["person"]["id"] in ids, a
        file_note(env, a["person"]["id"], born=born, cpr=cpr)
    end = open_counts(env, ids)
    got = {i: end[i] - start[i] for i in ids}
    assert sum(got.values()) == 300
    assert max(got.values()) - min(got.values()) <= 1, got


# --- a unit that takes new cases in through its intake (the directory) -------


def unit_intake(env, code):
    r = requests.get(env.d.url + "/api/v1/units/" + code, headers=env.headers, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["intake"]


def test_unit_intake_from_the_directory(env, slapd):
    """stafetIntake on a unit (DESIGN.md: "A unit or route may instead say
    new cases go to intake"): TRUE on BSF sends UR's new cases to UR's
    intake on a route that does not; FALSE on UR itself stops what BSF
    says; with neither the colleague answers again. A colleague who
    already knows the citizen still takes the case, as on an intake route."""
    from tests.integration.test_auth import ldapmodify
    from tests.integration.test_directory import wait_until
    bsf = "ou=BSF,ou=units,dc=stafet,dc=example"
    ur = "ou=UR," + bsf
    citizen = dict(CITIZEN, birthdate=born_on_day(DAY, 10).isoformat())
    assert unit_intake(env, "UR") is False
    before = lookup(env, citizen)["answer"]
    assert before["kind"] == "person", before
    try:
        ldapmodify(slapd, bsf, "replace: stafetIntake\nstafetIntake: TRUE")
        wait_until(lambda: unit_intake(env, "UR"), timeout=30, what="UR's intake from BSF")
        assert unit_intake(env, "BSF") is True
        ans = lookup(env, citizen)
        a = ans["answer"]
        assert a["kind"] == "intake" and a["decided_by"] == "intake", a
        assert a["unit"] == "UR" and a["person"]["id"] == person_by_username(env, "kmo")["id"], a
        assert "Ungerådgivningen tager nye sager ind gennem visitationen" in a["why"], a["why"]
        assert ans["candidates"], ans  # the colleagues are still listed
        ids, _ = ur_group(env)
        born = born_on_day(DAY, 11)
        cpr = cpr_for(born)
        file_note(env, ids[1], born=born, cpr=cpr)
        a = lookup(env, dict(CITIZEN, cpr=cpr))["answer"]
        assert a["kind"] == "person" and a["decided_by"] == "continuity", a
        assert a["person"]["id"] == ids[1], a

        ldapmodify(slapd, ur, "replace: stafetIntake\nstafetIntake: FALSE")
        wait_until(lambda: not unit_intake(env, "UR"), timeout=30, what="UR's own FALSE")
        assert unit_intake(env, "BSF") is True
        a = lookup(env, citizen)["answer"]
        assert a["kind"] == "person" and a["decided_by"] != "intake", a
    finally:
        ldapmodify(slapd, ur, "delete: stafetIntake")
        ldapmodify(slapd, bsf, "delete: stafetIntake")
    wait_until(lambda: not unit_intake(env, "BSF"), timeout=30, what="BSF's intake gone")
    assert lookup(env, citizen)["answer"]["kind"] == "person"
