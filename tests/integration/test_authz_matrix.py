"""The authorization matrix: every endpoint the router serves, tried as
every role, each answer compared with the table below (written from
API.md, the contract; DESIGN.md "Security" where API.md is silent).

Roles (the demo directory, tests/fixtures/demo.ldif):

- anonymous: no session at all;
- other_unit: kfr, a caseworker of JC-UNG (neither side of the notes);
- sender: sbo, a caseworker of BUR, the sending unit of route BUR-UR;
- receiver: mha, a caseworker of UR, the receiving unit;
- quality: lkj, in the quality group (and lead of ÆHF, no side of the notes);
- admin: mxadm, a caseworker of JC-SYG in the admin group. The demo's own
  admins (ano, tda) sit in BSF, above UR, so they act for the receiving
  unit; the module adds this neutral admin to the shared slapd (removed
  afterwards) so the column shows what the admin role itself grants;
- lead: tlo, lead of BUF, the department above the sending unit (leads act
  for the units below them; the API has no lead-only endpoint);
- department: yst, a caseworker of BUF who leads nothing: a person acts
  for their own unit and every unit below it (stafetd(8), access.c), so
  yst acts for BUR like its own caseworkers. (So do the demo's admins ano
  and tda, of BSF, for UR: by their unit, not by the admin group.)

Every note of the module is on BUR-UR (BUR to UR). A note-scoped endpoint
is tried on a note in each state (draft, submitted, received, returned,
accepted, withdrawn). A cell is either denied (401, 403, 404), an allowed
side's refusal of the state (409), or success (2xx). Denied and 409 cells
run on the module's shared notes, and the database is compared before and
after: such a request changes nothing. Success cells that change things
run on fresh notes (and a fresh session, outbox row), so the order of the
tests does not matter.

The table must cover every path and method of the served /openapi.json and
of daemon/router.c: a new endpoint without a row fails
test_table_covers_every_endpoint.

Also here: dead tokens (expired, idle, logged out, never issued) are 401
on every authenticated endpoint; a state-changing request authenticated by
the session cookie without our Origin is 403 and changes nothing (with our
Origin it is answered as by Bearer); the lists and the quality report show
the notes only to those who may see them; a forward hands the note over
(the former receiving unit gets 404) and never goes to the sending side.

One daemon (its own database) serves the module: 313 tests, 30 s on the
normal build (75 s when the machine is busy), 2 to 3 minutes with the
ASan build or under valgrind."""

import hashlib
import json
import os
import re
import secrets

import pytest
import requests

from tests.integration.handover_helpers import (
    Api, User, note_body, planned)
from tests.harness.stafetd import Stafetd
from tests.integration.conftest import Database
from tests.integration.test_auth import (
    ADMIN_GROUP, assert_problem, auth_settings, bearer, login, ready)
from tests.integration.test_directory import wait_until

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WRAPPED = bool(os.environ.get("STAFETD_WRAPPER", "").strip())
TIMEOUT = 120 if WRAPPED else 30
BASE = "dc=stafet,dc=example"
PEOPLE = "ou=people," + BASE

ROLES = ["anonymous", "other_unit", "sender", "receiver", "quality", "admin", "lead",
         "department"]
USERS = {"other_unit": "kfr", "sender": "sbo", "receiver": "mha", "quality": "lkj",
         "admin": "mxadm", "lead": "tlo", "department": "yst"}
NEUTRAL_ADMIN = ("mxadm", "Mads", "Xadmin", "JC-SYG", "BSF")
STATES = ["draft", "submitted", "received", "returned", "accepted", "withdrawn"]
FORWARD_TO = "VSR"  # no unit of kfr, lkj, mxadm, tlo or yst
DENIED = (401, 403, 404)

# --- the table -------------------------------------------------------------------------
#
# A cell is a status code, or for note-scoped endpoints a row of six codes,
# one per state in STATES order (a note's states as the sender sees them).
#
# From API.md: everything under /api/v1 but POST /session needs a session
# (401); resources one may not see are 404, not 403 (so other units, the
# quality role and admins get 404 for every note: DESIGN.md "Security" lets
# quality see aggregates only); the sending unit edits, submits, withdraws;
# the receiving unit returns, accepts, forwards; a transition the state
# machine does not allow is 409. Where API.md is silent, the daemon's
# sensible behaviour (listed in the report of issue 10 part 5):
# - a draft is the sender's own: the receiving unit gets 404 until it is
#   submitted;
# - the receiving side calling a sender's action, or the sending side a
#   receiver's, on a note it may see is 403 (API.md: who, not the code);
# - filing a note on a route one is not the sending unit of is 403 (the
#   routes themselves are public to every user);
# - leads act for the units they lead and everything below, and everyone
#   for their own unit and everything below: tlo and yst (BUF) for BUR,
#   like its caseworkers;
# - the audit log and the outbox are admins' (404 for the rest, as for
#   anything one may not see).

ANON_401 = {"anonymous": 401}


def everyone(code):
    return {r: code for r in ROLES}


def users(code, **others):
    """Every authenticated role `code`, anonymous 401, others as given."""
    t = {r: code for r in ROLES}
    t.update(ANON_401)
    t.update(others)
    return t


def notes(sender, receiver):
    """A note-scoped row: the three neutral roles 404, anonymous 401; the
    lead and the department above the sending unit act as its sender."""
    return {"anonymous": 401, "other_unit": 404, "quality": 404, "admin": 404,
            "sender": sender, "receiver": receiver, "lead": sender, "department": sender}


#                      draft submitted received returned accepted withdrawn
SENDER_READS = "       200   200       200      200      200      200"
RECEIVER_READS = "     404   200       200      200      200      200"
SENDER_EDITS = "       200   409       409      200      409      409"
RECEIVER_ON_SENDERS = "404   403       403      403      403      403"
SENDER_WITHDRAWS = "   200   200       200      200      409      409"
RECEIVER_DECIDES = "   404   200       200      409      409      409"
SENDER_ON_RECEIVERS = "403   403       403      403      403      403"

TABLE = {
    # operations and the web UI: no authentication
    "GET /healthz": everyone(200),
    "GET /readyz": everyone(200),
    "GET /metrics": everyone(200),
    "GET /openapi.json": everyone(200),
    "GET /": everyone(200),
    # session: logging in needs no session; each role logs itself in
    "POST /api/v1/session": everyone(201),
    "DELETE /api/v1/session": users(204),
    "GET /api/v1/me": users(200),
    "GET /api/v1/me/alerts": users(200),
    "PUT /api/v1/me/alerts": users(200),
    # the admins'
    "GET /api/v1/audit": users(404, admin=200),
    "GET /api/v1/outbox": users(404, admin=200),
    "POST /api/v1/outbox/{id}/retry": users(404, admin=200),
    # directory (directory_anonymous_read is off)
    "GET /api/v1/people": users(200),
    "GET /api/v1/people/{id}": users(200),
    "GET /api/v1/units": users(200),
    "GET /api/v1/units/{code}": users(200),
    "GET /api/v1/routes": users(200),
    "POST /api/v1/counterparts": users(200),
    # handovers: any user
    "GET /api/v1/templates/{route}": users(200),
    "POST /api/v1/handovers/check": users(200),
    "GET /api/v1/handovers": users(200),
    "GET /api/v1/reports/quality": users(200),
    # filing: the route's sending unit (and those above it)
    "POST /api/v1/handovers": users(403, sender=201, lead=201, department=201),
    # one note
    "GET /api/v1/handovers/{id}": notes(SENDER_READS, RECEIVER_READS),
    "GET /api/v1/handovers/{id}/history": notes(SENDER_READS, RECEIVER_READS),
    "PATCH /api/v1/handovers/{id}": notes(SENDER_EDITS, RECEIVER_ON_SENDERS),
    "POST /api/v1/handovers/{id}/submit": notes(SENDER_EDITS, RECEIVER_ON_SENDERS),
    "POST /api/v1/handovers/{id}/withdraw": notes(SENDER_WITHDRAWS, RECEIVER_ON_SENDERS),
    "POST /api/v1/handovers/{id}/return": notes(SENDER_ON_RECEIVERS, RECEIVER_DECIDES),
    "POST /api/v1/handovers/{id}/accept": notes(SENDER_ON_RECEIVERS, RECEIVER_DECIDES),
    "POST /api/v1/handovers/{id}/forward": notes(SENDER_ON_RECEIVERS, RECEIVER_DECIDES),
}

PUBLIC = {"GET /healthz", "GET /readyz", "GET /metrics", "GET /openapi.json", "GET /",
          "POST /api/v1/session"}
# GETs with a side effect: the receiving unit's first read receives the note
CHANGING_GETS = {"GET /api/v1/handovers/{id}"}
# what a successful action leaves the note in
LEADS_TO = {"submit": "submitted", "return": "returned", "accept": "accepted",
            "withdraw": "withdrawn", "forward": "submitted"}
RETURN_FLAGS = [{"section": "goals", "kind": "missing",
                 "comment": "Målet for bolig mangler en tidsramme."}]
ACTION_BODIES = {
    "submit": None,
    "return": {"flags": RETURN_FLAGS},
    "accept": {"readback": "Modtaget og læst."},
    "withdraw": {"reason": "Sagen er lukket."},
    "forward": {"unit": FORWARD_TO, "reason": "Den unge hører til Voksen Social."},
}


def is_note_scoped(endpoint):
    return "/handovers/{id}" in endpoint


def cell(endpoint, role):
    """{state: code} for a note-scoped endpoint, else the code."""
    c = TABLE[endpoint][role]
    if is_note_scoped(endpoint):
        if isinstance(c, int):
            return {s: c for s in STATES}
        codes = [int(x) for x in c.split()]
        assert len(codes) == len(STATES), (endpoint, role, c)
        return dict(zip(STATES, codes))
    return c


def split(endpoint):
    method, path = endpoint.split(" ", 1)
    return method, path


CASES = [(e, r) for e in TABLE for r in ROLES]


# --- the module's world ----------------------------------------------------------------


def admin_ldif():
    uid, given, sn, unit, dept = NEUTRAL_ADMIN
    person = "\n".join([
        f"dn: uid={uid},{PEOPLE}", "changetype: add",
        "objectClass: inetOrgPerson", "objectClass: stafetPerson",
        f"uid: {uid}", f"cn: {given} {sn}", f"sn: {sn}", f"givenName: {given}",
        f"displayName: {given} {sn}", "title: Systemadministrator",
        f"stafetUnitCode: {unit}", f"stafetDepartment: {dept}",
        f"mail: {uid}@stafet.example", "userPassword: demo"]) + "\n"
    group = (f"dn: {ADMIN_GROUP}\nchangetype: modify\nadd: member\n"
             f"member: uid={uid},{PEOPLE}\n")
    return person, group


def remove_admin(slapd):
    uid = NEUTRAL_ADMIN[0]
    slapd.ldapmodify(f"dn: {ADMIN_GROUP}\nchangetype: modify\ndelete: member\n"
                     f"member: uid={uid},{PEOPLE}\n", check=False)
    slapd.ldapmodify(f"dn: uid={uid},{PEOPLE}\nchangetype: delete\n", check=False)


class Anonymous:
    username = None
    headers = {}
    id = None

    def __repr__(self):
        return "Anonymous"


class World:
    def __init__(self, d, db):
        self.d, self.db = d, db
        self.api = Api(d)
        self.users = {}
        self.notes = {}  # state -> the shared note's id
        self.people_id = None

    def user(self, role):
        return Anonymous() if role == "anonymous" else self.users[role]

    # --- the database, as the superuser ---------------------------------------------

    def digest(self):
        """Everything a request could change, but the sessions' idle clocks
        (and sessions already ended, which the janitor sweeps)."""
        return self.db.query_json(
            "SELECT json_build_object("
            "'handovers', (SELECT coalesce(json_agg(json_build_array(id, version, status, "
            "  receiver_unit, receiver_person, updated_at) ORDER BY id), '[]') FROM handovers), "
            "'versions', (SELECT count(*) FROM handover_versions), "
            "'events', (SELECT count(*) FROM handover_events), "
            "'outbox', (SELECT coalesce(json_agg(json_build_array(id, state, attempts, "
            "  next_attempt_at) ORDER BY id), '[]') FROM outbox), "
            "'prefs', (SELECT coalesce(json_agg(json_build_array(person_id, digest) "
            "  ORDER BY person_id), '[]') FROM alert_preferences), "
            # the janitor may sweep ended sessions at any time
            "'sessions', (SELECT coalesce(json_agg(id ORDER BY id), '[]') FROM sessions "
            "  WHERE expires_at > now() AND last_seen_at > now() - interval '1 day'), "
            "'audit', (SELECT count(*) FROM audit_log));")

    def dead_outbox_row(self):
        """A fresh dead outbox row (a note's alert given up on)."""
        h = self.note_in("submitted")
        ids = self.db.query_json(
            "WITH u AS (UPDATE outbox SET state = 'dead', attempts = 5, "
            "last_error = '550 test: given up' "
            f"WHERE handover_id = '{h}' RETURNING id) SELECT json_agg(id) FROM u;")
        assert ids, "the submitted note has no alert in the outbox"
        return ids[0]

    # --- notes --------------------------------------------------------------------------

    def note_in(self, state):
        """A fresh BUR-UR note (filed by sbo) brought to `state` by sbo and mha."""
        api, sbo, mha = self.api, self.users["sender"], self.users["receiver"]
        r = api.create(sbo, note_body(on=planned()))
        assert r.status_code == 201, r.text
        hid = r.json()["id"]
        if state == "draft":
            return hid
        steps = [(sbo, "submit", None)]
        if state == "withdrawn":
            steps.append((sbo, "withdraw", ACTION_BODIES["withdraw"]))
        elif state in ("received", "returned", "accepted"):
            steps.append((mha, "GET", None))
            if state == "returned":
                steps.append((mha, "return", ACTION_BODIES["return"]))
            elif state == "accepted":
                steps.append((mha, "accept", ACTION_BODIES["accept"]))
        for user, action, body in steps:
            r = api.get(user, hid) if action == "GET" else api.act(user, hid, action, body)
            assert r.status_code == 200, (state, action, r.status_code, r.text)
        assert self.status(hid) == state
        return hid

    def note(self, hid):
        """The note as its sender sees it (a sender's read changes nothing)."""
        r = self.api.get(self.users["sender"], hid)
        assert r.status_code == 200, r.text
        return r.json()

    def version(self, hid):
        """The note's version from the database (a read by API would be audited)."""
        return self.db.query_json(f"SELECT version FROM handovers WHERE id = '{hid}';")

    def status(self, hid):
        return self.note(hid)["status"]

    # --- one request -----------------------------------------------------------------

    def call(self, endpoint, role, state=None, headers=None, fresh=False, method=None):
        """Sends `endpoint` as `role`. For a note-scoped endpoint, on the
        shared note in `state`, or a fresh one when `fresh`. Returns
        (response, context) where context names what was acted on."""
        m, path = split(endpoint)
        m = method or m
        user = self.user(role)
        h = dict(user.headers)
        h.update(headers or {})
        body, ctx = None, {}
        if is_note_scoped(endpoint):
            hid = self.note_in(state) if fresh else self.notes[state]
            ctx["note"] = hid
            path = path.replace("{id}", hid)
            action = endpoint.rsplit("/", 1)[1]
            if m == "PATCH":
                h["If-Match"] = '"%d"' % self.version(hid)
                body = {"sections": {"contingency": "Hvis den unge udebliver, så ring til "
                                                    "forældrene samme dag (rettet)."}}
            elif action in ACTION_BODIES:
                body = ACTION_BODIES[action]
        elif endpoint == "POST /api/v1/session":
            body = {"username": user.username or "sbo", "password": "demo"}
        elif endpoint == "DELETE /api/v1/session" and fresh and role != "anonymous":
            token = login_token(self.d, user.username)
            ctx["token"] = token
            h.update(bearer(token) if "Cookie" not in h else {"Cookie": "stafet_session=" + token})
        elif endpoint == "PUT /api/v1/me/alerts":
            body = {"digest": True}
        elif endpoint == "POST /api/v1/outbox/{id}/retry":
            oid = self.dead_outbox_row() if fresh else self.shared_dead
            ctx["outbox"] = oid
            path = path.replace("{id}", str(oid))
        elif endpoint == "GET /api/v1/people/{id}":
            path = path.replace("{id}", self.people_id)
        elif endpoint == "GET /api/v1/units/{code}":
            path = path.replace("{code}", "UR")
        elif endpoint == "GET /api/v1/templates/{route}":
            path = path.replace("{route}", "BUR-UR")
        elif endpoint == "POST /api/v1/counterparts":
            body = {"route": "BUR-UR", "citizen": {"birthdate": "2008-03-14"},
                    "date": "2026-02-15"}
        elif endpoint in ("POST /api/v1/handovers", "POST /api/v1/handovers/check"):
            body = note_body(on=planned())
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        r = requests.request(m, self.d.url + path, headers=h, data=data, timeout=TIMEOUT,
                             allow_redirects=False)
        return r, ctx


def login_token(d, username):
    r = login(d, username)
    assert r.status_code == 201, (username, r.status_code, r.text)
    return r.json()["token"]


def start_daemon(pg, slapd, tmp):
    """test_counterparts.start_module_daemon with a wrapper's patience:
    login on, its own database, the routes read every 0.5 s, and no
    reminder tick in the middle of a before/after comparison."""
    db = Database(pg, tmp)
    settings = auth_settings(tmp, slapd.uri, routes_reload_interval="0.5s",
                             reminder_interval="86400s")
    if WRAPPED:
        settings["db_connect_timeout"] = "30s"
    settings.update(db.settings())
    d = Stafetd(tmp / "stafetd", settings)
    d.migrate()
    d.start(wait=False)
    try:
        d.wait_healthy(timeout=120 if WRAPPED else 20)
        wait_until(lambda: ready(d), timeout=120 if WRAPPED else 20,
                   what="stafetd ready (database and first snapshot)")
    except BaseException:
        d.stop()
        raise
    return d, db


@pytest.fixture(scope="module")
def world(pg, slapd, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("authz")
    remove_admin(slapd)
    person, group = admin_ldif()
    slapd.ldapmodify(person)
    d = None
    try:
        slapd.ldapmodify(group)
        d, db = start_daemon(pg, slapd, tmp)
        w = World(d, db)
        sbo = User(d, "sbo")

        def admin_seen():
            r = requests.get(d.url + "/api/v1/people", headers=sbo.headers,
                             params={"q": NEUTRAL_ADMIN[0]}, timeout=TIMEOUT)
            return r.status_code == 200 and any(p["username"] == NEUTRAL_ADMIN[0]
                                                for p in r.json()["items"])
        wait_until(admin_seen, timeout=60 if WRAPPED else 20, what="mxadm in the snapshot")
        w.users = {role: sbo if name == "sbo" else User(d, name)
                   for role, name in USERS.items()}
        w.people_id = sbo.id
        wait_until(lambda: w.api.template(sbo).status_code == 200,
                   what="the routes and templates loaded")
        # Each role is what the module says it is.
        for role, user in w.users.items():
            r = requests.get(d.url + "/api/v1/me", headers=user.headers, timeout=TIMEOUT)
            roles = {x["role"] for x in r.json()["roles"]}
            assert ("admin" in roles) == (role == "admin"), (role, roles)
            assert ("quality" in roles) == (role == "quality"), (role, roles)
        assert {x["unit"] for x in requests.get(
            d.url + "/api/v1/me", headers=w.users["lead"].headers,
            timeout=TIMEOUT).json()["roles"] if x["role"] == "lead"} == {"BUF"}
        dept = requests.get(d.url + "/api/v1/me", headers=w.users["department"].headers,
                            timeout=TIMEOUT).json()
        assert dept["unit"]["code"] == "BUF" and [x["role"] for x in dept["roles"]] == \
            ["caseworker"], dept["roles"]
        w.notes = {s: w.note_in(s) for s in STATES}
        w.shared_dead = w.dead_outbox_row()
        yield w
    finally:
        if d is not None:
            d.stop()
        remove_admin(slapd)


# --- checks -------------------------------------------------------------------------------


def assert_denied(r, code):
    body = assert_problem(r, code)
    if code == 401:
        assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), dict(r.headers)
    return body


def check_success(w, endpoint, role, code, state, r, ctx):
    """A 2xx cell: the exact code, and what it did."""
    assert r.status_code == code, (endpoint, role, state, r.status_code, r.text[:2000])
    method, path = split(endpoint)
    if is_note_scoped(endpoint):
        hid = ctx["note"]
        action = path.rsplit("/", 1)[1]
        out = r.json()
        if endpoint == "GET /api/v1/handovers/{id}":
            assert out["id"] == hid
            # the receiving unit's first read receives it; nobody else's does
            want = "received" if (role == "receiver" and state == "submitted") else state
            assert out["status"] == want, (role, state, out["status"])
            assert w.status(hid) == want
        elif endpoint == "GET /api/v1/handovers/{id}/history":
            assert set(out) == {"versions", "events"}
            assert out["events"], out
        elif method == "PATCH":
            assert out["status"] == state and "(rettet)" in out["sections"]["contingency"]
        else:
            assert out["status"] == LEADS_TO[action], (action, out["status"])
            assert w.status(hid) == LEADS_TO[action]
            if action == "forward":
                assert out["receiver"]["unit"] == FORWARD_TO
    elif endpoint == "DELETE /api/v1/session":
        r2 = requests.get(w.d.url + "/api/v1/me", headers=bearer(ctx["token"]),
                          timeout=TIMEOUT)
        assert_denied(r2, 401)
    elif endpoint == "POST /api/v1/outbox/{id}/retry":
        assert r.json() == {"id": ctx["outbox"], "state": "pending"}
    elif endpoint == "POST /api/v1/session":
        assert len(r.json()["token"]) == 43
    elif endpoint == "POST /api/v1/handovers":
        out = r.json()
        assert out["status"] == "draft" and out["sender"]["unit"] == "BUR", out["sender"]


def visible_notes(w, role):
    """The shared notes a role finds in GET /handovers."""
    r = requests.get(w.d.url + "/api/v1/handovers", headers=w.user(role).headers,
                     params={"limit": 500}, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    ids = {i["id"] for i in r.json()["items"]}
    return {s for s, hid in w.notes.items() if hid in ids}


# --- the matrix ------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint,role", CASES, ids=[f"{e}-{r}" for e, r in CASES])
def test_matrix(world, endpoint, role):
    w = world
    c = cell(endpoint, role)
    method = split(endpoint)[0]
    cells = list(c.items()) if isinstance(c, dict) else [(None, c)]
    fresh = [(s, code) for s, code in cells
             if 200 <= code < 300 and (method != "GET" or endpoint in CHANGING_GETS)]
    shared = [x for x in cells if x not in fresh]
    # Denied, a 409, or a read that changes nothing: on the shared notes
    # (or row), and nothing changes.
    before = w.digest()
    for state, code in shared:
        r, ctx = w.call(endpoint, role, state)
        if code >= 400:
            body = assert_denied(r, code)
            if code == 409:
                assert state in body["detail"], body
            for secret in (w.users["sender"].display_name, "Testborger"):
                assert secret not in r.text, (secret, r.text)
        else:
            check_success(w, endpoint, role, code, state, r, ctx)
        if method == "GET":
            # HEAD answers as GET does, without a body
            h, _ = w.call(endpoint, role, state, method="HEAD")
            assert h.status_code == code and h.content == b"", (h.status_code, h.content)
    after = w.digest()
    if all(code >= 400 for _, code in shared):
        assert after == before, (endpoint, role)
    else:
        # a successful read may leave an audit row (and the sender's reads
        # in check_success do), nothing else
        before.pop("audit"), after.pop("audit")
        assert after == before, (endpoint, role)
    # Successes that change things: each on a fresh note (session, row).
    for state, code in fresh:
        r, ctx = w.call(endpoint, role, state, fresh=True)
        check_success(w, endpoint, role, code, state, r, ctx)


def test_lists_show_only_ones_own_notes(world):
    """GET /handovers: the sending side (and the lead above it) sees every
    note; the receiving side every note but the draft; nobody else any."""
    seen = {role: visible_notes(world, role) for role in ROLES if role != "anonymous"}
    for role in ("sender", "lead", "department"):
        assert seen[role] == set(STATES), role
    assert seen["receiver"] == set(STATES) - {"draft"}
    for role in ("other_unit", "quality", "admin"):
        assert seen[role] == set(), role


def test_quality_report_scope(world):
    """The quality role's report covers every note; the sides their own;
    a unit with no notes gets no periods."""
    w = world

    def periods(role):
        r = requests.get(w.d.url + "/api/v1/reports/quality", headers=w.user(role).headers,
                         timeout=TIMEOUT)
        assert r.status_code == 200, r.text
        return r.json()["periods"]
    for role in ("quality", "sender", "receiver", "lead", "department"):
        got = periods(role)
        assert got and {p["route"] for p in got} == {"BUR-UR"}, (role, got)
        assert sum(p["filed"] for p in got) >= len(STATES) - 1, (role, got)
    for role in ("other_unit", "admin"):
        assert periods(role) == [], role


def test_forward_hands_the_note_over(world):
    """After a forward the former receiving unit sees the note no more
    (404, as any unit that is no side of it); the new one does, and its
    first read receives it; the sender keeps it."""
    w = world
    api, mha, sbo = w.api, w.users["receiver"], w.users["sender"]
    hid = w.note_in("received")
    r = api.act(mha, hid, "forward", ACTION_BODIES["forward"])
    assert r.status_code == 200, r.text
    before = w.digest()
    for r in (api.get(mha, hid), api.history(mha, hid),
              api.act(mha, hid, "accept", ACTION_BODIES["accept"]),
              api.act(mha, hid, "forward", {"unit": "JC-UNG", "reason": "Igen."})):
        assert_denied(r, 404)
    assert w.digest() == before
    aar = User(w.d, "aar")  # a caseworker of VSR
    r = api.get(aar, hid)
    assert r.status_code == 200 and r.json()["status"] == "received", r.text
    assert w.note(hid)["receiver"]["unit"] == FORWARD_TO
    r = api.act(aar, hid, "accept", ACTION_BODIES["accept"])
    assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
    assert_denied(api.get(w.users["other_unit"], hid), 404)
    assert api.get(sbo, hid).status_code == 200


def test_forward_never_to_the_sending_side(world):
    """The receiving side cannot forward a note to its sending unit (BUR),
    nor to the department above it (BUF): the sending side would then
    decide on its own note (sbo accepting what sbo filed), skipping the
    flags a return needs. 422 naming `unit`, and nothing changes."""
    w = world
    mha = w.users["receiver"]
    for state in ("submitted", "received"):
        hid = w.notes[state]
        before = w.digest()
        for unit in ("BUR", "BUF"):
            r = w.api.act(mha, hid, "forward", {"unit": unit, "reason": "Tilbage til afsender."})
            body = assert_denied(r, 422)
            assert [e["field"] for e in body["errors"]] == ["unit"], body
            assert body["errors"][0]["code"] == "invalid", body
        assert w.digest() == before, state


# --- coverage: every endpoint has a row -------------------------------------------------


def router_endpoints():
    """{"METHOD /pattern"} of daemon/router.c's table ("*" as in the table)."""
    with open(os.path.join(REPO, "daemon", "router.c"), encoding="utf-8") as f:
        src = f.read()
    table = src[src.index("static struct route routes[]"):]
    table = table[:table.index("};")]
    out = set()
    for methods, pattern in re.findall(r'\{\s*((?:HTTP_[A-Z]+\s*\|?\s*)+),\s*"([^"]+)"', table):
        for m in re.findall(r"HTTP_([A-Z]+)", methods):
            if m != "HEAD":
                out.add(f"{m} {pattern}")
    assert len(out) >= 30, out
    return out


def starred(endpoint):
    return re.sub(r"\{[^}/]+\}", "*", endpoint)


def test_table_covers_every_endpoint(world):
    r = requests.get(world.d.url + "/openapi.json", timeout=TIMEOUT)
    assert r.status_code == 200
    doc = r.json()
    documented = {f"{m.upper()} {p}" for p, ops in doc["paths"].items() for m in ops
                  if m in ("get", "put", "post", "patch", "delete")}
    missing = documented - set(TABLE)
    assert not missing, f"endpoints in /openapi.json without a row in TABLE: {sorted(missing)}"
    undocumented = set(TABLE) - documented - {"GET /"}
    assert not undocumented, f"rows for endpoints /openapi.json lacks: {sorted(undocumented)}"
    routed = router_endpoints()
    rows = {starred(e) for e in TABLE}
    assert routed == rows, (f"router.c without a row: {sorted(routed - rows)}; "
                            f"rows not routed: {sorted(rows - routed)}")
    for e in TABLE:
        assert set(TABLE[e]) == set(ROLES), e
    # The document says which need a session: those the table has 401 for.
    for p, ops in doc["paths"].items():
        for m, op in ops.items():
            if m in ("get", "put", "post", "patch", "delete"):
                e = f"{m.upper()} {p}"
                needs = bool(op.get("security", doc.get("security")))
                assert needs == (e not in PUBLIC), (e, op.get("security"))
                assert needs == (TABLE[e]["anonymous"] == 401), e


def test_unknown_paths_need_a_login(world):
    """Under /api/v1 a path or method that names nothing is 401 without a
    login, so probing learns nothing; after one it is 404, or 405 with
    Allow."""
    w = world
    sbo = w.users["sender"]
    cases = [("GET", "/api/v1/nothing", 404, None), ("GET", "/api/v1", 404, None),
             ("POST", "/api/v1/handovers/x/y/z", 404, None),
             ("DELETE", "/api/v1/me", 405, "GET, HEAD"),
             ("GET", "/api/v1/session", 405, "POST, DELETE"),
             ("PUT", "/api/v1/handovers", 405, "GET, HEAD, POST")]
    for method, path, code, allow in cases:
        r = requests.request(method, w.d.url + path, timeout=TIMEOUT)
        assert_denied(r, 401)
        assert "Allow" not in r.headers, (method, path)
        r = requests.request(method, w.d.url + path, headers=sbo.headers, timeout=TIMEOUT)
        assert_problem(r, code)
        assert r.headers.get("Allow") == allow, (method, path, r.headers.get("Allow"))


# --- dead sessions and the cookie's Origin ---------------------------------------------


AUTHENTICATED = [e for e in TABLE if e not in PUBLIC]
CHANGING = [e for e in AUTHENTICATED if split(e)[0] != "GET"]


def token_hash_sql(token):
    return "'\\x" + hashlib.sha256(token.encode()).hexdigest() + "'::bytea"


@pytest.fixture(scope="module")
def dead_tokens(world):
    """Tokens of sbo that no longer open anything: past expires_at, idle
    too long, logged out, and one never issued."""
    w = world
    expired, idle, out = (login_token(w.d, "sbo") for _ in range(3))
    w.db.psql(f"UPDATE sessions SET expires_at = now() - interval '1 second' "
              f"WHERE token_hash = {token_hash_sql(expired)};"
              f"UPDATE sessions SET last_seen_at = now() - interval '30 days' "
              f"WHERE token_hash = {token_hash_sql(idle)};")
    r = requests.delete(w.d.url + "/api/v1/session", headers=bearer(out), timeout=TIMEOUT)
    assert r.status_code == 204
    never = secrets.token_urlsafe(32)
    assert len(never) == 43
    return {"expired": expired, "idle": idle, "logged_out": out, "never_issued": never}


@pytest.mark.parametrize("endpoint", AUTHENTICATED)
def test_dead_session_is_401(world, dead_tokens, endpoint):
    w = world
    before = w.digest()
    for why, token in dead_tokens.items():
        for headers in (bearer(token),
                        {"Cookie": "stafet_session=" + token, "Origin": w.d.url}):
            # as the sender would, on the shared submitted note
            r, _ = w.call(endpoint, "anonymous", "submitted", headers=headers)
            body = assert_denied(r, 401)
            assert "error=\"invalid_token\"" in r.headers["WWW-Authenticate"], (why, body)
    assert w.digest() == before, endpoint


def allowed_cell(endpoint):
    """(role, state, code) of a success cell: the first role that may."""
    for role in ("sender", "receiver", "admin", "lead", "other_unit"):
        c = cell(endpoint, role)
        for state, code in (c.items() if isinstance(c, dict) else [(None, c)]):
            if 200 <= code < 300:
                return role, state, code
    raise AssertionError(f"nobody may {endpoint}")


@pytest.mark.parametrize("endpoint", CHANGING)
def test_cookie_needs_our_origin(world, endpoint):
    """A state-changing request by cookie is 403 without our Origin (none,
    or a foreign one), changing nothing; with our Origin it is answered as
    the same request by Bearer."""
    w = world
    role, state, code = allowed_cell(endpoint)
    token = login_token(w.d, w.users[role].username)
    jar = {"Cookie": "stafet_session=" + token, "Authorization": None}
    before = w.digest()
    for extra in ({}, {"Origin": "http://evil.example"},
                  {"Referer": "http://evil.example/stafet"}):
        h = dict(jar, **extra)
        r, _ = w.call(endpoint, role, state, headers=h)
        body = assert_denied(r, 403)
        assert "Origin" in body["detail"], (extra, body)
    assert w.digest() == before, endpoint
    r, ctx = w.call(endpoint, role, state, headers=dict(jar, Origin=w.d.url), fresh=True)
    check_success(w, endpoint, role, code, state, r, ctx)


@pytest.mark.parametrize("endpoint", [e for e in AUTHENTICATED if split(e)[0] == "GET"])
def test_cookie_reads_need_no_origin(world, endpoint):
    """A read by cookie needs no Origin (nor minds a foreign one)."""
    w = world
    role, state, code = allowed_cell(endpoint)
    token = login_token(w.d, w.users[role].username)
    for extra in ({}, {"Origin": "http://evil.example"}):
        h = {"Cookie": "stafet_session=" + token, "Authorization": None, **extra}
        fresh = endpoint in CHANGING_GETS
        r, ctx = w.call(endpoint, role, state, headers=h, fresh=fresh)
        check_success(w, endpoint, role, code, state, r, ctx)
