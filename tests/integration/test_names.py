"""Names, not codes (issue 20, problem 4): the API gives the Danish names of
KLE numbers, target groups and units beside the codes, from the built-in
tables (schema/names/*.json) and the directory. Existing fields keep their
codes; the names are new fields beside them.

One daemon (its own database, login on) against the shared slapd with the
demo directory (tests/fixtures/demo.ldif)."""

import json
import pathlib

import pytest
import requests

from tests.harness.stafetd import Stafetd
from tests.integration.handover_helpers import API, User, ok
from tests.integration.test_counterparts import start_module_daemon, wait_routes

ROOT = pathlib.Path(__file__).resolve().parents[2]
KLE = json.loads((ROOT / "schema/names/kle.json").read_text())["names"]
GROUPS = json.loads((ROOT / "schema/names/target-groups.json").read_text())["names"]


@pytest.fixture(scope="module")
def env(pg, slapd, tmp_path_factory):
    d, _db = start_module_daemon(pg, slapd, tmp_path_factory.mktemp("names"))
    try:
        sbo = User(d, "sbo")
        wait_routes(d, sbo.headers, lambda items: "BUR-UR" in items, "the shipped routes")
        yield d, sbo
    finally:
        d.stop()


def get(d, user, path, **params):
    return ok(requests.get(d.url + API + path, headers=user.headers, params=params,
                           timeout=10))


def test_routes_name_units_and_target_groups(env):
    d, sbo = env
    items = {r["code"]: r for r in get(d, sbo, "/routes")["items"]}
    bur_ur = items["BUR-UR"]
    assert bur_ur["from_unit"] == "BUR" and bur_ur["to_unit"] == "UR"
    assert bur_ur["from_unit_name"] == "Børn- og Ungerådgivningen"
    assert bur_ur["to_unit_name"] == "Ungerådgivningen"
    assert bur_ur["rules"]["placed_target_group"] == "anbragt"
    assert bur_ur["placed_target_group_name"] == "Anbragte børn og unge"
    assert bur_ur["kle"] is None and bur_ur["kle_name"] is None
    # any unit sends on GENERISK; the KLE number finds the receiver
    gen = items["GENERISK"]
    assert gen["from_unit"] is None and gen["from_unit_name"] is None
    assert gen["to_unit_name"] is None and gen["placed_target_group_name"] is None
    for r in items.values():
        for code, name in (("from_unit", "from_unit_name"), ("to_unit", "to_unit_name")):
            assert (r[code] is None) == (r[name] is None), r
        # route names are Danish sentences, without a code in brackets
        assert "(" + r["code"] + ")" not in r["name"]


def test_units_name_their_kle_numbers(env):
    d, sbo = env
    ur = get(d, sbo, "/units/UR")
    numbers = set(ur["kle"]["responsible"] + ur["kle"]["performing"] + ur["kle"]["insight"])
    assert numbers == {"27.39.00", "17.18.00", "27.20.00"}
    assert ur["kle_names"] == {n: KLE[n] for n in numbers}
    tree = get(d, sbo, "/units")["items"]

    def walk(units):
        for u in units:
            nums = set(u["kle"]["responsible"] + u["kle"]["performing"] + u["kle"]["insight"])
            assert set(u["kle_names"]) == {n for n in nums if n in KLE}, u["code"]
            assert all(u["kle_names"][n] == KLE[n] for n in u["kle_names"])
            walk(u.get("children", []))
    walk(tree)


def test_people_name_their_target_groups(env):
    d, sbo = env
    found = get(d, sbo, "/people", q="mette hansen")["items"]
    mha = next(p for p in found if p["username"] == "mha")
    assert mha["target_groups"] == ["ung-social"]
    assert mha["target_group_names"] == {"ung-social": "Unge med sociale problemer"}
    # every target group of the demo directory has a name
    for tg, name in GROUPS.items():
        items = get(d, sbo, "/people", target_group=tg)["items"]
        assert items, tg
        for p in items:
            assert p["target_group_names"][tg] == name
            assert set(p["target_group_names"]) == set(p["target_groups"])
    me = get(d, sbo, "/people/" + mha["id"])
    assert me["target_group_names"] == mha["target_group_names"]


def test_unit_names_read_as_danish(env):
    d, sbo = env
    names = []

    def walk(units):
        for u in units:
            names.append(u["name"])
            walk(u.get("children", []))
    walk(get(d, sbo, "/units")["items"])
    assert "Børn- og Ungerådgivningen, Handicap" in names
    assert not [n for n in names if "Unge Rådgivningen" in n]


# --- the operator's names_file ------------------------------------------------------


def test_names_file_checked(tmp_path):
    good = tmp_path / "names.json"
    good.write_text(json.dumps({"kle": {"27.39.00": "Ungestøtte"},
                                "target_groups": {"ung-social": "Unge i sociale sager"}},
                               ensure_ascii=False), encoding="utf-8")
    d = Stafetd(tmp_path / "ok", {"names_file": str(good)})
    r = d.run("--check-config")
    assert r.returncode == 0, r.stderr
    bad = {
        "missing.json": None,
        "list.json": [],
        "other.json": {"units": {"UR": "Ungerådgivningen"}},
        "number.json": {"kle": {"27.3": "Halv"}, "target_groups": {}},
        "kle.json": {"kle": {"ung-social": "Ikke et KLE-nummer"}},
        "empty.json": {"target_groups": {"ung-social": ""}},
        "type.json": {"target_groups": {"ung-social": 7}},
    }
    for name, doc in bad.items():
        path = tmp_path / name
        if doc is not None:
            path.write_text(json.dumps(doc), encoding="utf-8")
        d = Stafetd(tmp_path / ("d-" + name), {"names_file": str(path)})
        r = d.run("--check-config")
        assert r.returncode == 1, (name, r.stdout)
        assert "names_file" in r.stderr and name in r.stderr, (name, r.stderr)


def test_names_file_adds_and_replaces(pg, slapd, tmp_path):
    path = tmp_path / "names.json"
    path.write_text(json.dumps({"kle": {"27.39.00": "Ungestøtte", "27.41.05": "Særlig ny"},
                                "target_groups": {"ung-social": "Unge i sociale sager"}},
                               ensure_ascii=False), encoding="utf-8")
    d, _db = start_module_daemon(pg, slapd, tmp_path, names_file=str(path))
    try:
        sbo = User(d, "sbo")
        ur = get(d, sbo, "/units/UR")
        assert ur["kle_names"]["27.39.00"] == "Ungestøtte"  # replaced
        assert ur["kle_names"]["27.20.00"] == KLE["27.20.00"]  # built in, kept
        mha = next(p for p in get(d, sbo, "/people", q="mette hansen")["items"]
                   if p["username"] == "mha")
        assert mha["target_group_names"] == {"ung-social": "Unge i sociale sager"}
        items = {r["code"]: r for r in get(d, sbo, "/routes")["items"]}
        assert items["BUR-UR"]["placed_target_group_name"] == GROUPS["anbragt"]
    finally:
        d.stop()
