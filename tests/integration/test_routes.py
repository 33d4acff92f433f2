"""Routes as data: the shipped routes seeded by the migration, GET
/api/v1/routes, `stafetd --import-routes` and `--export-routes`, reloading
without a restart (every routes_reload_interval, and at once on SIGHUP),
and rows that fail their checks, against real PostgreSQL and slapd.

One daemon (login on, its own database, routes read every 0.5 s) serves
the module. Tests that add routes use their own codes (TEST-...) and
remove them or leave them harmless for the others."""

import glob
import json
import os
import signal

import requests

import pytest

from tests.harness.stafetd import REPO, Stafetd
from tests.integration.conftest import Database
from tests.integration.test_auth import (assert_problem, assert_unauthorized, auth_settings,
                                         bearer, ready, token_of)
from tests.integration.test_counterparts import (DATE, ROUTE_FIELDS, Env, assert_422,
                                                 counterparts, import_routes, resolve,
                                                 route_items, routes_list,
                                                 start_module_daemon, usernames, wait_routes)
from tests.integration.test_directory import wait_until

SEEDS = sorted(glob.glob(os.path.join(REPO, "schema", "routes", "*.json")))
SEEDED = {"BUR-UR": ("BUR", "UR"), "BURH-AEHF": ("BUR-H", "VH"), "BURH-BSF": ("BUR-H", "UR"),
          "BSF-AEHF": ("BSF", "VH"), "AEHF-BSF": ("ÆHF", "VSR"), "GENERISK": (None, None)}
EXPORT_FIELDS = ROUTE_FIELDS | {"enabled"}
# GET /routes gives the names beside the codes; --export-routes does not
NAME_FIELDS = {"from_unit_name", "to_unit_name", "kle_name", "placed_target_group_name"}


def stored(item):
    """A listed route without the names the list adds."""
    return {k: v for k, v in item.items() if k not in NAME_FIELDS}


def seed(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def new_route(code, to_unit="UR", **extra):
    r = {"code": code, "name": f"Testrute {code}", "from_unit": "BUR", "to_unit": to_unit,
         "template": "generisk", "template_version": 1, "kle": None,
         "rules": {"allocation": ["target_group", "birthday", "surname", "district"]}}
    r.update(extra)
    return r


def table(db):
    """Every row of the routes table, as the superuser sees it."""
    return db.query_json("SELECT coalesce(json_agg(row_to_json(r) ORDER BY code), '[]'::json) "
                         "FROM routes r;")


def export(d):
    r = d.run("--export-routes")
    assert r.returncode == 0, r.stderr
    routes = json.loads(r.stdout)
    assert isinstance(routes, list)
    return routes


@pytest.fixture(scope="module")
def env(pg, slapd, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("routes")
    d, db = start_module_daemon(pg, slapd, tmp)
    try:
        headers = bearer(token_of(d, "sbo"))
        wait_until(lambda: routes_list(d, headers).status_code == 200, what="routes loaded")
        yield Env(d, db, headers, tmp)
    finally:
        d.stop()


def delete_routes(env, *codes):
    env.db.psql("DELETE FROM routes WHERE code IN (%s);"
                % ", ".join("'%s'" % c.replace("'", "''") for c in codes))
    wait_routes(env.d, env.headers, lambda items: not set(codes) & set(items),
                what=f"{codes} gone")


# --- the shipped routes -------------------------------------------------------


def test_seed_files_are_the_shipped_routes():
    assert {seed(p)["code"] for p in SEEDS} == set(SEEDED)


@pytest.mark.parametrize("path", SEEDS, ids=[os.path.basename(p) for p in SEEDS])
def test_seeded_route_listed(env, path):
    want = seed(path)
    items = route_items(env.d, env.headers)
    item = items[want["code"]]
    assert set(item) == ROUTE_FIELDS | NAME_FIELDS, item
    assert stored(item) == want
    assert (item["from_unit"], item["to_unit"]) == SEEDED[want["code"]]


def test_list_is_the_enabled_rows(env):
    r = routes_list(env.d, env.headers)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert set(body) >= {"items"}
    codes = [i["code"] for i in body["items"]]
    assert len(codes) == len(set(codes))
    enabled = {row["code"] for row in table(env.db) if row["enabled"]}
    assert set(codes) == enabled
    assert set(SEEDED) <= set(codes)


def test_seeded_routes_resolve(env):
    for code, (_, to_unit) in SEEDED.items():
        body = {"route": code, "citizen": {"birthdate": "2008-06-25"}}
        if to_unit is None:
            body["kle"] = "27.39.00"
            to_unit = "UR"
        ans = resolve(env.d, env.headers, body)
        assert ans["route"] == code
        assert ans["receiving_unit"]["code"] == to_unit


# --- authentication and parameters ----------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer " + "A" * 43},
                                     {"Cookie": "stafet_session=nonsense"}],
                         ids=["none", "bad-bearer", "bad-cookie"])
def test_401_without_a_session(env, headers):
    assert_unauthorized(routes_list(env.d, headers))
    r = counterparts(env.d, headers, {"route": "BUR-UR",
                                      "citizen": {"birthdate": "2009-03-15"}})
    assert_unauthorized(r)


@pytest.mark.parametrize("params", [{"x": "1"}, {"code": "BUR-UR"}], ids=["x", "code"])
def test_routes_query_parameter_is_400(env, params):
    assert_problem(routes_list(env.d, env.headers, **params), 400)


# --- import: a new route, a changed one, a disabled one ---------------------------


def test_import_new_route_without_restart(env):
    pid = env.d.proc.pid
    route = new_route("TEST-NY", to_unit="JC-UNG", rules={"allocation": ["district"]})
    r = import_routes(env.d, env.tmp, route, "ny.json")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["imported TEST-NY"], r.stdout
    items = wait_routes(env.d, env.headers, lambda items: "TEST-NY" in items,
                        what="TEST-NY listed", timeout=5)
    want = dict(route)
    assert stored(items["TEST-NY"]) == want
    assert env.d.proc.pid == pid and env.d.proc.poll() is None
    ans = resolve(env.d, env.headers, {"route": "TEST-NY", "citizen": {"district": "Tarup"}})
    assert ans["receiving_unit"]["code"] == "JC-UNG"
    assert ans["candidates"]
    for c in ans["candidates"]:
        assert "distrikt Tarup" in c["reason"], c["reason"]


def test_import_a_list(env):
    routes = [new_route("TEST-LISTE-1", to_unit="VH"), new_route("TEST-LISTE-2", to_unit="VSR")]
    r = import_routes(env.d, env.tmp, routes, "liste.json")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["imported TEST-LISTE-1", "imported TEST-LISTE-2"]
    items = wait_routes(env.d, env.headers,
                        lambda items: {"TEST-LISTE-1", "TEST-LISTE-2"} <= set(items),
                        what="both listed", timeout=5)
    assert items["TEST-LISTE-1"]["to_unit"] == "VH"
    assert items["TEST-LISTE-2"]["to_unit"] == "VSR"
    delete_routes(env, "TEST-LISTE-1", "TEST-LISTE-2")


def test_changed_route_counterparts_follow(env):
    body = {"route": "TEST-SKIFT", "citizen": {"birthdate": "2009-03-05"}}
    r = import_routes(env.d, env.tmp, new_route("TEST-SKIFT", to_unit="UR"), "skift.json")
    assert r.returncode == 0, r.stderr
    wait_routes(env.d, env.headers, lambda items: "TEST-SKIFT" in items, what="TEST-SKIFT")
    ans = resolve(env.d, env.headers, body)
    assert ans["receiving_unit"]["code"] == "UR"
    assert sorted(usernames(ans)) == ["akh", "mah"]  # equal: the turn orders them

    r = import_routes(env.d, env.tmp, new_route("TEST-SKIFT", to_unit="VH"), "skift.json")
    assert r.returncode == 0, r.stderr
    wait_routes(env.d, env.headers,
                lambda items: items.get("TEST-SKIFT", {}).get("to_unit") == "VH",
                what="TEST-SKIFT to VH", timeout=5)
    ans = resolve(env.d, env.headers, body)
    assert ans["receiving_unit"]["code"] == "VH"
    assert ans["candidates"]
    for c in ans["candidates"]:
        assert c["person"]["unit"]["code"] == "VH", c
        assert "fødselsdag 1.\u201310." in c["reason"], c["reason"]
    assert ans["fallback"]["mailbox"] == "vh@stafet.example"

    # Rules change too: allocation by surname only leaves VH (birthday
    # rules) with nobody matching.
    r = import_routes(env.d, env.tmp, new_route("TEST-SKIFT", to_unit="VH",
                                                rules={"allocation": ["surname"]}), "skift.json")
    assert r.returncode == 0, r.stderr
    wait_routes(env.d, env.headers,
                lambda items: items["TEST-SKIFT"]["rules"] == {"allocation": ["surname"]},
                what="TEST-SKIFT's new rules", timeout=5)
    ans = resolve(env.d, env.headers, body)
    assert ans["candidates"] == []
    delete_routes(env, "TEST-SKIFT")


def test_disabled_route(env):
    route = new_route("TEST-SLUK")
    assert import_routes(env.d, env.tmp, route, "sluk.json").returncode == 0
    wait_routes(env.d, env.headers, lambda items: "TEST-SLUK" in items, what="TEST-SLUK")
    body = {"route": "TEST-SLUK", "citizen": {"birthdate": "2009-03-15"}}
    assert counterparts(env.d, env.headers, body).status_code == 200

    r = import_routes(env.d, env.tmp, dict(route, enabled=False), "sluk.json")
    assert r.returncode == 0, r.stderr
    wait_routes(env.d, env.headers, lambda items: "TEST-SLUK" not in items,
                what="TEST-SLUK gone from the list", timeout=5)
    assert_422(counterparts(env.d, env.headers, body), "route")
    row = [x for x in table(env.db) if x["code"] == "TEST-SLUK"]
    assert len(row) == 1 and row[0]["enabled"] is False
    # Still exported, as disabled.
    exported = {x["code"]: x for x in export(env.d)}
    assert exported["TEST-SLUK"]["enabled"] is False

    # And on again.
    assert import_routes(env.d, env.tmp, dict(route, enabled=True), "sluk.json").returncode == 0
    wait_routes(env.d, env.headers, lambda items: "TEST-SLUK" in items, what="TEST-SLUK back")
    assert counterparts(env.d, env.headers, body).status_code == 200
    delete_routes(env, "TEST-SLUK")


# --- invalid imports: exit 1, the problem named, nothing stored --------------------

BUR_UR = seed(os.path.join(REPO, "schema", "routes", "bur-ur.json"))

INVALID = [
    ("unknown-rules-key", new_route("TEST-D1", rules={"allocation": ["birthday"], "bogus": 1}),
     "bogus"),
    ("bad-kle", new_route("TEST-D2", kle="27.3"), "kle"),
    ("kle-letters", new_route("TEST-D3", kle="27.xx.00"), "kle"),
    ("unknown-kind", new_route("TEST-D4", rules={"allocation": ["birthday", "shoe_size"]}),
     "shoe_size"),
    ("allocation-not-list", new_route("TEST-D5", rules={"allocation": "birthday"}),
     "allocation"),
    ("rules-not-object", new_route("TEST-D6", rules=["birthday"]), "rules"),
    ("unknown-top-key", new_route("TEST-D7", colour="blue"), "colour"),
    ("no-code", {k: v for k, v in new_route("x").items() if k != "code"}, "code"),
    ("bad-code", new_route("TEST D8!"), "code"),
    ("no-name", {k: v for k, v in new_route("TEST-D9").items() if k != "name"}, "name"),
    ("to-unit-number", new_route("TEST-D10", to_unit=7), "to_unit"),
    ("version-zero", new_route("TEST-D11", template_version=0), "template_version"),
    ("enabled-string", new_route("TEST-D12", enabled="yes"), "enabled"),
    ("myndighedssnit-half", new_route("TEST-D13", rules={"myndighedssnit": {"pension": "ÆHF"}}),
     "myndighedssnit"),
    ("not-json", "{ this is not JSON", None),
    ("empty-file", "", None),
    ("not-a-route", "42", None),
]


@pytest.mark.parametrize("case,content,word", INVALID, ids=[i[0] for i in INVALID])
def test_invalid_import_stores_nothing(env, tmp_path, case, content, word):
    """The bad route comes with a good new one and a changed BUR-UR, in
    another file: the whole import is refused."""
    before = table(env.db)
    good = tmp_path / "good.json"
    good.write_text(json.dumps([new_route("TEST-GOD"), dict(BUR_UR, name="Ændret")],
                               ensure_ascii=False), encoding="utf-8")
    bad = tmp_path / f"bad-{case}.json"
    bad.write_text(content if isinstance(content, str)
                   else json.dumps(content, ensure_ascii=False), encoding="utf-8")
    r = env.d.run("--import-routes", str(good), str(bad))
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "imported" not in r.stdout, r.stdout
    assert r.stderr.strip(), "no message on stderr"
    if word:
        assert word in r.stderr, r.stderr
    else:
        assert bad.name in r.stderr, r.stderr
    assert table(env.db) == before
    items = route_items(env.d, env.headers)
    assert "TEST-GOD" not in items
    assert items["BUR-UR"]["name"] == BUR_UR["name"]


def test_import_of_a_missing_file_fails(env, tmp_path):
    before = table(env.db)
    r = env.d.run("--import-routes", str(tmp_path / "nowhere.json"))
    assert r.returncode == 1, r.stderr
    assert "nowhere.json" in r.stderr
    assert table(env.db) == before


# --- a bad row written with SQL -------------------------------------------------------


def test_bad_row_in_the_table_is_left_out(env):
    env.db.psql("""
        INSERT INTO routes (code, name, from_unit, to_unit, template, rules)
        VALUES ('TEST-BAD', 'Dårlig', 'BUR', 'UR', 'generisk', '{"bogus": 1}'),
               ('TEST-BAD2', 'Dårlig', 'BUR', 'UR', 'generisk',
                '{"allocation": ["shoe_size"]}'),
               ('TEST-SQLOK', 'Fra SQL', 'BUR', 'VH', 'generisk', '{}');
    """)
    try:
        items = wait_routes(env.d, env.headers, lambda items: "TEST-SQLOK" in items,
                            what="the good SQL row in force", timeout=5)
        assert "TEST-BAD" not in items and "TEST-BAD2" not in items
        assert set(SEEDED) <= set(items)
        wait_until(lambda: [line for line in env.d.log().splitlines()
                            if "TEST-BAD" in line and "bogus" in line],
                   what="the log naming TEST-BAD and its problem", timeout=5)
        wait_until(lambda: [line for line in env.d.log().splitlines()
                            if "TEST-BAD2" in line and "shoe_size" in line],
                   what="the log naming TEST-BAD2 and its problem", timeout=5)
        assert_422(counterparts(env.d, env.headers,
                                {"route": "TEST-BAD", "citizen": {"birthdate": "2009-03-15"}}),
                   "route")
        ans = resolve(env.d, env.headers, {"route": "BUR-UR",
                                           "citizen": {"birthdate": "2009-03-15"}})
        assert ans["receiving_unit"]["code"] == "UR"
        ans = resolve(env.d, env.headers, {"route": "TEST-SQLOK",
                                           "citizen": {"birthdate": "2009-03-15"}})
        assert ans["receiving_unit"]["code"] == "VH"
        # The export shows the table as it is, bad row included, for the operator to fix.
        assert {"TEST-BAD", "TEST-SQLOK"} <= {x["code"] for x in export(env.d)}
    finally:
        delete_routes(env, "TEST-BAD", "TEST-BAD2", "TEST-SQLOK")
    assert resolve(env.d, env.headers, {"route": "BUR-UR",
                                        "citizen": {"birthdate": "2009-03-15"}})


# --- export and import ------------------------------------------------------------------


def test_export_import_round_trip(env, pg, slapd, tmp_path):
    extra = [new_route("TEST-RUND", to_unit=None, from_unit="BSF", kle="27.40.00",
                       template_version=3,
                       rules={"allocation": ["birthday"], "placed_target_group": "anbragt",
                              "myndighedssnit": {"labour_market": "BSF", "pension": "ÆHF"}}),
             dict(new_route("TEST-RUND-AF", to_unit="VSR"), enabled=False)]
    assert import_routes(env.d, env.tmp, extra, "rund.json").returncode == 0
    try:
        first = export(env.d)
        by_code = {x["code"]: x for x in first}
        for x in first:
            assert set(x) == EXPORT_FIELDS, x
        for p in SEEDS:
            assert by_code[seed(p)["code"]] == dict(seed(p), enabled=True)
        assert by_code["TEST-RUND"] == dict(extra[0], enabled=True)
        assert by_code["TEST-RUND-AF"] == extra[1]
        assert {x["code"] for x in first} == {row["code"] for row in table(env.db)}

        path = tmp_path / "export.json"
        path.write_text(json.dumps(first, ensure_ascii=False), encoding="utf-8")
        # Into a fresh database (seeded by its migration).
        other = Database(pg, tmp_path)
        settings = {k: v for k, v in env.d.settings.items() if k != "listen"}
        settings.update(other.settings())
        s = Stafetd(tmp_path / "other", settings)
        s.migrate()
        r = s.run("--import-routes", str(path))
        assert r.returncode == 0, r.stderr
        assert sorted(r.stdout.splitlines()) == sorted(f"imported {x['code']}" for x in first)
        second = export(s)
        key = lambda x: x["code"]  # noqa: E731
        assert sorted(second, key=key) == sorted(first, key=key)
        # And once more into the first: nothing changes.
        r = env.d.run("--import-routes", str(path))
        assert r.returncode == 0, r.stderr
        assert sorted(export(env.d), key=key) == sorted(first, key=key)
    finally:
        delete_routes(env, "TEST-RUND", "TEST-RUND-AF")


# --- reloading: SIGHUP with a long interval, 503 until loaded ------------------------------


def test_sighup_reloads_at_once(env, tmp_path):
    settings = {k: v for k, v in env.d.settings.items() if k != "listen"}
    settings["routes_reload_interval"] = "1h"
    settings["directory_snapshot_file"] = str(tmp_path / "directory.json")
    hup = Stafetd(tmp_path / "hup", settings)
    hup.start()
    try:
        wait_until(lambda: ready(hup), what="second stafetd ready")
        h = bearer(token_of(hup, "sbo"))
        wait_until(lambda: routes_list(hup, h).status_code == 200, what="routes loaded")
        assert "TEST-HUP" not in route_items(hup, h)

        assert import_routes(env.d, env.tmp, new_route("TEST-HUP"), "hup.json").returncode == 0
        # The 0.5 s daemon has it; the 1 h one does not, even a while later
        # (three of the other's intervals, at once on a test build's clock:
        # every timer due by then fires, and its reload is not one of them).
        wait_routes(env.d, env.headers, lambda items: "TEST-HUP" in items, what="TEST-HUP",
                    timeout=5)
        hup.let_pass(1.5)
        assert "TEST-HUP" not in route_items(hup, h)
        assert_422(counterparts(hup, h, {"route": "TEST-HUP",
                                         "citizen": {"birthdate": "2009-03-15"}}), "route")

        hup.signal(signal.SIGHUP)
        wait_routes(hup, h, lambda items: "TEST-HUP" in items, what="TEST-HUP after SIGHUP",
                    timeout=5)
        ans = resolve(hup, h, {"route": "TEST-HUP", "citizen": {"birthdate": "2009-03-15"}})
        assert ans["receiving_unit"]["code"] == "UR"
        assert hup.proc.poll() is None
    finally:
        hup.stop()
        delete_routes(env, "TEST-HUP")


def login_status(d, username):
    r = requests.post(d.url + "/api/v1/session",
                      json={"username": username, "password": "demo"}, timeout=10)
    return r.status_code


def test_503_until_the_routes_are_loaded(slapd, db, stafetd, tmp_path):
    """The routes table cannot be read at start: 503 for both endpoints
    (the rest of the daemon serves); once it can, the routes come without
    a restart."""
    settings = auth_settings(tmp_path, slapd.uri, routes_reload_interval="0.5s")
    d = stafetd(settings=settings, db=db, start=False)
    db.psql("ALTER TABLE routes RENAME TO routes_hidden;")
    d.start()
    # Not ready without routes: /readyz names them.
    wait_until(lambda: (lambda r: r.status_code == 503 and "routes" in r.text)(
        requests.get(d.url + "/readyz", timeout=5)), what="readyz names the routes")
    wait_until(lambda: login_status(d, "sbo") == 201, what="login works")
    h = bearer(token_of(d, "sbo"))
    r = routes_list(d, h)
    assert_problem(r, 503)
    r = counterparts(d, h, {"route": "BUR-UR", "citizen": {"birthdate": "2009-03-15"}})
    assert_problem(r, 503)
    pid = d.proc.pid
    db.psql("ALTER TABLE routes_hidden RENAME TO routes;")
    wait_until(lambda: routes_list(d, h).status_code == 200, what="routes loaded", timeout=10)
    assert set(SEEDED) <= set(route_items(d, h))
    ans = resolve(d, h, {"route": "BUR-UR", "citizen": {"birthdate": "2009-03-15"},
                         "date": DATE})
    assert ans["receiving_unit"]["code"] == "UR"
    assert d.proc.pid == pid
    wait_until(lambda: ready(d), what="ready once the routes are read")
