"""The handover API (API.md "Handovers"; DESIGN.md "The handover note",
"Quality checks", "Alerts") against a real stafetd, slapd with the demo
directory, and PostgreSQL.

One daemon serves the whole module (its own database, login on); every
test files notes of its own, so the tests do not depend on each other.
The sending side is BUR (sbo, hbr; pka leads it), the receiving side UR
(mha, akh; kmo leads it); JC-UNG (kfr), ÆHF (lkj) and BUR-H (lbk) are
third units that must see nothing. The module adds three people to the
shared slapd (removed afterwards): a UR caseworker away now and one whose
absence ended today (both with akh as deputy), and a BUR caseworker away
now (deputy hbr), to see who the alerts go to.

Dates are relative to today: the planned handover date lies three weeks
ahead, and citizens' birth dates are chosen for an exact age on it."""

import datetime
import json
import re
import threading

import pytest
import requests

from tests.integration.handover_helpers import (
    AREAS, CHECK_KEYS, CITIZEN_KEYS, EVENT_KEYS, FLAG_KEYS, HANDOVER_KEYS, MAIL, SECTION_KEYS,
    VERSION_KEYS, Api, User, add_months, age_on, born_for_age, check_by_id,
    cpr_for, cpr_passes_mod11, failed_error_checks, iso, note_body, note_ok, ok,
    planned, problem, section_texts, today)
from tests.integration.test_counterparts import start_module_daemon
from tests.integration.test_directory import wait_until

BASE = "dc=stafet,dc=example"
PEOPLE = "ou=people," + BASE
REF_RE = re.compile(r"^STF-(\d{4})-(\d{6})$")
TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
LOGINS = ["sbo", "hbr", "pka", "tlo", "mha", "akh", "kmo", "ojo", "kfr", "lkj", "lbk",
          "hosnd"]
UR_MAILBOX = "ur" + MAIL
JC_MAILBOX = "jc-ung" + MAIL
RETURN_FLAGS = [{"section": "goals", "kind": "missing",
                 "comment": "Målet for bolig mangler en tidsramme."},
                {"section": "assessment", "kind": "imprecise",
                 "comment": "Vurderingen siger ikke, hvad der skal ske først."}]


# --- the module's directory additions and daemon -------------------------------


def ldap_day(d):
    return d.strftime("%Y%m%d") + "000000Z"


def extra_people():
    t = today()
    away = (ldap_day(t - datetime.timedelta(days=30)), ldap_day(t + datetime.timedelta(days=60)))
    back = (ldap_day(t - datetime.timedelta(days=30)), ldap_day(t))
    return [
        # (uid, given, surname, unit, department, absence (from, until), deputy uid)
        ("hoabs", "Anne", "Fraværsen", "UR", "BSF", away, "akh"),
        ("hoback", "Bent", "Tilbagesen", "UR", "BSF", back, "akh"),
        ("hosnd", "Sara", "Sendersen", "BUR", "BUF", (away[0], None), "hbr"),
    ]


def person_ldif(uid, given, sn, unit, dept, absence, deputy):
    lines = [f"dn: uid={uid},{PEOPLE}", "changetype: add",
             "objectClass: inetOrgPerson", "objectClass: stafetPerson",
             f"uid: {uid}", f"cn: {given} {sn}", f"sn: {sn}", f"givenName: {given}",
             f"displayName: {given} {sn}", "title: Rådgiver", f"stafetUnitCode: {unit}",
             f"stafetDepartment: {dept}", f"mail: {uid}{MAIL}", "userPassword: demo",
             f"stafetAbsentFrom: {absence[0]}"]
    if absence[1]:
        lines.append(f"stafetAbsentUntil: {absence[1]}")
    lines.append(f"stafetDeputy: uid={deputy},{PEOPLE}")
    return "\n".join(lines) + "\n"


def remove_extra_people(slapd):
    for uid, *_ in extra_people():
        slapd.ldapmodify(f"dn: uid={uid},{PEOPLE}\nchangetype: delete\n", check=False)


class Env:
    def __init__(self, d, db, users):
        self.d, self.db, self.users = d, db, users
        self.api = Api(d)

    def __getattr__(self, name):  # env.sbo, env.mha, ...
        users = self.__dict__.get("users", {})
        if name in users:
            return users[name]
        raise AttributeError(name)


@pytest.fixture(scope="module")
def env(pg, slapd, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("handovers")
    remove_extra_people(slapd)
    for p in extra_people():
        slapd.ldapmodify(person_ldif(*p))
    d = None
    try:
        d, db = start_module_daemon(pg, slapd, tmp)
        sbo = User(d, "sbo")

        def people_seen():
            found = {}
            for uid, *_ in extra_people():
                r = requests.get(d.url + "/api/v1/people", headers=sbo.headers,
                                 params={"q": uid}, timeout=10)
                hits = [p for p in r.json().get("items", []) if p["username"] == uid]
                if not hits or hits[0]["deputy"] is None:
                    return None
                found[uid] = hits[0]
            return found
        extra = wait_until(people_seen, what="the module's own people with their deputies")
        # Logged in only once they are in the snapshot: failed logins count.
        users = {u: sbo if u == "sbo" else User(d, u) for u in LOGINS}
        e = Env(d, db, users)
        e.extra = extra
        # /readyz does not wait for the routes and templates (read every 0.5 s).
        wait_until(lambda: e.api.template(users["sbo"]).status_code == 200,
                   what="the routes and templates loaded")
        yield e
    finally:
        if d is not None:
            d.stop()
        remove_extra_people(slapd)


# --- building notes ----------------------------------------------------------------


def create(env, user=None, status=201, **kw):
    """Files a note; returns the answer with the CPR number whole again
    (the answer masks it, API.md) so later checks can look for it."""
    body = kw.pop("body", None) or note_body(**kw)
    r = env.api.create(user or env.sbo, body)
    h = note_ok(r, status)
    if status == 201 and body.get("citizen", {}).get("cpr"):
        whole = body["citizen"]["cpr"]
        if "-" not in whole:
            whole = whole[:6] + "-" + whole[6:]
        assert h["citizen"]["cpr"] == masked(whole), h["citizen"]
        h["citizen"]["cpr"] = whole
    return h


def as_answered(h):
    """A note as a write's answer shows it: the CPR number masked, and
    without `access` (which side the reader is on)."""
    out = json.loads(json.dumps(h))
    out.pop("access", None)
    if out["citizen"].get("cpr"):
        out["citizen"]["cpr"] = masked(out["citizen"]["cpr"])
    return out


def current(env, hid, user=None):
    """The note as its sender sees it (a sender's read changes nothing)."""
    return note_ok(env.api.get(user or env.sbo, hid))


def submit(env, h, user=None):
    out = note_ok(env.api.act(user or env.sbo, h["id"], "submit"))
    assert out["status"] == "submitted", out["status"]
    return out


def receive(env, h, user=None):
    out = note_ok(env.api.get(user or env.mha, h["id"]))
    assert out["status"] == "received", out["status"]
    return out


def give_back(env, h, user=None, flags=None):
    out = note_ok(env.api.act(user or env.mha, h["id"], "return",
                              {"flags": flags or RETURN_FLAGS[:1]}))
    assert out["status"] == "returned", out["status"]
    return out


def in_state(env, state, **kw):
    """A fresh note in `state`, as its sender now sees it. "withdrawn" is
    withdrawn after submission (the receiving unit knows it);
    "withdrawn-draft" never left the sender."""
    h = create(env, **kw)
    if state in ("draft",):
        return h
    if state == "withdrawn-draft":
        note_ok(env.api.act(env.sbo, h["id"], "withdraw", {"reason": "Oprettet ved en fejl."}))
        return current(env, h["id"])
    submit(env, h)
    if state == "withdrawn":
        note_ok(env.api.act(env.sbo, h["id"], "withdraw", {"reason": "Sagen er lukket."}))
    elif state in ("received", "returned", "accepted"):
        receive(env, h)
        if state == "returned":
            give_back(env, h)
        elif state == "accepted":
            note_ok(env.api.act(env.mha, h["id"], "accept", {"readback": "Modtaget."}))
    else:
        assert state == "submitted", state
    h = current(env, h["id"])
    assert h["status"] == state.split("-")[0], (state, h["status"])
    return h


def outbox(env, hid):
    return env.db.query_json(
        "SELECT coalesce(json_agg(json_build_object('id', id, 'event', event, 'recipients', "
        f"recipients, 'text', o::text) ORDER BY id), '[]') FROM outbox o "
        f"WHERE handover_id = '{hid}';")


def emails(row):
    return [r["email"] for r in row["recipients"]]


def audit_of(env, hid):
    return env.db.query_json(
        "SELECT coalesce(json_agg(json_build_object('action', action, 'actor_id', actor_id, "
        "'username', actor_username, 'object_type', object_type, 'address', address) "
        f"ORDER BY id), '[]') FROM audit_log WHERE object_id = '{hid}';")


def count(env, table, where="true"):
    return int(env.db.psql(f"SELECT count(*) FROM {table} WHERE {where};").strip())


def initials(name):
    """"Mette Hansen" -> "M. H.", "Hans-Peter Ørum" -> "H.-P. Ø.": what a
    lead above the units reads for the citizen's name."""
    return " ".join("-".join(part[0] + "." for part in word.split("-") if part)
                    for word in name.split())


def masked(cpr):
    return cpr[:6] + "-XXXX"


def assert_no_personal_data(text, notes):
    """No CPR number (either spelling), citizen name or section text of the
    notes in text."""
    for h in notes:
        cpr = h["citizen"]["cpr"]
        assert cpr not in text, ("CPR number", cpr)
        assert cpr.replace("-", "") not in text, ("CPR number", cpr)
        assert h["citizen"]["name"] not in text, ("name", h["citizen"]["name"])
        for s in section_texts(h.get("sections") or {}):
            if len(s) >= 12:  # dates and short words are no note text
                assert s not in text, ("section text", s)


# --- templates and live checks -------------------------------------------------


def test_template_of_the_route(env):
    t = ok(env.api.template(env.mha))
    assert t["route"] == "BUR-UR"
    assert t["code"] == "bur-ur" and t["version"] == 1
    assert t["id_prefix"] == "BUR-UR"
    assert isinstance(t["name"], str) and t["name"]
    assert [s["key"] for s in t["sections"]] == SECTION_KEYS
    kinds = {s["key"]: s["kind"] for s in t["sections"]}
    assert kinds == {"situation": "text", "background": "text", "assessment": "text",
                     "youth_voice": "text", "placed": "boolean", "goals": "goals",
                     "own_room": "text", "ungeplan": "decision", "support_after_18": "decision",
                     "education_plan": "text", "consent": "consent", "actions": "actions",
                     "contingency": "text"}
    by_key = {s["key"]: s for s in t["sections"]}
    for s in t["sections"]:
        assert isinstance(s["label"], str) and s["label"], s
    assert by_key["goals"]["required_if"] == {"age_at_least": 15}
    assert by_key["ungeplan"]["required_if"] == {"age_at_least": 16}
    assert by_key["own_room"]["required_if"] == {"section": "placed", "equals": True}
    assert by_key["support_after_18"]["required_if"] == {"section": "placed", "equals": True}
    assert by_key["education_plan"]["empty_reasons"] == ["ikke relevant", "ikke oplyst"]
    assert [a["key"] for a in by_key["goals"]["areas"]] == AREAS
    ids = [c["id"] for c in t["checks"]]
    for cid in ("BUR-UR.goals", "BUR-UR.ungeplan.deadline", "BUR-UR.support_after_18.deadline",
                "BUR-UR.consent.recorded", "BUR-UR.actions.complete", "BUR-UR.citizen.cpr",
                "BUR-UR.planned_date.future"):
        assert cid in ids, (cid, ids)
    for c in t["checks"]:
        assert c["severity"] in ("error", "warning"), c

    for route in ("NOPE", "BUR-UR-X", "BUR"):
        problem(env.api.template(env.mha, route), 404)


def test_live_check_stores_nothing(env):
    before = (count(env, "handovers"), count(env, "handover_versions"),
              count(env, "handover_events"), count(env, "outbox"))
    body = note_body(age=17, placed=True)
    ans = ok(env.api.check(env.sbo, body))
    assert set(ans) == {"checks", "completeness", "failed_errors"}
    assert ans["failed_errors"] == 0 and ans["completeness"] == 100, ans
    for c in ans["checks"]:
        assert set(c) == CHECK_KEYS, c
        assert c["passed"] is True, c
    ids = [c["id"] for c in ans["checks"]]
    assert len(ids) == len(set(ids)), ids
    for a in AREAS:
        assert f"BUR-UR.goals.{a}" in ids
    assert "BUR-UR.own_room.required" in ids

    body["sections"]["goals"] = [g for g in body["sections"]["goals"] if g["area"] != "bolig"]
    del body["sections"]["contingency"]
    ans = ok(env.api.check(env.sbo, body))
    assert failed_error_checks(ans["checks"]) == {"BUR-UR.goals.bolig",
                                                  "BUR-UR.contingency.required"}
    assert ans["failed_errors"] == 2
    assert 0 < ans["completeness"] < 100
    msg = check_by_id(ans["checks"], "BUR-UR.goals.bolig")["message"]
    assert "Bolig" in msg, msg

    # Any user may check; only the route must be known.
    assert ok(env.api.check(env.kfr, {"route": "BUR-UR"}))["failed_errors"] > 0
    problem(env.api.check(env.sbo, {"route": "NOPE"}), 422, "route")
    problem(env.api.check(env.sbo, dict(body, extra=1)), 400, "extra")
    after = (count(env, "handovers"), count(env, "handover_versions"),
             count(env, "handover_events"), count(env, "outbox"))
    assert after == before


def test_login_needed(env):
    h = create(env)
    anon = requests.Session()
    for method, path in (("GET", "/templates/BUR-UR"), ("POST", "/handovers/check"),
                         ("POST", "/handovers"), ("GET", "/handovers"),
                         ("GET", "/handovers/" + h["id"]), ("PATCH", "/handovers/" + h["id"]),
                         ("GET", f"/handovers/{h['id']}/history"),
                         ("POST", f"/handovers/{h['id']}/submit")):
        r = anon.request(method, env.api.url(path), json={}, headers={"If-Match": '"1"'},
                         timeout=10)
        problem(r, 401)
    assert as_answered(current(env, h["id"])) == as_answered(h)


# --- filing a note ------------------------------------------------------------------


def test_create_answer_shape(env):
    on = planned()
    born = born_for_age(17, on)
    body = note_body(born=born, on=on)
    digits = body["citizen"]["cpr"].replace("-", "")
    body["citizen"]["cpr"] = digits  # normalised to DDMMYY-SSSS
    r = env.api.create(env.sbo, body)
    h = note_ok(r, 201)
    assert r.headers["ETag"] == '"1"'
    assert r.headers["Location"] == "/api/v1/handovers/" + h["id"]
    assert UUID_RE.match(h["id"]), h["id"]
    m = REF_RE.match(h["ref"])
    assert m and m.group(1) == str(datetime.datetime.now(datetime.timezone.utc).year), h["ref"]
    assert h["route"] == "BUR-UR" and h["status"] == "draft" and h["version"] == 1
    assert h["template"] == {"code": "bur-ur", "version": 1}
    assert set(h["citizen"]) == CITIZEN_KEYS
    assert h["citizen"] == {"cpr": digits[:6] + "-XXXX", "name": body["citizen"]["name"],
                            "birthdate": iso(born), "age_at_handover": 17}
    # stored normalised: the note's own view shows DDMMYY-SSSS
    assert current(env, h["id"])["citizen"]["cpr"] == digits[:6] + "-" + digits[6:]
    assert h["sender"] == {"person": env.sbo.ref, "unit": "BUR"}
    assert h["receiver"] == {"unit": "UR", "person": None}
    assert h["planned_date"] == iso(on)
    assert h["sections"] == body["sections"]
    assert failed_error_checks(h["checks"]) == set()
    assert h["completeness"] == 100
    assert h["flags"] == [] and h["readback"] is None
    assert TS_RE.match(h["created_at"]) and TS_RE.match(h["updated_at"]), h
    assert h["submitted_at"] is None and h["received_at"] is None and h["decided_at"] is None
    assert as_answered(current(env, h["id"])) == as_answered(h)

    # A named receiver in UR, a lead of BUR filing, a CPR number that fails
    # modulus-11 but holds a real date.
    h2 = create(env, receiver={"unit": "UR", "person": env.akh.id})
    assert h2["receiver"] == {"unit": "UR", "person": env.akh.ref}
    h3 = create(env, user=env.pka)
    assert h3["sender"] == {"person": env.pka.ref, "unit": "BUR"}
    body = note_body(mod11=False)
    assert not cpr_passes_mod11(body["citizen"]["cpr"])
    h4 = create(env, body=body)
    assert h4["citizen"]["cpr"] == body["citizen"]["cpr"]  # (create checked the masked answer)
    assert "BUR-UR.citizen.cpr" not in failed_error_checks(h4["checks"])
    assert len({h["ref"], h2["ref"], h3["ref"], h4["ref"]}) == 4


def _bad_cpr():
    b = note_body()
    b["citizen"]["cpr"] = "320109-4123"  # 32 January
    return b


def _without(path):
    b = note_body()
    obj = b
    for k in path[:-1]:
        obj = obj[k]
    del obj[path[-1]]
    return b


def _with(path, value):
    b = note_body()
    obj = b
    for k in path[:-1]:
        obj = obj[k]
    obj[path[-1]] = value
    return b


CREATE_REFUSED = [
    ("unknown-field", lambda e: dict(note_body(), priority="high"), 400, "priority"),
    ("unknown-citizen-field", lambda e: _with(["citizen", "address"], "Vejen 1"), 400,
     "citizen.address"),
    ("unknown-receiver-field", lambda e: dict(note_body(), receiver={"unit": "UR", "team": "x"}),
     400, "receiver.team"),
    ("unknown-section", lambda e: _with(["sections", "hobbies"], "Fodbold og musik"), 400,
     "sections.hobbies"),
    ("citizen-not-object", lambda e: _with(["citizen"], "150609-4123"), 400, "citizen"),
    ("cpr-number", lambda e: _with(["citizen", "cpr"], 1506094123), 400, "citizen.cpr"),
    ("planned-date-number", lambda e: _with(["planned_date"], 20270101), 400, "planned_date"),
    ("sections-list", lambda e: _with(["sections"], []), 400, "sections"),
    ("placed-string", lambda e: _with(["sections", "placed"], "ja"), 400, "sections.placed"),
    ("goals-object", lambda e: _with(["sections", "goals"], {"area": "bolig"}), 400,
     "sections.goals"),
    ("route-number", lambda e: _with(["route"], 7), 400, "route"),
    ("bad-cpr-date", lambda e: _bad_cpr(), 422, "citizen.cpr"),
    ("no-cpr", lambda e: _without(["citizen", "cpr"]), 422, "citizen.cpr"),
    ("no-name", lambda e: _without(["citizen", "name"]), 422, "citizen.name"),
    ("no-citizen", lambda e: _without(["citizen"]), 422, "citizen"),
    ("unknown-route", lambda e: _with(["route"], "NOPE"), 422, "route"),
    ("no-route", lambda e: _without(["route"]), 422, "route"),
    ("receiver-unit-outside-route", lambda e: dict(note_body(), receiver={"unit": "JC-UNG"}),
     422, "receiver.unit"),
    ("receiver-unit-unknown", lambda e: dict(note_body(), receiver={"unit": "NOPE"}), 422,
     "receiver.unit"),
    ("receiver-person-unknown", lambda e: dict(note_body(), receiver={
        "unit": "UR", "person": "00000000-0000-0000-0000-000000000000"}), 422, "receiver.person"),
    ("receiver-person-outside-unit", lambda e: dict(note_body(), receiver={
        "unit": "UR", "person": e.kfr.id}), 422, "receiver.person"),
    ("planned-date-impossible", lambda e: _with(["planned_date"], "2027-02-30"), 422,
     "planned_date"),
    ("goal-area-unknown", lambda e: _with(["sections", "goals"], [
        {"area": "sundhed", "goal": "Lægebesøg", "timeframe": "1 år"}]), 422,
     "sections.goals.0.area"),
    ("decision-date-impossible", lambda e: _with(["sections", "ungeplan"], {
        "date": "2025-02-30", "text": "Afgørelse truffet."}), 422, "sections.ungeplan.date"),
]


@pytest.mark.parametrize("case,make,status,field", CREATE_REFUSED,
                         ids=[c[0] for c in CREATE_REFUSED])
def test_create_refused(env, case, make, status, field):
    before = count(env, "handovers")
    problem(env.api.create(env.sbo, make(env)), status, field)
    assert count(env, "handovers") == before


@pytest.mark.parametrize("who", ["mha", "kfr", "lbk", "lkj", "kmo"])
def test_only_the_sending_unit_files(env, who):
    before = count(env, "handovers")
    problem(env.api.create(env.users[who], note_body()), 403)
    assert count(env, "handovers") == before


# --- a whole life, BUR to UR --------------------------------------------------------


def test_full_life_bur_to_ur(env):
    api, sbo, mha, akh = env.api, env.sbo, env.mha, env.akh
    on = planned()
    born = born_for_age(17, on)
    body = note_body(born=born, on=on, placed=True)
    full = body["sections"]

    # 1. A draft with gaps: the bolig goal, a placeholder, no consent, no own room.
    draft = dict(full)
    draft["goals"] = [g for g in full["goals"] if g["area"] != "bolig"]
    draft["contingency"] = "Se journal."
    del draft["consent"], draft["own_room"]
    h = create(env, body=dict(body, sections=draft))
    hid = h["id"]
    assert h["status"] == "draft" and h["version"] == 1
    # the missing consent is one problem: its required check, not also consent.recorded
    gaps = {"BUR-UR.goals.bolig", "BUR-UR.contingency.required", "BUR-UR.consent.required",
            "BUR-UR.own_room.required"}
    assert failed_error_checks(h["checks"]) == gaps
    assert 0 < h["completeness"] < 100

    r = api.act(sbo, hid, "submit")
    p = problem(r, 422)
    assert {(e["field"], e["code"]) for e in p["errors"]} == {
        ("sections.goals", "BUR-UR.goals.bolig"),
        ("sections.contingency", "BUR-UR.contingency.required"),
        ("sections.consent", "BUR-UR.consent.required"),
        ("sections.own_room", "BUR-UR.own_room.required")}
    for e in p["errors"]:
        assert e["message"], e
    assert failed_error_checks(p["checks"]) == gaps
    assert p["completeness"] == h["completeness"]
    assert current(env, hid)["version"] == 1

    # 2. Edit until the checks pass (two edits; the first leaves two gaps).
    h = note_ok(api.patch(sbo, hid, {"sections": {"goals": full["goals"],
                                                  "consent": full["consent"]}}, if_match=1))
    assert h["version"] == 2 and h["status"] == "draft"
    assert h["sections"]["goals"] == full["goals"]
    assert h["sections"]["situation"] == full["situation"]  # merged, not replaced
    assert failed_error_checks(h["checks"]) == {"BUR-UR.contingency.required",
                                                "BUR-UR.own_room.required"}
    p = problem(api.act(sbo, hid, "submit"), 422)
    assert {(e["field"], e["code"]) for e in p["errors"]} == {
        ("sections.contingency", "BUR-UR.contingency.required"),
        ("sections.own_room", "BUR-UR.own_room.required")}
    h = note_ok(api.patch(sbo, hid, {"sections": {"contingency": full["contingency"],
                                                  "own_room": full["own_room"]}}, if_match=2))
    assert h["version"] == 3
    assert h["sections"] == full
    assert failed_error_checks(h["checks"]) == set() and h["completeness"] == 100

    # 3. Submit.
    h = note_ok(api.act(sbo, hid, "submit", if_match=3))
    assert (h["status"], h["version"]) == ("submitted", 4)
    assert TS_RE.match(h["submitted_at"]) and h["received_at"] is None
    assert current(env, hid)["status"] == "submitted"  # the sender's read changes nothing

    # 4. The first read by UR receives it; later reads do not move it. A HEAD
    # is no read: it is safe and changes nothing.
    r = api.request("HEAD", "/handovers/" + hid, mha)
    assert r.status_code == 200 and r.content == b"" and r.headers["ETag"] == '"4"'
    assert current(env, hid)["status"] == "submitted"
    r = api.get(mha, hid)
    h = note_ok(r)
    assert (h["status"], h["version"]) == ("received", 5)
    assert r.headers["ETag"] == '"5"'
    assert TS_RE.match(h["received_at"])
    assert h["citizen"]["cpr"] == body["citizen"]["cpr"]  # whole for the receiving unit
    h = note_ok(api.get(akh, hid))
    assert (h["status"], h["version"]) == ("received", 5)

    # 5. Returned with two flags.
    h = note_ok(api.act(mha, hid, "return", {"flags": RETURN_FLAGS}))
    assert (h["status"], h["version"]) == ("returned", 6)
    assert len(h["flags"]) == 2, h["flags"]
    for f, want in zip(h["flags"], RETURN_FLAGS):
        assert set(f) == FLAG_KEYS, f
        assert (f["section"], f["kind"], f["comment"]) == (want["section"], want["kind"],
                                                           want["comment"])
        assert f["by"] == mha.ref and f["resolved"] is False and TS_RE.match(f["at"])
    seen = current(env, hid)
    assert [(f["section"], f["kind"], f["resolved"]) for f in seen["flags"]] == [
        ("goals", "missing", False), ("assessment", "imprecise", False)]
    problem(api.patch(mha, hid, {"sections": {"situation": full["situation"]}}, if_match=6), 403)

    # 6. Edited by the sender, resubmitted: the flags are resolved.
    fixed = {"assessment": "Vurdering: først skolestart, derefter bolig; UR ringer i uge 2.",
             "goals": [dict(g, timeframe="senest 1. august") for g in full["goals"]]}
    h = note_ok(api.patch(sbo, hid, {"sections": fixed}, if_match=6))
    assert (h["status"], h["version"]) == ("returned", 7)
    h = note_ok(api.act(sbo, hid, "submit"))
    assert (h["status"], h["version"]) == ("submitted", 8)
    assert h["received_at"] is None and h["decided_at"] is None
    assert [f["resolved"] for f in h["flags"]] == [True, True], h["flags"]
    assert [f["resolved"] for f in current(env, hid)["flags"]] == [True, True]

    # 7. Received again, accepted with a read-back.
    h = note_ok(api.get(akh, hid))
    assert (h["status"], h["version"]) == ("received", 9)
    readback = "Modtaget: skolestart først, bolig bagefter; første møde i uge 2."
    h = note_ok(api.act(akh, hid, "accept", {"readback": readback}))
    assert (h["status"], h["version"], h["readback"]) == ("accepted", 10, readback)
    assert TS_RE.match(h["decided_at"])
    final = current(env, hid)
    assert final["sections"] == dict(full, **fixed)

    # 8. The history: every version and every event, in order, with who.
    steps = [(1, "draft", "create", sbo, None), (2, "draft", "edit", sbo, "draft"),
             (3, "draft", "edit", sbo, "draft"), (4, "submitted", "submit", sbo, "draft"),
             (5, "received", "receive", mha, "submitted"),
             (6, "returned", "return", mha, "received"),
             (7, "returned", "edit", sbo, "returned"),
             (8, "submitted", "submit", sbo, "returned"),
             (9, "received", "receive", akh, "submitted"),
             (10, "accepted", "accept", akh, "received")]
    for reader in (sbo, mha):
        hist = ok(api.history(reader, hid))
        assert set(hist) == {"versions", "events"}
        vs, evs = hist["versions"], hist["events"]
        assert [(v["version"], v["status"], v["action"], v["by"]) for v in vs] == \
            [(n, st, act, who.ref) for n, st, act, who, _ in steps]
        assert [(e["version"], e["action"], e["from"], e["to"], e["by"]) for e in evs] == \
            [(n, act, frm, st, who.ref) for n, st, act, who, frm in steps]
        for v in vs:
            assert set(v) == VERSION_KEYS, set(v) ^ VERSION_KEYS
            assert TS_RE.match(v["at"]), v["at"]
            assert v["citizen"]["cpr"] == masked(body["citizen"]["cpr"]), v["citizen"]
            assert v["citizen"]["name"] == body["citizen"]["name"]
            assert v["receiver"] == {"unit": "UR", "person": None} or \
                v["receiver"]["unit"] == "UR", v["receiver"]
            assert v["planned_date"] == iso(on)
        for e in evs:
            assert set(e) == EVENT_KEYS, e
            assert TS_RE.match(e["at"]), e["at"]
        assert [v["at"] for v in vs] == sorted(v["at"] for v in vs)
        assert [e["at"] for e in evs] == sorted(e["at"] for e in evs)
        assert vs[0]["sections"] == draft
        assert vs[2]["sections"] == full and vs[3]["sections"] == full
        assert vs[6]["sections"] == dict(full, **fixed)
        assert failed_error_checks(vs[0]["checks"]) == gaps
        assert vs[0]["completeness"] < 100 and vs[2]["completeness"] == 100
        assert [v["readback"] for v in vs] == [None] * 9 + [readback]
        assert body["citizen"]["cpr"] not in json.dumps(hist, ensure_ascii=False)

    # 9. One alert per alert-worthy step, to the right people.
    rows = outbox(env, hid)
    assert [(r["event"], emails(r)) for r in rows] == [
        ("submitted", [UR_MAILBOX]), ("returned", [sbo.email]),
        ("resubmitted", [mha.email]), ("accepted", [sbo.email])]
    assert_no_personal_data(json.dumps([r["text"] for r in rows], ensure_ascii=False), [final])

    # 10. Nothing more to do with an accepted note.
    for action, who, b in (("accept", akh, None), ("return", mha, {"flags": RETURN_FLAGS}),
                           ("submit", sbo, None), ("withdraw", sbo, None)):
        d = problem(api.act(who, hid, action, b), 409)
        assert "accepted" in d["detail"], d
    assert current(env, hid)["version"] == 10
    assert count(env, "handover_versions", f"handover_id = '{hid}'") == 10
    assert count(env, "handover_events", f"handover_id = '{hid}'") == 10


# --- the state machine ----------------------------------------------------------------

STATES = ["draft", "submitted", "received", "returned", "accepted", "withdrawn",
          "withdrawn-draft"]
ACTIONS = ["edit", "submit", "return", "accept", "withdraw", "forward"]
SENDER_SIDE = {"edit", "submit", "withdraw"}
ALLOWED = {"draft": {"edit", "submit", "withdraw"},
           "submitted": {"return", "accept", "withdraw", "forward"},
           "received": {"return", "accept", "withdraw", "forward"},
           "returned": {"edit", "submit", "withdraw"},
           "accepted": set(), "withdrawn": set(), "withdrawn-draft": set()}
LEADS_TO = {"submit": "submitted", "return": "returned", "accept": "accepted",
            "withdraw": "withdrawn", "forward": "submitted"}
BODIES = {"submit": None, "return": {"flags": RETURN_FLAGS[:1]},
          "accept": {"readback": "Modtaget og læst."},
          "withdraw": {"reason": "Den unge er flyttet til en anden kommune."},
          "forward": {"unit": "JC-UNG", "reason": "Den unge er ledig og hører til Jobcenter Ung."}}


def do(env, user, h, action, if_match=None):
    if action == "edit":
        return env.api.patch(user, h["id"], {"sections": {
            "situation": "Situationen er ændret: den unge er startet i praktik i denne uge."}},
            if_match=if_match or h["version"])
    return env.api.act(user, h["id"], action, BODIES[action], if_match=if_match)


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("state", STATES)
def test_transition_table(env, state, action):
    """Each action from each state by the side that may act: allowed ones
    give the next state (one version on); the others 409 naming the state,
    and the note stays as it was. The receiving unit never sees a note
    that was not submitted: 404."""
    h = in_state(env, state)
    status = state.split("-")[0]
    receiver_side = action not in SENDER_SIDE
    user = env.mha if receiver_side else env.sbo
    r = do(env, user, h, action)
    if action in ALLOWED[state]:
        out = note_ok(r)
        assert out["status"] == LEADS_TO.get(action, status), out["status"]
        assert out["version"] == h["version"] + 1
        if action == "forward":
            assert out["receiver"] == {"unit": "JC-UNG", "person": None}
        return
    if receiver_side and state in ("draft", "withdrawn-draft"):
        problem(r, 404)
    else:
        body = problem(r, 409)
        assert status in body["detail"], (status, body["detail"])
    after = current(env, h["id"])
    assert after == h


WRONG_SIDE = [(st, a, "sbo") for st in ("submitted", "received")
              for a in ("return", "accept", "forward")] + \
    [(st, "withdraw", "mha") for st in ("submitted", "received", "returned")] + \
    [("returned", "submit", "mha"), ("returned", "edit", "mha"),
     ("submitted", "edit", "mha"), ("received", "edit", "mha")]


@pytest.mark.parametrize("state,action,who", WRONG_SIDE,
                         ids=[f"{s}-{a}-by-{w}" for s, a, w in WRONG_SIDE])
def test_wrong_side_is_403(env, state, action, who):
    h = in_state(env, state)
    problem(do(env, env.users[who], h, action), 403)
    assert as_answered(current(env, h["id"])) == as_answered(h)


def test_unit_leads_act_for_their_units(env):
    """pka leads BUR, kmo leads UR: each acts for the unit's notes."""
    h = create(env)
    h = note_ok(env.api.patch(env.pka, h["id"], {"planned_date": iso(planned(28))},
                              if_match=1))
    assert h["planned_date"] == iso(planned(28))
    submit(env, h, user=env.pka)
    h = note_ok(env.api.get(env.kmo, h["id"]))
    assert h["status"] == "received"
    h = note_ok(env.api.act(env.kmo, h["id"], "accept"))
    assert h["status"] == "accepted" and h["readback"] is None
    hist = ok(env.api.history(env.hbr, h["id"]))  # a BUR colleague of the sender
    assert [e["by"]["id"] for e in hist["events"]] == [env.sbo.id, env.pka.id, env.pka.id,
                                                     env.kmo.id, env.kmo.id]


def test_leads_above_the_units_read_masked_and_do_not_act(env):
    """tlo leads BUF (above BUR), ojo leads BSF (above UR): each reads the
    notes of the units below with the CPR number masked and the name as
    initials (API.md, "Who sees a note"), and may neither file nor act:
    an action is 404 for them, as for anyone who may not see the note."""
    h = create(env)
    seen = note_ok(env.api.get(env.tlo, h["id"]))
    assert seen["status"] == "draft" and seen["access"] == "read"
    assert seen["citizen"]["cpr"] == masked(h["citizen"]["cpr"])
    assert seen["citizen"]["name"] == initials(h["citizen"]["name"])
    assert seen["sections"] == h["sections"]
    problem(env.api.create(env.tlo, note_body()), 403)
    problem(env.api.patch(env.tlo, h["id"], {"planned_date": iso(planned(30))},
                          if_match=h["version"]), 404)
    for action in ("submit", "withdraw"):
        problem(env.api.act(env.tlo, h["id"], action, BODIES.get(action)), 404)
    hist = ok(env.api.history(env.tlo, h["id"]))
    assert all(v["citizen"]["name"] == initials(h["citizen"]["name"])
               for v in hist["versions"])
    # ojo, above the receiving unit: not the draft, then the submitted note
    # masked, and reading it does not receive it.
    problem(env.api.get(env.ojo, h["id"]), 404)
    sent = submit(env, h)
    got = note_ok(env.api.get(env.ojo, h["id"]))
    assert got["status"] == "submitted" and got["access"] == "read"
    assert got["citizen"]["cpr"].endswith("-XXXX")
    for action in ("accept", "return", "forward"):
        problem(env.api.act(env.ojo, h["id"], action, BODIES.get(action)), 404)
    after = current(env, h["id"])
    assert after["status"] == "submitted" and after["version"] == sent["version"]


def test_return_needs_good_flags(env):
    h = in_state(env, "received")
    hid = h["id"]
    cases = [
        ({}, 422, "flags"),
        ({"flags": []}, 422, "flags"),
        ({"flags": "goals"}, 400, "flags"),
        ({"flags": {"section": "goals"}}, 400, "flags"),
        ({"flags": [{"section": "hobbies", "kind": "missing", "comment": "x"}]}, 422,
         "flags.0.section"),
        ({"flags": [{"section": "goals", "kind": "wrong", "comment": "x"}]}, 422,
         "flags.0.kind"),
        ({"flags": [{"section": "goals", "comment": "x"}]}, 422, "flags.0.kind"),
        ({"flags": [{"kind": "missing", "comment": "x"}]}, 422, "flags.0.section"),
        ({"flags": [RETURN_FLAGS[0], {"section": "goals", "kind": "missing", "x": 1}]}, 400,
         None),
        ({"flags": RETURN_FLAGS, "note": "x"}, 400, "note"),
    ]
    for b, status, field in cases:
        r = env.api.act(env.mha, hid, "return", b)
        problem(r, status, field)
        assert current(env, hid) == h, b
    assert count(env, "handover_flags", f"handover_id = '{hid}'") == 0


def test_forward_to_another_unit(env):
    h = in_state(env, "received")
    hid = h["id"]
    for b, status, field in (({"unit": "JC-UNG"}, 422, "reason"),
                             ({"unit": "JC-UNG", "reason": ""}, 422, "reason"),
                             ({"reason": "Hører til jobcentret."}, 422, "unit"),
                             ({"unit": "NOPE", "reason": "Hører til et andet sted."}, 422,
                              "unit"),
                             ({"unit": "UR", "reason": "Samme enhed."}, 422, "unit"),
                             ({"unit": 5, "reason": "x"}, 400, "unit")):
        problem(env.api.act(env.mha, hid, "forward", b), status, field)
        assert current(env, hid) == h, b
    out = note_ok(env.api.act(env.mha, hid, "forward", BODIES["forward"]))
    assert out["status"] == "submitted" and out["version"] == h["version"] + 1
    assert out["receiver"] == {"unit": "JC-UNG", "person": None}
    # The forward's own answer is a reader's: UR no longer sees the note.
    assert out["access"] == "read" and out["citizen"]["cpr"].endswith("-XXXX")
    assert out["citizen"]["name"] == initials(h["citizen"]["name"])
    # UR lets go of it; Jobcenter Ung has it, and its first read receives it.
    problem(env.api.get(env.mha, hid), 404)
    problem(env.api.act(env.mha, hid, "accept"), 404)
    # Nor does it learn where the note went: forwarding it again to the
    # unit it now sits at, or with a body that could not be used, is the
    # same 404 as for a note that does not exist (it said 422 "Notatet
    # ligger allerede hos den enhed" before).
    for action, b in (("forward", {"unit": "JC-UNG", "reason": "Igen."}),
                      ("forward", {"unit": 5}), ("return", {"flags": "x"}),
                      ("accept", {"readback": ["x"]}), ("withdraw", {"why": 1})):
        problem(env.api.act(env.mha, hid, action, b), 404)
        problem(env.api.act(env.mha, "00000000-0000-4000-8000-000000000000", action, b), 404)
    problem(env.api.history(env.mha, hid), 404)
    got = note_ok(env.api.get(env.kfr, hid))
    assert got["status"] == "received" and got["version"] == out["version"] + 1
    assert got["citizen"]["cpr"] == h["citizen"]["cpr"]
    hist = ok(env.api.history(env.kfr, hid))
    fwd = [e for e in hist["events"] if e["action"] == "forward"]
    assert len(fwd) == 1 and (fwd[0]["from"], fwd[0]["to"]) == ("received", "submitted")
    assert fwd[0]["by"] == env.mha.ref
    rows = outbox(env, hid)
    assert [(r["event"], emails(r)) for r in rows] == [("submitted", [UR_MAILBOX]),
                                                      ("forwarded", [JC_MAILBOX])]
    assert hid not in ids(ok(env.api.list(env.mha, box="incoming", limit=500))["items"])
    assert hid in ids(ok(env.api.list(env.kfr, box="incoming", limit=500))["items"])
    assert hid in ids(ok(env.api.list(env.sbo, box="outgoing", limit=500))["items"])
    # Jobcenter Ung may return it; the sender hears of it, and the
    # resubmission goes to the one who returned it.
    give_back(env, got, user=env.kfr)
    submit(env, got)
    rows = outbox(env, hid)
    assert [(r["event"], emails(r)) for r in rows][2:] == [
        ("returned", [env.sbo.email]), ("resubmitted", [env.kfr.email])]


def test_withdraw_keeps_the_reason_and_alerts_nobody(env):
    h = in_state(env, "submitted")
    out = note_ok(env.api.act(env.sbo, h["id"], "withdraw",
                              {"reason": "Den unge er flyttet."}))
    assert out["status"] == "withdrawn" and TS_RE.match(out["decided_at"])
    ev = ok(env.api.history(env.sbo, h["id"]))["events"][-1]
    assert (ev["action"], ev["from"], ev["to"]) == ("withdraw", "submitted", "withdrawn")
    assert ev["detail"] == {"reason": "Den unge er flyttet."}
    assert [r["event"] for r in outbox(env, h["id"])] == ["submitted"]
    # The receiving unit still sees that it was withdrawn.
    assert note_ok(env.api.get(env.mha, h["id"]))["status"] == "withdrawn"


# --- versions: If-Match -------------------------------------------------------------------


def test_if_match(env):
    h = create(env)
    hid = h["id"]
    edit = {"sections": {"contingency": "Hvis den unge flytter, så giv UR besked straks."}}
    problem(env.api.patch(env.sbo, hid, edit), 428)
    assert as_answered(current(env, hid)) == as_answered(h)
    h2 = note_ok(env.api.patch(env.sbo, hid, edit, if_match=1))
    assert h2["version"] == 2
    for stale in (1, 3, 99):
        problem(env.api.patch(env.sbo, hid, {"sections": {"contingency": "Hvis x, så y og z!"}},
                              if_match=stale), 412)
    problem(env.api.act(env.sbo, hid, "submit", if_match=1), 412)
    assert as_answered(current(env, hid)) == as_answered(h2)
    # A weak tag never matches (If-Match compares strongly), even the
    # current version's; reads ignore If-Match altogether.
    problem(env.api.request("PATCH", "/handovers/" + hid, env.sbo, json_body=edit,
                            headers={"If-Match": 'W/"2"'}), 412)
    assert env.api.request("GET", "/handovers/" + hid, env.sbo,
                           headers={"If-Match": "garbage"}).status_code == 200
    assert as_answered(current(env, hid)) == as_answered(h2)
    h3 = note_ok(env.api.patch(env.sbo, hid, {"planned_date": iso(planned(30))},
                               if_match=2))
    assert h3["version"] == 3
    h4 = note_ok(env.api.act(env.sbo, hid, "submit", if_match=3))
    assert h4["status"] == "submitted"
    # Stale on a receiving-side action too.
    h5 = receive(env, h4)
    problem(env.api.act(env.mha, hid, "accept", {"readback": "ok"}, if_match=h4["version"]), 412)
    assert as_answered(current(env, hid)) == as_answered(h5)
    note_ok(env.api.act(env.mha, hid, "accept", {"readback": "ok"}, if_match=h5["version"]))


def race(calls):
    """Runs the calls at the same moment; returns their responses in order."""
    barrier = threading.Barrier(len(calls))
    out = [None] * len(calls)

    def run(i, fn):
        barrier.wait()
        out[i] = fn()
    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def test_concurrent_edits_one_wins(env):
    h = create(env)
    hid = h["id"]
    version = 1
    texts = []
    for round_ in range(6):
        a = {"sections": {"situation": f"Runde {round_}: situationen, version A, skrevet af sbo."}}
        b = {"sections": {"situation": f"Runde {round_}: situationen, version B, skrevet af hbr."}}
        ra, rb = race([lambda: env.api.patch(env.sbo, hid, a, if_match=version),
                       lambda: env.api.patch(env.hbr, hid, b, if_match=version)])
        codes = sorted([ra.status_code, rb.status_code])
        assert codes == [200, 412], (round_, ra.text, rb.text)
        winner, body = (ra, a) if ra.status_code == 200 else (rb, b)
        problem(rb if winner is ra else ra, 412)
        w = note_ok(winner)
        version += 1
        assert w["version"] == version
        texts.append(body["sections"]["situation"])
        assert current(env, hid)["sections"]["situation"] == body["sections"]["situation"]
    hist = ok(env.api.history(env.sbo, hid))
    assert [v["sections"]["situation"] for v in hist["versions"][1:]] == texts
    assert len(hist["events"]) == 7


def test_concurrent_decisions_one_wins(env):
    """Two receivers accept, or one accepts while the other returns, at
    the same moment: one 200, the other 409 (or 412 with If-Match)."""
    for second in ("accept", "return"):
        h = in_state(env, "received")
        ra, rb = race([lambda: env.api.act(env.mha, h["id"], "accept", {"readback": "A"}),
                       lambda: env.api.act(env.akh, h["id"], second, BODIES[second])])
        assert sorted([ra.status_code, rb.status_code]) == [200, 409], (ra.text, rb.text)
        after = current(env, h["id"])
        assert after["version"] == h["version"] + 1
        assert after["status"] in ("accepted", "returned")
        assert len(outbox(env, h["id"])) == 2  # submitted, and the one decision
    h = in_state(env, "received")
    ra, rb = race([lambda: env.api.act(env.mha, h["id"], "accept", if_match=h["version"]),
                   lambda: env.api.act(env.akh, h["id"], "accept", if_match=h["version"])])
    assert sorted([ra.status_code, rb.status_code]) in ([200, 409], [200, 412]), \
        (ra.text, rb.text)


def test_concurrent_first_reads_receive_once(env):
    h = in_state(env, "submitted")
    ra, rb = race([lambda: env.api.get(env.mha, h["id"]), lambda: env.api.get(env.akh, h["id"])])
    a, b = note_ok(ra), note_ok(rb)
    assert a["status"] == b["status"] == "received"
    assert a["version"] == b["version"] == h["version"] + 1
    evs = ok(env.api.history(env.sbo, h["id"]))["events"]
    assert [e["action"] for e in evs] == ["create", "submit", "receive"]


def test_concurrent_submits_alert_once(env):
    h = create(env)
    ra, rb = race([lambda: env.api.act(env.sbo, h["id"], "submit"),
                   lambda: env.api.act(env.hbr, h["id"], "submit")])
    assert sorted([ra.status_code, rb.status_code]) == [200, 409], (ra.text, rb.text)
    assert [r["event"] for r in outbox(env, h["id"])] == ["submitted"]
    assert current(env, h["id"])["version"] == 2


# --- who sees what ----------------------------------------------------------------


@pytest.mark.parametrize("who", ["kfr", "lkj", "lbk"])
def test_third_unit_gets_404_everywhere(env, who):
    stranger = env.users[who]
    for state in ("submitted", "returned"):
        h = in_state(env, state)
        hid = h["id"]
        rs = [env.api.get(stranger, hid), env.api.history(stranger, hid),
              env.api.patch(stranger, hid, {"sections": {"situation": "x" * 40}},
                            if_match=h["version"])]
        for action in ("submit", "return", "accept", "withdraw", "forward"):
            rs.append(env.api.act(stranger, hid, action, BODIES[action]))
        for r in rs:
            body = problem(r, 404)
            assert h["citizen"]["cpr"] not in r.text and h["ref"] not in r.text, body
        assert current(env, hid) == h  # a stranger's read received nothing
        for box in ("incoming", "outgoing", None):
            params = {"limit": 500}
            if box:
                params["box"] = box
            items = ok(env.api.list(stranger, **params))["items"]
            assert hid not in [i["id"] for i in items]


def test_drafts_are_invisible_to_the_receiving_unit(env):
    h = create(env, receiver={"unit": "UR", "person": env.akh.id})
    hid = h["id"]
    for who in (env.akh, env.mha, env.kmo):
        problem(env.api.get(who, hid), 404)
        problem(env.api.history(who, hid), 404)
        problem(env.api.act(who, hid, "accept"), 404)
        problem(env.api.act(who, hid, "return", BODIES["return"]), 404)
    assert as_answered(current(env, hid)) == as_answered(h)
    assert outbox(env, hid) == []


def test_malformed_and_unknown_ids_are_404(env):
    h = create(env)
    hid = h["id"]
    bad = ["nope", hid[:-1], hid + "0", hid.replace("-", ""), "g" + hid[1:],
           "00000000-0000-0000-0000-000000000000", hid[:8] + "_" + hid[9:],
           ("2" if hid[0] != "2" else "3") + hid[1:]]
    for x in bad:
        for r in (env.api.get(env.sbo, x), env.api.history(env.sbo, x),
                  env.api.patch(env.sbo, x, {"planned_date": iso(planned())}, if_match=1),
                  env.api.act(env.sbo, x, "submit"),
                  env.api.act(env.sbo, x, "withdraw")):
            assert r.status_code == 404, (x, r.request.method, r.request.url, r.status_code,
                                          r.text)
    problem(env.api.act(env.sbo, hid, "publish"), 404)
    assert as_answered(current(env, hid)) == as_answered(h)


def test_cpr_whole_only_in_the_note_view(env):
    body = note_body()
    cpr = body["citizen"]["cpr"]
    r = env.api.create(env.sbo, body)
    h = note_ok(r, 201)
    # Only GET /handovers/{id} shows it whole (API.md): a write's answer masks it.
    assert h["citizen"]["cpr"] == masked(cpr) and cpr not in r.text
    r = env.api.patch(env.sbo, h["id"], {"planned_date": iso(planned(25))}, if_match=1)
    h = note_ok(r)
    assert h["citizen"]["cpr"] == masked(cpr) and cpr not in r.text
    h = submit(env, h)
    assert h["citizen"]["cpr"] == masked(cpr)
    for who in (env.sbo, env.mha):
        assert note_ok(env.api.get(who, h["id"]))["citizen"]["cpr"] == cpr
    for who, box in ((env.sbo, "outgoing"), (env.mha, "incoming"), (env.sbo, None),
                     (env.mha, None)):
        params = {"limit": 500}
        if box:
            params["box"] = box
        r = env.api.list(who, **params)
        items = [i for i in ok(r)["items"] if i["id"] == h["id"]]
        assert len(items) == 1, (who, box)
        assert items[0]["citizen"]["cpr"] == masked(cpr)
        assert cpr not in r.text and cpr.replace("-", "") not in r.text
    for who in (env.sbo, env.mha):
        r = env.api.history(who, h["id"])
        hist = ok(r)
        assert {v["citizen"]["cpr"] for v in hist["versions"]} == {masked(cpr)}
        assert cpr not in r.text and cpr.replace("-", "") not in r.text


# --- required-if, both ways ----------------------------------------------------------


def errors_of(r):
    return {(e["field"], e["code"]) for e in problem(r, 422)["errors"]}


def assert_required(env, body, section, required, age=None):
    """Files the note without `section`; when required, its check fails
    and submit answers 422 for it; otherwise nothing about it fails and
    the note can be submitted."""
    body["sections"].pop(section, None)
    h = create(env, body=body)
    if age is not None:
        assert h["citizen"]["age_at_handover"] == age
    cid = f"BUR-UR.{section}.required"
    c = check_by_id(h["checks"], cid)
    failing = {x["id"] for x in h["checks"] if not x["passed"]}
    if required:
        assert c is not None and c["passed"] is False and c["severity"] == "error", c
        errs = errors_of(env.api.act(env.sbo, h["id"], "submit"))
        assert (f"sections.{section}", cid) in errs, errs
        assert {f for f, _ in errs} == {f"sections.{section}"}, errs
        assert current(env, h["id"])["status"] == "draft"
    else:
        assert c is None or c["passed"] is True, c
        assert not [x for x in h["checks"] if x["section"] == section and not x["passed"]]
        assert failing == set(), failing
        assert submit(env, h)["status"] == "submitted"


@pytest.mark.parametrize("age,required", [(14, False), (15, True)])
def test_goals_required_from_15(env, age, required):
    on = planned()
    born = born_for_age(15, on, exact=True)  # 15 on the planned day itself
    if age == 14:
        born += datetime.timedelta(days=1)
    assert age_on(born, on) == age
    body = note_body(born=born, on=on)
    assert_required(env, body, "goals", required, age)
    if required:  # and each area on its own
        body = note_body(born=born, on=on)
        body["sections"]["goals"] = [g for g in body["sections"]["goals"]
                                     if g["area"] in ("uddannelse", "bolig")]
        body["sections"]["goals"][1]["timeframe"] = "  "
        h = create(env, body=body)
        assert failed_error_checks(h["checks"]) == {"BUR-UR.goals.beskaeftigelse",
                                                    "BUR-UR.goals.oekonomi",
                                                    "BUR-UR.goals.bolig"}


@pytest.mark.parametrize("age,required", [(15, False), (16, True)])
def test_ungeplan_required_from_16(env, age, required):
    on = planned()
    born = born_for_age(16, on, exact=True)
    if age == 15:
        born += datetime.timedelta(days=1)
    assert age_on(born, on) == age
    assert_required(env, note_body(born=born, on=on), "ungeplan", required, age)


@pytest.mark.parametrize("placed", [True, False])
@pytest.mark.parametrize("section", ["own_room", "support_after_18"])
def test_placed_requires_own_room_and_support_after_18(env, placed, section):
    assert_required(env, note_body(age=17, placed=placed), section, placed)


def test_placed_false_needs_neither(env):
    body = note_body(age=17, placed=False)
    assert "own_room" not in body["sections"] and "support_after_18" not in body["sections"]
    h = create(env, body=body)
    ids = {c["id"] for c in h["checks"]}
    assert "BUR-UR.own_room.required" not in ids
    assert "BUR-UR.support_after_18.required" not in ids
    assert submit(env, h)["status"] == "submitted"


def live_failed(env, body):
    return failed_error_checks(ok(env.api.check(env.sbo, body))["checks"])


def test_barnets_lov_deadlines(env):
    on = planned()
    born = born_for_age(17, on)
    deadline16 = add_months(born, 16 * 12 + 3)  # Barnets Lov § 108
    deadline18 = add_months(born, 18 * 12 - 6)  # Barnets Lov § 111
    day = datetime.timedelta(days=1)
    body = note_body(born=born, on=on, placed=True)
    s = body["sections"]
    s["ungeplan"] = {"date": iso(deadline16), "text": "Afgørelse truffet på dagen for fristen."}
    s["support_after_18"] = {"date": iso(deadline18), "text": "Afgørelse truffet på fristen."}
    assert live_failed(env, body) == set()
    s["ungeplan"]["date"] = iso(deadline16 + day)
    assert live_failed(env, body) == {"BUR-UR.ungeplan.deadline"}
    s["ungeplan"] = {"empty_reason": "ikke truffet endnu",
                     "comment": "Afventer møde med den unge og forældrene i næste uge."}
    assert live_failed(env, body) == set()
    s["ungeplan"] = {"empty_reason": "ikke truffet endnu"}
    assert live_failed(env, body) == {"BUR-UR.ungeplan.deadline"}
    s["ungeplan"] = {"date": iso(deadline16), "text": "Afgørelse truffet."}
    s["support_after_18"]["date"] = iso(deadline18 + day)
    assert live_failed(env, body) == {"BUR-UR.support_after_18.deadline"}
    # The planned date in the past: advice while drafting, a block at submit.
    body = note_body(born=born, on=today() - day)
    h = create(env, body=body)
    c = check_by_id(h["checks"], "BUR-UR.planned_date.future")
    assert c is not None and c["passed"] is False and c["severity"] == "warning", c
    assert failed_error_checks(h["checks"]) == set()
    assert errors_of(env.api.act(env.sbo, h["id"], "submit")) == {
        ("planned_date", "BUR-UR.planned_date.future")}
    # Outside the route's age window (14-19) at the planned date.
    for age in (13, 20):
        h = create(env, body=note_body(age=age, on=on))
        assert errors_of(env.api.act(env.sbo, h["id"], "submit")) == {
            ("planned_date", "BUR-UR.planned_date.age")}, age
    # The CPR number and the birth date disagree.
    body = note_body(born=born, on=on)
    body["citizen"]["birthdate"] = iso(born + day)
    r = env.api.create(env.sbo, body)
    assert r.status_code in (201, 422), r.text
    if r.status_code == 201:
        assert "BUR-UR.citizen.birthdate" in failed_error_checks(r.json()["checks"])
    else:
        assert {e["field"] for e in r.json()["errors"]} & {"citizen.cpr", "citizen.birthdate"}


# --- explicit empty reasons ---------------------------------------------------------

EMPTY = [
    ("education_plan", "ikke relevant", True),
    ("education_plan", "ikke oplyst", True),
    ("ungeplan", "ikke truffet endnu", True),
    ("support_after_18", "ikke truffet endnu", True),
    ("education_plan", "borgeren ønsker det ikke oplyst", False),
    ("ungeplan", "ikke relevant", False),
    ("situation", "ikke relevant", False),
    ("youth_voice", "borgeren ønsker det ikke oplyst", False),
    ("consent", "ikke oplyst", False),
    ("goals", "ikke relevant", False),
    ("placed", "ikke oplyst", False),
    ("contingency", "", False),
]


@pytest.mark.parametrize("section,reason,allowed", EMPTY,
                         ids=[f"{s}-{r or 'blank'}" for s, r, _ in EMPTY])
def test_empty_reason(env, section, reason, allowed):
    value = {"empty_reason": reason, "comment": "Afventer møde med den unge i januar måned."}
    body = note_body(age=17, placed=True)
    body["sections"][section] = value
    if allowed:
        h = create(env, body=body)
        assert h["sections"][section] == value
        c = check_by_id(h["checks"], f"BUR-UR.{section}.required")
        assert c is None or c["passed"] is True, c
        assert failed_error_checks(h["checks"]) == set()
        assert submit(env, h)["sections"][section] == value
        return
    before = count(env, "handovers")
    body_ = problem(env.api.create(env.sbo, body), 422)
    assert any(e["field"].startswith(f"sections.{section}") for e in body_["errors"]), body_
    assert count(env, "handovers") == before
    # Refused on an edit too, and the note stays as it was.
    h = create(env)
    r = env.api.patch(env.sbo, h["id"], {"sections": {section: value}}, if_match=1)
    body_ = problem(r, 422)
    assert any(e["field"].startswith(f"sections.{section}") for e in body_["errors"]), body_
    assert as_answered(current(env, h["id"])) == as_answered(h)


def test_empty_reason_shape(env):
    h = create(env)
    for value in ({"empty_reason": "ikke relevant", "why": "x"},
                  {"empty_reason": 5},
                  {"empty_reason": "ikke relevant", "comment": 7}):
        r = env.api.patch(env.sbo, h["id"], {"sections": {"education_plan": value}}, if_match=1)
        problem(r, 400)
    assert as_answered(current(env, h["id"])) == as_answered(h)


def test_patch_merges_and_removes_sections(env):
    h = create(env, placed=False)
    hid = h["id"]
    h2 = note_ok(env.api.patch(env.sbo, hid, {"sections": {"education_plan": None}},
                               if_match=1))
    assert "education_plan" not in h2["sections"]
    assert {k: v for k, v in h["sections"].items() if k != "education_plan"} == h2["sections"]
    new_cpr = cpr_for(datetime.date.fromisoformat(h["citizen"]["birthdate"]))
    h3 = note_ok(env.api.patch(env.sbo, hid, {
        "citizen": {"cpr": new_cpr.replace("-", ""), "name": "Nyt Navn Jensen"},
        "receiver": {"unit": "UR", "person": env.akh.id}}, if_match=2))
    assert h3["citizen"]["cpr"] == masked(new_cpr) and h3["citizen"]["name"] == "Nyt Navn Jensen"
    assert current(env, hid)["citizen"]["cpr"] == new_cpr
    assert h3["receiver"] == {"unit": "UR", "person": env.akh.ref}
    assert h3["sections"] == h2["sections"]
    for b, field in (({"receiver": {"unit": "JC-UNG"}}, "receiver.unit"),
                     ({"receiver": {"unit": "UR", "person": env.kfr.id}}, "receiver.person"),
                     ({"citizen": {"cpr": "999999-9999", "name": "X"}}, "citizen.cpr")):
        problem(env.api.patch(env.sbo, hid, b, if_match=3), 422, field)
    assert as_answered(current(env, hid)) == as_answered(h3)
    problem(env.api.patch(env.sbo, hid, {"route": "GENERISK"}, if_match=3), 400, "route")
    assert as_answered(current(env, hid)) == as_answered(h3)


# --- alerts ------------------------------------------------------------------------


def recipients_of(rows, event):
    hits = [r for r in rows if r["event"] == event]
    assert len(hits) == 1, (event, rows)
    return hits[0]["recipients"]


def test_alert_addresses(env):
    extra = env.extra
    hoabs, hoback = extra["hoabs"], extra["hoback"]

    # Submitted, nobody named: the UR mailbox.
    h = in_state(env, "submitted")
    assert recipients_of(outbox(env, h["id"]), "submitted") == [
        {"email": UR_MAILBOX, "person": None, "unit": "UR", "deputy_for": None}]

    # A named receiver who is here: only them.
    h = create(env, receiver={"unit": "UR", "person": env.akh.id})
    submit(env, h)
    assert recipients_of(outbox(env, h["id"]), "submitted") == [
        {"email": env.akh.email, "person": env.akh.id, "unit": None, "deputy_for": None}]

    # A named receiver who is away: them and their deputy.
    h = create(env, receiver={"unit": "UR", "person": hoabs["id"]})
    submit(env, h)
    assert recipients_of(outbox(env, h["id"]), "submitted") == [
        {"email": "hoabs" + MAIL, "person": hoabs["id"], "unit": None, "deputy_for": None},
        {"email": env.akh.email, "person": env.akh.id, "unit": None,
         "deputy_for": hoabs["id"]}]

    # Back today (stafetAbsentUntil is today 00:00, the moment she is
    # back; counterpart resolution counts her available today): no deputy.
    assert hoback["absent"] is None, hoback  # GET /people: not away today
    assert hoabs["absent"] is not None, hoabs
    h = create(env, receiver={"unit": "UR", "person": hoback["id"]})
    submit(env, h)
    assert emails_of(recipients_of(outbox(env, h["id"]), "submitted")) == ["hoback" + MAIL]

    # An absent sender: the return and the acceptance reach the deputy too.
    hosnd, hbr = env.hosnd, env.hbr
    h = create(env, user=hosnd)
    assert h["sender"] == {"person": hosnd.ref, "unit": "BUR"}
    submit(env, h, user=hosnd)
    receive(env, h, user=env.akh)
    give_back(env, h, user=env.akh)
    note_ok(env.api.patch(hosnd, h["id"], {"sections": {
        "assessment": "En mere præcis vurdering af den unges behov og ressourcer."}},
        if_match=current(env, h["id"])["version"]))
    submit(env, h, user=hosnd)
    note_ok(env.api.act(env.mha, h["id"], "accept"))
    rows = outbox(env, h["id"])
    assert [r["event"] for r in rows] == ["submitted", "returned", "resubmitted", "accepted"]
    sender_and_deputy = [
        {"email": hosnd.email, "person": hosnd.id, "unit": None, "deputy_for": None},
        {"email": hbr.email, "person": hbr.id, "unit": None, "deputy_for": hosnd.id}]
    assert recipients_of(rows, "returned") == sender_and_deputy
    assert recipients_of(rows, "accepted") == sender_and_deputy
    # Resubmitted: the one who returned it (akh), not the one who accepted.
    assert emails_of(recipients_of(rows, "resubmitted")) == [env.akh.email]


def emails_of(recipients):
    return [r["email"] for r in recipients]


def test_no_alert_for_edits_reads_and_withdrawals(env):
    h = create(env)
    hid = h["id"]
    note_ok(env.api.patch(env.sbo, hid, {"planned_date": iso(planned(26))}, if_match=1))
    note_ok(env.api.act(env.sbo, hid, "withdraw"))
    assert outbox(env, hid) == []
    h = in_state(env, "returned")
    n = len(outbox(env, h["id"]))
    note_ok(env.api.patch(env.sbo, h["id"], {"planned_date": iso(planned(27))},
                          if_match=h["version"]))
    note_ok(env.api.get(env.mha, h["id"]))
    ok(env.api.history(env.mha, h["id"]))
    note_ok(env.api.act(env.sbo, h["id"], "withdraw", {"reason": "Lukket."}))
    assert len(outbox(env, h["id"])) == n == 2  # submitted, returned


# --- hostile input ---------------------------------------------------------------


def nested(depth):
    return ("[" * depth + "]" * depth).encode()


HOSTILE = [
    ("two-mib", b'{"sections": {"situation": "' + b"a" * (2 * 1024 * 1024) + b'"}}', 413,
     None),
    ("nested-40", b'{"sections": {"situation": ' + nested(38) + b"}}", 400, None),
    ("nested-40-in-goals", b'{"sections": {"goals": [' + nested(37) + b"]}}", 400, None),
    ("string-over-64k", json.dumps({"sections": {"situation": "a" * (64 * 1024 + 1)}}).encode(),
     400, None),
    ("string-over-64k-bytes", json.dumps({"sections": {"situation": "ø" * (33 * 1024)}},
                                         ensure_ascii=False).encode(), 400, None),
    ("invalid-utf8", b'{"sections": {"situation": "Den unge \xff\xfe er startet i skole."}}',
     400, None),
    ("overlong-utf8", b'{"sections": {"situation": "\xc0\xaf er startet i skole nu."}}', 400,
     None),
    ("nul", json.dumps({"sections": {"situation": "Den unge\u0000 er startet i skole."}})
     .encode(), 400, None),
    ("duplicate-key", b'{"planned_date": "2030-01-01", "planned_date": "2031-01-01"}', 400,
     None),
    ("malformed", b'{"sections": {"situation": ', 400, None),
    ("not-an-object", b'["sections"]', 400, None),
    ("null", b"null", 400, None),
    ("empty", b"", 400, None),
    ("unknown-top", json.dumps({"status": "accepted"}).encode(), 400, "status"),
    ("unknown-version", json.dumps({"version": 99, "planned_date": "2030-01-01"}).encode(), 400,
     "version"),
    ("unknown-section", json.dumps({"sections": {"notes": "fri tekst"}}).encode(), 400,
     "sections.notes"),
    ("unknown-goal-field", json.dumps({"sections": {"goals": [
        {"area": "bolig", "goal": "Eget værelse", "timeframe": "1 år", "priority": 1}]}})
     .encode(), 400, "sections.goals.0.priority"),
    ("unknown-citizen-field", json.dumps({"citizen": {"cpr": "150609-4123", "name": "X",
                                                      "phone": "12345678"}}).encode(), 400,
     "citizen.phone"),
    ("placed-string", json.dumps({"sections": {"placed": "ja"}}).encode(), 400,
     "sections.placed"),
    ("situation-number", json.dumps({"sections": {"situation": 42}}).encode(), 400,
     "sections.situation"),
    ("goals-string", json.dumps({"sections": {"goals": "alle fire"}}).encode(), 400,
     "sections.goals"),
    ("goal-not-object", json.dumps({"sections": {"goals": ["bolig"]}}).encode(), 400,
     "sections.goals.0"),
    ("action-due-number", json.dumps({"sections": {"actions": [
        {"action": "Møde", "owner": "BUR", "due": 20270101}]}}).encode(), 400,
     "sections.actions.0.due"),
    ("consent-list", json.dumps({"sections": {"consent": ["consent"]}}).encode(), 400,
     "sections.consent"),
    ("sections-string", json.dumps({"sections": "alt"}).encode(), 400, "sections"),
    ("planned-number", json.dumps({"planned_date": 20270101}).encode(), 400, "planned_date"),
    ("receiver-string", json.dumps({"receiver": "UR"}).encode(), 400, "receiver"),
    ("too-many-goals", json.dumps({"sections": {"goals": [
        {"area": "bolig", "goal": "g", "timeframe": "t"}] * 51}}).encode(), 400,
     "sections.goals"),
    ("text-over-template-max", json.dumps({"sections": {"situation": "a" * 20001}}).encode(),
     422, "sections.situation"),
    ("consent-basis-unknown", json.dumps({"sections": {"consent": {"basis": "whim"}}}).encode(),
     422, "sections.consent.basis"),
]


@pytest.mark.parametrize("case,data,status,field", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_edit_leaves_the_note_unchanged(env, case, data, status, field):
    h = create(env)
    hist = ok(env.api.history(env.sbo, h["id"]))
    try:
        r = env.api.patch(env.sbo, h["id"], data=data, if_match=1)
    except requests.ConnectionError:
        assert case == "two-mib", case
        r = None
    if r is not None:
        problem(r, status, field)
    assert requests.get(env.d.url + "/healthz", timeout=5).status_code == 200
    assert as_answered(current(env, h["id"])) == as_answered(h)
    assert ok(env.api.history(env.sbo, h["id"])) == hist
    assert count(env, "handover_versions", f"handover_id = '{h['id']}'") == 1


def _spliced(fragment):
    """A good POST /handovers body with the situation replaced by raw bytes."""
    body = note_body()
    body["sections"]["situation"] = "@@X@@"
    return json.dumps(body).encode().replace(b'"@@X@@"', fragment)


def _good_plus(**top):
    body = note_body()
    sections = top.pop("sections", {})
    body["sections"].update(sections)
    body.update(top)
    return json.dumps(body, ensure_ascii=False).encode()


CREATE_HOSTILE = [
    ("two-mib", lambda: _spliced(b'"' + b"a" * (2 * 1024 * 1024) + b'"'), 413),
    ("nested-40", lambda: _spliced(nested(38)), 400),
    ("string-over-64k", lambda: _spliced(b'"' + b"a" * (64 * 1024 + 1) + b'"'), 400),
    ("invalid-utf8", lambda: _spliced(b'"Den unge \xff\xfe er startet i skole."'), 400),
    ("unknown-top", lambda: _good_plus(status="accepted"), 400),
    ("unknown-section", lambda: _good_plus(sections={"notes": "fri tekst"}), 400),
    ("placed-string", lambda: _good_plus(sections={"placed": "ja"}), 400),
    ("null", lambda: b"null", 400),
    ("list", lambda: b"[" + json.dumps(note_body()).encode() + b"]", 400),
]


@pytest.mark.parametrize("case,make,status", CREATE_HOSTILE, ids=[c[0] for c in CREATE_HOSTILE])
def test_hostile_create_files_nothing(env, case, make, status):
    before = count(env, "handovers")
    try:
        r = env.api.request("POST", "/handovers", env.sbo, data=make())
        problem(r, status)
    except requests.ConnectionError:
        assert case == "two-mib"
    assert requests.get(env.d.url + "/healthz", timeout=5).status_code == 200
    assert count(env, "handovers") == before


def test_hostile_action_bodies(env):
    h = in_state(env, "received")
    hid = h["id"]
    for action, data, status in (
            ("accept", b'{"readback": 5}', 400),
            ("accept", b'{"readback": "ok", "score": 5}', 400),
            ("accept", b'{"readback": "\xff"}', 400),
            ("accept", b"[1]", 400),
            ("accept", json.dumps({"readback": "x" * 70000}).encode(), 400),
            ("withdraw", b'{"reason": ["x"]}', 400),
            ("forward", b'{"unit": "JC-UNG", "reason": "x", "person": "y"}', 400),
            ("return", b'{"flags": [' + nested(40) + b"]}", 400)):
        r = env.api.act(env.mha if action != "withdraw" else env.sbo, hid, action, data=data)
        problem(r, status)
        assert current(env, hid) == h, (action, data[:60])


# --- lists --------------------------------------------------------------------


def ids(items):
    return [i["id"] for i in items]


def walk(env, user, limit, **params):
    """Every page of a list; returns (all items, pages)."""
    items, pages, cursor = [], 0, None
    while True:
        p = dict(params, limit=limit)
        if cursor:
            p["cursor"] = cursor
        page = ok(env.api.list(user, **p))
        assert set(page) == {"items", "next_cursor"}
        assert len(page["items"]) <= limit
        items += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return items, pages
        assert isinstance(cursor, str) and cursor
        assert pages < 1000


def test_list_boxes_and_filters(env):
    api, sbo, mha = env.api, env.sbo, env.mha
    d1, d2, d3 = create(env), create(env), create(env)
    sub = in_state(env, "submitted")
    rec = in_state(env, "received")
    ret = in_state(env, "returned")
    wd = in_state(env, "withdrawn-draft")
    note_ok(api.patch(sbo, d1["id"], {"planned_date": iso(planned(24))}, if_match=1))

    def box(user, b=None, **params):
        params = dict(params, limit=500)
        if b:
            params["box"] = b
        return ok(api.list(user, **params))["items"]

    out_s, in_s, all_s = box(sbo, "outgoing"), box(sbo, "incoming"), box(sbo)
    out_m, in_m, all_m = box(mha, "outgoing"), box(mha, "incoming"), box(mha)
    mine = [d1, d2, d3, sub, rec, ret, wd]
    for h in mine:
        assert h["id"] in ids(out_s) and h["id"] in ids(all_s)
        assert h["id"] not in ids(in_s) and h["id"] not in ids(out_m)
    for h in (sub, rec, ret):
        assert h["id"] in ids(in_m) and h["id"] in ids(all_m)
    for h in (d1, d2, d3, wd):  # never submitted: not the receiving unit's
        assert h["id"] not in ids(in_m) and h["id"] not in ids(all_m)
    assert all(i["status"] != "draft" for i in in_m)
    assert all(i["sender"]["unit"] == "BUR" for i in out_s)
    assert all(i["receiver"]["unit"] == "UR" for i in in_m)
    assert len(ids(all_s)) == len(set(ids(all_s)))
    # A lead sees the unit's boxes.
    assert set(ids(box(env.pka, "outgoing"))) == set(ids(out_s))
    assert set(ids(box(env.kmo, "incoming"))) == set(ids(in_m))

    # Newest change first: d1 was edited last of the drafts.
    drafts = box(sbo, "outgoing", status="draft", route="BUR-UR")
    assert ids(drafts)[:3] == [d1["id"], d3["id"], d2["id"]]
    assert [i["updated_at"] for i in out_s] == sorted((i["updated_at"] for i in out_s),
                                                      reverse=True)
    db_order = env.db.query_json(
        "SELECT json_agg(id ORDER BY updated_at DESC, id DESC) FROM handovers "
        "WHERE sender_unit = 'BUR';")
    assert ids(out_s) == db_order[:500]

    # Filters.
    assert {i["status"] for i in box(sbo, "outgoing", status="returned")} == {"returned"}
    assert ret["id"] in ids(box(sbo, "outgoing", status="returned"))
    both = box(sbo, "outgoing", status="draft,withdrawn")
    assert {i["status"] for i in both} <= {"draft", "withdrawn"}
    assert {d2["id"], wd["id"]} <= set(ids(both))
    assert rec["id"] in ids(box(mha, "incoming", status="received"))
    assert rec["id"] not in ids(box(mha, "incoming", status="submitted"))
    assert {i["route"] for i in box(sbo, route="BUR-UR")} == {"BUR-UR"}
    assert box(sbo, route="GENERISK") == [] or \
        {i["route"] for i in box(sbo, route="GENERISK")} == {"GENERISK"}
    assert box(sbo, route="NOPE") == []

    # An item is the note without its sections, its checks only those that
    # did not pass (in the note's order), the CPR number masked.
    for h in mine:
        item = [i for i in all_s if i["id"] == h["id"]][0]
        note = current(env, h["id"])
        assert set(item) == HANDOVER_KEYS - {"sections"}, set(item) ^ HANDOVER_KEYS
        assert item["citizen"] == dict(note["citizen"], cpr=masked(note["citizen"]["cpr"]))
        assert item["checks"] == [c for c in note["checks"] if not c["passed"]], item["ref"]
        for k in set(item) - {"citizen", "checks"}:
            assert item[k] == note[k], (k, item[k], note[k])

    # Bad parameters.
    for params in ({"box": "sideways"}, {"box": "INCOMING"}, {"status": "bogus"},
                   {"status": "draft,bogus"}, {"limit": 0}, {"limit": 501}, {"limit": "abc"},
                   {"limit": -1}, {"limit": "2x"}, {"cursor": "garbage"}, {"cursor": ""},
                   {"cursor": "123.not-a-uuid"}, {"cursor": "x." + d1["id"]}, {"foo": "1"}):
        problem(api.list(sbo, **params), 400)
    assert ok(api.list(sbo, limit=1))["items"] and ok(api.list(sbo, limit=500))
    assert [a for a in env.db.query_json(
        "SELECT coalesce(json_agg(actor_username), '[]') FROM audit_log "
        "WHERE action = 'handover.list';") if a == "sbo"]


def test_list_items_escape_text_as_the_note_does(env):
    """The lists write their JSON in C straight from the columns (migration
    0014): text with quotes, backslashes, control characters and letters
    beyond ASCII comes out as the note's own view has it, in every box the
    note is in, for the sender, the receiver and a reader above."""
    odd = 'Åse "Ø" Ærø-\\Hansen\tny\nlinje \x01\x1f \U0001F600 /'
    body = note_body()
    body["citizen"]["name"] = odd
    h = create(env, body=body)
    h = submit(env, h)
    note = current(env, h["id"])
    assert note["citizen"]["name"] == odd
    for user, params in ((env.sbo, {"box": "outgoing"}), (env.sbo, {}),
                         (env.mha, {"box": "incoming"})):
        items = [i for i in walk(env, user, 500, **params)[0] if i["id"] == h["id"]]
        assert len(items) == 1, params
        item = items[0]
        assert item["citizen"]["name"] == odd
        assert item["citizen"]["cpr"] == masked(note["citizen"]["cpr"])
        assert item["checks"] == [c for c in note["checks"] if not c["passed"]]
        for k in set(item) - {"citizen", "checks", "access"}:
            assert item[k] == note[k], (k, item[k], note[k])


def test_list_pages(env):
    api, sbo, mha = env.api, env.sbo, env.mha
    for _ in range(3):
        in_state(env, "submitted")
    create(env)
    for user, params in ((sbo, {"box": "outgoing"}), (mha, {"box": "incoming"}), (sbo, {}),
                         (sbo, {"box": "outgoing", "status": "draft,submitted"})):
        full = ok(api.list(user, limit=500, **params))["items"]
        assert full and len(full) < 500
        assert ok(api.list(user, limit=500, **params))["next_cursor"] is None
        paged, pages = walk(env, user, 2, **params)
        assert ids(paged) == ids(full), params
        assert len(set(ids(paged))) == len(paged)
        assert pages == (len(full) + 1) // 2 or pages == len(full) // 2 + 1
    # A note filed between two pages does not shift the pages behind it.
    full = ok(api.list(sbo, box="outgoing", limit=500))["items"]
    first = ok(api.list(sbo, box="outgoing", limit=2))
    newer = create(env)
    rest, _ = walk(env, sbo, 2, box="outgoing")  # from the start, with the new one
    assert ids(rest)[0] == newer["id"]
    cursor = first["next_cursor"]
    tail = []
    while cursor:
        page = ok(api.list(sbo, box="outgoing", limit=2, cursor=cursor))
        tail += page["items"]
        cursor = page["next_cursor"]
    assert ids(first["items"]) + ids(tail) == ids(full)


NO_NOTE = "0b6f1f8e-2d4c-4e8a-9c3b-7a5d6e4f3c21"
BAD_PAGING = [("limit", "0"), ("limit", "501"), ("limit", "5x"), ("limit", ""),
              ("limit", "-1"), ("limit", "99999999999999999999999"),
              ("cursor", ""), ("cursor", "x"), ("cursor", ".%s" % NO_NOTE),
              ("cursor", "12a.%s" % NO_NOTE), ("cursor", "-5.%s" % NO_NOTE),
              ("cursor", "1234567890123456789.%s" % NO_NOTE), ("cursor", "1.not-a-uuid"),
              ("cursor", "1.%s." % NO_NOTE), ("cursor", "1." + "a" * 200)]


@pytest.mark.parametrize("field,value", BAD_PAGING)
def test_list_paging_malformed(env, field, value):
    """A page's limit and cursor are checked before any query: 400 naming
    the parameter (api/handovers.c answer_page_params, shared with the
    notices' list)."""
    problem(env.api.list(env.sbo, box="outgoing", **{field: value}), 400, field)


def test_list_status_param(env):
    """?status= names known statuses, comma-separated; an unknown one, or a
    list longer than the array it becomes, is a 400 naming the parameter
    (answer_statuses_param, shared with the notices' list); commas alone
    filter nothing."""
    sbo = env.sbo
    everything = ids(ok(env.api.list(sbo, box="outgoing", limit=500))["items"])
    assert ids(ok(env.api.list(sbo, box="outgoing", limit=500, status=",,"))["items"]) \
        == everything
    both = ok(env.api.list(sbo, box="outgoing", limit=500, status="submitted,returned"))
    assert {i["status"] for i in both["items"]} <= {"submitted", "returned"}
    for bad in ("deleted", "submitted,deleted", "Submitted", "submitted;returned",
                ",".join(["withdrawn"] * 20), "x" * 300):
        problem(env.api.list(sbo, box="outgoing", status=bad), 400, "status")


def test_list_cursor_of_eighteen_digits(env):
    """The largest key a cursor may hold is answered (no page behind it)."""
    page = ok(env.api.list(env.sbo, box="outgoing", cursor="1.%s" % NO_NOTE))
    assert page["items"] == [] and page["next_cursor"] is None
    page = ok(env.api.list(env.sbo, box="outgoing", cursor="9" * 18 + "." + NO_NOTE))
    assert page["next_cursor"] is None or page["items"]


# --- audit and append-only tables ----------------------------------------------------


def test_audit_log_rows(env):
    api, sbo, mha, akh = env.api, env.sbo, env.mha, env.akh
    h = create(env)
    hid = h["id"]
    note_ok(api.get(sbo, hid))
    note_ok(api.patch(sbo, hid, {"planned_date": iso(planned(23))}, if_match=1))
    submit(env, h)
    receive(env, h)                                   # mha: receive + read
    give_back(env, h)
    version = current(env, hid)["version"]            # sbo: read
    note_ok(api.patch(sbo, hid, {"planned_date": iso(planned(22))}, if_match=version))
    submit(env, h)
    note_ok(api.act(akh, hid, "accept"))
    ok(api.history(sbo, hid))
    changes = [("handover.create", sbo), ("handover.edit", sbo), ("handover.submit", sbo),
               ("handover.receive", mha), ("handover.return", mha), ("handover.edit", sbo),
               ("handover.submit", sbo), ("handover.accept", akh)]
    reads = [("handover.read", sbo), ("handover.read", mha), ("handover.read", sbo),
             ("handover.history", sbo)]
    want = len(changes) + len(reads)
    rows = wait_until(lambda: (lambda r: r if len(r) >= want else None)(audit_of(env, hid)),
                      what="every audit row of the note")
    got = [(r["action"], r["username"]) for r in rows]
    # Changes are written with the change, so in order; reads stand alone.
    assert [g for g in got if g[0] not in ("handover.read", "handover.history")] == \
        [(a, u.username) for a, u in changes], got
    assert sorted(got) == sorted([(a, u.username) for a, u in changes + reads]), got
    for r in rows:
        assert r["object_type"] == "handover"
        assert r["actor_id"] == {u.username: u.id for u in (sbo, mha, akh)}[r["username"]]
        assert r["address"] == "127.0.0.1"
    # The audit log holds no CPR number or name.
    text = env.db.psql(f"SELECT a::text FROM audit_log a WHERE object_id = '{hid}';")
    assert_no_personal_data(text, [current(env, hid)])


@pytest.mark.parametrize("table", ["handover_events", "handover_versions", "audit_log"])
def test_app_role_cannot_rewrite_history(env, table):
    h = in_state(env, "submitted")
    hid = h["id"]
    col = "object_id" if table == "audit_log" else "handover_id"
    cast = "" if table == "audit_log" else "::uuid"
    where = f"{col} = '{hid}'{cast}"
    before = count(env, table, where)
    assert before >= 2
    set_ = "detail = 'x'" if table == "audit_log" else (
        "action = 'x'" if table == "handover_events" else "status = 'accepted'")
    for sql in (f"UPDATE {table} SET {set_} WHERE {where};",
                f"DELETE FROM {table} WHERE {where};",
                f"TRUNCATE {table} CASCADE;"):
        r = env.db.psql_as_owner(sql, check=False)
        assert r.returncode != 0, (sql, r.stdout, r.stderr)
    assert count(env, table, where) == before
    assert note_ok(env.api.get(env.mha, hid))["status"] == "received"  # the daemon still writes
    assert count(env, table, where) > before


# --- last: the outbox as a whole -------------------------------------------------------


def test_outbox_never_holds_personal_data(env):
    rows = env.db.query_json("SELECT coalesce(json_agg(o::text ORDER BY id), '[]') FROM outbox o;")
    assert rows, "the suite wrote no alerts"
    notes = env.db.query_json(
        "SELECT json_agg(json_build_object('citizen', citizen, 'sections', sections)) "
        "FROM handovers;")
    assert_no_personal_data("\n".join(rows), notes)
    assert not re.search(r"\b\d{6}-?\d{4}\b", "\n".join(rows)), "a CPR-shaped number"
    # Nor does the daemon's log.
    log = env.d.log()
    assert_no_personal_data(log, notes)
    assert not re.search(r"\b\d{6}-\d{4}\b", log), "a CPR-shaped number in the log"
    events = env.db.query_json("SELECT json_agg(DISTINCT event) FROM outbox;")
    assert set(events) <= {"submitted", "resubmitted", "returned", "accepted", "forwarded"}
    # One alert per alert-worthy transition, for every note of the suite.
    per_note = env.db.query_json(
        "SELECT json_agg(json_build_object('id', h.id, 'alerts', "
        "(SELECT count(*) FROM outbox o WHERE o.handover_id = h.id), 'steps', "
        "(SELECT count(*) FROM handover_events e WHERE e.handover_id = h.id "
        "AND e.action IN ('submit', 'return', 'accept', 'forward')))) FROM handovers h;")
    for row in per_note:
        assert row["alerts"] == row["steps"], row
