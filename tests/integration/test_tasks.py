"""What needs me, and drafts (API.md 1.1 "Drafts, tasks"; issue 20):
GET /api/v1/handovers?box=drafts, DELETE /api/v1/handovers/{id} and
GET /api/v1/me/tasks against a real stafetd, slapd with the demo
directory, and PostgreSQL.

The people, from the demo directory: BUR sends (sbo, hbr; pka leads it),
UR receives (mha, akh; kmo leads it); tlo leads BUF above BUR and ojo
leads BSF above UR (they read masked and act on nothing); lbk (BUR-H) and
kfr (JC-UNG) are elsewhere. One daemon serves the module; every test files
notes of its own and looks only at those (by id), so the tests do not
depend on each other's notes."""

import datetime
import re
import uuid

import pytest
import requests

from tests.integration.handover_helpers import (
    Api, User, add_years, citizen_for, iso, note_body, note_ok, ok, planned, problem, today)
from tests.harness.stafetd import has_test_clock
from tests.integration.test_auth import assert_problem
from tests.integration.test_counterparts import start_module_daemon
from tests.integration.test_directory import wait_until

LOGINS = ["sbo", "hbr", "pka", "tlo", "mha", "akh", "kmo", "ojo", "lbk", "kfr"]
KINDS = ["to_fix", "to_receive", "drafts", "due_soon"]
COUNT_KEYS = {"to_receive", "to_fix", "drafts", "due_soon", "notices_to_acknowledge"}
ITEM_KEYS = {"kind", "handover_id", "ref", "route", "due", "title"}
RANK = {"to_fix": 0, "to_receive": 1, "drafts": 2}
FLAGS = [{"section": "goals", "kind": "missing", "comment": "Målet for bolig mangler."}]
NOWHERE = str(uuid.uuid4())


class Env:
    def __init__(self, d, db, users):
        self.d, self.db, self.users, self.api = d, db, users, Api(d)
        self.citizens = []  # every citizen the module filed a note for

    def __getattr__(self, name):
        users = self.__dict__.get("users", {})
        if name in users:
            return users[name]
        raise AttributeError(name)


@pytest.fixture(scope="module")
def env(pg, slapd, tmp_path_factory):
    d, db = start_module_daemon(pg, slapd, tmp_path_factory.mktemp("tasks"),
                                reminder_interval="1s")
    try:
        users = {u: User(d, u) for u in LOGINS}
        e = Env(d, db, users)
        wait_until(lambda: e.api.template(users["sbo"]).status_code == 200,
                   what="the routes and templates loaded")
        yield e
    finally:
        d.stop()


# --- helpers ----------------------------------------------------------------------------


def create(env, user=None, on=None):
    body = note_body(on=on or planned(40))
    env.citizens.append(dict(body["citizen"]))
    return note_ok(env.api.create(user or env.sbo, body), 201)


def submitted(env, on=None, user=None):
    h = create(env, user, on)
    return note_ok(env.api.act(user or env.sbo, h["id"], "submit"))


def returned(env, on=None):
    h = submitted(env, on)
    note_ok(env.api.get(env.mha, h["id"]))
    return note_ok(env.api.act(env.mha, h["id"], "return", {"flags": FLAGS}))


def delete(env, user, hid, if_match=None, headers=None):
    h = {} if if_match is None else {"If-Match": if_match if isinstance(if_match, str)
                                     else f'"{if_match}"'}
    h.update(headers or {})
    return env.api.request("DELETE", "/handovers/" + hid, user, headers=h)


def box(env, user, name, **params):
    """Every item of a box, all pages."""
    params = dict(params, box=name)
    params.setdefault("limit", 500)
    items = []
    while True:
        out = ok(env.api.list(user, **params))
        items += out["items"]
        if not out["next_cursor"]:
            return items
        params["cursor"] = out["next_cursor"]


def ids(items):
    return [i["id"] for i in items]


def tasks(env, user):
    r = env.api.request("GET", "/me/tasks", user)
    out = ok(r)
    assert set(out) == {"counts", "items"}, out.keys()
    assert set(out["counts"]) == COUNT_KEYS, out["counts"]
    for i in out["items"]:
        assert set(i) == ITEM_KEYS, i
        assert i["kind"] in KINDS, i
    return out


def task_of(out, hid):
    hits = [i for i in out["items"] if i["handover_id"] == hid]
    assert len(hits) <= 1, hits
    return hits[0] if hits else None


def without_instance(r):
    body = r.json()
    body.pop("instance", None)
    return r.status_code, body


def assert_as_missing(env, call, hid):
    """call(id)'s answer for hid is a 404, the very answer a note that does
    not exist gets."""
    r, nowhere = call(hid), call(NOWHERE)
    assert_problem(r, 404)
    assert without_instance(r) == without_instance(nowhere), (r.text, nowhere.text)


def version_rows(env, hid):
    return env.db.query_json(
        "SELECT json_agg(json_build_object('version', version, 'action', action, "
        f"'status', status) ORDER BY version) FROM handover_versions WHERE handover_id = '{hid}';")


def audit_count(env, action, hid):
    return env.db.query_json(
        f"SELECT count(*) FROM audit_log WHERE action = '{action}' AND object_id = '{hid}';")


# --- box=drafts ---------------------------------------------------------------------------


def test_drafts_box_holds_only_the_callers_own_drafts_newest_change_first(env):
    d1 = create(env)
    d2 = create(env)
    other = create(env, env.hbr)          # a colleague's, same unit
    lead = create(env, env.pka)           # the unit's lead's own
    sent = submitted(env)                 # no longer a draft
    mine = ids(box(env, env.sbo, "drafts"))
    assert d2["id"] in mine and d1["id"] in mine
    assert mine.index(d2["id"]) < mine.index(d1["id"]), "newest change first"
    assert other["id"] not in mine and lead["id"] not in mine and sent["id"] not in mine
    # a change moves a draft to the top
    note_ok(env.api.patch(env.sbo, d1["id"], {"planned_date": iso(planned(41))},
                          if_match=d1["version"]))
    mine = ids(box(env, env.sbo, "drafts"))
    assert mine.index(d1["id"]) < mine.index(d2["id"])
    assert other["id"] in ids(box(env, env.hbr, "drafts"))
    assert d1["id"] not in ids(box(env, env.hbr, "drafts"))
    assert lead["id"] in ids(box(env, env.pka, "drafts"))
    assert d1["id"] not in ids(box(env, env.pka, "drafts"))
    # nobody else has them: the lead above, the receiving side, other units
    for u in (env.tlo, env.ojo, env.mha, env.kmo, env.lbk, env.kfr):
        assert not {d1["id"], d2["id"], other["id"]} & set(ids(box(env, u, "drafts"))), u
    # every item is a draft, created by the caller, in the outgoing shape
    out = {i["id"]: i for i in box(env, env.sbo, "outgoing")}
    for i in box(env, env.sbo, "drafts"):
        assert i["status"] == "draft" and i["sender"]["person"]["id"] == env.sbo.id, i
        assert i == out[i["id"]], (i, out[i["id"]])
    # the outgoing box still shows the unit's drafts, as before
    assert other["id"] in out


def test_drafts_box_pages_with_limit_and_cursor(env):
    made = [create(env, env.hbr) for _ in range(3)]
    whole = ids(box(env, env.hbr, "drafts"))
    paged, params = [], {"box": "drafts", "limit": 2}
    while True:
        page = ok(env.api.list(env.hbr, **params))
        assert len(page["items"]) <= 2
        paged += ids(page["items"])
        if not page["next_cursor"]:
            break
        params["cursor"] = page["next_cursor"]
    assert paged == whole and len(set(paged)) == len(paged)
    assert [m["id"] for m in reversed(made)] == [x for x in whole if x in
                                                 {m["id"] for m in made}]
    # filters combine with the box
    assert ids(box(env, env.hbr, "drafts", status="submitted")) == []
    assert set(ids(box(env, env.hbr, "drafts", route="BUR-UR"))) >= {m["id"] for m in made}


# --- DELETE ---------------------------------------------------------------------------------


def test_delete_needs_if_match_and_the_current_version(env):
    h = create(env)
    problem(delete(env, env.sbo, h["id"]), 428)
    problem(delete(env, env.sbo, h["id"], "nonsense"), 400)
    problem(delete(env, env.sbo, h["id"], h["version"] + 1), 412)
    problem(delete(env, env.sbo, h["id"], f'W/"{h["version"]}"'), 412)
    edited = note_ok(env.api.patch(env.sbo, h["id"], {"planned_date": iso(planned(42))},
                                   if_match=h["version"]))
    problem(delete(env, env.sbo, h["id"], h["version"]), 412)   # stale now
    assert env.api.get(env.sbo, h["id"]).status_code == 200     # nothing happened
    r = delete(env, env.sbo, h["id"], edited["version"])
    assert r.status_code == 204 and r.content == b"", (r.status_code, r.text)


def test_a_deleted_draft_is_gone_but_its_versions_are_kept(env):
    h = create(env)
    before = version_rows(env, h["id"])
    assert [v["action"] for v in before] == ["create"]
    assert h["id"] in ids(box(env, env.sbo, "drafts"))
    assert task_of(tasks(env, env.sbo), h["id"]) is not None
    r = delete(env, env.sbo, h["id"], h["version"])
    assert r.status_code == 204, r.text
    sbo = env.sbo
    assert_as_missing(env, lambda i: env.api.get(sbo, i), h["id"])
    assert_as_missing(env, lambda i: env.api.history(sbo, i), h["id"])
    assert_as_missing(env, lambda i: env.api.patch(sbo, i, {"planned_date": None},
                                                   if_match=h["version"] + 1), h["id"])
    assert_as_missing(env, lambda i: env.api.act(sbo, i, "submit"), h["id"])
    assert_as_missing(env, lambda i: delete(env, sbo, i, "*"), h["id"])
    for name in ("drafts", "outgoing", None):
        listed = box(env, env.sbo, name) if name else ok(env.api.list(env.sbo,
                                                                      limit=500))["items"]
        assert h["id"] not in ids(listed), name
    for u in (env.sbo, env.pka, env.hbr):
        assert task_of(tasks(env, u), h["id"]) is None
    # kept for the audit: the versions (one more records the deletion),
    # the events and an audit row
    after = version_rows(env, h["id"])
    assert after[:1] == before and [v["action"] for v in after] == ["create", "delete"]
    assert after[1]["status"] == "deleted"
    events = env.db.query_json(
        "SELECT json_agg(json_build_object('action', action, 'to', to_status) ORDER BY id) "
        f"FROM handover_events WHERE handover_id = '{h['id']}';")
    assert events == [{"action": "create", "to": "draft"}, {"action": "delete", "to": "deleted"}]
    assert audit_count(env, "handover.delete", h["id"]) == 1
    row = env.db.query_json(
        "SELECT json_build_object('status', status, 'deleted', deleted_at IS NOT NULL, "
        f"'cpr', citizen->>'cpr') FROM handovers WHERE id = '{h['id']}';")
    assert row == {"status": "draft", "deleted": True, "cpr": env.citizens[-1]["cpr"]}


def test_delete_refuses_a_note_that_is_no_draft(env):
    for h in (submitted(env), returned(env)):
        r = delete(env, env.sbo, h["id"], h["version"])
        body = problem(r, 409)
        assert h["status"] in body["detail"] and "Kun en kladde kan slettes" in body["detail"]
        assert env.api.get(env.sbo, h["id"]).status_code == 200
    w = create(env)
    w = note_ok(env.api.act(env.sbo, w["id"], "withdraw", {"reason": "Fejl."}))
    assert "withdrawn" in problem(delete(env, env.sbo, w["id"], "*"), 409)["detail"]


def test_who_may_not_delete_gets_the_answer_a_missing_note_gets(env):
    h = create(env)
    # before If-Match is judged: no If-Match, a stale one, a good one alike
    for u in (env.mha, env.kmo, env.tlo, env.ojo, env.lbk, env.kfr):
        for im in (None, 999, h["version"]):
            assert_as_missing(env, lambda i: delete(env, u, i, im), h["id"])
    assert env.api.get(env.sbo, h["id"]).status_code == 200
    # the receiving side sees a sent note but does not delete: 403 (then 409 for sbo)
    s = submitted(env)
    assert "afsendende" in problem(delete(env, env.mha, s["id"], s["version"]), 403)["detail"]
    assert_as_missing(env, lambda i: delete(env, env.tlo, i, s["version"]), s["id"])
    # the sending unit may, its lead included
    r = delete(env, env.pka, h["id"], h["version"])
    assert r.status_code == 204, r.text
    assert audit_count(env, "handover.delete", h["id"]) == 1
    assert env.db.query_json(
        f"SELECT to_json(actor_username) FROM audit_log WHERE action = 'handover.delete' "
        f"AND object_id = '{h['id']}';") == "pka"


def test_deleting_gives_up_the_drafts_unsent_alerts_and_reminders(env):
    soon = today() + datetime.timedelta(days=2)
    h = create(env, on=soon)
    env.db.psql(
        "INSERT INTO outbox (handover_id, event, audience, recipients, message_id) VALUES "
        f"('{h['id']}', 'draft_due', '[]', '[]', '<{uuid.uuid4()}@test>');")
    assert delete(env, env.sbo, h["id"], "*").status_code == 204
    assert env.db.query_json(
        "SELECT json_agg(state) FROM outbox WHERE handover_id = "
        f"'{h['id']}' AND event = 'draft_due' AND message_id LIKE '%@test>';") == ["dead"]
    # a draft alive beside it gets its draft_due reminder; the deleted one
    # none written after its deletion
    alive = create(env, on=soon)
    wait_until(lambda: env.db.query_json(
        f"SELECT count(*) FROM reminders WHERE handover_id = '{alive['id']}';"),
        timeout=30, what="the live draft's reminder")
    assert env.db.query_json(
        "SELECT count(*) FROM reminders r JOIN handovers h ON h.id = r.handover_id "
        f"WHERE h.id = '{h['id']}' AND r.created_at > h.deleted_at;") == 0


# --- GET /me/tasks ---------------------------------------------------------------------------


def assert_ordered(out):
    """The documented order: the items due within the horizon (counted in
    counts.due_soon) first, earliest due first; then by kind (to_fix,
    to_receive, drafts), each earliest due first, undated last."""
    items, n = out["items"], out["counts"]["due_soon"]
    if len(items) >= 200:
        n = min(n, len(items))
    head, rest = items[:n], items[n:]
    dues = [i["due"] for i in head]
    assert all(dues) and dues == sorted(dues), head
    assert all(i["kind"] != "due_soon" for i in rest), rest
    ranks = [RANK[i["kind"]] for i in rest]
    assert ranks == sorted(ranks), rest
    for i in rest:
        assert i["due"] is None or not dues or i["due"] > dues[-1], (i, dues[-1])
        assert i["due"] is None or i["due"] >= iso(today()), i
    for k in RANK:
        kd = [i["due"] for i in rest if i["kind"] == k]
        dated = [x for x in kd if x]
        assert dated == sorted(dated) and kd == dated + [None] * (len(kd) - len(dated)), kd


def assert_counts(out):
    if len(out["items"]) < 200:
        for k in ("to_fix", "to_receive", "drafts"):
            assert out["counts"][k] == sum(i["kind"] == k for i in out["items"]), (k, out)
    assert out["counts"]["notices_to_acknowledge"] == 0


def test_tasks_for_the_sender_receiver_and_everyone_else(env):
    to_receive = submitted(env)
    to_fix = returned(env)
    draft = create(env)
    colleague_draft = create(env, env.hbr)
    per_user = {u: tasks(env, env.users[u]) for u in LOGINS}
    for u, out in per_user.items():
        assert_counts(out)
        assert_ordered(out)
    kind = {u: {h["id"]: (task_of(out, h["id"]) or {}).get("kind")
                for h in (to_receive, to_fix, draft, colleague_draft)}
            for u, out in per_user.items()}
    # the receiving unit (caseworkers and lead) receives; not the sender
    for u in ("mha", "akh", "kmo"):
        assert kind[u][to_receive["id"]] == "to_receive", u
        assert kind[u][draft["id"]] is None and kind[u][colleague_draft["id"]] is None, u
        # the returned note waits for the sender; 40 days ahead it is not due soon
        assert kind[u][to_fix["id"]] is None, u
    # the sending unit fixes; only the author has the draft
    for u in ("sbo", "hbr", "pka"):
        assert kind[u][to_fix["id"]] == "to_fix", u
        assert kind[u][to_receive["id"]] is None, u
    assert kind["sbo"][draft["id"]] == "drafts" and kind["sbo"][colleague_draft["id"]] is None
    assert kind["hbr"][colleague_draft["id"]] == "drafts" and kind["hbr"][draft["id"]] is None
    assert kind["pka"][draft["id"]] is None
    # the leads above and other units: nothing
    for u in ("tlo", "ojo", "lbk", "kfr"):
        assert set(kind[u].values()) == {None}, (u, kind[u])
    # the items: ref, route and due as the note says, titles with names
    t = task_of(per_user["mha"], to_receive["id"])
    assert t["ref"] == to_receive["ref"] and t["route"] == "BUR-UR"
    assert t["title"] == "Modtag overdragelse fra Børn- og Ungerådgivningen", t
    assert t["due"] is not None and t["due"] <= to_receive["planned_date"]
    t = task_of(per_user["sbo"], to_fix["id"])
    assert t["title"] == "Ret notatet, som Ungerådgivningen har sendt retur", t
    t = task_of(per_user["sbo"], draft["id"])
    assert t["title"] == "Kladde til Ungerådgivningen" and t["due"] == draft["planned_date"], t
    # a received note is still to decide on
    note_ok(env.api.get(env.akh, to_receive["id"]))
    t = task_of(tasks(env, env.mha), to_receive["id"])
    assert t["kind"] == "to_receive"
    assert t["title"] == "Tag stilling til overdragelse fra Børn- og Ungerådgivningen", t
    # decided: no task for anyone
    note_ok(env.api.act(env.mha, to_receive["id"], "accept"))
    for u in ("mha", "kmo", "sbo"):
        assert task_of(tasks(env, env.users[u]), to_receive["id"]) is None, u


def test_due_soon_and_overdue_come_first(env):
    soon = submitted(env, on=today() + datetime.timedelta(days=3))
    late = submitted(env)
    env.db.psql("UPDATE handovers SET planned_date = current_date - 7 "
                f"WHERE id = '{late['id']}';")
    far = submitted(env, on=planned(60))
    out = tasks(env, env.sbo)
    assert_counts(out)
    assert_ordered(out)
    s, lt = task_of(out, soon["id"]), task_of(out, late["id"])
    assert s["kind"] == "due_soon" and s["due"] == soon["planned_date"], s
    assert re.fullmatch(r"Planlagt overdragelse (i dag|om \d+ (arbejds)?dage?)", s["title"]), s
    assert lt["kind"] == "due_soon" and lt["due"] == iso(today() - datetime.timedelta(days=7))
    assert re.fullmatch(r"Planlagt overdragelse var for \d+ (arbejds)?dage? siden", lt["title"])
    assert task_of(out, far["id"]) is None, "sent, waiting and far off: no task for sbo"
    order = [i["handover_id"] for i in out["items"]]
    assert order.index(late["id"]) < order.index(soon["id"])
    assert out["counts"]["due_soon"] >= 2
    # for the receiving side the same notes are to receive, due as soon
    out = tasks(env, env.mha)
    assert_ordered(out)
    assert task_of(out, soon["id"])["kind"] == "to_receive"
    assert task_of(out, soon["id"])["due"] <= soon["planned_date"]
    assert task_of(out, late["id"])["due"] == iso(today() - datetime.timedelta(days=7))
    order = [i["handover_id"] for i in out["items"]]
    assert order.index(late["id"]) < order.index(soon["id"])
    assert out["items"][0]["due"] <= iso(today() - datetime.timedelta(days=7))


def test_the_18th_birthday_is_a_due_date_on_routes_that_have_one(env):
    """BUR-H's route to the adult side (months_before_18): a draft for a
    citizen who turns 18 in five days is due on the birthday, before its
    planned date; a BUR-UR draft for the same citizen is due on its
    planned date only."""
    born = add_years(today() + datetime.timedelta(days=5), -18)
    citizen = citizen_for(born)
    env.citizens.append(dict(citizen))
    on = iso(planned(60))
    burh = note_ok(env.api.create(env.lbk, {"route": "BURH-AEHF", "citizen": citizen,
                                             "planned_date": on}), 201)
    t = task_of(tasks(env, env.lbk), burh["id"])
    assert t["kind"] == "drafts" and t["due"] == iso(add_years(born, 18)), t
    assert t["title"] == "Kladde til Voksenhandicap", t
    out = tasks(env, env.lbk)
    assert_ordered(out)
    assert out["counts"]["due_soon"] >= 1
    other = citizen_for(born)
    env.citizens.append(dict(other))
    bur = note_ok(env.api.create(env.sbo, {"route": "BUR-UR", "citizen": other,
                                            "planned_date": on}), 201)
    assert task_of(tasks(env, env.sbo), bur["id"])["due"] == on


def test_no_title_names_the_citizen(env):
    submitted(env)
    returned(env)
    create(env)
    secrets = set()
    for c in env.citizens:
        secrets |= {c["name"], *c["name"].split(), c["cpr"], c["cpr"].replace("-", ""),
                    c["cpr"][:6]}
    for u in LOGINS:
        out = tasks(env, env.users[u])
        for i in out["items"]:
            for s in secrets:
                assert s not in i["title"], (u, s, i)
            assert not re.search(r"\d{6}", i["title"]), i
            assert not re.search(r"\b(BUR|UR|BUR-UR|null|None|undefined)\b", i["title"]), i


def test_at_most_200_items_and_the_counts_count_all(env):
    """205 drafts of kfr's (written straight into the database as copies of
    a note, each changed a minute apart): the tasks list 200 of them, the
    newest change first, and count 205; box=drafts pages through all."""
    seed = create(env)
    env.db.psql(
        "INSERT INTO handovers (id, ref, route, template, template_version, status, version, "
        "sender_person, sender_unit, receiver_unit, citizen, birthdate, planned_date, "
        "created_at, updated_at) SELECT gen_random_uuid(), 'STF-TEST-' || lpad(g::text, 6, '0'), "
        "route, template, template_version, 'draft', 1, "
        f"'{env.kfr.id}', 'JC-UNG', receiver_unit, citizen, birthdate, NULL, "
        "now() - g * interval '1 minute', now() - g * interval '1 minute' "
        f"FROM handovers, generate_series(1, 205) AS g WHERE id = '{seed['id']}';")
    try:
        out = tasks(env, env.kfr)
        assert out["counts"]["drafts"] == 205, out["counts"]
        assert len(out["items"]) == 200
        assert {i["kind"] for i in out["items"]} == {"drafts"}
        refs = [i["ref"] for i in out["items"]]
        assert refs == ["STF-TEST-%06d" % g for g in range(1, 201)], refs[:5]
        assert all(i["title"] == "Kladde til Ungerådgivningen" and i["due"] is None
                   for i in out["items"])
        listed = box(env, env.kfr, "drafts", limit=50)
        assert [i["ref"] for i in listed] == ["STF-TEST-%06d" % g for g in range(1, 206)]
    finally:
        env.db.psql(f"UPDATE handovers SET deleted_at = now() WHERE sender_person = "
                    f"'{env.kfr.id}' AND ref LIKE 'STF-TEST-%';")
    assert tasks(env, env.kfr)["counts"]["drafts"] == 0


def test_a_weekend_between_is_told_in_days(pg, slapd, tmp_path):
    """A due date with no working day between it and today: on a Friday a
    note planned for the Saturday is due "om 1 dag" (not "i dag", nor in
    working days: there are none); on the Sunday it was "for 1 dag siden".
    The daemon's own clock is moved (a test build: build/asan/stafetd, as
    make check runs it; skipped on another build), so its own daemon."""
    if not has_test_clock():
        pytest.skip("needs a test build's clock (make check runs build/asan/stafetd)")
    d, _ = start_module_daemon(pg, slapd, tmp_path, reminder_interval="86400s")
    try:
        friday = today() + datetime.timedelta(days=7)
        friday += datetime.timedelta(days=(4 - friday.weekday()) % 7)
        saturday = friday + datetime.timedelta(days=1)
        d.set_date(iso(friday))
        api = Api(d)
        sbo = User(d, "sbo")
        wait_until(lambda: api.template(sbo).status_code == 200,
                   what="the routes and templates loaded")
        h = note_ok(api.create(sbo, note_body(on=saturday)), 201)
        h = note_ok(api.act(sbo, h["id"], "submit"))

        def title_on(day):
            d.set_date(iso(day))
            user = User(d, "sbo")
            out = ok(api.request("GET", "/me/tasks", user))
            t = [i for i in out["items"] if i["handover_id"] == h["id"]]
            assert len(t) == 1 and t[0]["kind"] == "due_soon", out
            assert t[0]["due"] == iso(saturday), t
            return t[0]["title"]
        assert title_on(friday) == "Planlagt overdragelse om 1 dag"
        assert title_on(saturday) == "Planlagt overdragelse i dag"
        assert title_on(saturday + datetime.timedelta(days=1)) == \
            "Planlagt overdragelse var for 1 dag siden"
    finally:
        d.stop()


# --- hostile and malformed input ---------------------------------------------------------------


def test_malformed_requests_are_answered_cleanly(env):
    sbo = env.sbo
    problem(env.api.request("GET", "/me/tasks?box=drafts", sbo), 400, "box")
    problem(env.api.request("GET", "/me/tasks?%ff=1", sbo), 400)
    problem(env.api.list(sbo, box="Drafts"), 400, "box")
    problem(env.api.list(sbo, box="drafts", limit="0"), 400, "limit")
    problem(env.api.list(sbo, box="drafts", cursor="x.y"), 400, "cursor")
    problem(env.api.list(sbo, box="drafts", status="deleted"), 400, "status")
    r = requests.get(env.d.url + "/api/v1/me/tasks", timeout=10)
    assert_problem(r, 401)
    r = requests.delete(env.d.url + "/api/v1/handovers/" + NOWHERE, timeout=10)
    assert_problem(r, 401)
    h = env.api.request("HEAD", "/me/tasks", sbo)
    assert h.status_code == 200 and h.content == b""
    for bad in ("not-a-uuid", NOWHERE.upper()[:35], "..%2Fsession", "%00", "x" * 300):
        r = delete(env, sbo, bad, "*")
        assert r.status_code in (404, 400), (bad, r.status_code, r.text)
        assert_problem(r, r.status_code)
    d = create(env)
    problem(env.api.request("DELETE", f"/handovers/{d['id']}?force=1", sbo,
                            headers={"If-Match": "*"}), 400)
    problem(delete(env, sbo, d["id"], '"1'), 400)
    problem(delete(env, sbo, d["id"], '"0"'), 400)
    problem(delete(env, sbo, d["id"], '"-1"'), 400)
    r = env.api.request("DELETE", f"/handovers/{d['id']}/history", sbo,
                        headers={"If-Match": "*"})
    assert_problem(r, 405)
    assert env.api.get(sbo, d["id"]).status_code == 200, "nothing above deleted it"
    # a body is ignored, and the draft goes
    r = env.api.request("DELETE", "/handovers/" + d["id"], sbo, json_body={"x": 1},
                        headers={"If-Match": "*"})
    assert r.status_code == 204, r.text
