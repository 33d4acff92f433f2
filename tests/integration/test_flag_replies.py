"""The sending side's reply to a flag: POST
/api/v1/handovers/{id}/flags/{index}/reply (API.md "Version 1.1"; issue 20,
"Flag beside the text").

While a BUR->UR note is returned, Søren Bøgh (sbo, BUR) answers a flag in
a sentence; the answer is stored with the flag, shown in the note's
`flags` as `reply` ({"text", "by", "at"} or null) to both sides, kept
when the note is resubmitted (the flag resolved), and recorded as a change
of the note: a version, an event `reply` with the reply in its detail, and
the audit row `handover.reply`.

Who may: the sending unit (its caseworker and its lead); the receiving
side gets 403; the leads above either side, who read the note, and anyone
else get 404, the very answer a note that does not exist gets, before the
body or If-Match is judged. Only a returned note (409 otherwise, naming the
state), only a flag of the latest return (409 for a resolved one, 404 for
one the note does not have), If-Match required (428 without, 412 stale).
Bodies: `text` of 1 to 2000 characters, not blank, no control characters
but tab and line breaks (422 in Danish), a string (400), no other field
(400). Every refusal changes nothing."""

import json

import pytest
import requests

from tests.integration.handover_helpers import Api, User, note_body, note_ok, problem
from tests.integration.test_counterparts import start_module_daemon
from tests.integration.test_directory import wait_until

LOGINS = ["sbo", "pka", "mha", "kmo", "tlo", "ojo", "lbk", "aiv"]
FLAGS = [{"section": "goals", "kind": "missing", "comment": "Målet for bolig mangler en tidsramme."},
         {"section": "assessment", "kind": "imprecise",
          "comment": "Vurderingen siger ikke, hvad der skal ske først."}]
REPLY = "Tidsrammen er tilføjet: senest 1. august, når uddannelsen starter."
NOWHERE = "0b6f1f8e-2d4c-4e8a-9c3b-7a5d6e4f3c21"


class Env:
    def __init__(self, d, db, users):
        self.d, self.db, self.users = d, db, users
        self.api = Api(d)

    def __getattr__(self, name):
        try:
            return self.users[name]
        except KeyError:
            raise AttributeError(name) from None


@pytest.fixture(scope="module")
def env(pg, slapd, tmp_path_factory):
    d, db = start_module_daemon(pg, slapd, tmp_path_factory.mktemp("flag_replies"))
    try:
        users = {u: User(d, u) for u in LOGINS}
        e = Env(d, db, users)
        wait_until(lambda: e.api.template(users["sbo"]).status_code == 200,
                   what="the routes and templates loaded")
        yield e
    finally:
        d.stop()


# --- notes and requests ------------------------------------------------------------------


def returned(env, flags=FLAGS):
    """A fresh BUR-UR note filed by sbo, received and returned by mha."""
    h = note_ok(env.api.create(env.sbo, note_body()), 201)
    note_ok(env.api.act(env.sbo, h["id"], "submit"))
    note_ok(env.api.get(env.mha, h["id"]))
    out = note_ok(env.api.act(env.mha, h["id"], "return", {"flags": flags}))
    assert out["status"] == "returned"
    return out


def reply(env, user, hid, index, body=None, if_match=None, data=None, ctype=None):
    """POST .../flags/{index}/reply; if_match None sends none, an int its tag."""
    h = dict(user.headers)
    if if_match is not None:
        h["If-Match"] = f'"{if_match}"' if isinstance(if_match, int) else if_match
    if body is not None:
        data = json.dumps(body, ensure_ascii=False).encode()
    if data is not None:
        h["Content-Type"] = ctype or "application/json"
    return requests.post(f"{env.d.url}/api/v1/handovers/{hid}/flags/{index}/reply",
                         headers=h, data=data, timeout=30)


def state_of(env, hid):
    """The note's version and flags' replies, straight from the database
    (a read through the API would be audited, and receive the note)."""
    return env.db.query_json(
        "SELECT json_build_object('version', version, 'status', status, 'replies', "
        f"(SELECT json_agg(reply_text ORDER BY id) FROM handover_flags "
        f"WHERE handover_id = '{hid}'), 'audit', (SELECT count(*) FROM audit_log "
        f"WHERE object_id = '{hid}')) FROM handovers WHERE id = '{hid}';")


def without_instance(r):
    body = r.json()
    body.pop("instance", None)
    return r.status_code, body


# --- the story -------------------------------------------------------------------------------


def test_sender_replies_and_the_receiver_reads_it(env):
    """sbo replies to the first flag: the note stays returned at a new
    version, the reply is beside that flag only, mha reads it there, the
    history has it as an event and a version, the audit log as
    handover.reply. A second reply replaces the first; after the resubmit
    the flag is resolved and keeps its reply."""
    h = returned(env)
    hid, v = h["id"], h["version"]
    assert [f["reply"] for f in h["flags"]] == [None, None]
    r = reply(env, env.sbo, hid, 0, {"text": REPLY}, if_match=v)
    out = note_ok(r)
    assert out["status"] == "returned" and out["version"] == v + 1, out
    assert out["citizen"]["cpr"].endswith("-XXXX"), out["citizen"]
    got = out["flags"][0]["reply"]
    assert set(got) == {"text", "by", "at"}, got
    assert got["text"] == REPLY
    assert got["by"] == env.sbo.ref, got
    assert got["at"] == out["updated_at"], (got, out["updated_at"])
    assert out["flags"][1]["reply"] is None
    assert out["flags"][0]["comment"] == FLAGS[0]["comment"] and not out["flags"][0]["resolved"]

    seen = note_ok(env.api.get(env.mha, hid))
    assert seen["flags"][0]["reply"] == got and seen["flags"][1]["reply"] is None

    hist = env.api.history(env.mha, hid).json()
    ev = [e for e in hist["events"] if e["action"] == "reply"]
    assert len(ev) == 1, hist["events"]
    assert ev[0]["from"] == "returned" and ev[0]["to"] == "returned", ev
    assert ev[0]["version"] == v + 1 and ev[0]["by"] == env.sbo.ref, ev
    assert ev[0]["detail"] == {"flag": 0, "section": "goals", "reply": REPLY}, ev
    assert [x["action"] for x in hist["versions"] if x["version"] == v + 1] == ["reply"]
    audit = env.db.query_json(
        "SELECT json_agg(json_build_array(actor_username, detail)) FROM audit_log "
        f"WHERE action = 'handover.reply' AND object_id = '{hid}';")
    assert audit == [["sbo", h["ref"]]], audit

    # a new reply replaces the one before; the history keeps both
    second = "Tidsrammen er rettet igen: senest 15. august."
    out = note_ok(reply(env, env.sbo, hid, 0, {"text": second}, if_match=v + 1))
    assert out["flags"][0]["reply"]["text"] == second and out["version"] == v + 2
    hist = env.api.history(env.sbo, hid).json()
    assert [e["detail"]["reply"] for e in hist["events"] if e["action"] == "reply"] == [
        REPLY, second]

    # the second flag by BUR's lead
    out = note_ok(reply(env, env.pka, hid, 1, {"text": "Første skridt er nu beskrevet."},
                        if_match=out["version"]))
    assert out["flags"][1]["reply"]["by"] == env.pka.ref

    # fixed and resubmitted: the flags resolved, their replies kept
    out = note_ok(env.api.act(env.sbo, hid, "submit"))
    assert all(f["resolved"] for f in out["flags"]), out["flags"]
    seen = note_ok(env.api.get(env.mha, hid))
    assert seen["status"] == "received"
    assert [f["reply"]["text"] for f in seen["flags"]] == [second,
                                                          "Første skridt er nu beskrevet."]


def test_star_and_multibyte_limit(env):
    """If-Match * matches any version; 2000 characters of two bytes each
    are a reply, 2001 are not; line breaks and tabs are kept, and a
    hostile-looking text is stored as the text it is."""
    h = returned(env)
    hid = h["id"]
    out = note_ok(reply(env, env.sbo, hid, 0, {"text": "ø" * 2000}, if_match="*"))
    assert out["flags"][0]["reply"]["text"] == "ø" * 2000
    body = problem(reply(env, env.sbo, hid, 0, {"text": "ø" * 2001}, if_match=out["version"]),
                   422, "text", "too_long")
    assert "2000" in body["errors"][0]["message"]
    text = "Linje 1\n\tLinje 2 <script>alert(1)</script> ' OR 1=1 -- \"; DROP TABLE x;"
    out = note_ok(reply(env, env.sbo, hid, 1, {"text": text}, if_match=out["version"]))
    assert out["flags"][1]["reply"]["text"] == text


# --- who may ------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["mha", "kmo"])
def test_receiving_side_gets_403(env, who):
    h = returned(env)
    before = state_of(env, h["id"])
    body = problem(reply(env, env.users[who], h["id"], 0, {"text": REPLY},
                         if_match=h["version"]), 403)
    assert body["detail"] == "Kun den afsendende enhed kan svare på en markering."
    assert state_of(env, h["id"]) == before


@pytest.mark.parametrize("who", ["tlo", "ojo", "lbk", "aiv"])
def test_leads_above_and_others_get_404_as_if_nowhere(env, who):
    """The leads above each side read the note but act on nothing; a
    sibling unit's caseworker and another department's see nothing. For
    all of them every request, benign or hostile, is the 404 of a note
    that does not exist."""
    h = returned(env)
    user = env.users[who]
    if who in ("tlo", "ojo"):
        assert env.api.get(user, h["id"]).json()["access"] == "read"
    before = state_of(env, h["id"])
    tries = [({"text": REPLY}, h["version"]), ({"text": REPLY}, None), ({}, h["version"]),
             ({"text": 5}, "garbage"), ({"text": "x" * 3000, "more": 1}, 999)]
    for body, tag in tries:
        for index in (0, 7):
            r = reply(env, user, h["id"], index, body, if_match=tag)
            problem(r, 404)
            assert without_instance(r) == without_instance(
                reply(env, user, NOWHERE, index, body, if_match=tag)), (who, body, tag)
    assert state_of(env, h["id"]) == before


def test_a_draft_is_404_to_the_receiving_side(env):
    h = note_ok(env.api.create(env.sbo, note_body()), 201)
    r = reply(env, env.mha, h["id"], 0, {"text": REPLY}, if_match=1)
    problem(r, 404)
    assert without_instance(r) == without_instance(
        reply(env, env.mha, NOWHERE, 0, {"text": REPLY}, if_match=1))


def test_a_deleted_draft_is_404_to_its_sender(env):
    """A draft deleted (DELETE, soft: its row stays for the audit) is a
    note that does not exist, for a reply as for every other call."""
    h = note_ok(env.api.create(env.sbo, note_body()), 201)
    r = requests.delete(f"{env.d.url}/api/v1/handovers/{h['id']}", timeout=30,
                        headers=dict(env.sbo.headers, **{"If-Match": f'"{h["version"]}"'}))
    assert r.status_code == 204, r.text
    r = reply(env, env.sbo, h["id"], 0, {"text": REPLY}, if_match=h["version"] + 1)
    problem(r, 404)
    assert without_instance(r) == without_instance(
        reply(env, env.sbo, NOWHERE, 0, {"text": REPLY}, if_match=h["version"] + 1))


# --- state, flag, version ----------------------------------------------------------------------


def test_only_a_returned_note(env):
    """Draft, submitted, received, accepted, withdrawn: 409 naming the
    state, and nothing changes."""
    api, sbo, mha = env.api, env.sbo, env.mha
    draft = note_ok(api.create(sbo, note_body()), 201)
    sub = note_ok(api.create(sbo, note_body()), 201)
    note_ok(api.act(sbo, sub["id"], "submit"))
    rec = note_ok(api.create(sbo, note_body()), 201)
    note_ok(api.act(sbo, rec["id"], "submit"))
    note_ok(api.get(mha, rec["id"]))
    acc = returned(env)
    note_ok(api.act(sbo, acc["id"], "submit"))
    note_ok(api.get(mha, acc["id"]))
    note_ok(api.act(mha, acc["id"], "accept"))
    wd = returned(env)
    note_ok(api.act(sbo, wd["id"], "withdraw"))
    for h, status in ((draft, "draft"), (sub, "submitted"), (rec, "received"),
                      (acc, "accepted"), (wd, "withdrawn")):
        before = state_of(env, h["id"])
        assert before["status"] == status
        body = problem(reply(env, sbo, h["id"], 0, {"text": REPLY}, if_match="*"), 409)
        assert f"status {status} (" in body["detail"], body
        assert state_of(env, h["id"]) == before


def test_flags_of_an_earlier_return_and_missing_flags(env):
    """Returned twice: the first return's flag is resolved (409), the
    second's is answered; a place with no flag is 404, and so is an index
    that is not a plain number."""
    api, sbo, mha = env.api, env.sbo, env.mha
    h = returned(env, FLAGS[:1])
    note_ok(api.act(sbo, h["id"], "submit"))
    note_ok(api.get(mha, h["id"]))
    h = note_ok(api.act(mha, h["id"], "return", {"flags": FLAGS[1:]}))
    assert [f["resolved"] for f in h["flags"]] == [True, False]
    before = state_of(env, h["id"])
    body = problem(reply(env, sbo, h["id"], 0, {"text": REPLY}, if_match=h["version"]), 409)
    assert "tidligere returnering" in body["detail"], body
    body = problem(reply(env, sbo, h["id"], 2, {"text": REPLY}, if_match=h["version"]), 404)
    assert body["detail"] == "Notatet har ingen sådan markering."
    for index in ("01", "-1", "x", "10000", "1.0", "1e0"):
        r = reply(env, sbo, h["id"], index, {"text": REPLY}, if_match=h["version"])
        assert r.status_code == 404, (index, r.status_code, r.text)
    assert state_of(env, h["id"]) == before
    out = note_ok(reply(env, sbo, h["id"], 1, {"text": REPLY}, if_match=h["version"]))
    assert out["flags"][1]["reply"]["text"] == REPLY and out["flags"][0]["reply"] is None


def test_if_match(env):
    """Required (428 without); stale or weak 412; unreadable 400."""
    h = returned(env)
    hid, v = h["id"], h["version"]
    before = state_of(env, hid)
    body = problem(reply(env, env.sbo, hid, 0, {"text": REPLY}), 428)
    assert "If-Match" in body["detail"]
    problem(reply(env, env.sbo, hid, 0, {"text": REPLY}, if_match=v - 1), 412)
    problem(reply(env, env.sbo, hid, 0, {"text": REPLY}, if_match=v + 5), 412)
    problem(reply(env, env.sbo, hid, 0, {"text": REPLY}, if_match=f'W/"{v}"'), 412)
    problem(reply(env, env.sbo, hid, 0, {"text": REPLY}, if_match="garbage"), 400)
    assert state_of(env, hid) == before
    # the version just read goes through
    note_ok(reply(env, env.sbo, hid, 0, {"text": REPLY}, if_match=v))


BAD_BODIES = [
    # (body or raw bytes, Content-Type, status, field, code)
    ({}, None, 422, "text", "required"),
    ({"text": None}, None, 422, "text", "required"),
    ({"text": ""}, None, 422, "text", "required"),
    ({"text": " \n\t "}, None, 422, "text", "required"),
    ({"text": "x" * 2001}, None, 422, "text", "too_long"),
    ({"text": "Klokken\u0007ringer"}, None, 422, "text", "invalid"),
    ({"text": "Escape\u001b[31m"}, None, 422, "text", "invalid"),
    ({"text": 5}, None, 400, "text", "type"),
    ({"text": ["x"]}, None, 400, "text", "type"),
    ({"text": {"a": 1}}, None, 400, "text", "type"),
    ({"text": REPLY, "flag": 0}, None, 400, None, None),
    ([], None, 400, None, None),
    ([{"text": REPLY}], None, 400, None, None),
    (b'"text"', None, 400, None, None),
    (b"{", None, 400, None, None),
    (b'{"text": "\xff\xfe"}', None, 400, None, None),
    (b'{"text": "a", "text": "b"}', None, 400, None, None),
    (b"", None, 400, None, None),
    (b'{"text": "x"}', "text/plain", 415, None, None),
]


@pytest.mark.parametrize("body,ctype,status,field,code", BAD_BODIES,
                         ids=[str(i) for i in range(len(BAD_BODIES))])
def test_bad_bodies(env, body, ctype, status, field, code):
    """Each refused in Danish where a caseworker reads it, nothing changed."""
    h = returned(env) if not hasattr(env, "_bad") else env._bad
    env._bad = h
    before = state_of(env, h["id"])
    if isinstance(body, bytes):
        r = reply(env, env.sbo, h["id"], 0, if_match=h["version"], data=body,
                  ctype=ctype or "application/json")
    else:
        r = reply(env, env.sbo, h["id"], 0, body, if_match=h["version"], ctype=ctype)
    b = problem(r, status, field, code)
    if status == 422:
        assert b["errors"][0]["message"] in (
            "Skriv et svar på markeringen (højst 2000 tegn).",
            "Svaret må ikke indeholde styretegn."), b
    assert state_of(env, h["id"]) == before
