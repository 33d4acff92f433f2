"""Notices (varsler; API.md 1.1 "Notices", DESIGN.md "Notices") against a
real stafetd, slapd with the demo directory, and PostgreSQL: every call
and state change, the 409s, the milestones' dates (29 February, a due date
on a holiday, the 16-årsmøde), the CSV import's bad lines and its
idempotent re-import, the pipeline's counts, and need to know (another
unit's 404 identical to a missing notice's; a lead above reads masked and
may not act).

The module shares test_handovers' daemon fixture (`env`): sbo and hbr in
BUR, pka leads BUR, tlo leads BUF (above BUR); mha and akh in UR, kmo
leads UR, ojo leads BSF (above UR); kfr (JC-UNG) and lkj (ÆHF) see
nothing; lbk files on BUR-H's routes."""

import datetime
import json
import re
import uuid

import requests

from tests.integration.handover_helpers import (
    add_months, cpr_for, iso, note_body, ok, problem, today)
from tests.integration.test_handovers import env  # noqa: F401 (the module's daemon)

API = "/api/v1"
NOTICE_KEYS = {"id", "ref", "route", "status", "access", "citizen", "sender", "receiver",
               "expected_date", "comment", "milestones", "handover_id", "acknowledged_at",
               "acknowledged_by", "cancel_reason", "version", "created_at", "updated_at"}
REF_RE = re.compile(r"^VAR-\d{4}-\d{6}$")
_n = [0]


def url(env, path):
    return env.d.url + API + path


def call(env, method, path, user, body=None, headers=None, data=None, params=None):
    h = dict(user.headers)
    h.update(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    return requests.request(method, url(env, path), headers=h, data=data, params=params,
                            timeout=60)


def notice_ok(r, status=200):
    n = ok(r, status)
    assert set(n) == NOTICE_KEYS, set(n) ^ NOTICE_KEYS
    assert REF_RE.match(n["ref"]), n["ref"]
    assert r.headers.get("ETag") == f'"{n["version"]}"', (r.headers.get("ETag"), n["version"])
    return n


def masked(cpr):
    return cpr[:6] + "-XXXX"


def ahead(days):
    return iso(today() + datetime.timedelta(days=days))


def citizen(born=None, name=None):
    _n[0] += 1
    born = born or datetime.date(2010, 3, 14)
    return {"cpr": cpr_for(born), "name": name or f"Varselborger Nr{_n[0]} Jensen"}


def body(route="BUR-UR", born=None, days=200, **kw):
    b = {"route": route, "citizen": citizen(born), "expected_date": ahead(days)}
    b.update(kw)
    return b


def create(env, user=None, status=201, **kw):
    b = kw.pop("b", None) or body(**kw)
    r = call(env, "POST", "/notices", user or env.sbo, b)
    if status != 201:
        return r
    n = notice_ok(r, 201)
    assert r.headers["Location"] == "/api/v1/notices/" + n["id"]
    n["_cpr"] = b["citizen"]["cpr"]
    return n


def get(env, user, nid):
    return call(env, "GET", "/notices/" + nid, user)


def act(env, user, nid, action, b=None, if_match=None):
    headers = {"If-Match": f'"{if_match}"'} if if_match else None
    return call(env, "POST", f"/notices/{nid}/{action}", user, b, headers=headers)


def patch(env, user, nid, b, if_match=None, data=None):
    headers = {"If-Match": f'"{if_match}"'} if if_match else {}
    if data is not None:
        headers["Content-Type"] = "application/json"
    return call(env, "PATCH", "/notices/" + nid, user, b, headers=headers, data=data)


def audit(env, object_id):
    return env.db.query_json(
        "SELECT COALESCE(json_agg(json_build_object('action', action, 'actor', actor_username,"
        " 'detail', detail) ORDER BY id), '[]') FROM audit_log WHERE object_id = '"
        + object_id + "'")


def same_404(a, b):
    """Two 404 answers that tell nothing apart."""
    assert a.status_code == b.status_code == 404, (a.status_code, b.status_code)
    ja, jb = a.json(), b.json()
    ja.pop("instance", None)
    jb.pop("instance", None)
    assert ja == jb, (ja, jb)


# --- filing and reading --------------------------------------------------------


def test_create_and_read_by_need_to_know(env):
    n = create(env, comment="Forventer at afslutte 10. klasse til sommer.")
    assert n["status"] == "open" and n["version"] == 1 and n["route"] == "BUR-UR"
    assert n["citizen"]["cpr"] == masked(n["_cpr"])  # a write's answer masks it
    assert n["citizen"]["birthdate"] == "2010-03-14"
    assert n["sender"] == {"person": env.sbo.ref, "unit": "BUR"}
    assert n["receiver"] == {"unit": "UR", "person": None}
    assert n["access"] == "sender" and n["handover_id"] is None
    keys = [m["key"] for m in n["milestones"]]
    assert {"maal_15", "ungeplan_16", "stoette_18", "notat_sendt", "overdragelse"} == set(keys)
    assert [m["due"] for m in n["milestones"]] == sorted(m["due"] for m in n["milestones"])
    # the two units whole
    for user, access in ((env.sbo, "sender"), (env.hbr, "sender"), (env.pka, "sender"),
                         (env.mha, "receiver"), (env.kmo, "receiver")):
        seen = notice_ok(get(env, user, n["id"]))
        assert seen["citizen"]["cpr"] == n["_cpr"], user
        assert seen["access"] == access, (user, seen["access"])
        assert seen["comment"] == "Forventer at afslutte 10. klasse til sommer."
    # leads above read it masked, initials for the name
    for user in (env.tlo, env.ojo):
        seen = notice_ok(get(env, user, n["id"]))
        assert seen["access"] == "read"
        assert seen["citizen"]["cpr"] == masked(n["_cpr"])
        assert re.match(r"^V\. N\. J\.$", seen["citizen"]["name"]), seen["citizen"]["name"]
    # anyone else: the 404 of a notice that does not exist
    missing = get(env, env.kfr, str(uuid.uuid4()))
    for user in (env.kfr, env.lkj, env.lbk):
        same_404(get(env, user, n["id"]), missing)
    rows = audit(env, n["id"])
    assert rows[0] == {"action": "notice.create", "actor": "sbo", "detail": n["ref"]}
    assert {"action": "notice.read", "actor": "mha", "detail": n["ref"]} in rows
    assert not any(r["actor"] == "kfr" for r in rows)
    # no CPR number in the audit log, ever
    assert n["_cpr"] not in json.dumps(rows)


def test_create_refusals(env):
    r = create(env, status=422, b=body(citizen={"cpr": "320110-1234", "name": "X Y"}))
    problem(r, 422, "citizen.cpr", "invalid")
    b = body()
    b["citizen"] = {"cpr": "320110-1234", "name": "X Y"}
    problem(call(env, "POST", "/notices", env.sbo, b), 422, "citizen.cpr", "invalid")
    problem(call(env, "POST", "/notices", env.sbo, body(route="NO-SUCH")), 422, "route", "unknown")
    problem(call(env, "POST", "/notices", env.sbo, body(days=-1)), 422, "expected_date", "past")
    problem(call(env, "POST", "/notices", env.sbo, body(expected_date="2027-02-30")), 422,
            "expected_date", "invalid")
    problem(call(env, "POST", "/notices", env.sbo, body(expected_date=ahead(365 * 21))), 422,
            "expected_date", "too_far")
    problem(call(env, "POST", "/notices", env.sbo, body(extra=1)), 400)
    problem(call(env, "POST", "/notices", env.sbo, body(comment="x" * 2001)), 422, "comment")
    # the receiving side, a lead above and other units do not file on the route
    for user in (env.mha, env.tlo, env.kfr):
        problem(call(env, "POST", "/notices", user, body()), 403)
    # today itself is not the past
    create(env, days=0)


def test_one_open_notice_or_note_per_citizen_and_route(env):
    n = create(env)
    b = body()
    b["citizen"] = {"cpr": n["_cpr"], "name": "Samme Borger"}
    p = problem(call(env, "POST", "/notices", env.hbr, b), 409)
    assert n["id"] in p["detail"] and n["ref"] in p["detail"]
    assert p["existing"] == {"kind": "notice", "id": n["id"], "ref": n["ref"]}
    # the same citizen on another route is another transition
    lb = body(route="BURH-AEHF")
    lb["citizen"]["cpr"] = n["_cpr"]
    create(env, env.lbk, b=lb)
    # an unfinished note for the citizen and route stands in the way too
    nb = note_body()
    h = ok(call(env, "POST", "/handovers", env.sbo, nb), 201)
    b = body()
    b["citizen"] = {"cpr": nb["citizen"]["cpr"], "name": "Notatborger"}
    p = problem(call(env, "POST", "/notices", env.sbo, b), 409)
    assert p["existing"]["kind"] == "handover" and p["existing"]["id"] == h["id"]
    assert h["id"] in p["detail"]
    # once cancelled, a new notice may be filed
    ok(act(env, env.sbo, n["id"], "cancel", {"reason": "Flytter til en anden kommune."}))
    b = body()
    b["citizen"] = {"cpr": n["_cpr"], "name": "Samme Borger"}
    create(env, b=b)


# --- changing it ---------------------------------------------------------------


def test_patch_with_if_match(env):
    n = create(env)
    problem(patch(env, env.sbo, n["id"], {"comment": "Ny"}), 428)
    problem(patch(env, env.sbo, n["id"], {"comment": "Ny"}, if_match="9"), 412)
    r = patch(env, env.sbo, n["id"], {"comment": "Ny kommentar", "expected_date": ahead(300),
                                      "milestones_done": ["maal_15"]}, if_match=1)
    m = notice_ok(r)
    assert m["version"] == 2 and m["comment"] == "Ny kommentar"
    assert m["expected_date"] == ahead(300)
    assert [x["done"] for x in m["milestones"] if x["key"] == "maal_15"] == [True]
    assert m["citizen"]["cpr"] == masked(n["_cpr"])
    problem(patch(env, env.sbo, n["id"], {"expected_date": ahead(-3)}, if_match=2), 422,
            "expected_date", "past")
    problem(patch(env, env.sbo, n["id"], {"bogus": 1}, if_match=2), 400)
    problem(patch(env, env.sbo, n["id"], {"milestones_done": "maal_15"}, if_match=2), 400)
    for bad in (["moede_16"], ["notat_sendt"], ["maal_15", "nope"]):
        problem(patch(env, env.sbo, n["id"], {"milestones_done": bad}, if_match=2), 422,
                "milestones_done", "unknown")
    # the receiving side may not change it; a lead above and others get 404,
    # before the body is looked at
    problem(patch(env, env.mha, n["id"], {"comment": "x"}, if_match=2), 403)
    missing = patch(env, env.kfr, str(uuid.uuid4()), None, if_match=2, data=b"{\"bogus\": [1]}")
    for user in (env.tlo, env.ojo, env.kfr):
        same_404(patch(env, user, n["id"], None, if_match=2, data=b"{\"bogus\": [1]}"), missing)
    assert {"action": "notice.edit", "actor": "sbo", "detail": n["ref"]} in audit(env, n["id"])


def test_acknowledge_alerts_the_sender_without_personal_data(env):
    n = create(env)
    problem(act(env, env.sbo, n["id"], "acknowledge"), 403)
    problem(act(env, env.mha, n["id"], "acknowledge", {"person": env.sbo.id}), 422,
            "receiver.person")
    problem(act(env, env.mha, n["id"], "acknowledge", {"person": 7}), 400)
    for user in (env.ojo, env.tlo, env.kfr):
        problem(act(env, user, n["id"], "acknowledge", {"person": env.akh.id}), 404)
    m = notice_ok(act(env, env.mha, n["id"], "acknowledge", {"person": env.akh.id}))
    assert m["status"] == "acknowledged" and m["version"] == 2
    assert m["receiver"] == {"unit": "UR", "person": env.akh.ref}
    assert m["acknowledged_by"] == env.mha.ref and m["acknowledged_at"]
    assert m["access"] == "receiver"
    # acknowledged with no named receiver keeps the one named
    m = notice_ok(act(env, env.kmo, n["id"], "acknowledge", if_match=2))
    assert m["receiver"]["person"] == env.akh.ref and m["version"] == 3
    rows = env.db.query_json(
        "SELECT json_agg(json_build_object('event', event, 'recipients', recipients,"
        " 'handover_id', handover_id)) FROM outbox WHERE notice_id = '" + n["id"] + "'")
    assert len(rows) == 1, rows  # the first acknowledgement only
    assert all(r["event"] == "notice_acknowledged" and r["handover_id"] is None for r in rows)
    assert env.sbo.email in [x["email"] for x in rows[0]["recipients"]]
    text = json.dumps(rows)
    assert n["_cpr"] not in text and n["_cpr"][:6] not in text
    from tests.integration.test_handovers import MAIL  # noqa: F401
    acts = [a["action"] for a in audit(env, n["id"])]
    assert acts.count("notice.acknowledge") == 2


def test_cancel(env):
    n = create(env)
    problem(act(env, env.sbo, n["id"], "cancel", {}), 422, "reason", "required")
    problem(act(env, env.sbo, n["id"], "cancel", {"reason": ""}), 422, "reason")
    problem(act(env, env.mha, n["id"], "cancel", {"reason": "Nej"}), 403)
    problem(act(env, env.tlo, n["id"], "cancel", {"reason": "Nej"}), 404)
    m = notice_ok(act(env, env.sbo, n["id"], "cancel", {"reason": "Flyttet."}))
    assert m["status"] == "cancelled" and m["cancel_reason"] == "Flyttet."
    # nothing more happens to it
    problem(patch(env, env.sbo, n["id"], {"comment": "x"}, if_match=m["version"]), 409)
    problem(act(env, env.mha, n["id"], "acknowledge"), 409)
    problem(act(env, env.sbo, n["id"], "handover"), 409)
    problem(act(env, env.sbo, n["id"], "cancel", {"reason": "igen"}), 409)


def test_from_notice_to_note(env):
    n = create(env, days=120)
    notice_ok(act(env, env.mha, n["id"], "acknowledge", {"person": env.akh.id}))
    problem(act(env, env.mha, n["id"], "handover"), 403)
    problem(act(env, env.tlo, n["id"], "handover"), 404)
    problem(act(env, env.sbo, n["id"], "handover", if_match=1), 412)
    r = act(env, env.sbo, n["id"], "handover")
    h = ok(r, 201)
    assert r.headers["Location"] == "/api/v1/handovers/" + h["id"]
    assert h["status"] == "draft" and h["route"] == "BUR-UR"
    assert h["citizen"]["cpr"] == masked(n["_cpr"])
    assert h["citizen"]["birthdate"] == "2010-03-14"
    assert h["receiver"] == {"unit": "UR", "person": env.akh.ref}
    assert h["planned_date"] == n["expected_date"]
    seen = notice_ok(get(env, env.sbo, n["id"]))
    assert seen["status"] == "converted" and seen["handover_id"] == h["id"]
    # the note's history names the notice
    hist = ok(call(env, "GET", f"/handovers/{h['id']}/history", env.sbo))
    assert hist["events"][0]["action"] == "create"
    assert hist["events"][0]["detail"] == {"notice": {"id": n["id"], "ref": n["ref"]}}
    note = ok(call(env, "GET", "/handovers/" + h["id"], env.sbo))
    assert note["citizen"]["cpr"] == n["_cpr"]
    # once converted: no second note, and a new notice waits for the note to finish
    problem(act(env, env.sbo, n["id"], "handover"), 409)
    b = body()
    b["citizen"]["cpr"] = n["_cpr"]
    p = problem(call(env, "POST", "/notices", env.sbo, b), 409)
    assert p["existing"]["id"] == h["id"]
    # notat_sendt is done once the note is submitted
    done = {m["key"]: m["done"] for m in seen["milestones"]}
    assert done["notat_sendt"] is False and done["overdragelse"] is False
    acts = [a["action"] for a in audit(env, n["id"])]
    assert "notice.handover" in acts


def test_converting_refused_when_a_note_is_unfinished(env):
    nb = note_body()
    n = create(env, b={"route": "BUR-UR", "citizen": dict(nb["citizen"]),
                       "expected_date": ahead(90)})
    ok(call(env, "POST", "/handovers", env.sbo, nb), 201)
    p = problem(act(env, env.sbo, n["id"], "handover"), 409)
    assert p["existing"]["kind"] == "handover"
    assert notice_ok(get(env, env.sbo, n["id"]))["status"] == "open"


# --- milestones ------------------------------------------------------------------


def milestones(n):
    return {m["key"]: m for m in n["milestones"]}


def test_milestone_dates(env):
    # 29 February: 15 years on is 28 February 2027, a Sunday: Friday the 26th
    m = milestones(create(env, born=datetime.date(2012, 2, 29)))
    assert m["maal_15"]["due"] == "2027-02-26"
    assert m["maal_15"]["law"] == "Barnets Lov § 109; KUI § 2 a"
    # 29 February in a leap year stays: 2008 + 16 years 3 months = 29 May 2024
    m = milestones(create(env, born=datetime.date(2008, 2, 29)))
    assert m["stoette_18"]["due"] == "2025-08-29"  # a Friday
    # a due date on a holiday: 16 years 3 months after 25 September 2010 is
    # juledag 2026 (a Friday): the day before
    m = milestones(create(env, born=datetime.date(2010, 9, 25)))
    assert m["ungeplan_16"]["due"] == "2026-12-24"
    assert m["ungeplan_16"]["law"] == "Barnets Lov § 108"
    assert m["ungeplan_16"]["label"].startswith("Afgørelse om ungeplan")
    # a birthday on a holiday (1 January): 15 years on is nytårsdag 2026, a
    # Thursday: 31 December 2025
    m = milestones(create(env, born=datetime.date(2011, 1, 1)))
    assert m["maal_15"]["due"] == "2025-12-31"
    # BUR-H: the 16-årsmøde (§ 122) and the decisions before 18
    n = create(env, env.lbk, route="BURH-AEHF", born=datetime.date(2010, 6, 10), days=400)
    m = milestones(n)
    assert set(m) == {"moede_16", "stoette_18", "ydelser_18", "notat_sendt", "overdragelse"}
    assert m["moede_16"]["due"] == "2026-09-10" and m["moede_16"]["law"] == "Barnets Lov § 122"
    assert "16-årsmøde" in m["moede_16"]["label"]
    assert m["stoette_18"]["due"] == "2027-12-10" and m["stoette_18"]["law"] == "Barnets Lov § 111"
    assert m["ydelser_18"]["due"] == "2028-03-10"
    # every route: the expected date itself (or the working day before) and
    # the note ten working days before it
    exp = datetime.date.fromisoformat(n["expected_date"])
    due = datetime.date.fromisoformat(m["overdragelse"]["due"])
    assert due <= exp and (exp - due).days <= 4
    sent = datetime.date.fromisoformat(m["notat_sendt"]["due"])
    assert 14 <= (due - sent).days <= 20, (sent, due)
    for k in ("notat_sendt", "overdragelse"):
        assert m[k]["law"] is None and m[k]["done"] is False
    # a route with no milestones of its own has the two
    g = create(env, route="GENERISK", days=30, receiver={"unit": "UR"})
    assert {x["key"] for x in g["milestones"]} == {"notat_sendt", "overdragelse"}


# --- lists and the pipeline ----------------------------------------------------------


def test_lists(env):
    far = ahead(700)
    a = create(env, days=700)
    b = create(env, days=700)
    got = ok(call(env, "GET", "/notices", env.sbo, params={"box": "outgoing", "from": far,
                                                           "to": far}))
    ids = [i["id"] for i in got["items"]]
    assert a["id"] in ids and b["id"] in ids
    assert all(i["citizen"]["cpr"].endswith("-XXXX") for i in got["items"])
    got = ok(call(env, "GET", "/notices", env.mha, params={"box": "incoming", "from": far,
                                                           "to": far, "status": "open"}))
    assert {a["id"], b["id"]} <= {i["id"] for i in got["items"]}
    assert ok(call(env, "GET", "/notices", env.mha, params={"box": "outgoing", "from": far,
                                                            "to": far}))["items"] == []
    # pages
    p1 = ok(call(env, "GET", "/notices", env.sbo, params={"from": far, "to": far, "limit": 1}))
    assert len(p1["items"]) == 1 and p1["next_cursor"]
    p2 = ok(call(env, "GET", "/notices", env.sbo, params={"from": far, "to": far, "limit": 1,
                                                          "cursor": p1["next_cursor"]}))
    assert p2["items"][0]["id"] != p1["items"][0]["id"]
    # the lead above reads masked; other units see none of them
    got = ok(call(env, "GET", "/notices", env.tlo, params={"from": far, "to": far}))
    assert {a["id"], b["id"]} <= {i["id"] for i in got["items"]}
    assert all(i["access"] == "read" for i in got["items"])
    for user in (env.kfr, env.lkj):
        got = ok(call(env, "GET", "/notices", user, params={"from": far, "to": far}))
        assert not {a["id"], b["id"]} & {i["id"] for i in got["items"]}
    for bad in ({"box": "x"}, {"status": "open,nope"}, {"from": "2027-13-01"}, {"limit": "0"},
                {"cursor": "x"}, {"nope": "1"}):
        problem(call(env, "GET", "/notices", env.sbo, params=bad), 400)
    # the page's limit and cursor (answer_page_params, shared with the notes' list)
    nowhere = "00000000-0000-4000-8000-000000000000"
    for field, value in (("status", ",".join(["acknowledged"] * 10)), ("status", "open;x"),
                         ("limit", "501"), ("limit", "5x"), ("limit", ""),
                         ("cursor", "2027-02-30." + nowhere), ("cursor", "." + nowhere),
                         ("cursor", "2027-01-01.nope"), ("cursor", "2027-01-01"),
                         ("cursor", "1700000000000000." + nowhere)):
        problem(call(env, "GET", "/notices", env.sbo, params={field: value}), 400, field)
    page = ok(call(env, "GET", "/notices", env.sbo,
                   params={"cursor": "2027-01-01." + nowhere}))
    assert isinstance(page["items"], list)


def pipeline(env, user, **params):
    return call(env, "GET", "/notices/pipeline", user, params=params)


def test_pipeline(env):
    month = add_months(today().replace(day=1), 22)
    key = month.strftime("%Y-%m")
    day = iso(month.replace(day=15))

    def counts():
        p = ok(pipeline(env, env.mha, unit="UR", months=24))
        assert p["unit"] == "UR" and len(p["months"]) == 24
        assert p["months"][0]["month"] == today().strftime("%Y-%m")
        return [m for m in p["months"] if m["month"] == key][0]
    before = counts()
    ns = [create(env, b=body(expected_date=day)) for _ in range(3)]
    notice_ok(act(env, env.mha, ns[0]["id"], "acknowledge"))
    notice_ok(act(env, env.mha, ns[1]["id"], "acknowledge"))
    ok(act(env, env.sbo, ns[1]["id"], "handover"), 201)
    cancelled = create(env, b=body(expected_date=day))
    ok(act(env, env.sbo, cancelled["id"], "cancel", {"reason": "Fejl."}))
    after = counts()
    assert after["expected"] - before["expected"] == 3
    assert after["acknowledged"] - before["acknowledged"] == 2
    assert after["converted"] - before["converted"] == 1
    # the default: the caller's own unit, 12 months
    p = ok(pipeline(env, env.mha))
    assert p["unit"] == "UR" and len(p["months"]) == 12
    # the lead and the lead above see the counts; other units the 404 of no unit
    ok(pipeline(env, env.kmo, unit="UR"))
    ok(pipeline(env, env.ojo, unit="UR"))
    missing = pipeline(env, env.kfr, unit="NO-SUCH-UNIT")
    for user in (env.kfr, env.sbo, env.tlo):
        same_404(pipeline(env, user, unit="UR"), missing)
    for bad in ({"months": "0"}, {"months": "25"}, {"months": "x"}, {"unit": ""}, {"x": "1"}):
        problem(pipeline(env, env.mha, **bad), 400)


def test_tasks_count_notices_to_acknowledge(env):
    t0 = ok(call(env, "GET", "/me/tasks", env.akh))["counts"]["notices_to_acknowledge"]
    n = create(env, days=40)
    t = ok(call(env, "GET", "/me/tasks", env.akh))
    assert t["counts"]["notices_to_acknowledge"] == t0 + 1
    items = [i for i in t["items"] if i.get("notice_id") == n["id"]]
    assert len(items) == 1 and items[0]["kind"] == "notice_to_acknowledge"
    assert items[0]["ref"] == n["ref"] and items[0]["due"] == n["expected_date"]
    assert n["_cpr"][:6] not in items[0]["title"]
    # the sender has nothing to acknowledge (its milestones are its own tasks)
    assert not [i for i in ok(call(env, "GET", "/me/tasks", env.sbo))["items"]
                if i.get("notice_id") == n["id"] and i["kind"] == "notice_to_acknowledge"]
    notice_ok(act(env, env.mha, n["id"], "acknowledge"))
    t = ok(call(env, "GET", "/me/tasks", env.akh))
    assert t["counts"]["notices_to_acknowledge"] == t0


def milestone_items(env, user, nid):
    return [i for i in ok(call(env, "GET", "/me/tasks", user))["items"]
            if i.get("notice_id") == nid and i["kind"] == "notice_milestone"]


def test_tasks_show_the_next_milestone(env):
    """Mine opgaver: a notice's next milestone not done, when it falls
    within ten working days or is past, for its sending unit and its named
    receiver; marked done, the next one; none beyond the horizon."""
    n = create(env, born=datetime.date(2010, 3, 14), days=300)  # 16 years and 8 months
    m = milestones(n)
    items = milestone_items(env, env.sbo, n["id"])
    assert len(items) == 1, items
    it = items[0]
    assert it["due"] == m["maal_15"]["due"] and it["ref"] == n["ref"], (it, m)
    assert it["title"].startswith("Milepæl: " + m["maal_15"]["label"]), it["title"]
    assert "§ 109" in it["title"] and "siden" in it["title"], it["title"]
    assert n["_cpr"][:6] not in it["title"] and "Varselborger" not in it["title"]
    t = ok(call(env, "GET", "/me/tasks", env.sbo))
    assert t["items"].index(it) < len(t["items"]) and t["counts"]["due_soon"] >= 1
    # the receiving unit's members do not see to the sender's milestones
    assert not milestone_items(env, env.akh, n["id"])
    # done: the next one (the ungeplan, § 108, also past)
    notice_ok(patch(env, env.sbo, n["id"], {"milestones_done": ["maal_15"]}, if_match=1))
    it = milestone_items(env, env.sbo, n["id"])[0]
    assert it["due"] == m["ungeplan_16"]["due"] and "§ 108" in it["title"], it
    # named on acknowledgement, the receiver sees it too
    notice_ok(act(env, env.mha, n["id"], "acknowledge", {"person": env.mha.id}))
    assert [i["due"] for i in milestone_items(env, env.mha, n["id"])] == [m["ungeplan_16"]["due"]]
    assert not milestone_items(env, env.akh, n["id"])
    # both past ones done: the next (support after 18) is months away
    v = get(env, env.sbo, n["id"]).json()["version"]
    notice_ok(patch(env, env.sbo, n["id"], {"milestones_done": ["maal_15", "ungeplan_16"]},
                    if_match=v))
    assert not milestone_items(env, env.sbo, n["id"])


# --- import -----------------------------------------------------------------------------


HEADER = "cpr;name;route;expected_date;comment\n"


def imp(env, text, user=None, ctype="text/csv; charset=utf-8"):
    data = text.encode() if isinstance(text, str) else text
    return call(env, "POST", "/notices/import", user or env.sbo, data=data,
                headers={"Content-Type": ctype})


def test_import_lines_and_reimport(env):
    c = [citizen(datetime.date(2011, 5, d))["cpr"] for d in (1, 2, 3, 4, 5)]
    past = ahead(-10)
    text = (HEADER
            + f"{c[0]};Anna Import;BUR-UR;{ahead(150)};Simpel kommentar\n"
            + f'{c[1]};"Bo ""Bobber"" Import";BUR-UR;{ahead(160)};"Et citat: ""hej""; og et semikolon"\n'
            + f"{c[2]};Carl Import;BUR-UR;{ahead(170)}\n"                     # no comment
            + "320199-1234;Dorte Import;BUR-UR;" + ahead(150) + ";\n"       # bad CPR
            + f"{c[3]};Erik Import;NO-SUCH;{ahead(150)};\n"                 # unknown route
            + f"{c[4]};Frida Import;BUR-UR;{past};\n"                       # past date
            + f"{c[4]};Gitte Import;BUR-UR;{ahead(150)};ord;med;semikolon\n"  # too many fields
            + f"{c[4]};Hans Import;BURH-AEHF;{ahead(150)};\n"               # sbo does not send it
            + "\n"
            + f'{c[4]};"Ida Import;BUR-UR;{ahead(150)};ingen slutning\n')   # open quote
    r = ok(imp(env, text))
    assert r["created"] == 3 and r["unchanged"] == 0, r
    lines = {s["line"]: s["reason"] for s in r["skipped"]}
    assert set(lines) == {5, 6, 7, 8, 9, 11}, r["skipped"]
    assert lines[5].startswith("Ugyldigt CPR-nummer")
    assert "Ukendt rute" in lines[6] and "NO-SUCH" in lines[6]
    assert "overskredet" in lines[7]
    assert "felter" in lines[8]
    assert "BURH-AEHF" in lines[9]
    assert "anførselstegn" in lines[11]
    text_out = json.dumps(r)
    for cpr in c:
        assert cpr not in text_out and cpr.replace("-", "") not in text_out
    assert "320199" not in text_out
    by_line = {x["line"]: x for x in r["notices"]}
    n2 = notice_ok(get(env, env.sbo, by_line[3]["id"]))
    assert n2["citizen"]["name"] == 'Bo "Bobber" Import'
    assert n2["comment"] == 'Et citat: "hej"; og et semikolon'
    assert n2["citizen"]["cpr"] == c[1]
    n3 = notice_ok(get(env, env.sbo, by_line[4]["id"]))
    assert n3["comment"] == ""
    assert audit(env, n2["id"])[0]["action"] == "notice.import"
    # the same file again changes nothing
    count = env.db.psql("SELECT count(*) FROM notices").strip()
    r2 = ok(imp(env, text))
    assert r2["created"] == 0 and r2["unchanged"] == 3
    assert {s["line"] for s in r2["skipped"]} == set(lines)
    assert env.db.psql("SELECT count(*) FROM notices").strip() == count
    # also after one was converted and another cancelled
    ok(act(env, env.sbo, by_line[2]["id"], "handover"), 201)
    ok(act(env, env.sbo, by_line[4]["id"], "cancel", {"reason": "Fejl."}))
    r3 = ok(imp(env, text))
    assert r3["created"] == 0 and r3["unchanged"] == 3, r3


def test_import_limits_and_shape(env):
    # a BOM and CRLF are fine
    cpr = citizen(datetime.date(2011, 6, 7))["cpr"]
    r = ok(imp(env, "\ufeff" + HEADER.replace("\n", "\r\n")
               + f"{cpr.replace('-', '')};Jens Crlf;BUR-UR;{ahead(100)};x\r\n"))
    assert r["created"] == 1
    problem(imp(env, HEADER, ctype="application/json"), 415)
    problem(imp(env, "cpr,name,route\n1,2,3\n"), 422, "header")
    problem(imp(env, ""), 422)
    # 10 MB: 413, nothing stored
    count = env.db.psql("SELECT count(*) FROM notices").strip()
    line = f"{cpr};Stor Fil;BUR-UR;{ahead(100)};" + "x" * 1000 + "\n"
    big = HEADER + line * (10 * 1024)
    assert problem(imp(env, big), 413)
    # too many lines (under the size limit)
    many = HEADER + "".join(f"{cpr};N;BUR-UR;{ahead(100)};\n" for _ in range(5001))
    r = imp(env, many)
    problem(r, 413)
    assert env.db.psql("SELECT count(*) FROM notices").strip() == count
    # who may: the lines of a route one does not send on are skipped
    r = ok(imp(env, HEADER + f"{citizen()['cpr']};Ole Modtager;BUR-UR;{ahead(100)};\n",
               user=env.mha))
    assert r["created"] == 0 and len(r["skipped"]) == 1
    # not UTF-8
    r = ok(imp(env, HEADER.encode() + citizen()["cpr"].encode() + b";\xff\xfe;BUR-UR;"
               + ahead(100).encode() + b";\n"))
    assert r["skipped"][0]["reason"] == "Linjen er ikke gyldig UTF-8."


# --- hostile input ----------------------------------------------------------------------


def test_hostile_ids_and_text(env):
    for bad in ("x", "../../etc/passwd", "1' OR '1'='1", "0" * 36, "%00", "a" * 5000,
                str(uuid.uuid4()).upper()[:35] + "Z"):
        r = requests.get(url(env, "/notices/") + requests.utils.quote(bad, safe=""),
                         headers=env.sbo.headers, timeout=30)
        assert r.status_code in (404, 414), (bad, r.status_code)
    for action in ("acknowledge", "cancel", "handover"):
        problem(act(env, env.sbo, "nope", action, {"reason": "x"}), 404)
    evil = "'); DROP TABLE notices; -- <script>alert(1)</script> \u202e ø"
    n = create(env, comment=evil)
    assert notice_ok(get(env, env.sbo, n["id"]))["comment"] == evil
    b = body()
    b["citizen"]["name"] = evil
    m = create(env, b=b)
    assert notice_ok(get(env, env.mha, m["id"]))["citizen"]["name"] == evil
    problem(call(env, "POST", "/notices", env.sbo, data=b"[1,2]",
                 headers={"Content-Type": "application/json"}), 400)
    problem(call(env, "POST", "/notices", env.sbo, {"route": 5}), 400, "route")
    problem(call(env, "POST", "/notices", env.sbo, body(comment=7)), 400)
    problem(call(env, "POST", "/notices", env.sbo, body(expected_date=20270101)), 400)


def test_demo_notices_import(env):
    """scripts/demo.py's demo data: every line of its two CSV exports is
    imported, spread over the next 24 months, and a second run changes
    nothing."""
    import importlib.util
    import os
    spec = importlib.util.spec_from_file_location(
        "demo", os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "demo.py"))
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    for user, route, age, count, seed in ((env.sbo, "BUR-UR", 17, 36, 1),
                                          (env.lbk, "BURH-AEHF", 18, 18, 2)):
        text = demo.notice_csv(route, age, count, seed)
        r = ok(imp(env, text, user=user))
        assert r["created"] == count and r["skipped"] == [], r["skipped"]
        months = {ln.split(";")[3][:7] for ln in text.splitlines()[1:]}
        assert len(months) >= min(count, 24) * 3 // 4, months
        assert ok(imp(env, text, user=user))["unchanged"] == count
    p = ok(pipeline(env, env.mha, unit="UR", months=24))
    assert sum(m["expected"] for m in p["months"]) >= 36


def test_counterpart_continuity_and_load_count_notices(env):
    """A colleague named as a notice's receiver is on the counterpart
    lookup's mind: for the same citizen, continuity picks them, though the
    notice also adds to their load (API.md 1.1 "Counterparts: one answer")."""
    from tests.integration.test_counterparts import resolve

    on = iso(today() + datetime.timedelta(days=30))
    born = add_months(datetime.date.fromisoformat(on), -17 * 12 - 2).replace(day=3)
    ans = resolve(env.d, env.sbo.headers, {"route": "BUR-UR",
                                           "citizen": {"birthdate": iso(born)}}, date=on)
    group = [c for c in ans["candidates"] if c["tie_break"] is not None]
    assert len(group) >= 2, ans["candidates"]
    chosen = group[-1]["person"]["id"]  # not the one the lookup would give
    n = create(env, born=born, days=60)
    notice_ok(act(env, env.mha, n["id"], "acknowledge", {"person": chosen}))
    ans = resolve(env.d, env.sbo.headers, {"route": "BUR-UR",
                                           "citizen": {"cpr": n["_cpr"]}}, date=on)
    assert ans["answer"]["decided_by"] == "continuity", ans["answer"]
    assert ans["answer"]["person"]["id"] == chosen
    assert n["_cpr"] not in json.dumps(ans)
    # a citizen of the same day without a notice: the chosen one's notice
    # now counts on their desk (load)
    other = resolve(env.d, env.sbo.headers, {"route": "BUR-UR",
                                             "citizen": {"birthdate": iso(born)}}, date=on)
    assert other["answer"]["decided_by"] in ("load", "rotation"), other["answer"]


def test_milestone_reminder_once_to_the_sender(env):
    """A milestone due within 10 working days and not done is reminded
    through the outbox, once (a round again writes nothing), to the
    sender, with the ref and the milestone's words but no personal data."""
    import signal
    import time

    born = add_months(today() + datetime.timedelta(days=5), -15 * 12)
    n = create(env, born=born, days=300)
    due = milestones(n)["maal_15"]["due"]
    assert iso(today()) <= due <= ahead(5), due

    def rows():
        return env.db.query_json(
            "SELECT coalesce(json_agg(json_build_object('recipients', recipients, 'detail', "
            "detail, 'message_id', message_id) ORDER BY id), '[]') FROM outbox WHERE "
            f"notice_id = '{n['id']}' AND event = 'notice_milestone'")
    env.d.signal(signal.SIGHUP)  # a reminder round now
    deadline = time.monotonic() + 30
    while not rows() and time.monotonic() < deadline:
        time.sleep(0.2)
    got = rows()
    assert [r["detail"]["key"] for r in got] == ["maal_15"], got
    assert got[0]["detail"]["due"] == due
    assert env.sbo.email in [x["email"] for x in got[0]["recipients"]]
    assert n["_cpr"][:6] not in json.dumps(got)
    env.d.signal(signal.SIGHUP)
    time.sleep(2)
    assert len(rows()) == 1


def test_acknowledgement_and_milestone_mails(pg, slapd, tmp_path_factory):
    """Delivered through a real SMTP sink: the sender's mail on an
    acknowledgement and a milestone's reminder, each with the notice's ref,
    a link to the notice, and no CPR number or name."""
    import time
    from tests.integration.test_alerts import mails, new_sink, start_env

    tmp = tmp_path_factory.mktemp("notice-mail")
    sink = new_sink(tmp / "smtp")
    try:
        e = start_env(pg, slapd, tmp, sink.port, ["sbo", "mha"], sink=sink)
    except BaseException:
        sink.stop()
        raise
    try:
        born = add_months(today() + datetime.timedelta(days=5), -15 * 12)
        b = body(born=born, days=300)
        r = call(e, "POST", "/notices", e.sbo, b)
        n = notice_ok(r, 201)
        notice_ok(act(e, e.mha, n["id"], "acknowledge"))
        deadline = time.monotonic() + 60
        got = {}
        while time.monotonic() < deadline and len(got) < 2:
            got = {m.event: m for m in mails(sink) if n["ref"] in m.subject}
            time.sleep(0.3)
        assert set(got) == {"notice_acknowledged", "notice_milestone"}, got
        for m in got.values():
            assert m.rcpt == [e.sbo.email], m.rcpt
            assert f"/#/varsler/{n['id']}" in m.body, m.body
            assert b["citizen"]["cpr"][:6] not in m.raw.decode("utf-8", "replace")
            assert b["citizen"]["name"].split()[0] not in m.raw.decode("utf-8", "replace")
        assert got["notice_acknowledged"].subject == f"Varsel kvitteret: {n['ref']}"
        assert "Milepæl: Klare mål for uddannelse" in got["notice_milestone"].body
    finally:
        e.d.stop()
        sink.stop()
