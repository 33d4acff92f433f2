"""POST /api/v1/counterparts against a real stafetd, slapd (the demo
directory) and PostgreSQL: the receiving unit (route, KLE), the ranking by
allocation rules, deputies for the absent, the fallback, the
myndighedssnit, CPR numbers, and hostile input.

One daemon serves the whole module (its own database, login on). Where the
demo directory lacks a case (a unit without a lead of its own, overlapping
wider rules, an absent deputy of an absent primary, a dedicated KLE mark),
the module adds entries to the shared slapd and removes them afterwards;
the routes to those units are added with `stafetd --import-routes` while
the daemon runs (the operator's path). Every request pins "date", so who
counts as absent does not move with the calendar."""

import json
import os

import pytest
import requests

from tests.harness.stafetd import Stafetd
from tests.integration.conftest import Database
from tests.integration.test_auth import assert_problem, auth_settings, bearer, ready, token_of
from tests.integration.test_directory import wait_until

BASE = "dc=stafet,dc=example"
PEOPLE = "ou=people," + BASE
UR_DN = "ou=UR,ou=BSF,ou=units," + BASE
TST_DN = "ou=TST," + UR_DN
SUB_DN = "ou=TST-SUB," + TST_DN
DATE = "2026-02-15"
DASH = "\u2013"  # the en dash of "fødselsdag 11.–20."
PROBLEM = "application/problem+json"
ROUTE_FIELDS = {"code", "name", "from_unit", "to_unit", "template", "template_version",
                "kle", "rules"}
ANSWER_FIELDS = {"route", "date", "citizen", "receiving_unit", "candidates", "fallback",
                 "answer", "plausibility",
                 "myndighedssnit", "warnings", "directory"}
CANDIDATE_FIELDS = {"person", "rank", "reason", "available", "acting_for", "tie_break"}


# --- helpers (test_routes.py uses them too) ----------------------------------


class Env:
    def __init__(self, d, db, headers, tmp):
        self.d, self.db, self.headers, self.tmp = d, db, headers, tmp


def start_module_daemon(pg, slapd, tmp, **extra):
    """A stafetd with login on, its own database, the routes read every
    0.5 s; returns (Stafetd, Database) once it is ready and has routes."""
    db = Database(pg, tmp)
    settings = auth_settings(tmp, slapd.uri, routes_reload_interval="0.5s")
    settings.update(extra)
    settings.update(db.settings())
    d = Stafetd(tmp / "stafetd", settings)
    d.migrate()
    d.start()
    try:
        wait_until(lambda: ready(d), what="stafetd ready (database and first snapshot)")
    except BaseException:
        d.stop()
        raise
    return d, db


def routes_list(d, headers, **params):
    return requests.get(d.url + "/api/v1/routes", headers=headers, params=params, timeout=10)


def route_items(d, headers):
    """{code: item} of GET /routes, or None while it is not 200."""
    r = routes_list(d, headers)
    if r.status_code != 200:
        return None
    return {i["code"]: i for i in r.json()["items"]}


def wait_routes(d, headers, pred, what, timeout=15):
    return wait_until(lambda: (lambda items: items if items is not None and pred(items)
                               else None)(route_items(d, headers)),
                      timeout=timeout, what=what)


def import_routes(d, tmp, routes, name="routes.json"):
    """Writes routes (a route or a list) to a file and runs --import-routes."""
    path = os.path.join(str(tmp), name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(routes, f, ensure_ascii=False)
    return d.run("--import-routes", path)


def counterparts(d, headers, body, date=DATE):
    """POSTs body (a dict; "date" added unless present or date is None)."""
    if isinstance(body, dict) and date is not None and "date" not in body:
        body = dict(body, date=date)
    return requests.post(d.url + "/api/v1/counterparts", headers=headers, json=body,
                         timeout=30)


def resolve(d, headers, body, date=DATE):
    r = counterparts(d, headers, body, date)
    assert r.status_code == 200, (body, r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json"), r.headers
    return r.json()


def assert_422(r, field):
    """A 422 problem whose errors name field; returns the body."""
    body = assert_problem(r, 422)
    errors = body.get("errors")
    assert isinstance(errors, list) and errors, body
    for e in errors:
        assert {"field", "code", "message"} <= set(e), e
        assert e["message"], e
    fields = [e["field"] for e in errors]
    assert field in fields, (field, body)
    return body


def usernames(ans):
    return [c["person"]["username"] for c in ans["candidates"]]


def top_tied(ans):
    """How many candidates from the top were equal by the rules (those with
    a tie_break: continuity, load or rotation ordered them)."""
    k = 0
    while k < len(ans["candidates"]) and ans["candidates"][k]["tie_break"] is not None:
        k += 1
    return k


def assert_ranked(got, expected):
    """got (names or usernames in rank order) as expected, where the
    colleagues equal at the top (the first top_tied) may come in any order:
    the tie-break orders them, not the alphabet."""
    k = got[1] if isinstance(got, tuple) else 0
    got = got[0] if isinstance(got, tuple) else got
    assert sorted(got[:k]) == sorted(expected[:k]) and got[k:] == expected[k:], (got, expected)


def names(ans):
    return [c["person"]["display_name"] for c in ans["candidates"]]


def wait_logged(d):
    """A cheap request after the interesting one: the daemon answers in
    order on one loop, so the earlier request's log lines are written."""
    requests.get(d.url + "/healthz", timeout=5)


# --- the module's daemon, directory additions and routes ---------------------


def person_ldif(uid, given, sn, unit, rules=(), groups=(), absent=None):
    lines = [f"dn: uid={uid},{PEOPLE}", "changetype: add",
             "objectClass: inetOrgPerson", "objectClass: stafetPerson",
             f"uid: {uid}", f"cn: {given} {sn}", f"sn: {sn}", f"givenName: {given}",
             f"displayName: {given} {sn}", "title: Rådgiver", f"stafetUnitCode: {unit}",
             "stafetDepartment: BSF", f"mail: {uid}@stafet.example"]
    lines += [f"stafetAllocation: {r}" for r in rules]
    lines += [f"stafetTargetGroup: {g}" for g in groups]
    if absent:
        start, until, deputy = absent
        lines.append(f"stafetAbsentFrom: {start}")
        if until:
            lines.append(f"stafetAbsentUntil: {until}")
        if deputy:
            lines.append(f"stafetDeputy: uid={deputy},{PEOPLE}")
    return "\n".join(lines) + "\n"


# TST: a team under UR with no lead of its own, a dedicated KLE mark for
# 27.39.00 (UR has one too: the deeper unit wins) and a group-level mark
# 27.41 (covers 27.41.05 on the dot boundary). TST-SUB under it: no lead,
# no marks, nobody in it.
TEST_UNITS = [
    (TST_DN, "\n".join([
        f"dn: {TST_DN}", "changetype: add", "objectClass: organizationalUnit",
        "objectClass: stafetUnit", "ou: TST", "description: Testteamet",
        "stafetUnitCode: TST", "stafetDepartment: BSF", "stafetMailbox: tst@stafet.example",
        "stafetKleResponsible: 27.39.00", "stafetKleResponsible: 27.41"]) + "\n"),
    (SUB_DN, "\n".join([
        f"dn: {SUB_DN}", "changetype: add", "objectClass: organizationalUnit",
        "objectClass: stafetUnit", "ou: TST-SUB", "description: Testunderteamet",
        "stafetUnitCode: TST-SUB", "stafetDepartment: BSF",
        "stafetMailbox: tst-sub@stafet.example"]) + "\n"),
]
# The deputy comes before the person she stands in for.
TEST_PEOPLE = [
    ("ztd", person_ldif("ztd", "Dorte", "Stedfortræder", "TST",
                        absent=("20260201000000Z", "20260301000000Z", None))),
    ("zta", person_ldif("zta", "Anna", "Fravær", "TST", rules=["birthday:25-25"],
                        absent=("20260101000000Z", "20260401000000Z", "ztd"))),
    ("ztb", person_ldif("ztb", "Birte", "Bred", "TST", rules=["birthday:1-31"])),
    ("ztm", person_ldif("ztm", "Mads", "Mellem", "TST", rules=["birthday:1-15"])),
    ("ztn", person_ldif("ztn", "Nina", "Smal", "TST", rules=["birthday:10-12"])),
    ("zts", person_ldif("zts", "Sara", "Sommer", "TST", rules=["surname:A-Å", "birthday:1-31"])),
]
ALL_KINDS = ["target_group", "birthday", "surname", "district"]
TEST_ROUTES = [
    {"code": "TEST-TST", "name": "Test: BUR til testteamet", "from_unit": "BUR",
     "to_unit": "TST", "template": "generisk", "template_version": 1, "kle": None,
     "rules": {"allocation": ["birthday", "surname"]}},
    {"code": "TEST-SUB", "name": "Test: BUR til testunderteamet", "from_unit": "BUR",
     "to_unit": "TST-SUB", "template": "generisk", "template_version": 1, "kle": None,
     "rules": {"allocation": ALL_KINDS}},
    {"code": "TEST-BUR", "name": "Test: UR til BUR", "from_unit": "UR", "to_unit": "BUR",
     "template": "generisk", "template_version": 1, "kle": None,
     "rules": {"allocation": ALL_KINDS, "placed_target_group": "anbragt"}},
    {"code": "TEST-JC", "name": "Test: BUR til Jobcenter Ung", "from_unit": "BUR",
     "to_unit": "JC-UNG", "template": "generisk", "template_version": 1, "kle": None,
     "rules": {"allocation": ALL_KINDS}},
    {"code": "TEST-KLE", "name": "Test: modtager efter rutens KLE-nummer", "from_unit": None,
     "to_unit": None, "template": "generisk", "template_version": 1, "kle": "27.40.00",
     "rules": {}},
]


def remove_test_entries(slapd):
    for uid, _ in reversed(TEST_PEOPLE):
        slapd.ldapmodify(f"dn: uid={uid},{PEOPLE}\nchangetype: delete\n", check=False)
    for dn, _ in reversed(TEST_UNITS):
        slapd.ldapmodify(f"dn: {dn}\nchangetype: delete\n", check=False)


def unit(env, code):
    return requests.get(env.d.url + "/api/v1/units/" + code, headers=env.headers, timeout=10)


def person_by_username(env, username):
    r = requests.get(env.d.url + "/api/v1/people", headers=env.headers,
                     params={"q": username, "limit": 500}, timeout=10)
    assert r.status_code == 200, r.text
    found = [p for p in r.json()["items"] if p["username"] == username]
    assert len(found) == 1, (username, r.json())
    return found[0]


@pytest.fixture(scope="module")
def env(pg, slapd, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("counterparts")
    d, db = start_module_daemon(pg, slapd, tmp)
    try:
        headers = bearer(token_of(d, "sbo"))
        e = Env(d, db, headers, tmp)
        for _, ldif in TEST_UNITS:
            slapd.ldapmodify(ldif)
        for _, ldif in TEST_PEOPLE:
            slapd.ldapmodify(ldif)

        def seen():
            r = unit(e, "TST")
            if r.status_code != 200 or unit(e, "TST-SUB").status_code != 200:
                return False
            members = {m["username"]: m for m in r.json()["members"]}
            return (set(members) == {u for u, _ in TEST_PEOPLE}
                    and members["zta"]["deputy"] is not None)
        wait_until(seen, what="the test units and people in the snapshot")

        # Routes added while the daemon runs: no restart.
        r = import_routes(d, tmp, TEST_ROUTES)
        assert r.returncode == 0, r.stderr
        for route in TEST_ROUTES:
            assert f"imported {route['code']}" in r.stdout.splitlines(), r.stdout
        wait_routes(d, headers, lambda items: all(t["code"] in items for t in TEST_ROUTES),
                    what="the imported test routes in GET /routes")
        yield e
    finally:
        remove_test_entries(slapd)
        d.stop()


def test_answer_shape(env):
    """The whole answer: unit as GET /units/{code} says plus a reason,
    candidates as Person, the fallback, the directory's state."""
    ans = resolve(env.d, env.headers, {"route": "BUR-UR",
                                       "citizen": {"birthdate": "2009-03-15",
                                                   "target_group": "ung-social"}})
    assert set(ans) == ANSWER_FIELDS, ans
    assert ans["route"] == "BUR-UR"
    assert ans["date"] == DATE
    assert ans["citizen"] == {"birthdate": "2009-03-15", "age_on_date": 16}

    ru = dict(ans["receiving_unit"])
    reason = ru.pop("reason")
    assert isinstance(reason, str) and reason, ans["receiving_unit"]
    u = unit(env, "UR").json()
    u.pop("members")
    u.pop("directory", None)
    assert ru == u

    assert ans["candidates"], ans
    for rank, c in enumerate(ans["candidates"], 1):
        assert set(c) == CANDIDATE_FIELDS, c
        assert c["rank"] == rank
        assert isinstance(c["available"], bool)
        assert isinstance(c["reason"], str) and c["reason"]
        p = requests.get(env.d.url + "/api/v1/people/" + c["person"]["id"],
                         headers=env.headers, timeout=10).json()
        p.pop("directory", None)
        assert c["person"] == p
        if c["acting_for"] is not None:
            assert set(c["acting_for"]) == {"id", "display_name"}, c

    fb = ans["fallback"]
    assert {"mailbox", "lead", "reason"} <= set(fb), fb
    assert fb["mailbox"] == "ur@stafet.example"
    assert {"id", "display_name"} <= set(fb["lead"]), fb
    assert fb["lead"]["display_name"] == "Kirsten Mølgaard"
    assert isinstance(fb["reason"], str) and fb["reason"]
    assert ans["myndighedssnit"] is None  # BUR-UR has none
    assert isinstance(ans["warnings"], list)
    assert set(ans["directory"]) >= {"synced_at", "stale"}
    assert ans["directory"]["stale"] is False


# --- each allocation kind -----------------------------------------------------

KINDS = [
    # birthday alone: both teams' 1-10 people, in display-name order; the
    # target group is unknown, so it neither matches nor excludes.
    ("birthday", "BUR-UR", {"birthdate": "2009-03-05"},
     ["akh", "mah"], ["fødselsdag 1.–10."]),
    # birthday and an explicit target group: two kinds matched.
    ("birthday+target_group", "BUR-UR", {"birthdate": "2009-03-25", "target_group": "ung-social"},
     ["ath"], ["fødselsdag 21.–31.", "målgruppe »Unge med sociale problemer«"]),
    # placed: the citizen is in the route's placed_target_group ("anbragt");
    # the ung-social team does not match.
    ("placed", "BUR-UR", {"birthdate": "2009-03-25", "placed": True},
     ["ear"], ["målgruppe »Anbragte børn og unge«", "fødselsdag 21.–31."]),
    # known not to be placed: those serving "anbragt" mismatch.
    ("not-placed", "BUR-UR", {"birthdate": "2009-03-25", "placed": False},
     ["ath"], ["fødselsdag 21.–31."]),
    # district: Jobcenter Ung splits by district.
    ("district", "TEST-JC", {"district": "Vollsmose"},
     ["cni", "imo", "kfr", "skl", "ost"], ["distrikt Vollsmose"]),
    # target group alone, in a unit that splits by district.
    ("target_group+district", "TEST-JC", {"district": "Bolbro", "target_group": "ung-ledig"},
     None, ["distrikt Bolbro", "målgruppe »Unge ledige«"]),
    # surname with a Danish first letter (Æ is in S–Å; the placed team's
    # L–Å is wider, so after), on a date when nobody there is away.
    ("surname-danish-letter", "TEST-BUR", {"surname": "Ærbø"},
     ["bcl", "bho", "fah", "hsv", "nba", "tno", "epe", "jja", "tfo"], None),
]


@pytest.mark.parametrize("case,route,citizen,expected,words", KINDS, ids=[k[0] for k in KINDS])
def test_allocation_kind(env, case, route, citizen, expected, words):
    date = "2026-04-15" if case == "surname-danish-letter" else DATE
    ans = resolve(env.d, env.headers, {"route": route, "citizen": citizen}, date=date)
    assert ans["candidates"], ans
    if expected is not None:
        assert_ranked((usernames(ans), top_tied(ans)), expected)
    for c in ans["candidates"]:
        assert c["available"] is True and c["acting_for"] is None, c
        for w in words or ():
            assert w in c["reason"], (w, c["reason"])
    if case == "surname-danish-letter":
        for c in ans["candidates"][:6]:
            assert f"efternavn S{DASH}Å" in c["reason"], c["reason"]
        for c in ans["candidates"][6:]:
            assert f"efternavn L{DASH}Å" in c["reason"], c["reason"]
    if case == "target_group+district":
        bolbro = {"fsv", "uho", "bkh", "har", "cla"}  # bkh's leave starts in December
        assert set(usernames(ans)) == bolbro, names(ans)


def test_people_without_an_applicable_rule_are_no_candidates(env):
    """UR's education team has no allocation rules: never a candidate, even
    when no one else matches; then the fallback is what is left."""
    ur = {m["username"] for m in unit(env, "UR").json()["members"]
          if not m["allocation"] and not m["target_groups"]}
    assert len(ur) >= 10
    for citizen in ({"birthdate": "2009-03-05"}, {"surname": "Hansen"}, {"district": "Dalum"}):
        ans = resolve(env.d, env.headers, {"route": "BUR-UR", "citizen": citizen})
        assert not set(usernames(ans)) & ur, (citizen, names(ans))


# --- overlapping rules: more kinds first, then the narrowest -----------------


def test_overlapping_surname_rules_narrowest_first(env):
    """BUR's family team splits L–R, the placed team L–Å (wider): for a
    surname on N, all L–R people come before the L–Å ones, each group in
    display-name order."""
    ans = resolve(env.d, env.headers, {"route": "TEST-BUR", "citizen": {"surname": "Nielsen"}})
    narrow = ["Camilla Thomsen", "Jens Brøndum", "Lars Åberg", "Pernille Bækgaard",
              "Rikke Kowalski", "Rikke Olsen"]
    wide = ["Esben Petersen", "Jesper Jakobsen", "Thomas Fogh"]
    assert_ranked((names(ans), top_tied(ans)), narrow + wide)
    for c in ans["candidates"][:6]:
        assert f"efternavn L{DASH}R" in c["reason"], c["reason"]
    for c in ans["candidates"][6:]:
        assert f"efternavn L{DASH}Å" in c["reason"], c["reason"]


OVERLAPS = [
    ("2009-03-11", None, ["Nina Smal", "Mads Mellem", "Birte Bred", "Sara Sommer"],
     ["fødselsdag 10.–12.", "fødselsdag 1.–15.", "fødselsdag 1.–31.", "fødselsdag 1.–31."]),
    ("2009-03-14", None, ["Mads Mellem", "Birte Bred", "Sara Sommer"],
     ["fødselsdag 1.–15.", "fødselsdag 1.–31.", "fødselsdag 1.–31."]),
    ("2009-03-20", None, ["Birte Bred", "Sara Sommer"],
     ["fødselsdag 1.–31.", "fødselsdag 1.–31."]),
    # Two kinds matched beat one, however narrow.
    ("2009-03-11", "Hansen", ["Sara Sommer", "Nina Smal", "Mads Mellem", "Birte Bred"],
     ["efternavn A–Å", "fødselsdag 10.–12.", "fødselsdag 1.–15.", "fødselsdag 1.–31."]),
]


@pytest.mark.parametrize("birthdate,surname,expected,words", OVERLAPS,
                         ids=["day11", "day14", "day20", "day11+surname"])
def test_overlapping_birthday_rules(env, birthdate, surname, expected, words):
    citizen = {"birthdate": birthdate}
    if surname:
        citizen["surname"] = surname
    ans = resolve(env.d, env.headers, {"route": "TEST-TST", "citizen": citizen})
    assert_ranked((names(ans), top_tied(ans)), expected)
    for c, w in zip(ans["candidates"], words):
        assert w in c["reason"], (w, c["reason"])
        assert c["available"] is True and c["acting_for"] is None
    if surname:
        assert "fødselsdag 1.–31." in ans["candidates"][0]["reason"]


def test_at_most_ten_candidates(env):
    """All 22 of Jobcenter Ung's team serve "ung-ledig": ten are listed."""
    ans = resolve(env.d, env.headers, {"route": "TEST-JC",
                                       "citizen": {"target_group": "ung-ledig"}})
    assert len(ans["candidates"]) == 10, names(ans)
    assert [c["rank"] for c in ans["candidates"]] == list(range(1, 11))
    assert len(set(usernames(ans))) == 10
    for c in ans["candidates"]:
        assert "målgruppe »Unge ledige«" in c["reason"], c["reason"]


# --- absence and deputies ------------------------------------------------------

MHA_DATES = [
    ("2026-01-11", "mha"),  # the day before her leave
    ("2026-01-12", "akh"),  # absent_from is inclusive
    ("2026-02-15", "akh"),
    ("2026-03-02", "akh"),
    ("2026-03-03", "mha"),  # absent_until is exclusive: back that day
]


@pytest.mark.parametrize("date,first", MHA_DATES, ids=[m[0] for m in MHA_DATES])
def test_absent_primary_present_deputy(env, date, first):
    ans = resolve(env.d, env.headers, {"route": "BUR-UR",
                                       "citizen": {"birthdate": "2009-03-15",
                                                   "target_group": "ung-social"}}, date=date)
    assert len(ans["candidates"]) == 1, names(ans)
    c = ans["candidates"][0]
    assert c["person"]["username"] == first
    assert c["available"] is True and c["rank"] == 1
    assert "fødselsdag 11.–20." in c["reason"], c["reason"]
    assert "målgruppe »Unge med sociale problemer«" in c["reason"], c["reason"]
    if first == "akh":
        mha = person_by_username(env, "mha")
        assert c["acting_for"] == {"id": mha["id"], "display_name": "Mette Hansen"}
        assert "Mette Hansen er fraværende til 3. marts; stedfortræderen er Ali Khan." \
            in c["reason"], c["reason"]
    else:
        assert c["acting_for"] is None
        assert "fraværende" not in c["reason"], c["reason"]


def test_absent_primary_present_deputy_in_bur(env):
    """BUR's family team, surname A–F: Amina Æbelø is away until 30 March;
    Pernille Bækgaard (herself L–R) stands in for her, in her place."""
    ans = resolve(env.d, env.headers, {"route": "TEST-BUR", "citizen": {"surname": "Andersen"}})
    # The six on A–F are equal: the tie-break orders them, and Amina's
    # place (wherever the turn puts her) is her deputy's.
    assert_ranked((names(ans), top_tied(ans)),
                  ["Pernille Bækgaard", "Henrik Brøndum", "Henrik Kløvedal",
                   "Leyla Olsen", "Susanne Nissen", "Søren Bøgh",
                   "Omar Frederiksen", "Sofie Clausen", "Åge Dalsgaard"])
    assert top_tied(ans) == 6
    [c] = [c for c in ans["candidates"] if c["acting_for"]]
    assert c["available"] is True and c["rank"] <= 6
    assert c["acting_for"] == {"id": person_by_username(env, "aab")["id"],
                               "display_name": "Amina Æbelø"}
    assert f"efternavn A{DASH}F" in c["reason"], c["reason"]
    assert "Amina Æbelø er fraværende til 30. marts; stedfortræderen er Pernille Bækgaard." \
        in c["reason"], c["reason"]
    for c in ans["candidates"][:6]:
        assert f"efternavn A{DASH}F" in c["reason"], c
    for c in ans["candidates"][6:]:
        assert f"efternavn A{DASH}K" in c["reason"] and c["acting_for"] is None, c
    # Back on 30 March (absent_until is exclusive).
    ans = resolve(env.d, env.headers, {"route": "TEST-BUR", "citizen": {"surname": "Andersen"}},
                  date="2026-03-30")
    assert "aab" in usernames(ans)[:6]
    assert all(c["acting_for"] is None for c in ans["candidates"])


ABSENT_CHAIN = [
    # Anna (25–25, the narrowest) is away and so is her deputy Dorte: Anna
    # stays, unavailable, after those who are available.
    ("2026-02-15", [("Birte Bred", True, None), ("Sara Sommer", True, None),
                    ("Anna Fravær", False, None)]),
    # Dorte is back: she stands in for Anna, in Anna's place.
    ("2026-03-15", [("Dorte Stedfortræder", True, "Anna Fravær"), ("Birte Bred", True, None),
                    ("Sara Sommer", True, None)]),
    # Anna is back.
    ("2026-04-01", [("Anna Fravær", True, None), ("Birte Bred", True, None),
                    ("Sara Sommer", True, None)]),
]


@pytest.mark.parametrize("date,expected", ABSENT_CHAIN, ids=[a[0] for a in ABSENT_CHAIN])
def test_absent_primary_absent_deputy(env, date, expected):
    ans = resolve(env.d, env.headers, {"route": "TEST-TST",
                                       "citizen": {"birthdate": "2008-06-25"}}, date=date)
    got = [(c["person"]["display_name"], c["available"],
            c["acting_for"]["display_name"] if c["acting_for"] else None)
           for c in ans["candidates"]]
    assert got == expected
    assert [c["rank"] for c in ans["candidates"]] == [1, 2, 3]
    anna = [c for c in ans["candidates"] if "Anna Fravær" in
            (c["person"]["display_name"], (c["acting_for"] or {}).get("display_name"))][0]
    assert "fødselsdag 25." in anna["reason"], anna["reason"]
    if date == "2026-02-15":
        assert "Anna Fravær er fraværende til 1. april" in anna["reason"], anna["reason"]
        assert ", og stedfortræderen Dorte Stedfortræder er også fraværende." \
            in anna["reason"], anna["reason"]
    elif date == "2026-03-15":
        assert anna["acting_for"]["id"] == person_by_username(env, "zta")["id"]
        assert "Anna Fravær er fraværende til 1. april; stedfortræderen er " \
            "Dorte Stedfortræder." in anna["reason"], anna["reason"]


# --- no match: the fallback ------------------------------------------------------


NO_MATCH = [
    # UR splits by day of birth and target group; a surname says nothing.
    ("BUR-UR", {"surname": "Hansen"}, "ur@stafet.example", "Kirsten Mølgaard"),
    # Nobody in Jobcenter Ung covers Korsløkke.
    ("TEST-JC", {"district": "Korsløkke"}, "jc-ung@stafet.example", None),
    # The same with a target group nobody there serves.
    ("TEST-JC", {"district": "Vollsmose", "target_group": "handicap"},
     "jc-ung@stafet.example", None),
]


@pytest.mark.parametrize("route,citizen,mailbox,lead", NO_MATCH,
                         ids=["ur-surname", "jc-korslokke", "jc-other-group"])
def test_no_match_falls_back_to_mailbox_and_lead(env, route, citizen, mailbox, lead):
    ans = resolve(env.d, env.headers, {"route": route, "citizen": citizen})
    assert ans["candidates"] == []
    fb = ans["fallback"]
    assert fb["mailbox"] == mailbox
    unit_code = ans["receiving_unit"]["code"]
    own_lead = unit(env, unit_code).json()["lead"]
    assert fb["lead"]["id"] == own_lead["id"]
    if lead:
        assert fb["lead"]["display_name"] == lead
    assert isinstance(fb["reason"], str) and fb["reason"]
    assert mailbox in fb["reason"] or fb["lead"]["display_name"] in fb["reason"], fb


def test_unit_without_a_lead_inherits_its_parents(env):
    """TST has no lead, nor TST-SUB under it: the nearest lead up the tree
    is UR's, Kirsten Mølgaard; the mailbox is the unit's own."""
    assert unit(env, "TST").json()["lead"] is None
    assert unit(env, "TST-SUB").json()["lead"] is None
    for route, mailbox, citizen in (("TEST-TST", "tst@stafet.example", {"birthdate": "2008-06-25"}),
                                    ("TEST-SUB", "tst-sub@stafet.example",
                                     {"birthdate": "2008-06-25"})):
        ans = resolve(env.d, env.headers, {"route": route, "citizen": citizen})
        fb = ans["fallback"]
        assert fb["mailbox"] == mailbox, fb
        assert fb["lead"] is not None, fb
        assert fb["lead"]["display_name"] == "Kirsten Mølgaard", fb
        assert fb["lead"]["id"] == person_by_username(env, "kmo")["id"]
        if route == "TEST-SUB":
            assert ans["candidates"] == []


def test_fallback_lead_is_never_the_caller(env):
    """Kirsten Mølgaard asks about her own unit (and the leaderless ones
    under it): the fallback names the next lead up, BSF's."""
    kmo = bearer(token_of(env.d, "kmo"))
    ojo = person_by_username(env, "ojo")
    for route in ("BUR-UR", "TEST-SUB"):
        ans = resolve(env.d, kmo, {"route": route, "citizen": {"surname": "Hansen"}})
        lead = ans["fallback"]["lead"]
        assert lead is not None and lead["id"] == ojo["id"], (route, ans["fallback"])
        assert lead["display_name"] != "Kirsten Mølgaard"
    # Anyone else still gets her.
    ans = resolve(env.d, env.headers, {"route": "BUR-UR", "citizen": {"surname": "Hansen"}})
    assert ans["fallback"]["lead"]["display_name"] == "Kirsten Mølgaard"


# --- KLE: responsible before performing, deepest own mark, inheritance -------

KLE = [
    # ÆHF is responsible; VH and HJS, deeper, only perform it.
    ("GENERISK", "27.37.00", "ÆHF", "ansvarlig for KLE 27.37.00"),
    # Within VH's subtree nobody holds an own responsible mark, but VH
    # inherits ÆHF's: that beats VH's own performing mark.
    ("BURH-AEHF", "27.37.00", "VH", "ansvarlig for KLE 27.37.00"),
    # UR only performs 17.18.00.
    ("BUR-UR", "17.18.00", "UR", "udfører KLE 17.18.00"),
    ("GENERISK", "27.40.00", "VH", "ansvarlig for KLE 27.40.00"),
    ("GENERISK", "27.42.00", "HJS", "ansvarlig for KLE 27.42.00"),
    ("GENERISK", "15.14.00", "JC-UNG", "ansvarlig for KLE 15.14.00"),
    ("GENERISK", "27.20.00", "BUR", "ansvarlig for KLE 27.20.00"),
    # UR and TST (under UR) both hold 27.39.00: the deepest own mark wins.
    ("GENERISK", "27.39.00", "TST", "ansvarlig for KLE 27.39.00"),
    ("BUR-UR", "27.39.00", "TST", "ansvarlig for KLE 27.39.00"),
    # TST's group-level mark 27.41 covers 27.41.05 (dot boundary).
    ("GENERISK", "27.41.05", "TST", "ansvarlig for KLE 27.41.05"),
    # ... and is inherited down: TST-SUB, the route's unit, has no mark.
    ("TEST-SUB", "27.41.05", "TST-SUB", "ansvarlig for KLE 27.41.05"),
    # The route's own KLE number; a request's overrides it.
    ("TEST-KLE", None, "VH", "ansvarlig for KLE 27.40.00"),
    ("TEST-KLE", "27.42.00", "HJS", "ansvarlig for KLE 27.42.00"),
]


@pytest.mark.parametrize("route,kle,code,words", KLE,
                         ids=[f"{k[0]}-{k[1]}" for k in KLE])
def test_kle_picks_the_receiving_unit(env, route, kle, code, words):
    body = {"route": route, "citizen": {"birthdate": "2008-06-25"}}
    if kle:
        body["kle"] = kle
    ans = resolve(env.d, env.headers, body)
    assert ans["receiving_unit"]["code"] == code, ans["receiving_unit"]
    assert words in ans["receiving_unit"]["reason"], ans["receiving_unit"]["reason"]
    for c in ans["candidates"]:
        assert c["person"]["unit"]["code"] == code or c["acting_for"], c


def test_generic_route_needs_a_kle_number(env):
    r = counterparts(env.d, env.headers, {"route": "GENERISK",
                                          "citizen": {"birthdate": "2008-06-25"}})
    assert_422(r, "kle")


# --- the myndighedssnit ----------------------------------------------------------

SNIT = [
    # BSF -> ÆHF (to VH, in ÆHF)
    ("BSF-AEHF", "disability_pension", "ÆHF", False),
    ("BSF-AEHF", "old_age_pension", "ÆHF", False),
    ("BSF-AEHF", "job", "BSF", True),
    ("BSF-AEHF", "pension_assessment", "BSF", True),
    # ÆHF -> BSF (to VSR, in BSF)
    ("AEHF-BSF", "job", "BSF", False),
    ("AEHF-BSF", "education", "BSF", False),
    ("AEHF-BSF", "employment_case", "BSF", False),
    ("AEHF-BSF", "education_case", "BSF", False),
    ("AEHF-BSF", "pension_assessment", "BSF", False),
    ("AEHF-BSF", "disability_pension", "ÆHF", True),
    ("AEHF-BSF", "old_age_pension", "ÆHF", True),
    # BUR-H -> BSF (to UR) has it too
    ("BURH-BSF", "education", "BSF", False),
    ("BURH-BSF", "disability_pension", "ÆHF", True),
]
MATCHING = {"BSF-AEHF": "disability_pension", "AEHF-BSF": "job", "BURH-BSF": "education"}
TO_UNIT = {"BSF-AEHF": "VH", "AEHF-BSF": "VSR", "BURH-BSF": "UR"}


@pytest.mark.parametrize("route,status,dept,other", SNIT,
                         ids=[f"{s[0]}-{s[1]}" for s in SNIT])
def test_myndighedssnit(env, route, status, dept, other):
    def ask(employment):
        return resolve(env.d, env.headers, {
            "route": route, "citizen": {"birthdate": "1990-05-25", "district": "Vollsmose",
                                        "employment_status": employment}})
    ans = ask(status)
    assert ans["receiving_unit"]["code"] == TO_UNIT[route]
    snit = ans["myndighedssnit"]
    assert snit is not None and snit["department"] == dept, snit
    assert isinstance(snit["reason"], str) and snit["reason"], snit
    base = ask(MATCHING[route])
    assert base["myndighedssnit"]["department"] == ans["receiving_unit"]["department"]
    extra = set(ans["warnings"]) - set(base["warnings"])
    if other:
        assert dept != ans["receiving_unit"]["department"]
        assert len(extra) == 1, (ans["warnings"], base["warnings"])
        # the department by its name, as a caseworker reads it
        name = requests.get(env.d.url + "/api/v1/units/" + dept, headers=env.headers,
                            timeout=10).json()["name"]
        warning = extra.pop()
        assert name in warning and " ruten sender til " in warning, warning
    else:
        assert ans["warnings"] == base["warnings"]
    assert dept not in snit["reason"], snit["reason"]  # the department by name


def test_route_without_myndighedssnit(env):
    ans = resolve(env.d, env.headers, {"route": "BUR-UR",
                                       "citizen": {"birthdate": "2009-03-15",
                                                   "employment_status": "disability_pension"}})
    assert ans["myndighedssnit"] is None


# --- CPR numbers ------------------------------------------------------------------


def mod11(cpr):
    digits = [int(c) for c in cpr if c.isdigit()]
    return sum(d * w for d, w in zip(digits, (4, 3, 2, 7, 6, 5, 4, 3, 2, 1))) % 11 == 0


def with_serial(prefix, seventh, valid_mod11):
    """The first DDMMYY-<seventh>xxx whose modulus-11 check gives valid_mod11."""
    for n in range(1000):
        cpr = f"{prefix}-{seventh}{n:03d}"
        if mod11(cpr) == valid_mod11:
            return cpr
    raise AssertionError("no such serial")


FUTURE = "2060-01-01"  # a lookup date after every birth date below
CPR_VALID = [
    # The 7th digit's century rule.
    (with_serial("150309", 1, False), "1909-03-15", DATE),
    (with_serial("311299", 3, False), "1999-12-31", DATE),
    (with_serial("150309", 4, False), "2009-03-15", DATE),
    (with_serial("010136", 4, False), "2036-01-01", FUTURE),
    (with_serial("010137", 4, False), "1937-01-01", FUTURE),
    (with_serial("010136", 9, False), "2036-01-01", FUTURE),
    (with_serial("010137", 9, False), "1937-01-01", FUTURE),
    (with_serial("010157", 5, False), "2057-01-01", FUTURE),
    (with_serial("010158", 5, False), "1858-01-01", FUTURE),
    (with_serial("010157", 8, False), "2057-01-01", FUTURE),
    (with_serial("010158", 8, False), "1858-01-01", FUTURE),
    # Leap days: 2000 is a leap year, 1996 too.
    (with_serial("290200", 4, False), "2000-02-29", DATE),
    (with_serial("290296", 1, False), "1996-02-29", DATE),
    # Modulus 11 is not required, and is fine when it holds.
    (with_serial("150309", 4, True), "2009-03-15", DATE),
]


@pytest.mark.parametrize("cpr,birthdate,date", CPR_VALID, ids=[c[0] for c in CPR_VALID])
def test_cpr_gives_the_birthdate(env, cpr, birthdate, date):
    ans_r = counterparts(env.d, env.headers, {"route": "BUR-UR", "citizen": {"cpr": cpr},
                                              "date": date})
    assert ans_r.status_code == 200, (cpr, ans_r.text)
    ans = ans_r.json()
    assert ans["citizen"]["birthdate"] == birthdate
    day = int(birthdate[8:])
    band = "1.–10." if day <= 10 else "11.–20." if day <= 20 else "21.–31."
    assert ans["candidates"], ans
    for c in ans["candidates"]:
        assert f"fødselsdag {band}" in c["reason"], c["reason"]
    assert_cpr_nowhere(env, cpr, ans_r.text)


def test_cpr_without_modulus_11_is_accepted(env):
    cpr = with_serial("150309", 4, False)
    assert not mod11(cpr)
    ans = resolve(env.d, env.headers, {"route": "BUR-UR",
                                       "citizen": {"cpr": cpr, "target_group": "ung-social"}})
    assert ans["citizen"]["birthdate"] == "2009-03-15"
    assert usernames(ans) == ["akh"]  # standing in for Mette Hansen (11–20)
    # With a matching birth date too.
    ans = resolve(env.d, env.headers, {"route": "BUR-UR",
                                       "citizen": {"cpr": cpr, "birthdate": "2009-03-15"}})
    assert ans["citizen"]["birthdate"] == "2009-03-15"


def assert_cpr_nowhere(env, cpr, text):
    wait_logged(env.d)
    log = env.d.log()
    plain = cpr.replace("-", "")
    for form in {cpr, plain, plain[:6] + "-" + plain[6:]}:
        assert form not in text, (form, text)
        assert form not in log, form


CPR_INVALID = [
    ("310409-1234", "april-31"),
    ("290201-1234", "1901-no-leap-day"),
    ("290200-1234", "1900-no-leap-day"),
    ("300209-4234", "february-30"),
    ("000109-1234", "day-0"),
    ("151309-1234", "month-13"),
    ("150309-123", "too-short"),
    ("150309-12345", "too-long"),
    ("15030-91234", "hyphen-misplaced"),
    ("15O309-1234", "letter-O"),
    ("abcdef-ghij", "letters"),
    ("１５０３０９-１２３４", "fullwidth-digits"),
    ("150309-1234 ", "trailing-space"),
]


@pytest.mark.parametrize("cpr", [c[0] for c in CPR_INVALID], ids=[c[1] for c in CPR_INVALID])
def test_invalid_cpr_is_422(env, cpr):
    r = counterparts(env.d, env.headers, {"route": "BUR-UR", "citizen": {"cpr": cpr}})
    assert_422(r, "citizen.cpr")
    assert_cpr_nowhere(env, cpr, r.text)


def test_cpr_and_birthdate_must_agree(env):
    cpr = with_serial("150309", 4, False)
    r = counterparts(env.d, env.headers, {"route": "BUR-UR",
                                          "citizen": {"cpr": cpr, "birthdate": "2009-03-16"}})
    body = assert_problem(r, 422)
    fields = {e["field"] for e in body["errors"]}
    assert fields & {"citizen.cpr", "citizen.birthdate"}, body
    assert_cpr_nowhere(env, cpr, r.text)


# --- what the request may hold ----------------------------------------------------

GOOD_CITIZEN = {"birthdate": "2009-03-15"}

BAD_422 = [
    ("no-route", {"citizen": GOOD_CITIZEN}, "route"),
    ("empty-route", {"route": "", "citizen": GOOD_CITIZEN}, "route"),
    ("unknown-route", {"route": "NOPE", "citizen": GOOD_CITIZEN}, "route"),
    ("unknown-route-long", {"route": "X" * 300, "citizen": GOOD_CITIZEN}, "route"),
    ("no-citizen", {"route": "BUR-UR"}, "citizen"),
    ("empty-citizen", {"route": "BUR-UR", "citizen": {}}, "citizen"),
    ("bad-birthdate", {"route": "BUR-UR", "citizen": {"birthdate": "2009-02-30"}},
     "citizen.birthdate"),
    ("birthdate-format", {"route": "BUR-UR", "citizen": {"birthdate": "15-03-2009"}},
     "citizen.birthdate"),
    ("bad-date", {"route": "BUR-UR", "citizen": GOOD_CITIZEN, "date": "2026-13-01"}, "date"),
    ("date-words", {"route": "BUR-UR", "citizen": GOOD_CITIZEN, "date": "i morgen"}, "date"),
    ("unknown-employment", {"route": "BSF-AEHF",
                            "citizen": {"birthdate": "1990-05-25",
                                        "employment_status": "retired"}},
     "citizen.employment_status"),
    ("generic-without-kle", {"route": "GENERISK", "citizen": GOOD_CITIZEN}, "kle"),
]


@pytest.mark.parametrize("case,body,field", BAD_422, ids=[b[0] for b in BAD_422])
def test_unusable_request_is_422(env, case, body, field):
    r = counterparts(env.d, env.headers, body)
    assert_422(r, field)


BAD_400 = [
    ("unknown-field", {"route": "BUR-UR", "citizen": GOOD_CITIZEN, "shoe_size": 44},
     "shoe_size"),
    ("unknown-citizen-field", {"route": "BUR-UR",
                               "citizen": {"birthdate": "2009-03-15", "shoe_size": 44}},
     "shoe_size"),
    ("citizen-string", {"route": "BUR-UR", "citizen": "2009-03-15"}, None),
    ("citizen-list", {"route": "BUR-UR", "citizen": ["2009-03-15"]}, None),
    ("citizen-number", {"route": "BUR-UR", "citizen": 5}, None),
    ("body-list", [{"route": "BUR-UR", "citizen": GOOD_CITIZEN}], None),
    ("body-string", "BUR-UR", None),
    ("body-null", None, None),
]


@pytest.mark.parametrize("case,body,field", BAD_400, ids=[b[0] for b in BAD_400])
def test_malformed_request_is_400(env, case, body, field):
    if isinstance(body, dict):
        body = dict(body, date=DATE)
    r = requests.post(env.d.url + "/api/v1/counterparts",
                      headers=dict(env.headers, **{"Content-Type": "application/json"}),
                      data=json.dumps(body), timeout=10)
    problem = assert_problem(r, 400)
    if field:
        named = [e.get("field", "") for e in problem.get("errors", [])]
        assert any(field in f for f in named) or field in problem.get("detail", ""), problem


# --- hostile input ------------------------------------------------------------------


def post_raw(env, data, content_type="application/json"):
    h = dict(env.headers)
    if content_type:
        h["Content-Type"] = content_type
    return requests.post(env.d.url + "/api/v1/counterparts", headers=h, data=data, timeout=30)


def valid_bytes(**citizen):
    c = dict(GOOD_CITIZEN, **citizen)
    return json.dumps({"route": "BUR-UR", "citizen": c, "date": DATE}).encode()


def nested(depth):
    return (b'{"route": "BUR-UR", "date": "2026-02-15", "citizen": {"surname": ' +
            b"[" * depth + b"]" * depth + b"}}")


HOSTILE = [
    ("malformed", b'{"route": "BUR-UR", "citizen": {', "application/json", 400),
    ("trailing-garbage", valid_bytes() + b" x", "application/json", 400),
    ("empty-body", b"", "application/json", 400),
    ("two-mib", b'{"route": "BUR-UR", "citizen": {"surname": "' + b"a" * (2 * 1024 * 1024)
     + b'"}}', "application/json", 413),
    ("deep-nesting", nested(100), "application/json", 400),
    ("nesting-33", nested(31), "application/json", 400),  # 2 + 31 levels
    ("invalid-utf8", b'{"route": "BUR-UR", "date": "2026-02-15", '
     b'"citizen": {"surname": "Hans\xff\xfeen"}}', "application/json", 400),
    ("overlong-utf8", b'{"route": "BUR-UR", "date": "2026-02-15", '
     b'"citizen": {"surname": "\xc0\xaf"}}', "application/json", 400),
    ("text-plain", valid_bytes(), "text/plain", 415),
    ("form", b"route=BUR-UR&birthdate=2009-03-15", "application/x-www-form-urlencoded", 415),
    ("no-content-type", valid_bytes(), None, 415),
    ("surname-100k", valid_bytes(surname="Ø" * 51200), "application/json", 400),
    ("nul-in-surname", valid_bytes(surname="Han\u0000sen"), "application/json", 400),
    ("nul-in-route", json.dumps({"route": "BUR-UR\u0000x", "citizen": GOOD_CITIZEN,
                                 "date": DATE}).encode(), "application/json", 400),
    ("duplicate-key", b'{"route": "BUR-UR", "route": "GENERISK", "date": "2026-02-15", '
     b'"citizen": {"birthdate": "2009-03-15"}}', "application/json", 400),
]


@pytest.mark.parametrize("case,data,ctype,status", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_input(env, case, data, ctype, status):
    r = post_raw(env, data, ctype)
    assert_problem(r, status)
    assert requests.get(env.d.url + "/healthz", timeout=5).status_code == 200
    # Still answering properly afterwards.
    ans = resolve(env.d, env.headers, {"route": "BUR-UR", "citizen": GOOD_CITIZEN})
    assert ans["receiving_unit"]["code"] == "UR"


@pytest.mark.parametrize("field,value", [
    ("surname", "*)(uid=*"), ("surname", "'; DROP TABLE routes; --"), ("district", "\\2a"),
    ("target_group", "😀"), ("surname", "  "), ("district", "Vollsmose" * 20),
])
def test_odd_strings_do_no_harm(env, field, value):
    """Strings that mean something to LDAP or SQL are only facts: an answer
    (200, or 422 when one is unusable), never a 5xx."""
    r = counterparts(env.d, env.headers, {"route": "BUR-UR",
                                          "citizen": {"birthdate": "2009-03-15", field: value}})
    assert r.status_code in (200, 422), r.text
    assert routes_list(env.d, env.headers).status_code == 200
