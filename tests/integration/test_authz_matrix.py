"""The authorization matrix: every endpoint the router serves, tried by
every relation a person can have to a note, each answer compared with the
table below (written from API.md, the contract, and its "Who sees a note
(need to know)"; DESIGN.md "Security" where API.md is silent).

Every note of the module goes from BUR to UR (route BUR-UR). BUR sits in
the department BUF beside BUR-H; UR in BSF beside JC-UNG, JC-SYG and VSR.
The roles, from the demo directory (tests/fixtures/demo.ldif), by their
relation to such a note:

- anonymous: no session at all;
- sender: sbo, a caseworker of BUR, the sending unit;
- receiver: mha, a caseworker of UR, the receiving unit;
- sender_lead: pka, BUR's lead (its stafetLead), who counts as a member;
- receiver_lead: kmo, UR's lead, the same on the receiving side;
- lead_above_sender: tlo, BUF's lead: reads the note masked (the CPR number
  as DDMMYY-XXXX, the name as initials) and acts on nothing;
- lead_above_receiver: ojo, BSF's lead: the same, once the note was
  submitted (a draft is 404 to the receiving side and those above it);
- department: yst, placed directly in BUF (its stab) and leading nothing:
  a member of BUF, not of BUR, so nothing (404 everywhere);
- sibling: lbk, a caseworker of BUR-H, BUR's sibling under BUF;
- other_department: aiv, a caseworker of VH in the third department, ÆHF;
- quality: lkj, in the quality group (and lead of ÆHF): reports, not notes;
- admin: mxadm, a caseworker of JC-SYG (UR's sibling) in the admin group,
  whom the module adds to the shared slapd (removed afterwards), so the
  column shows what the admin role itself grants. The demo's own admins
  (ano, tda) sit in BSF's stab: test_parent_node_people_see_nothing.

pka and kmo are in the quality group too (the demo's leads who own quality
figures): that changes no note cell, only their quality report, which then
covers every note (test_quality_report_scope).

A note-scoped endpoint is tried on a note in each state (draft, submitted,
received, returned, accepted, withdrawn). A cell is either denied (401,
403, 404), a side's refusal of the state (409), or success (2xx). Denied
and 409 cells run on the module's shared notes, and the database is
compared before and after: such a request changes nothing (not even the
audit log); a denied 404 is the very answer a note that does not exist
gets, and names neither the citizen nor the sender. Success cells that
change things run on fresh notes (and a fresh session, outbox row), so the
order of the tests does not matter. Whether a 200 is a member's or a
reader's is the role's ACCESS: a member's note says `access` "sender" or
"receiver" and shows the citizen whole; a reader's says "read", the CPR
number masked and the name as initials (nowhere whole, not in the history
either), and every read of a note or its history is audited.

The table must cover every path and method of the served /openapi.json and
of app/routes.c (the route table): a new endpoint without a row fails
test_table_covers_every_endpoint.

Also here: the lists (every box) and the quality report as each role sees
them, checked against a model of the rule over every note in the database;
a hostile body (wrong JSON types, missing or unknown fields, huge strings,
stale or missing If-Match) to a note one may not see is 404 like the
benign one, and a body the router refuses before any note is looked at is
refused alike for a note that does not exist; the people placed directly
in a department node see nothing; a forward hands the note over (the
former receiving unit gets 404 for everything, a forward to where the note
now sits included) and never goes to the sending side; dead tokens
(expired, idle, logged out, never issued) are 401 on every authenticated
endpoint; a state-changing request authenticated by the session cookie
without our Origin is 403 and changes nothing (with our Origin it is
answered as by Bearer).

One daemon (its own database) serves the module: 473 tests (the matrix
itself 33 endpoints by 12 roles, 396 tests and 876 cells with the note
endpoints in each of the 6 states), 45 to 55 s on the normal build on a
busy 2-core machine, 1.5 to 3.5 minutes with the ASan build."""

import datetime
import hashlib
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import uuid

import pytest
import requests

from tests.integration.handover_helpers import (
    Api, User, cpr_for, note_body, planned)
from tests.harness.stafetd import Stafetd
from tests.integration.conftest import Database
from tests.integration.test_auth import (
    ADMIN_GROUP, assert_problem, auth_settings, bearer, login, ready)
from tests.integration.test_directory import wait_until

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "fixtures"))
import gen_demo_ldif as demo  # noqa: E402

WRAPPED = bool(os.environ.get("STAFETD_WRAPPER", "").strip())
TIMEOUT = 120 if WRAPPED else 30
BASE = "dc=stafet,dc=example"
PEOPLE = "ou=people," + BASE

ROLES = ["anonymous", "sender", "receiver", "sender_lead", "receiver_lead",
         "lead_above_sender", "lead_above_receiver", "department", "sibling",
         "other_department", "quality", "admin"]
USERS = {"sender": "sbo", "receiver": "mha", "sender_lead": "pka", "receiver_lead": "kmo",
         "lead_above_sender": "tlo", "lead_above_receiver": "ojo", "department": "yst",
         "sibling": "lbk", "other_department": "aiv", "quality": "lkj", "admin": "mxadm"}
NEUTRAL_ADMIN = ("mxadm", "Mads", "Xadmin", "JC-SYG", "BSF")
# in the quality group: the quality role, and the demo's two leads who own figures
QUALITY = {"quality", "sender_lead", "receiver_lead"}
STATES = ["draft", "submitted", "received", "returned", "accepted", "withdrawn"]
SENDING, RECEIVING = "BUR", "UR"
FORWARD_TO = "VSR"  # below BSF, like UR: ojo still reads a note forwarded there
# Every note of the module is for this citizen (a fresh CPR number each):
# three words, two of them starting with a Danish letter, so "the name as
# initials" is "Ø. E. Å.", and no part of it is anywhere in the directory.
CITIZEN_NAME = "Øssur Eskild Åkjærbo"
NOWHERE = str(uuid.UUID(bytes=secrets.token_bytes(16), version=4))  # no such note

# --- the directory, as the rule reads it ------------------------------------------------
#
# The demo's unit tree and who sits and leads where (tests/fixtures/
# gen_demo_ldif.py, the source of demo.ldif), and the module's neutral
# admin; the world fixture checks each role's /me against this.

PARENT = {u.code: u.parent for u in demo.UNITS}


def _places():
    entries = demo.build()
    unit_of, leads_of = {}, {}
    for e in entries:
        if e.dn.endswith("," + demo.PEOPLE_DN):
            unit_of[e.first("uid")] = e.first("stafetUnitCode")
        elif e.dn.endswith(demo.UNITS_DN) and e.first("stafetLead"):
            lead = e.first("stafetLead").split(",", 1)[0].split("=", 1)[1]
            leads_of.setdefault(lead, set()).add(e.first("stafetUnitCode"))
    unit_of[NEUTRAL_ADMIN[0]] = NEUTRAL_ADMIN[3]
    return unit_of, leads_of


UNIT_OF, LEADS_OF = _places()
# (unit, units led) of each role
PLACES = {role: (UNIT_OF[uid], frozenset(LEADS_OF.get(uid, ()))) for role, uid in USERS.items()}


def ancestors(unit):
    out, u = [], PARENT[unit]
    while u:
        out.append(u)
        u = PARENT[u]
    return out


def subtree(unit):
    return {u for u in PARENT if u == unit or unit in ancestors(u)}


def member(place, unit):
    """Placed in the unit itself, or its lead."""
    own, led = place
    return unit == own or unit in led


def leads_above(place, unit):
    return bool(set(ancestors(unit)) & place[1])


def model_access(place, sender_unit, receiver_unit, submitted):
    """The rule: "sender", "receiver", "both", "read", or None (404)."""
    s = member(place, sender_unit)
    r = submitted and member(place, receiver_unit)
    if s and r:
        return "both"
    if s or r:
        return "sender" if s else "receiver"
    if leads_above(place, sender_unit) or (submitted and leads_above(place, receiver_unit)):
        return "read"
    return None


def visible_units(place):
    """The units whose notes one finds in lists and reports: one's own
    unit, the units one leads and every unit below those."""
    own, led = place
    out = {own}
    for u in led:
        out |= subtree(u)
    return out


# The relation each role's name promises, from the tree itself.
assert PLACES["sender"] == (SENDING, frozenset())
assert PLACES["receiver"] == (RECEIVING, frozenset())
assert PLACES["sender_lead"] == (SENDING, {SENDING})
assert PLACES["receiver_lead"] == (RECEIVING, {RECEIVING})
assert PLACES["lead_above_sender"][1] == {PARENT[SENDING]}
assert PLACES["lead_above_receiver"][1] == {PARENT[RECEIVING]}
assert PLACES["department"] == (PARENT[SENDING], frozenset())
assert PARENT[PLACES["sibling"][0]] == PARENT[SENDING] and not PLACES["sibling"][1]
assert ancestors(PLACES["other_department"][0])[-1] not in (
    ancestors(SENDING)[-1], ancestors(RECEIVING)[-1])
assert PARENT[PLACES["admin"][0]] == PARENT[RECEIVING] and not PLACES["admin"][1]
assert not (subtree(next(iter(PLACES["quality"][1]))) & {SENDING, RECEIVING, FORWARD_TO})

# --- the table -------------------------------------------------------------------------
#
# A cell is a status code, or for note-scoped endpoints a row of six codes,
# one per state in STATES order (a note's states as the sender sees them).
#
# From API.md: everything under /api/v1 but POST /session needs a session
# (401); resources one may not see are 404, not 403. "Who sees a note":
# the members of the sending and of the receiving unit (the unit itself,
# not the units above it; its lead counts as a member) see and act for
# their side, the receiving side once the note was first submitted; the
# lead of a unit above either unit reads it (masked) and may not act, an
# action being 404 for them as for anyone who may not see the note; the
# quality role sees reports, not notes; anyone else 404 in every call. The
# sending unit edits, submits, withdraws; the receiving unit returns,
# accepts, forwards; a transition the state machine does not allow is 409.
# Where API.md is silent, the daemon's sensible behaviour:
# - a side calling the other side's action on a note it may see is 403
#   (API.md: who, not the code);
# - filing a note on a route is for the members of its sending unit and
#   its lead: 403 for everyone else, a lead above it and the people placed
#   in the department included (the routes themselves are public to every
#   user);
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


def notes(sender, receiver, above_sender=404, above_receiver=404):
    """A note-scoped row: the members of each side (caseworker and lead)
    as given, the leads above each side as given (404: may not act), every
    other role 404, anonymous 401."""
    t = users(404)
    t.update(sender=sender, sender_lead=sender, receiver=receiver, receiver_lead=receiver,
             lead_above_sender=above_sender, lead_above_receiver=above_receiver)
    return t


#                      draft submitted received returned accepted withdrawn
SENDER_READS = "       200   200       200      200      200      200"
RECEIVER_READS = "     404   200       200      200      200      200"
SENDER_EDITS = "       200   409       409      200      409      409"
RECEIVER_ON_SENDERS = "404   403       403      403      403      403"
SENDER_WITHDRAWS = "   200   200       200      200      409      409"
RECEIVER_DECIDES = "   404   200       200      409      409      409"
SENDER_ON_RECEIVERS = "403   403       403      403      403      403"
# deleting: the sending side, a draft only (API.md 1.1 "Drafts, tasks")
SENDER_DELETES = "     204   409       409      409      409      409"
# a reply to a flag: the sending side, on a returned note only
SENDER_REPLIES = "     409   409       409      200      409      409"
# the leads above: the sending side's reads the draft, the receiving side's not
ABOVE_SENDER_READS = SENDER_READS
ABOVE_RECEIVER_READS = RECEIVER_READS

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
    "GET /api/v1/me/tasks": users(200),
    "PUT /api/v1/me/alerts": users(200),
    "POST /api/v1/me/calendar": users(201),
    "DELETE /api/v1/me/calendar": users(204),
    # the deadline feed needs no session; an unknown secret is 404 to all
    "GET /cal/{feed}": everyone(404),
    # the admins'
    "GET /api/v1/audit": users(404, admin=200),
    "GET /api/v1/outbox": users(404, admin=200),
    "POST /api/v1/outbox/{id}/retry": users(404, admin=200),
    # directory (directory_anonymous_read is off)
    "GET /api/v1/people": users(200),
    "GET /api/v1/people/{id}": users(200),
    "GET /api/v1/people/{id}/vcard": users(200),
    "GET /api/v1/units": users(200),
    "GET /api/v1/units/{code}": users(200),
    "GET /api/v1/routes": users(200),
    "POST /api/v1/counterparts": users(200),
    # handovers: any user (the lists and the report by who one is: below)
    "GET /api/v1/templates/{route}": users(200),
    "POST /api/v1/handovers/check": users(200),
    "GET /api/v1/handovers": users(200),
    "GET /api/v1/reports/quality": users(200),
    # filing: the members of the route's sending unit, its lead included
    "POST /api/v1/handovers": users(403, sender=201, sender_lead=201),
    # one note
    "GET /api/v1/handovers/{id}": notes(SENDER_READS, RECEIVER_READS,
                                        ABOVE_SENDER_READS, ABOVE_RECEIVER_READS),
    "GET /api/v1/handovers/{id}/history": notes(SENDER_READS, RECEIVER_READS,
                                                ABOVE_SENDER_READS, ABOVE_RECEIVER_READS),
    "GET /api/v1/handovers/{id}/pdf": notes(SENDER_READS, RECEIVER_READS,
                                            ABOVE_SENDER_READS, ABOVE_RECEIVER_READS),
    "PATCH /api/v1/handovers/{id}": notes(SENDER_EDITS, RECEIVER_ON_SENDERS),
    "DELETE /api/v1/handovers/{id}": notes(SENDER_DELETES, RECEIVER_ON_SENDERS),
    "POST /api/v1/handovers/{id}/submit": notes(SENDER_EDITS, RECEIVER_ON_SENDERS),
    "POST /api/v1/handovers/{id}/withdraw": notes(SENDER_WITHDRAWS, RECEIVER_ON_SENDERS),
    "POST /api/v1/handovers/{id}/return": notes(SENDER_ON_RECEIVERS, RECEIVER_DECIDES),
    "POST /api/v1/handovers/{id}/accept": notes(SENDER_ON_RECEIVERS, RECEIVER_DECIDES),
    "POST /api/v1/handovers/{id}/forward": notes(SENDER_ON_RECEIVERS, RECEIVER_DECIDES),
    "POST /api/v1/handovers/{id}/flags/{index}/reply": notes(SENDER_REPLIES,
                                                             RECEIVER_ON_SENDERS),
    # notices (API.md 1.1 "Notices"): need to know as for notes, on an open
    # notice from BUR to UR (the receiving side sees it from the start)
    "GET /api/v1/notices": users(200),
    "POST /api/v1/notices": users(403, sender=201, sender_lead=201),
    "POST /api/v1/notices/import": users(200),  # lines one may not file are skipped
    "GET /api/v1/notices/pipeline": users(404, receiver=200, receiver_lead=200,
                                          lead_above_receiver=200),  # ?unit=UR
    "GET /api/v1/notices/{id}": notes(200, 200, 200, 200),
    "PATCH /api/v1/notices/{id}": notes(200, 403),
    "POST /api/v1/notices/{id}/acknowledge": notes(403, 200),
    "POST /api/v1/notices/{id}/cancel": notes(200, 403),
    "POST /api/v1/notices/{id}/handover": notes(201, 403),
}

# What a role's 200 of a note is: a member's of a side, or a reader's (masked).
ACCESS = {"sender": "sender", "sender_lead": "sender", "receiver": "receiver",
          "receiver_lead": "receiver", "lead_above_sender": "read",
          "lead_above_receiver": "read"}
# Whose first read of a submitted note receives it.
RECEIVERS = {r for r, a in ACCESS.items() if a == "receiver"}
# The shared notes (by state) each role finds in its lists, per box.
ALL, FILED, NONE = set(STATES), set(STATES) - {"draft"}, set()
LISTED = {role: {"outgoing": NONE, "incoming": NONE} for role in ROLES if role != "anonymous"}
for _r in ("sender", "sender_lead", "lead_above_sender"):
    LISTED[_r]["outgoing"] = ALL
for _r in ("receiver", "receiver_lead", "lead_above_receiver"):
    LISTED[_r]["incoming"] = FILED
for _r in LISTED:
    LISTED[_r]["all"] = LISTED[_r]["outgoing"] | LISTED[_r]["incoming"]

PUBLIC = {"GET /healthz", "GET /readyz", "GET /metrics", "GET /openapi.json", "GET /",
          "POST /api/v1/session", "GET /cal/{feed}"}
# GETs with a side effect: the receiving unit's first read receives the note
CHANGING_GETS = {"GET /api/v1/handovers/{id}"}
NOTE_READS = {"GET /api/v1/handovers/{id}": "handover.read",
              "GET /api/v1/handovers/{id}/history": "handover.history",
              "GET /api/v1/handovers/{id}/pdf": "handover.pdf"}
# what a successful action leaves the note in
LEADS_TO = {"submit": "submitted", "return": "returned", "accept": "accepted",
            "withdraw": "withdrawn", "forward": "submitted", "reply": "returned"}
RETURN_FLAGS = [{"section": "goals", "kind": "missing",
                 "comment": "Målet for bolig mangler en tidsramme."}]
ACTION_BODIES = {
    "submit": None,
    "return": {"flags": RETURN_FLAGS},
    "accept": {"readback": "Modtaget og læst."},
    "withdraw": {"reason": "Sagen er lukket."},
    "forward": {"unit": FORWARD_TO, "reason": "Den unge hører til Voksen Social."},
}
PATCH_BODY = {"sections": {"contingency": "Hvis den unge udebliver, så ring til "
                                          "forældrene samme dag (rettet)."}}
# a reply to the note's first flag ({index} is 0), with If-Match as PATCH
REPLY_BODY = {"text": "Tidsrammen for bolig er tilføjet."}


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


def notice_body():
    """A POST /notices body for a fresh citizen (a random birth date, so no
    open notice or unfinished note of the module is for the same CPR
    number), expected in 400 days."""
    born = datetime.date(2009, 1, 1) + datetime.timedelta(days=secrets.randbelow(3 * 365))
    return {"route": "BUR-UR", "citizen": {"cpr": cpr_for(born), "name": CITIZEN_NAME},
            "expected_date": planned(400).isoformat()}


# --- what a reader may see of the citizen ------------------------------------------------


def initials(name):
    """"Mette Hansen" -> "M. H." (one initial per word)."""
    return " ".join(w[0] + "." for w in name.split())


def masked(cpr):
    return cpr[:6] + "-XXXX"


def text_of(body):
    """Every string of a JSON answer, unescaped (the daemon may write
    Danish letters as \\u escapes)."""
    return json.dumps(body, ensure_ascii=False)


def secrets_of(citizen):
    """What a reader (or anyone denied) must never find: the name whole or
    any word of it, the CPR number whole (with or without its dash)."""
    name, cpr = citizen["name"], citizen["cpr"]
    return [name, *name.split(), cpr, cpr.replace("-", "")]


def assert_no_secrets(citizen, body, what):
    text = text_of(body)
    for s in secrets_of(citizen):
        assert s not in text, (what, s, text[:2000])


def assert_citizen(citizen, shown, access, whole_cpr):
    """A note's citizen as a role with `access` sees it: a reader the CPR
    number masked and the name as initials; a member the name whole, and
    the CPR number whole only in the note's own view."""
    if access == "read":
        assert shown["cpr"] == masked(citizen["cpr"]), shown
        assert shown["name"] == initials(citizen["name"]), shown
    else:
        assert shown["name"] == citizen["name"], shown
        assert shown["cpr"] == (citizen["cpr"] if whole_cpr else masked(citizen["cpr"])), shown


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
        self.citizens = {}  # note id -> its citizen as filed ({"cpr", "name"})
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
            "'calendars', (SELECT coalesce(json_agg(json_build_array(person_id, "
            "  encode(secret_hash, 'hex')) ORDER BY person_id), '[]') FROM calendar_feeds), "
            "'notices', (SELECT coalesce(json_agg(json_build_array(id, version, status) "
            "  ORDER BY id), '[]') FROM notices), "
            # the janitor may sweep ended sessions at any time
            "'sessions', (SELECT coalesce(json_agg(id ORDER BY id), '[]') FROM sessions "
            "  WHERE expires_at > now() AND last_seen_at > now() - interval '1 day'), "
            "'audit', (SELECT count(*) FROM audit_log));")

    def all_notes(self):
        """Every note in the database, as the rule needs it."""
        return self.db.query_json(
            "SELECT coalesce(json_agg(json_build_object('id', id, 'route', route, "
            "'sender_unit', sender_unit, 'receiver_unit', receiver_unit, "
            "'submitted', first_submitted_at IS NOT NULL, 'citizen', citizen)), '[]') "
            "FROM handovers WHERE deleted_at IS NULL;")  # a deleted draft is in no list

    def audit_mark(self):
        return self.db.query_json("SELECT coalesce(max(id), 0) FROM audit_log;")

    def assert_audited(self, mark, username, action, hid):
        """An audit row of `action` on the note by `username`, after mark
        (written as the answer goes out, so it may trail it a little)."""
        sql = ("SELECT count(*) FROM audit_log WHERE id > %d AND action = '%s' "
               "AND actor_username = '%s' AND object_id = '%s';" % (mark, action, username, hid))
        wait_until(lambda: self.db.query_json(sql), timeout=30 if WRAPPED else 10,
                   what=f"the audit row of {username}'s {action} of {hid}")

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
        body = note_body(on=planned())
        body["citizen"]["name"] = CITIZEN_NAME
        r = api.create(sbo, body)
        assert r.status_code == 201, r.text
        hid = r.json()["id"]
        self.citizens[hid] = dict(body["citizen"])
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

    def call(self, endpoint, role, state=None, headers=None, fresh=False, method=None,
             note=None):
        """Sends `endpoint` as `role`. For a note-scoped endpoint, on the
        shared note in `state`, a fresh one when `fresh`, or the note
        `note` (an id) when given. Returns (response, context) where
        context names what was acted on."""
        m, path = split(endpoint)
        m = method or m
        user = self.user(role)
        h = dict(user.headers)
        h.update(headers or {})
        body, ctx = None, {"username": user.username}
        if is_note_scoped(endpoint):
            hid = note or (self.note_in(state) if fresh else self.notes[state])
            ctx["note"] = hid
            path = path.replace("{id}", hid).replace("{index}", "0")
            action = endpoint.rsplit("/", 1)[1]
            if m in ("PATCH", "DELETE") or action == "reply":
                version = self.version(hid) if hid in self.citizens else 1
                h["If-Match"] = '"%d"' % version
                body = (PATCH_BODY if m == "PATCH" else REPLY_BODY if action == "reply"
                        else None)
            elif action in ACTION_BODIES:
                body = ACTION_BODIES[action]
            if endpoint in NOTE_READS and role != "anonymous":
                ctx["audit_mark"] = self.audit_mark()
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
        elif endpoint in ("GET /api/v1/people/{id}", "GET /api/v1/people/{id}/vcard"):
            path = path.replace("{id}", self.people_id)
        elif endpoint == "GET /cal/{feed}":
            path = path.replace("{feed}", secrets.token_urlsafe(32) + ".ics")
        elif endpoint == "GET /api/v1/units/{code}":
            path = path.replace("{code}", "UR")
        elif endpoint == "GET /api/v1/templates/{route}":
            path = path.replace("{route}", "BUR-UR")
        elif endpoint == "POST /api/v1/counterparts":
            body = {"route": "BUR-UR", "citizen": {"birthdate": "2008-03-14"},
                    "date": "2026-02-15"}
        elif endpoint in ("POST /api/v1/handovers", "POST /api/v1/handovers/check"):
            body = note_body(on=planned())
            body["citizen"]["name"] = CITIZEN_NAME
        elif "/api/v1/notices/{id}" in endpoint:
            # the shared open notice (never changed: the changes run on fresh ones)
            nid = self.notice_new() if fresh else self.notice
            ctx["notice"] = nid
            path = path.replace("{id}", nid)
            if m == "PATCH":
                h["If-Match"] = '"1"'
                body = {"comment": "Rettet."}
            elif path.endswith("/cancel"):
                body = {"reason": "Oprettet ved en fejl."}
        elif endpoint == "POST /api/v1/notices":
            body = notice_body()
        elif endpoint == "GET /api/v1/notices/pipeline":
            path += "?unit=UR"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if endpoint == "POST /api/v1/notices/import":
            data = ("cpr;name;route;expected_date;comment\n%s;%s;BUR-UR;%s;\n" % (
                notice_body()["citizen"]["cpr"], CITIZEN_NAME, planned(400).isoformat())).encode()
            h["Content-Type"] = "text/csv"
        r = requests.request(m, self.d.url + path, headers=h, data=data, timeout=TIMEOUT,
                             allow_redirects=False)
        return r, ctx

    def notice_new(self):
        """A fresh open BUR-UR notice, filed by sbo."""
        r = requests.post(self.d.url + "/api/v1/notices", headers=self.users["sender"].headers,
                          json=notice_body(), timeout=TIMEOUT)
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def nowhere(self, endpoint, role, method=None):
        """The answer to `endpoint` as `role` for a note that does not exist."""
        r, _ = self.call(endpoint, role, note=NOWHERE, method=method)
        return r

    # --- lists ----------------------------------------------------------------------

    def listed(self, role, box=None, session=None):
        """Every item of GET /handovers (all pages) as `role` sees them."""
        params = {"limit": 500}
        if box:
            params["box"] = box
        items = []
        while True:
            r = (session or requests).get(self.d.url + "/api/v1/handovers",
                                          headers=self.user(role).headers, params=params,
                                          timeout=TIMEOUT)
            assert r.status_code == 200, (role, box, r.status_code, r.text[:2000])
            out = r.json()
            items += out["items"]
            if not out["next_cursor"]:
                return items
            params["cursor"] = out["next_cursor"]


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
        # Each role is where the module says it is, and has the roles it says.
        for role, user in w.users.items():
            r = requests.get(d.url + "/api/v1/me", headers=user.headers, timeout=TIMEOUT)
            me = r.json()
            roles = {(x["role"], x["unit"]) for x in me["roles"]}
            unit, led = PLACES[role]
            assert me["unit"]["code"] == unit, (role, me["unit"])
            assert {u for k, u in roles if k == "lead"} == led, (role, roles)
            assert (("admin", None) in roles) == (role == "admin"), (role, roles)
            assert (("quality", None) in roles) == (role in QUALITY), (role, roles)
        w.notes = {s: w.note_in(s) for s in STATES}
        w.shared_dead = w.dead_outbox_row()
        w.notice = w.notice_new()
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


def problem_of(r):
    """A problem answer as it tells one note from another: all but `instance`."""
    body = r.json()
    body.pop("instance", None)
    return r.status_code, body


def assert_as_if_nowhere(w, r, endpoint, role, what, method=None, nowhere=None):
    """A 404 for a note one may not see is the very answer a note that
    does not exist gets."""
    assert_denied(r, 404)
    if nowhere is None:
        nowhere = w.nowhere(endpoint, role, method=method)
    assert problem_of(r) == problem_of(nowhere), (what, r.text, nowhere.text)


def check_pdf(w, r, citizen, access, what):
    """A note's PDF as a role with `access` may read it (pdftotext): the
    citizen whole for a member, masked and as initials for a reader."""
    assert r.headers["Content-Type"] == "application/pdf", r.headers
    assert r.content.startswith(b"%PDF-"), r.content[:20]
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(r.content)
        f.flush()
        text = " ".join(subprocess.run(["pdftotext", "-enc", "UTF-8", f.name, "-"], check=True,
                                       capture_output=True, text=True,
                                       timeout=60).stdout.split())
    if access == "read":
        for s in secrets_of(citizen):
            assert s not in text, (what, s)
        assert masked(citizen["cpr"]) in text and initials(citizen["name"]) in text, what
    else:
        assert citizen["cpr"] in text and citizen["name"] in text, what


def check_success(w, endpoint, role, code, state, r, ctx):
    """A 2xx cell: the exact code, and what it did."""
    assert r.status_code == code, (endpoint, role, state, r.status_code, r.text[:2000])
    method, path = split(endpoint)
    if is_note_scoped(endpoint):
        hid = ctx["note"]
        citizen = w.citizens[hid]
        access = ACCESS[role]
        action = path.rsplit("/", 1)[1]
        if method == "DELETE":
            assert r.content == b"", r.content
            assert_denied(w.api.get(w.users["sender"], hid), 404)
            w.assert_audited(0, ctx["username"], "handover.delete", hid)
            return
        if endpoint == "GET /api/v1/handovers/{id}/pdf":
            check_pdf(w, r, citizen, access, (role, state))
            assert w.status(hid) == state  # an export receives nothing
            w.assert_audited(ctx["audit_mark"], ctx["username"], "handover.pdf", hid)
            return
        out = r.json()
        if endpoint == "GET /api/v1/handovers/{id}":
            assert out["id"] == hid
            # the receiving unit's first read receives it; nobody else's
            # does (a lead above it reads it and leaves it as it is)
            want = "received" if (role in RECEIVERS and state == "submitted") else state
            assert out["status"] == want, (role, state, out["status"])
            assert out["access"] == access, (role, state, out["access"])
            assert_citizen(citizen, out["citizen"], access, whole_cpr=True)
            if access == "read":
                assert_no_secrets(citizen, out, (endpoint, role, state))
            assert w.status(hid) == want
        elif endpoint == "GET /api/v1/handovers/{id}/history":
            assert set(out) == {"versions", "events"}
            assert out["events"] and out["versions"], out
            for v in out["versions"]:
                assert_citizen(citizen, v["citizen"], access, whole_cpr=False)
            if access == "read":
                assert_no_secrets(citizen, out, (endpoint, role, state))
            else:
                assert citizen["cpr"] not in text_of(out)
        elif method == "PATCH":
            assert out["status"] == state and "(rettet)" in out["sections"]["contingency"]
            assert out["access"] == access, (role, state, out["access"])
            assert_citizen(citizen, out["citizen"], access, whole_cpr=False)
        else:
            assert out["status"] == LEADS_TO[action], (action, out["status"])
            assert w.status(hid) == LEADS_TO[action]
            if action == "forward":
                # the note is no longer the forwarder's; the rule does not
                # say which `access` the answer names, only that it is one
                assert out["receiver"]["unit"] == FORWARD_TO
                assert out["access"] in ("sender", "receiver", "both", "read"), out["access"]
                assert_citizen(citizen, out["citizen"], out["access"], whole_cpr=False)
            else:
                assert out["access"] == access, (role, state, action, out["access"])
                assert_citizen(citizen, out["citizen"], access, whole_cpr=False)
        if endpoint in NOTE_READS and "audit_mark" in ctx:
            w.assert_audited(ctx["audit_mark"], ctx["username"], NOTE_READS[endpoint], hid)
    elif endpoint == "DELETE /api/v1/session":
        r2 = requests.get(w.d.url + "/api/v1/me", headers=bearer(ctx["token"]),
                          timeout=TIMEOUT)
        assert_denied(r2, 401)
    elif endpoint == "POST /api/v1/outbox/{id}/retry":
        assert r.json() == {"id": ctx["outbox"], "state": "pending"}
    elif endpoint == "POST /api/v1/me/calendar":
        url = r.json()["url"]
        assert re.fullmatch(r"http://[^/]+/cal/[A-Za-z0-9_-]{43}\.ics", url), url
        w.assert_audited(0, ctx["username"], "calendar.create", w.user(role).id)
    elif endpoint == "DELETE /api/v1/me/calendar":
        assert r.content == b"", r.content
    elif endpoint == "GET /api/v1/people/{id}/vcard":
        assert r.headers["Content-Type"] == "text/vcard; charset=utf-8", r.headers
        assert r.content.startswith(b"BEGIN:VCARD\r\nVERSION:4.0\r\n"), r.content[:80]
    elif endpoint == "POST /api/v1/session":
        assert len(r.json()["token"]) == 43
    elif endpoint == "POST /api/v1/handovers":
        out = r.json()
        assert out["status"] == "draft" and out["sender"]["unit"] == SENDING, out["sender"]
        assert out["access"] == "sender", out["access"]
        assert out["citizen"]["name"] == CITIZEN_NAME, out["citizen"]
        assert out["citizen"]["cpr"].endswith("-XXXX"), out["citizen"]


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
    nowhere = None
    for state, code in shared:
        r, ctx = w.call(endpoint, role, state)
        if code >= 400:
            body = assert_denied(r, code)
            if code == 409:
                assert state in body["detail"], body
            if code == 404 and is_note_scoped(endpoint):
                if nowhere is None:
                    nowhere = w.nowhere(endpoint, role)
                assert_as_if_nowhere(w, r, endpoint, role, state, nowhere=nowhere)
            if "note" in ctx:
                assert_no_secrets(w.citizens[ctx["note"]], body, (endpoint, role, state))
            assert w.users["sender"].display_name not in text_of(body), body
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
        # a successful read leaves audit rows (checked in check_success),
        # nothing else
        before.pop("audit"), after.pop("audit")
        assert after == before, (endpoint, role)
    # Successes that change things: each on a fresh note (session, row).
    for state, code in fresh:
        r, ctx = w.call(endpoint, role, state, fresh=True)
        check_success(w, endpoint, role, code, state, r, ctx)


# --- lists and the quality report, against the rule over every note -----------------------


def expected_lists(w, role):
    """{box: {note id: (access, note)}} by the rule, over every note."""
    place = PLACES[role]
    out = {"outgoing": {}, "incoming": {}}
    for n in w.all_notes():
        a = model_access(place, n["sender_unit"], n["receiver_unit"], n["submitted"])
        if a is None:
            continue
        if member(place, n["sender_unit"]) or leads_above(place, n["sender_unit"]):
            out["outgoing"][n["id"]] = (a, n)
        if n["submitted"] and (member(place, n["receiver_unit"]) or
                               leads_above(place, n["receiver_unit"])):
            out["incoming"][n["id"]] = (a, n)
    out["all"] = {**out["outgoing"], **out["incoming"]}
    return out


@pytest.mark.parametrize("role", [r for r in ROLES if r != "anonymous"])
def test_lists_as_each_role_sees_them(world, role):
    """GET /handovers, box=outgoing, incoming and none (all): the notes the
    rule lets the role see, each once, newest change first, with `access`
    as the rule says; the CPR number masked in every item, the name as
    initials in a reader's. The shared notes as LISTED says."""
    w = world
    want = expected_lists(w, role)
    with requests.Session() as s:
        for box in ("outgoing", "incoming", "all"):
            items = w.listed(role, None if box == "all" else box, session=s)
            ids = [i["id"] for i in items]
            assert len(ids) == len(set(ids)), (role, box, ids)
            assert set(ids) == set(want[box]), (role, box, sorted(set(ids) ^ set(want[box])))
            stamps = [i["updated_at"] for i in items]
            assert stamps == sorted(stamps, reverse=True), (role, box)
            for i in items:
                access, n = want[box][i["id"]]
                assert i["access"] == access, (role, box, i["id"], i["access"], access)
                assert_citizen(n["citizen"], i["citizen"], access, whole_cpr=False)
                if access == "read":
                    assert_no_secrets(n["citizen"], i, (role, box, i["id"]))
            shared = {st for st, hid in w.notes.items() if hid in ids}
            assert shared == LISTED[role][box], (role, box, shared)


@pytest.mark.parametrize("role", [r for r in ROLES if r != "anonymous"])
def test_quality_report_scope(world, role):
    """The quality role's report covers every note; anyone else's the notes
    filed whose sending or receiving unit is one they sit in or lead, or
    below one they lead: not, for a plain member, the units below their
    own (yst of BUF sees nothing of BUR's). pka and kmo are in the quality
    group, so theirs covers every note."""
    w = world
    r = requests.get(w.d.url + "/api/v1/reports/quality", headers=w.user(role).headers,
                     timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    periods = r.json()["periods"]
    got = {}
    for p in periods:
        got[p["route"]] = got.get(p["route"], 0) + p["filed"]
    scope = None if role in QUALITY else visible_units(PLACES[role])
    want = {}
    for n in w.all_notes():
        if n["submitted"] and (scope is None or n["sender_unit"] in scope or
                               n["receiver_unit"] in scope):
            want[n["route"]] = want.get(n["route"], 0) + 1
    assert got == want, (role, got, want)
    if role in ("department", "sibling", "other_department", "admin"):
        assert periods == [], (role, periods)
    else:
        assert got.get("BUR-UR", 0) >= len(FILED), (role, got)


# --- hostile bodies to a note one may not see ----------------------------------------------

BIG = "ø" * 30000  # 60,000 bytes: within the 64 KiB a string may have


def nested(depth):
    v = 1
    for _ in range(depth):
        v = {"a": v}
    return v


COMMON_BODIES = [[], [{"unit": FORWARD_TO}], {"bogus": 1}, {BIG: 1}, {"x": nested(20)}]
# Bodies that parse as JSON but no handler could use: wrong types, missing
# and unknown fields, huge and empty strings, and for the receiving side's
# actions the units a forward may not go to.
HOSTILE_BODIES = {
    "PATCH": COMMON_BODIES + [
        {"sections": 5}, {"sections": {"contingency": "x" * 60000}},
        {"sections": {"bogus": [BIG]}}, {"citizen": {"cpr": "010101-0000", "name": 7}},
        {"planned_date": "1999-13-45"}, {"receiver": {"unit": SENDING}}],
    "submit": COMMON_BODIES + [{"force": True}],
    "return": COMMON_BODIES + [
        {}, {"flags": "x"}, {"flags": []}, {"flags": [5]},
        {"flags": [{"section": 5, "kind": "bogus", "comment": "x" * 60000}]},
        {"flags": RETURN_FLAGS * 51}, {"flags": RETURN_FLAGS, "more": 1}],
    "accept": COMMON_BODIES + [{"readback": 5}, {"readback": "x" * 60000}, {"readback": ""}],
    "withdraw": COMMON_BODIES + [{"reason": 5}, {"reason": ""}, {"reason": BIG}],
    "forward": COMMON_BODIES + [
        {}, {"unit": 5, "reason": []}, {"unit": "NOPE", "reason": "x"},
        {"unit": SENDING, "reason": "x"}, {"unit": PARENT[SENDING], "reason": "x"},
        {"unit": RECEIVING, "reason": "x"}, {"unit": FORWARD_TO},
        {"unit": FORWARD_TO, "reason": BIG}],
    "reply": COMMON_BODIES + [
        {}, {"text": 5}, {"text": None}, {"text": ""}, {"text": " "}, {"text": "x" * 2001},
        {"text": BIG}, {"text": "\u0007"}, {"text": "x", "more": 1}],
    "DELETE": [],  # takes no body: only If-Match is judged
}
# Bodies the router refuses before any handler looks at a note: not JSON,
# JSON but neither an object nor an array, not declared JSON, nested too
# deep, a string over 64 KiB.
ROUTER_BODIES = [(b"{", "application/json"), (b"\xff\xfe", "application/json"),
                 (b"5", "application/json"), (b'"x"', "application/json"),
                 (b"null", "application/json"), (b"true", "application/json"),
                 (b'{"a":' * 40 + b"1" + b"}" * 40, "application/json"),
                 (b'{"reason": "' + b"x" * 70000 + b'"}', "application/json"),
                 (b'{"reason": "x"}', "text/plain")]
NEEDS_BODY = {"PATCH", "return", "forward", "reply"}  # the others take none, too
WRITES = [e for e in TABLE if is_note_scoped(e) and split(e)[0] != "GET"]


def write_kind(endpoint):
    m = split(endpoint)[0]
    return m if m in ("PATCH", "DELETE") else endpoint.rsplit("/", 1)[1]


def hostile_requests(endpoint):
    """(what, body bytes or None, Content-Type, If-Match) to try: "current"
    for the note's own version."""
    kind = write_kind(endpoint)
    benign = (PATCH_BODY if kind == "PATCH" else REPLY_BODY if kind == "reply"
              else None if kind == "DELETE" else ACTION_BODIES[kind])
    benign = None if benign is None else json.dumps(benign).encode()
    out = [(f"json {json.dumps(b)[:60]}", json.dumps(b, ensure_ascii=False).encode(),
            "application/json", "current") for b in HOSTILE_BODIES[kind]]
    # If-Match: stale, not an entity tag, a wildcard, and (PATCH) none
    for tag in ('"999"', "garbage", "*", '"0"'):
        out.append((f"If-Match {tag}", benign, "application/json", tag))
    if kind in ("PATCH", "reply", "DELETE"):
        out.append(("no If-Match", benign, "application/json", None))
    return out


def router_requests(endpoint):
    out = [(f"raw {data[:30]!r} as {ctype}", data, ctype, "current")
           for data, ctype in ROUTER_BODIES]
    if write_kind(endpoint) in NEEDS_BODY:
        out.append(("no body", None, None, "current"))
    return out


def send_raw(w, session, role, endpoint, hid, data, ctype, if_match, version=1):
    """One request as `role` to the note `hid`; if_match "current" sends
    `version` (the note's own), None none, else the value as given."""
    m, path = split(endpoint)
    h = dict(w.user(role).headers)
    if ctype:
        h["Content-Type"] = ctype
    if if_match == "current":
        h["If-Match"] = '"%d"' % version
    elif if_match is not None:
        h["If-Match"] = if_match
    return session.request(m, w.d.url + path.replace("{id}", hid).replace("{index}", "0"),
                           headers=h, data=data, timeout=TIMEOUT)


HOSTILE_ROLES = [r for r in ROLES if r != "anonymous" and
                 any(code == 404 for e in WRITES for code in cell(e, r).values())]


@pytest.mark.parametrize("role", HOSTILE_ROLES)
def test_hostile_body_to_an_unseen_note_is_404(world, role):
    """To a note the role may not see or act on (every 404 cell of PATCH
    and the actions: a draft for the receiving side, every note for a lead
    above or anyone else), a body that could not be used is the same 404,
    the same answer as for a note that does not exist: the refusal comes
    before anything in the request is judged. A body the router refuses
    before any note is looked at gets the same answer for every note,
    whether one may see it, or it exists, or not. Nothing changes."""
    w = world
    before = w.digest()
    versions = {hid: w.version(hid) for hid in w.notes.values()}
    with requests.Session() as s:
        for j, endpoint in enumerate(WRITES):
            states = [st for st, code in cell(endpoint, role).items() if code == 404]
            if not states:
                continue
            tries = [(x, True) for x in hostile_requests(endpoint)]
            tries += [(x, False) for x in router_requests(endpoint)]
            # each request on one of the notes in turn, so every state
            # meets several (all of them on every note took six times as
            # long, under ASan and valgrind too, to learn the same)
            for i, ((what, data, ctype, tag), must_404) in enumerate(tries):
                nowhere = send_raw(w, s, role, endpoint, NOWHERE, data, ctype, tag)
                if must_404:
                    assert_denied(nowhere, 404)
                else:
                    assert nowhere.status_code >= 400, (endpoint, what, nowhere.text)
                st = states[(i + j) % len(states)]
                hid = w.notes[st]
                r = send_raw(w, s, role, endpoint, hid, data, ctype, tag, versions[hid])
                assert r.headers.get("Content-Type", "").startswith(
                    "application/problem+json"), (endpoint, st, what, r.text[:500])
                assert problem_of(r) == problem_of(nowhere), (
                    endpoint, role, st, what, r.status_code, r.text[:500])
    assert w.digest() == before, role


# Who may make each write, and on a note in which state: the hostile
# bodies must be refused to them (so the 404 above is no accident).
MAY_WRITE = {"PATCH": ("sender", "draft"), "submit": ("sender", "draft"),
             "withdraw": ("sender", "submitted"), "return": ("receiver", "received"),
             "accept": ("receiver", "received"), "forward": ("receiver", "received"),
             "reply": ("sender", "returned"), "DELETE": ("sender", "draft")}


def test_hostile_bodies_are_refused_to_those_who_may_write(world):
    """The hostile bodies are what they claim: to a note the role may act
    on, in a state that allows the write, each is refused (400, 412, 422,
    428; not 404) and changes nothing. An If-Match of "*" is left out: it
    may well match."""
    w = world
    with requests.Session() as s:
        for endpoint in WRITES:
            role, state = MAY_WRITE[write_kind(endpoint)]
            assert cell(endpoint, role)[state] in (200, 204), (endpoint, role, state)
            hid = w.note_in(state)
            version = w.version(hid)
            before = w.digest()
            for what, data, ctype, tag in hostile_requests(endpoint):
                if tag == "*":
                    continue
                r = send_raw(w, s, role, endpoint, hid, data, ctype, tag, version)
                assert r.status_code in (400, 412, 422, 428), (
                    endpoint, role, what, r.status_code, r.text[:500])
            assert w.digest() == before, endpoint


# --- the people placed directly in a department ----------------------------------------------

DEPARTMENT_PEOPLE = sorted(uid for uid, unit in UNIT_OF.items()
                           if PARENT.get(unit, "") is None and not LEADS_OF.get(uid))


def test_parent_node_people_see_nothing(world):
    """The people placed directly in a department node who lead nothing
    (the demo's stab teams: yst and spo in BUF, ano and tda in BSF, who
    are also the demo's admins, tol and dan in ÆHF) are members of the
    department, not of the units below it: every note is 404 to them, as
    if it did not exist, their lists and quality reports are empty, and
    they may not file on BUR's route."""
    w = world
    by_dept = {}
    for uid in DEPARTMENT_PEOPLE:
        by_dept.setdefault(UNIT_OF[uid], []).append(uid)
    assert set(by_dept) == {u for u, p in PARENT.items() if p is None}, by_dept
    assert {"yst", "ano", "tda"} <= set(DEPARTMENT_PEOPLE)
    before = w.digest()
    for uid in DEPARTMENT_PEOPLE:
        u = User(w.d, uid)
        assert u.unit == UNIT_OF[uid], (uid, u.unit)
        w.users["_dept"] = u
        try:
            for endpoint in NOTE_READS:
                nowhere = w.nowhere(endpoint, "_dept")
                for st in STATES:
                    r, _ = w.call(endpoint, "_dept", st)
                    assert_as_if_nowhere(w, r, endpoint, "_dept", (uid, st), nowhere=nowhere)
            for box in ("outgoing", "incoming", None):
                assert w.listed("_dept", box) == [], (uid, box)
            r = requests.get(w.d.url + "/api/v1/reports/quality", headers=u.headers,
                             timeout=TIMEOUT)
            assert r.status_code == 200 and r.json()["periods"] == [], (uid, r.text)
            r, _ = w.call("POST /api/v1/handovers", "_dept")
            assert_denied(r, 403)
        finally:
            del w.users["_dept"]
    # their logins and reads leave sessions and audit rows, nothing else
    after = w.digest()
    for k in ("sessions", "audit"):
        before.pop(k), after.pop(k)
    assert after == before


# --- forwarding --------------------------------------------------------------------------


def test_forward_hands_the_note_over(world):
    """After UR forwards a note to VSR, UR (mha, and kmo who leads it) sees
    it no more: 404 for the note, its history and every action, as for a
    note that does not exist, a forward to the unit it now sits at (VSR)
    included, which would otherwise say where the note went; nothing
    changes, and it leaves their lists. BSF's lead, above VSR as above UR,
    still reads it masked; the sending side keeps it. VSR's first read
    receives it, and VSR decides on it."""
    w = world
    api, mha, kmo, sbo = w.api, w.users["receiver"], w.users["receiver_lead"], w.users["sender"]
    hid = w.note_in("received")
    # while it is UR's, UR may be told it is at UR already
    r = api.act(mha, hid, "forward", {"unit": RECEIVING, "reason": "Her er den."})
    assert_denied(r, 422)
    r = api.act(mha, hid, "forward", ACTION_BODIES["forward"])
    assert r.status_code == 200 and r.json()["receiver"]["unit"] == FORWARD_TO, r.text
    before = w.digest()
    tries = [("GET /api/v1/handovers/{id}", None), ("GET /api/v1/handovers/{id}/history", None),
             ("PATCH /api/v1/handovers/{id}", PATCH_BODY)]
    tries += [(f"POST /api/v1/handovers/{{id}}/{a}", b) for a, b in ACTION_BODIES.items()]
    tries += [("POST /api/v1/handovers/{id}/forward", {"unit": u, "reason": "Igen."})
              for u in (FORWARD_TO, RECEIVING, "JC-UNG")]
    version = w.version(hid)
    with requests.Session() as s:
        for role in ("receiver", "receiver_lead"):
            for endpoint, body in tries:
                data = None if body is None else json.dumps(body).encode()
                ctype = "application/json" if data else None
                tag = None if split(endpoint)[0] == "GET" else "current"
                got = send_raw(w, s, role, endpoint, hid, data, ctype, tag, version)
                nowhere = send_raw(w, s, role, endpoint, NOWHERE, data, ctype, tag)
                assert_denied(got, 404)
                assert problem_of(got) == problem_of(nowhere), (role, endpoint, body, got.text)
    assert w.digest() == before
    for role in ("receiver", "receiver_lead"):
        for box in ("outgoing", "incoming", None):
            assert hid not in {i["id"] for i in w.listed(role, box)}, (role, box)
    citizen = w.citizens[hid]
    for role in ("lead_above_receiver", "lead_above_sender"):
        r = w.api.get(w.users[role], hid)
        assert r.status_code == 200, (role, r.text)
        out = r.json()
        assert out["status"] == "submitted" and out["access"] == "read", (role, out["status"])
        assert_citizen(citizen, out["citizen"], "read", whole_cpr=True)
        assert hid in {i["id"] for i in w.listed(role)}, role
    for role in ("sibling", "department", "other_department", "quality", "admin"):
        assert_denied(api.get(w.users[role], hid), 404)
    aar = User(w.d, "aar")  # a caseworker of VSR
    assert aar.unit == FORWARD_TO
    r = api.get(aar, hid)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "received" and out["access"] == "receiver", out
    assert_citizen(citizen, out["citizen"], "receiver", whole_cpr=True)
    # VSR may be told it is at VSR already: it is theirs
    assert_denied(api.act(aar, hid, "forward", {"unit": FORWARD_TO, "reason": "Her."}), 422)
    r = api.act(aar, hid, "accept", ACTION_BODIES["accept"])
    assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
    for user in (mha, kmo):
        assert_denied(api.get(user, hid), 404)
    out = w.note(hid)
    assert out["receiver"]["unit"] == FORWARD_TO and out["access"] == "sender", out
    assert api.get(sbo, hid).status_code == 200


def test_forward_never_to_the_sending_side(world):
    """The receiving side cannot forward a note to its sending unit (BUR),
    nor to the department above it (BUF): the sending side would then
    decide on its own note (sbo accepting what sbo filed), skipping the
    flags a return needs. 422 naming `unit`, and nothing changes."""
    w = world
    for role in ("receiver", "receiver_lead"):
        user = w.users[role]
        for state in ("submitted", "received"):
            hid = w.notes[state]
            before = w.digest()
            for unit in (SENDING, PARENT[SENDING]):
                r = w.api.act(user, hid, "forward", {"unit": unit,
                                                     "reason": "Tilbage til afsender."})
                body = assert_denied(r, 422)
                assert [e["field"] for e in body["errors"]] == ["unit"], body
                assert body["errors"][0]["code"] == "invalid", body
            assert w.digest() == before, (role, state)


# --- coverage: every endpoint has a row -------------------------------------------------


def router_endpoints():
    """{"METHOD /pattern"} of app/routes.c's table ("*" as in the table)."""
    with open(os.path.join(REPO, "app", "routes.c"), encoding="utf-8") as f:
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
    assert routed == rows, (f"app/routes.c without a row: {sorted(routed - rows)}; "
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
    for role in ("sender", "receiver", "admin", "lead_above_sender", "sibling"):
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
