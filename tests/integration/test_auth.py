"""Login, sessions, roles, rate limits and the audit log, against real slapd
(the demo directory, and an own one in Active Directory layout) and real
PostgreSQL.

Every test starts its own stafetd with its own database. The session-scoped
slapd is shared with other test files: a test that changes an entry (an
account locked or expired) puts it back in a `finally`."""

import base64
import datetime
import json
import os
import re
import signal
import socket
import statistics
import sys
import threading
import time

import pytest
import requests

from tests.harness.slapd import AD_LDIF, AD_SCHEMA_LDIF, Slapd
from tests.integration.test_directory import directory_settings, wait_until
from tests.integration.test_directory_ad import ad_settings

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fixtures"))
import gen_ad_ldif as ad  # noqa: E402

BASE = "dc=stafet,dc=example"
PEOPLE = "ou=people," + BASE
GROUPS = "ou=groups," + BASE
QUALITY_GROUP = "cn=stafet-quality," + GROUPS
ADMIN_GROUP = "cn=stafet-admin," + GROUPS
PASSWORD = "demo"
# Under valgrind (STAFETD_WRAPPER) everything the daemon does is many times
# slower: checks that an answer came quickly are left out or loosened there.
WRAPPED = bool(os.environ.get("STAFETD_WRAPPER", "").strip())
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
PERSON_KEYS = {"id", "username", "display_name", "given_name", "surname", "title",
               "email", "phone", "mobile", "office", "unit", "target_groups",
               "target_group_names", "allocation", "absent", "deputy", "manager"}


# --- helpers ---------------------------------------------------------------


def auth_settings(tmp_path, uri, **extra):
    """The demo directory with login on: no anonymous reads, the role groups,
    and a short failure delay where timing does not matter."""
    s = directory_settings(tmp_path, uri)
    s.update({
        "directory_anonymous_read": "no",
        "role_quality_group": f'"{QUALITY_GROUP}"',
        "role_admin_group": f'"{ADMIN_GROUP}"',
        "login_failure_delay": "50ms",
    })
    s.update(extra)
    return s


def ready(d):
    try:
        return requests.get(d.url + "/readyz", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def start(stafetd, db, settings, name="a"):
    settings = dict(settings)
    settings.update(db.settings())
    inst = stafetd(settings=settings, name=name)
    # valgrind on a busy 2-core machine can take longer than 20 s to a first snapshot
    wait_until(lambda: ready(inst), timeout=60 if WRAPPED else 20,
               what="stafetd ready (database and first snapshot)")
    return inst


@pytest.fixture
def d(slapd, db, stafetd, tmp_path):
    return start(stafetd, db, auth_settings(tmp_path, slapd.uri))


def login(d, username, password=PASSWORD, headers=None, body=None):
    """POST /api/v1/session; body overrides the JSON object sent."""
    if body is None:
        body = {"username": username, "password": password}
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return requests.post(d.url + "/api/v1/session", data=data, headers=h, timeout=30)


def token_of(d, username, password=PASSWORD, headers=None):
    r = login(d, username, password, headers=headers)
    assert r.status_code == 201, (r.status_code, r.headers, r.text)
    return r.json()["token"]


def bearer(token):
    return {"Authorization": "Bearer " + token}


def cookie(token):
    return {"Cookie": "stafet_session=" + token}


def get(d, path, headers=None, **params):
    return requests.get(d.url + path, headers=headers or {}, params=params, timeout=10)


def delete_session(d, headers):
    return requests.delete(d.url + "/api/v1/session", headers=headers, timeout=10)


def me(d, headers):
    return get(d, "/api/v1/me", headers)


def assert_problem(r, status):
    assert r.status_code == status, (r.status_code, dict(r.headers), r.text)
    ctype = r.headers.get("Content-Type", "")
    assert ctype.startswith("application/problem+json"), ctype
    body = r.json()
    assert body.get("status") == status, body
    return body


def assert_unauthorized(r):
    body = assert_problem(r, 401)
    assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), dict(r.headers)
    return body


def set_cookies(r):
    """Every Set-Cookie header of a response, unjoined."""
    return r.raw.headers.getlist("Set-Cookie")


def parse_cookie(header):
    """'n=v; Path=/; HttpOnly' -> ('n', 'v', {'path': '/', 'httponly': True})."""
    parts = [p.strip() for p in header.split(";")]
    name, _, value = parts[0].partition("=")
    attrs = {}
    for p in parts[1:]:
        if not p:
            continue
        k, eq, v = p.partition("=")
        attrs[k.strip().lower()] = v.strip() if eq else True
    return name.strip(), value.strip(), attrs


def session_cookie(r):
    found = [parse_cookie(h) for h in set_cookies(r)]
    found = [c for c in found if c[0] == "stafet_session"]
    assert len(found) == 1, set_cookies(r)
    return found[0]


def audit_rows(db, action=None):
    where = "" if action is None else "WHERE action = '%s'" % action.replace("'", "''")
    return db.query_json(
        "SELECT coalesce(json_agg(row_to_json(a) ORDER BY id), '[]'::json) "
        f"FROM audit_log a {where};")


def wait_audit(db, pred, what, timeout=10):
    """Waits until some audit row satisfies pred; returns those rows."""
    return wait_until(lambda: [r for r in audit_rows(db) if pred(r)], timeout=timeout,
                      what=what)


def ldap_attr(slapd, dn, attr):
    out = slapd.ldapsearch("-b", dn, "-s", "base", "(objectClass=*)", attr).stdout
    out = out.replace("\n ", "")
    vals = []
    for line in out.splitlines():
        if line.lower().startswith(attr.lower() + "::"):
            vals.append(base64.b64decode(line.split("::", 1)[1].strip()).decode())
        elif line.lower().startswith(attr.lower() + ":"):
            vals.append(line.split(":", 1)[1].strip())
    return vals


def expected_roles(slapd, uid, quality=False, admin=False):
    dn = f"uid={uid},{PEOPLE}"
    roles = {("caseworker", u) for u in ldap_attr(slapd, dn, "stafetUnitCode")}
    out = slapd.ldapsearch("-b", "ou=units," + BASE, f"(stafetLead={dn})",
                           "stafetUnitCode").stdout.replace("\n ", "")
    for line in out.splitlines():
        if line.startswith("stafetUnitCode::"):
            roles.add(("lead", base64.b64decode(line.split("::", 1)[1].strip()).decode()))
        elif line.startswith("stafetUnitCode:"):
            roles.add(("lead", line.split(":", 1)[1].strip()))
    if quality:
        roles.add(("quality", None))
    if admin:
        roles.add(("admin", None))
    return roles


def role_set(me_body):
    roles = me_body["roles"]
    assert isinstance(roles, list)
    for r in roles:
        assert set(r) == {"role", "unit"}, r
    return {(r["role"], r["unit"]) for r in roles}


def parse_time(s):
    assert isinstance(s, str) and s.endswith("Z"), s
    return datetime.datetime.fromisoformat(s[:-1].replace("T", " ")) \
        .replace(tzinfo=datetime.timezone.utc)


def ldapmodify(slapd, dn, *changes):
    """changes: LDIF modify blocks, e.g. "replace: x\\nx: 1"."""
    slapd.ldapmodify(f"dn: {dn}\nchangetype: modify\n" + "\n-\n".join(changes) + "\n")


def healthy(d):
    return requests.get(d.url + "/healthz", timeout=5).status_code == 200


# --- login and the two ways to carry a session -------------------------------


def test_login_token_works_as_bearer_and_cookie(d, slapd):
    before = datetime.datetime.now(datetime.timezone.utc)
    r = login(d, "mha")
    assert r.status_code == 201, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert "no-store" in r.headers.get("Cache-Control", "")
    body = r.json()
    assert set(body) == {"token", "expires_at", "user"}, body
    token = body["token"]
    assert TOKEN_RE.match(token), token
    assert len(base64.urlsafe_b64decode(token + "=")) == 32
    exp = parse_time(body["expires_at"])
    assert before + datetime.timedelta(hours=9, minutes=59) <= exp \
        <= before + datetime.timedelta(hours=10, minutes=1), body["expires_at"]
    user = body["user"]
    assert set(user) == PERSON_KEYS, user
    assert user["username"] == "mha" and user["display_name"] == "Mette Hansen"
    assert user["unit"]["code"] == "UR"

    # The user object is the Person of GET /people/{id}.
    r = get(d, "/api/v1/people/" + user["id"], bearer(token))
    assert r.status_code == 200, r.text
    person = r.json()
    person.pop("directory", None)  # the snapshot's state, not the person's
    assert person == user

    name, value, _ = session_cookie(login(d, "mha"))
    assert name == "stafet_session" and TOKEN_RE.match(value)

    for headers, via in ((bearer(token), "bearer"), (cookie(token), "cookie")):
        r = me(d, headers)
        assert r.status_code == 200, (via, r.text)
        m = r.json()
        assert {k: v for k, v in m.items() if k not in ("roles", "session", "draft_key")} \
            == user
        # the key the web UI encrypts its local copy of unsaved text with:
        # 32 bytes, the same through either carrier (test_draft_key.py)
        assert len(base64.b64decode(m["draft_key"], validate=True)) == 32
        assert role_set(m) == expected_roles(slapd, "mha") == {("caseworker", "UR")}
        assert m["session"]["via"] == via
        assert parse_time(m["session"]["expires_at"]) <= exp + datetime.timedelta(seconds=1)
        r = get(d, "/api/v1/people", headers, q="mette hansen")
        assert r.status_code == 200, (via, r.text)
        assert any(p["username"] == "mha" for p in r.json()["items"])
        r = get(d, "/api/v1/units/UR", headers)
        assert r.status_code == 200, (via, r.text)

    # Two logins are two sessions with different tokens.
    assert value != token
    # Among other cookies, as browsers send it.
    r = me(d, {"Cookie": "lang=da; stafet_session=%s; theme=dark" % token})
    assert r.status_code == 200, r.text
    assert r.json()["session"]["via"] == "cookie"


def test_roles_lead_quality_admin(d, slapd):
    pka = me(d, bearer(token_of(d, "pka"))).json()
    assert pka["username"] == "pka"
    assert role_set(pka) == expected_roles(slapd, "pka", quality=True)
    assert ("lead", "BUR") in role_set(pka) and ("quality", None) in role_set(pka)

    kmo = me(d, bearer(token_of(d, "kmo"))).json()
    assert role_set(kmo) == expected_roles(slapd, "kmo", quality=True)
    assert ("lead", "UR") in role_set(kmo)

    ano = me(d, bearer(token_of(d, "ano"))).json()
    assert role_set(ano) == expected_roles(slapd, "ano", admin=True)
    assert ("admin", None) in role_set(ano) and ("quality", None) not in role_set(ano)

    sbo = me(d, bearer(token_of(d, "sbo"))).json()
    assert role_set(sbo) == {("caseworker", "BUR")}


def test_nested_group_membership_counts(slapd, db, stafetd, tmp_path):
    """role_quality_group names a group whose member is the admin group: the
    admin group's members hold the quality role too."""
    nested = "cn=stafet-auth-test-nested," + GROUPS
    slapd.ldapmodify(f"""dn: {nested}
changetype: add
objectClass: groupOfNames
cn: stafet-auth-test-nested
member: {ADMIN_GROUP}
""")
    try:
        d = start(stafetd, db, auth_settings(tmp_path, slapd.uri,
                                             role_quality_group=f'"{nested}"'))
        tda = me(d, bearer(token_of(d, "tda"))).json()
        assert role_set(tda) == expected_roles(slapd, "tda", quality=True, admin=True)
        # pka is in stafet-quality, which is not the configured group now.
        pka = me(d, bearer(token_of(d, "pka"))).json()
        assert ("quality", None) not in role_set(pka)
    finally:
        slapd.ldapmodify(f"dn: {nested}\nchangetype: delete\n")


def test_username_is_case_insensitive(d):
    for typed in ("MHA", "Mha", "mHa"):
        r = login(d, typed)
        assert r.status_code == 201, (typed, r.text)
        assert r.json()["user"]["username"] == "mha"
        assert me(d, bearer(r.json()["token"])).json()["username"] == "mha"


# --- failures ----------------------------------------------------------------


def test_failures_are_alike(d, db):
    answers = {
        "wrong password": login(d, "mha", "not-the-password"),
        "unknown user": login(d, "nosuchuser-xq", "demo"),
        "empty password": login(d, "mha", ""),
        "empty username": login(d, "", "demo"),
        "both empty": login(d, "", ""),
    }
    bodies, header_names = {}, {}
    for what, r in answers.items():
        assert_problem(r, 401)
        header_names[what] = frozenset(k.lower() for k in r.headers
                                       if k.lower() not in ("date", "x-request-id"))
        assert not [c for c in set_cookies(r) if "stafet_session=" in c
                    and "Max-Age=0" not in c], (what, set_cookies(r))
        bodies[what] = r.content
    assert len(set(bodies.values())) == 1, bodies
    assert len(set(header_names.values())) == 1, header_names
    assert "token" not in json.loads(bodies["wrong password"])

    rows = wait_audit(db, lambda r: r["action"] == "login.failed"
                      and r["detail"] == "unknown user", "unknown-user failure row")
    assert rows[0]["actor_id"] is None and rows[0]["actor_username"] is None
    assert rows[0]["address"] == "127.0.0.1"
    failed = audit_rows(db, "login.failed")
    by_detail = {r["detail"]: r for r in failed}
    for detail in ("wrong password", "unknown user", "empty password"):
        assert detail in by_detail, failed
    for detail in ("wrong password", "empty password"):
        assert by_detail[detail]["actor_username"] == "mha", by_detail[detail]
        assert by_detail[detail]["actor_id"], by_detail[detail]
    assert len(failed) == 5, failed
    # The unknown name a user typed (maybe a password in the wrong box) is
    # not stored.
    assert "nosuchuser-xq" not in json.dumps(audit_rows(db))
    assert audit_rows(db, "login") == []


def test_failure_timing_does_not_tell_unknown_from_wrong(slapd, db, stafetd, tmp_path):
    d = start(stafetd, db, auth_settings(
        tmp_path, slapd.uri, login_failure_delay="300ms",
        login_user_max_failures="100", login_address_max_failures="100"))

    def timed(username, password):
        t = time.monotonic()
        r = login(d, username, password)
        elapsed = time.monotonic() - t
        assert r.status_code == 401, r.text
        return elapsed

    # A success first: the delay must hold for every failure, also after
    # the daemon has served logins.
    assert login(d, "mha").status_code == 201
    wrong, unknown = [], []
    for i in range(5):
        wrong.append(timed("sbo", "wrong-%d" % i))
        unknown.append(timed("nobody-%d" % i, "wrong"))
    for t in wrong + unknown:
        assert t >= 0.29, (wrong, unknown)  # login_failure_delay
    for t in (timed("sbo", ""), timed("", "x")):
        assert t >= 0.29, t
    mw, mu = statistics.median(wrong), statistics.median(unknown)
    assert abs(mw - mu) <= 0.150 or max(mw, mu) <= 3 * min(mw, mu), (wrong, unknown)
    # A success is not held back by the failure delay.
    t = time.monotonic()
    assert login(d, "sbo").status_code == 201
    assert WRAPPED or time.monotonic() - t < 0.29


def test_login_validation(d):
    r = login(d, None, body={"username": "mha"})
    body = assert_problem(r, 422)
    assert "password" in [e["field"] for e in body["errors"]], body
    r = login(d, None, body={"password": "demo"})
    body = assert_problem(r, 422)
    assert "username" in [e["field"] for e in body["errors"]], body
    r = login(d, None, body={})
    body = assert_problem(r, 422)
    assert {"username", "password"} <= {e["field"] for e in body["errors"]}, body
    for bad in (1, None, True, ["mha"], {"uid": "mha"}, 1.5):
        r = login(d, None, body={"username": bad, "password": "demo"})
        body = assert_problem(r, 422)
        assert "username" in [e["field"] for e in body["errors"]], (bad, body)
        r = login(d, None, body={"username": "mha", "password": bad})
        body = assert_problem(r, 422)
        assert "password" in [e["field"] for e in body["errors"]], (bad, body)
    r = login(d, None, body={"username": "mha", "password": "demo", "remember": True})
    body = assert_problem(r, 400)
    assert "remember" in json.dumps(body), body


def test_hostile_login_bodies(slapd, db, stafetd, tmp_path):
    d = start(stafetd, db, auth_settings(tmp_path, slapd.uri, login_user_max_failures="1000",
                                         login_address_max_failures="1000"))
    # Strings that are no username: refused like any unknown user (every
    # demo password is "demo", so a filter built without RFC 4515 escaping
    # would log someone in).
    for username in ("*", "mha)(uid=*", "*)(|(uid=*", "mh*", "m*a", "(uid=mha)",
                     f"uid=mha,{PEOPLE}", "mha\\",
                     "mha@stafet.example", "Søren", "\u202emha"):
        r = login(d, username)
        assert_problem(r, 401)
    # Accounts that are no people: the service account, the rootdn.
    for username, password in (("stafetd", "stafetd-demo"),
                               ("cn=stafetd,ou=services," + BASE, "stafetd-demo"),
                               ("admin", slapd.admin_password),
                               (slapd.admin_dn, slapd.admin_password)):
        assert_problem(login(d, username, password), 401)
    cases = [
        ("huge username", {"username": "a" * 70000, "password": "demo"}),
        ("long username", {"username": "m" * 5000, "password": "demo"}),
        ("huge password", {"username": "mha", "password": "p" * 70000}),
        ("array body", ["mha", "demo"]),
        ("string body", "mha:demo"),
        ("number body", 42),
        ("null body", None),
        ("deep nesting", {"username": json.loads("[" * 200 + "]" * 200),
                          "password": "demo"}),
    ]
    for what, body in cases:
        r = login(d, None, body=json.dumps(body))
        assert 400 <= r.status_code < 500, (what, r.status_code, r.text[:300])
        assert r.headers["Content-Type"].startswith("application/problem+json"), what
        assert healthy(d), what

    # NUL inside a password or username must not be cut off at the NUL.
    for what, raw in (
            ("NUL after password", b'{"username": "mha", "password": "demo\\u0000"}'),
            ("NUL inside password", b'{"username": "mha", "password": "demo\\u0000xyz"}'),
            ("NUL after username", b'{"username": "mha\\u0000", "password": "demo"}'),
            ("NUL inside username", b'{"username": "mha\\u0000x", "password": "demo"}'),
            ("NUL only password", b'{"username": "mha", "password": "\\u0000"}')):
        r = login(d, None, body=raw)
        assert r.status_code in (400, 401, 422), (what, r.status_code, r.text)
        assert_problem(r, r.status_code)

    raws = [
        ("invalid UTF-8", b'{"username": "\xff\xfemha", "password": "demo"}', (400,)),
        ("overlong UTF-8", b'{"username": "\xc0\xafmha", "password": "demo"}', (400,)),
        ("lone surrogate", b'{"username": "\\ud800", "password": "demo"}', (400, 401, 422)),
        ("not JSON", b"username=mha&password=demo", (400,)),
        ("truncated JSON", b'{"username": "mha", "password": "de', (400,)),
        ("empty body", b"", (400, 422)),
        ("duplicate keys", b'{"username": "x", "username": "mha", "password": "demo"}',
         (400, 401, 422)),
        ("2 MiB body", json.dumps({"username": "mha", "password": "p" * (2 << 20)}).encode(),
         (413,)),
    ]
    for what, raw, statuses in raws:
        try:
            r = login(d, None, body=raw)
        except requests.ConnectionError:
            # Closing the connection after a 413 while the client still
            # sends is allowed; the daemon must keep serving.
            assert what == "2 MiB body", what
        else:
            assert r.status_code in statuses, (what, r.status_code, r.text[:300])
            assert_problem(r, r.status_code)
        assert healthy(d), what

    # Many hostile connections at once, then a normal login still works.
    threads = [threading.Thread(target=lambda: login(d, None, body=b"{" * 10000))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert login(d, "mha").status_code == 201


# --- account state read fresh from LDAP -------------------------------------


@pytest.fixture
def d_slow_sync(slapd, db, stafetd, tmp_path):
    """The snapshot is not refreshed during the test: account state must
    come from LDAP at login."""
    return start(stafetd, db, auth_settings(
        tmp_path, slapd.uri, directory_refresh_interval="1h",
        directory_reconcile_interval="1h"))


def test_locked_openldap_account_refused_at_once(d_slow_sync, slapd, db):
    d = d_slow_sync
    dn = f"uid=ath,{PEOPLE}"
    wrong = login(d, "ath", "wrong").content
    assert login(d, "ath").status_code == 201
    ldapmodify(slapd, dn, "replace: pwdAccountLockedTime\npwdAccountLockedTime: 000001010000Z")
    try:
        r = login(d, "ath")
        assert_problem(r, 401)
        assert r.content == wrong
        rows = wait_audit(db, lambda r: r["action"] == "login.failed"
                          and r["detail"] == "account disabled", "account disabled row")
        assert rows[0]["actor_username"] == "ath" and rows[0]["actor_id"]
    finally:
        ldapmodify(slapd, dn, "delete: pwdAccountLockedTime")
    assert login(d, "ath").status_code == 201


def test_expired_openldap_account_refused_at_once(d_slow_sync, slapd, db):
    d = d_slow_sync
    dn = f"uid=ath,{PEOPLE}"
    today = int(time.time() // 86400)
    wrong = login(d, "ath", "wrong").content
    ldapmodify(slapd, dn, "add: objectClass\nobjectClass: shadowAccount",
               f"replace: shadowExpire\nshadowExpire: {today + 30}")
    try:
        assert login(d, "ath").status_code == 201  # expires in the future
        ldapmodify(slapd, dn, f"replace: shadowExpire\nshadowExpire: {today}")
        r = login(d, "ath")
        assert_problem(r, 401)
        assert r.content == wrong
        ldapmodify(slapd, dn, f"replace: shadowExpire\nshadowExpire: {today - 100}")
        assert_problem(login(d, "ath"), 401)
        rows = wait_audit(db, lambda r: r["action"] == "login.failed"
                          and r["detail"] == "account expired", "account expired row")
        assert rows[0]["actor_username"] == "ath"
        assert len(rows) == 2, rows
    finally:
        ldapmodify(slapd, dn, "delete: shadowExpire",
                   "delete: objectClass\nobjectClass: shadowAccount")
    assert login(d, "ath").status_code == 201


def test_session_ends_when_the_account_is_locked(d, slapd, db):
    """Once the snapshot has seen the lock, the account's open sessions end."""
    dn = f"uid=ath,{PEOPLE}"
    token = token_of(d, "ath")
    other = token_of(d, "mha")
    ldapmodify(slapd, dn, "replace: pwdAccountLockedTime\npwdAccountLockedTime: 000001010000Z")
    try:
        wait_until(lambda: me(d, bearer(token)).status_code == 401,
                   what="the locked account's session ended")
        assert_unauthorized(me(d, bearer(token)))
        assert me(d, bearer(other)).status_code == 200
    finally:
        ldapmodify(slapd, dn, "delete: pwdAccountLockedTime")
    # Back in the snapshot (polling by search: failed logins would block ath).
    wait_until(lambda: [p for p in get(d, "/api/v1/people", bearer(other),
                                       q="asbjørn thomsen").json()["items"]
                        if p["username"] == "ath"], what="ath back in the snapshot")
    assert login(d, "ath").status_code == 201
    assert_unauthorized(me(d, bearer(token)))  # the old session stays ended


@pytest.fixture(scope="module")
def ad_slapd(tmp_path_factory):
    s = Slapd(str(tmp_path_factory.mktemp("adslapd")), ldif=AD_LDIF, schemas=[AD_SCHEMA_LDIF])
    s.start()
    ad.enable_ad_filters(s)
    yield s
    s.stop()


def ad_auth_settings(tmp_path, uri, **extra):
    """test_directory_ad's settings with login on and no background sync
    to speak of (the tests change accounts behind the snapshot's back)."""
    s = {"directory_refresh_interval": "1h", "directory_reconcile_interval": "1h",
         "directory_anonymous_read": "no", "login_failure_delay": "50ms"}
    s.update(extra)
    return ad_settings(tmp_path, uri, **s)


def test_ad_login_by_sam_and_upn(ad_slapd, db, stafetd, tmp_path):
    d = start(stafetd, db, ad_auth_settings(tmp_path, ad_slapd.uri))
    ids = set()
    for typed in ("mha", "MHA", "mha@stafet.example", "MHA@Stafet.Example", "STAFET\\mha"):
        r = login(d, typed)
        assert r.status_code == 201, (typed, r.text)
        user = r.json()["user"]
        assert user["username"] == "mha" and user["display_name"] == "Mette Hansen", user
        ids.add(user["id"])
        m = me(d, bearer(r.json()["token"])).json()
        assert ("caseworker", "UR") in role_set(m)
    assert len(ids) == 1
    assert_problem(login(d, "mha", "wrong"), 401)
    assert_problem(login(d, "mha@other.example"), 401)
    # Accounts disabled or expired from the start.
    for sam in ("bsp", "ksp", "jud", "pud"):
        assert_problem(login(d, sam), 401)
    # The service account lives outside the people base: no login.
    for name in (ad.SERVICE_USERNAME, ad.SERVICE_USERNAME + "@stafet.example"):
        assert_problem(login(d, name, ad.SERVICE_PASSWORD), 401)


def test_ad_block_covers_both_logon_names(ad_slapd, db, stafetd, tmp_path):
    """sAMAccountName and userPrincipalName name one account: failures under
    either count together, and a block holds under both."""
    d = start(stafetd, db, ad_auth_settings(tmp_path, ad_slapd.uri,
                                            login_user_max_failures="3",
                                            login_user_block="15min"))
    # DOMAIN\\user, where the daemon takes it, is one more name for the account.
    names = ["sbo", "sbo@stafet.example", "SBO@STAFET.EXAMPLE"]
    if login(d, "STAFET\\sbo").status_code == 201:
        names.append("STAFET\\sbo")
    assert_problem(login(d, "sbo", "bad"), 401)
    assert_problem(login(d, "sbo@stafet.example", "bad"), 401)
    assert_problem(login(d, "SBO", "bad"), 401)
    for name in names:
        assert_problem(login(d, name), 429)


def test_ad_block_with_a_upn_unlike_the_account_name(ad_slapd, db, stafetd, tmp_path):
    """A UPN's local part often differs from the sAMAccountName. Failures
    under the UPN count on the account (pka is blocked) and on the UPN's
    bare name, just as they would for a UPN nobody has: the 429s do not
    tell the two apart."""
    out = ad_slapd.ldapsearch("-b", ad.USERS_DN, "(sAMAccountName=pka)", "dn").stdout
    line = out.replace("\n ", "").splitlines()[0]
    dn = (base64.b64decode(line[4:].strip()).decode() if line.startswith("dn::")
          else line.split(":", 1)[1].strip())
    ldapmodify(ad_slapd, dn, "replace: userPrincipalName\nuserPrincipalName: "
               "p.kjaer@stafet.example")
    try:
        d = start(stafetd, db, ad_auth_settings(tmp_path, ad_slapd.uri,
                                                login_user_max_failures="3",
                                                login_user_block="15min"))
        assert login(d, "p.kjaer@stafet.example").json()["user"]["username"] == "pka"
        for upn in ("p.kjaer@stafet.example", "q.nobody@stafet.example"):
            for i in range(3):
                assert_problem(login(d, upn, "wrong%d" % i), 401)
        for name in ("p.kjaer", "x\\P.KJAER", "p.kjaer@other.example",
                     "q.nobody", "x\\Q.NOBODY", "q.nobody@other.example",
                     "pka", "STAFET\\pka", "p.kjaer@stafet.example"):
            assert_problem(login(d, name), 429)
        assert login(d, "mha").status_code == 201
    finally:
        ldapmodify(ad_slapd, dn, "replace: userPrincipalName\nuserPrincipalName: "
                   "pka@stafet.example")


def test_ad_disabled_and_expired_after_sync(ad_slapd, db, stafetd, tmp_path):
    d = start(stafetd, db, ad_auth_settings(tmp_path, ad_slapd.uri))
    kni = ad_slapd.ldapsearch("-b", ad.USERS_DN, "(sAMAccountName=kni)", "dn").stdout
    kni_dn = kni.replace("\n ", "").splitlines()[0].split(":", 1)[1].strip()
    rko = ad_slapd.ldapsearch("-b", ad.USERS_DN, "(sAMAccountName=rko)", "dn").stdout
    rko_dn = rko.replace("\n ", "").splitlines()[0].split(":", 1)[1].strip()
    assert login(d, "kni").status_code == 201
    assert login(d, "rko@stafet.example").status_code == 201
    wrong = login(d, "kni", "wrong").content
    ldapmodify(ad_slapd, kni_dn, "replace: userAccountControl\nuserAccountControl: 514")
    past = ad.filetime(2020, 1, 1)
    ldapmodify(ad_slapd, rko_dn, f"replace: accountExpires\naccountExpires: {past}")
    try:
        r = login(d, "kni")
        assert_problem(r, 401)
        assert r.content == wrong
        assert_problem(login(d, "kni@stafet.example"), 401)
        assert_problem(login(d, "rko"), 401)
        wait_audit(db, lambda r: r["action"] == "login.failed"
                   and r["detail"] == "account disabled" and r["actor_username"] == "kni",
                   "AD account disabled row")
        wait_audit(db, lambda r: r["action"] == "login.failed"
                   and r["detail"] == "account expired" and r["actor_username"] == "rko",
                   "AD account expired row")
    finally:
        ldapmodify(ad_slapd, kni_dn, "replace: userAccountControl\nuserAccountControl: 512")
        ldapmodify(ad_slapd, rko_dn,
                   f"replace: accountExpires\naccountExpires: {ad.NEVER_MAX}")
    assert login(d, "kni").status_code == 201
    assert login(d, "rko").status_code == 201


def test_ldap_down_is_503(db, stafetd, tmp_path):
    own = Slapd(str(tmp_path / "own-slapd"))
    own.start()
    try:
        d = start(stafetd, db, auth_settings(tmp_path, own.uri, login_user_max_failures="2",
                                             login_user_block="15min"))
        token = token_of(d, "mha")
        assert_problem(login(d, "kmo", "bad"), 401)
        assert_problem(login(d, "kmo", "bad"), 401)
        own.stop()
        r = login(d, "sbo")
        assert_problem(r, 503)
        assert int(r.headers["Retry-After"]) >= 1
        # A blocked username is answered without asking LDAP.
        assert_problem(login(d, "kmo"), 429)
        # Sessions already open keep working from the snapshot.
        assert me(d, bearer(token)).status_code == 200
        own.start()
        wait_until(lambda: login(d, "sbo").status_code == 201, what="login after LDAP is back")
    finally:
        own.stop()


def stopped(pid):
    """True once the process is in the stopped state (SIGSTOP has landed)."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] in ("T", "t")


def test_hung_ldap_is_503_and_the_queue_is_bounded(db, stafetd, tmp_path):
    """A slapd that accepts but never answers: logins end in 503 after the
    LDAP timeouts, waiting logins beyond login_queue_max get 503 at once,
    and the daemon keeps serving meanwhile."""
    own = Slapd(str(tmp_path / "own-slapd"))
    own.start()
    try:
        d = start(stafetd, db, auth_settings(tmp_path, own.uri, ldap_timeout="2s",
                                             login_workers="1", login_queue_max="2"))
        token = token_of(d, "mha")
        own.pause()
        wait_until(lambda: stopped(own.pid), timeout=5, what="slapd stopped by SIGSTOP")
        results = {}

        def attempt(i):
            t = time.monotonic()
            r = login(d, ["sbo", "pka", "kmo", "ath", "ano", "tda"][i])
            results[i] = (r.status_code, time.monotonic() - t, r.headers.get("Retry-After"))

        threads = [threading.Thread(target=attempt, args=(i,)) for i in range(6)]
        for th in threads:
            th.start()
            time.sleep(0.05)
        time.sleep(0.3)
        t = time.monotonic()
        assert healthy(d)
        assert me(d, bearer(token)).status_code == 200
        assert time.monotonic() - t < (3.0 if WRAPPED else 1.0)
        for th in threads:
            th.join(60)
        assert len(results) == 6, results
        assert all(status == 503 for status, _, _ in results.values()), results
        assert all(ra and int(ra) >= 1 for _, _, ra in results.values()), results
        # One bind running and two waiting: the others are turned away at once.
        quick = [i for i, (_, secs, _) in results.items() if secs < 1.0]
        assert len(quick) >= 2, results
        own.resume()
        wait_until(lambda: login(d, "sbo").status_code == 201, timeout=30,
                   what="login once slapd answers again")
    finally:
        own.resume()
        own.stop()


# --- rate limits ----------------------------------------------------------------


def test_user_block(slapd, db, stafetd, tmp_path):
    d = start(stafetd, db, auth_settings(
        tmp_path, slapd.uri, login_user_max_failures="3", login_user_block="2s",
        login_failure_window="15min"))
    assert_problem(login(d, "sbo", "wrong1"), 401)
    assert_problem(login(d, "SBO", "wrong2"), 401)  # the same username
    assert_problem(login(d, "Sbo", "wrong3"), 401)  # reaches the max: block starts
    r = login(d, "sbo")  # the real password, refused unseen
    assert_problem(r, 429)
    assert re.fullmatch(r"\d+", r.headers.get("Retry-After", "")), dict(r.headers)
    assert 1 <= int(r.headers["Retry-After"]) <= 2
    assert "token" not in r.text
    assert_problem(login(d, "SBO", "wrong4"), 429)
    # Other users are not blocked.
    assert login(d, "mha").status_code == 201
    rows = wait_audit(db, lambda r: r["action"] == "login.blocked", "login.blocked row")
    assert len(rows) == 1 and rows[0]["detail"] == "user", rows
    # Blocked attempts are not tried and not counted.
    assert len(audit_rows(db, "login.failed")) == 3
    d.advance(2.2)  # the block is over on the daemon's clock
    r = login(d, "sbo")
    assert r.status_code == 201, r.text
    # The success reset the count: two more failures do not block.
    assert_problem(login(d, "sbo", "wrong5"), 401)
    assert_problem(login(d, "sbo", "wrong6"), 401)
    assert login(d, "sbo").status_code == 201
    assert len(audit_rows(db, "login.blocked")) == 1


def spellings(name):
    """Ways to type one name: as is, a UPN, DOMAIN\\name, any prefix, any domain."""
    return [name, name.upper() + "@stafet.example", "STAFET\\" + name, "x\\" + name.upper(),
            name + "@other.example"]


def blocked_spellings(d, name):
    """The status of each spelling of name once name itself has failed
    login_user_max_failures times (5, the default)."""
    for i in range(5):
        assert_problem(login(d, name, "wrong%d" % i), 401)
    return {s: login(d, s).status_code for s in spellings(name)}


def test_user_block_does_not_tell_accounts_from_unknown_names(slapd, db, stafetd, tmp_path):
    """A blocked account and a blocked unknown name answer every spelling
    alike: user@domain, DOMAIN\\user and x\\user share the name's count
    whether or not an account is called that (a 401 for some spelling of a
    blocked name would say "nobody is called this")."""
    d = start(stafetd, db, auth_settings(
        tmp_path, slapd.uri, login_user_block="15min", login_address_max_failures="1000"))
    known = blocked_spellings(d, "sbo")
    unknown = blocked_spellings(d, "ghost-nobody")
    assert set(known.values()) == {429}, known
    assert set(unknown.values()) == {429}, unknown
    # Failures under the spellings count toward the bare name's block, alike.
    for name in ("pka", "nobody-else"):
        for s in spellings(name):
            assert_problem(login(d, s, "bad"), 401)
        assert_problem(login(d, name), 429)
    # Other names are untouched.
    assert login(d, "mha").status_code == 201
    assert_problem(login(d, "ghost-third", "bad"), 401)


def test_count_starts_over_after_a_block(slapd, db, stafetd, tmp_path):
    d = start(stafetd, db, auth_settings(
        tmp_path, slapd.uri, login_user_max_failures="2", login_user_block="2s"))
    assert_problem(login(d, "sbo", "x1"), 401)
    assert_problem(login(d, "sbo", "x2"), 401)
    assert_problem(login(d, "sbo", "x3"), 429)
    d.advance(2.3)
    assert_problem(login(d, "sbo", "x4"), 401)  # a fresh count, not blocked again at once
    assert_problem(login(d, "sbo", "x5"), 401)
    assert_problem(login(d, "sbo"), 429)
    wait_until(lambda: len(audit_rows(db, "login.blocked")) == 2, what="two block rows")


def test_failures_outside_the_window_do_not_count(slapd, db, stafetd, tmp_path):
    d = start(stafetd, db, auth_settings(
        tmp_path, slapd.uri, login_user_max_failures="3", login_failure_window="2s",
        login_user_block="15min"))
    assert_problem(login(d, "sbo", "x1"), 401)
    assert_problem(login(d, "sbo", "x2"), 401)
    d.advance(2.5)
    assert_problem(login(d, "sbo", "x3"), 401)
    assert_problem(login(d, "sbo", "x4"), 401)
    assert login(d, "sbo").status_code == 201
    assert audit_rows(db, "login.blocked") == []


def test_address_block_across_usernames(slapd, db, stafetd, tmp_path):
    d = start(stafetd, db, auth_settings(
        tmp_path, slapd.uri, login_address_max_failures="4", login_address_block="2s",
        login_user_max_failures="100"))
    # Spoofed X-Forwarded-For from a peer that is no trusted proxy changes
    # nothing: the address is the TCP peer.
    for i, (user, pw) in enumerate((("mha", "bad"), ("ghost-1", "demo"), ("sbo", "bad"),
                                    ("ghost-2", "bad"))):
        r = login(d, user, pw, headers={"X-Forwarded-For": "198.51.100.%d" % (i + 1)})
        assert_problem(r, 401)
    r = login(d, "pka")
    assert_problem(r, 429)
    assert 1 <= int(r.headers["Retry-After"]) <= 2
    rows = wait_audit(db, lambda r: r["action"] == "login.blocked", "login.blocked row")
    assert rows[0]["detail"] == "address" and rows[0]["address"] == "127.0.0.1", rows
    assert len(audit_rows(db, "login.failed")) == 4
    d.advance(2.2)
    assert login(d, "pka").status_code == 201


def test_trusted_proxy_forwarded_address(slapd, db, stafetd, tmp_path):
    d = start(stafetd, db, auth_settings(
        tmp_path, slapd.uri, http_trusted_proxies='"10.11.12.13 127.0.0.1"',
        login_address_max_failures="2", login_address_block="15min",
        login_user_max_failures="100"))
    xff = {"X-Forwarded-For": "192.0.2.66, 203.0.113.9"}
    assert login(d, "mha", headers=xff).status_code == 201
    row = wait_audit(db, lambda r: r["action"] == "login", "login row")[0]
    assert row["address"] == "203.0.113.9", row
    assert_problem(login(d, "mha", "bad", headers=xff), 401)
    assert_problem(login(d, "sbo", "bad", headers=xff), 401)
    # 203.0.113.9 is blocked now; other clients behind the proxy are not.
    assert_problem(login(d, "pka", headers=xff), 429)
    assert_problem(login(d, "pka", headers={"X-Forwarded-For": "203.0.113.9"}), 429)
    assert login(d, "pka", headers={"X-Forwarded-For": "203.0.113.10"}).status_code == 201
    assert login(d, "pka").status_code == 201  # the proxy itself, no header
    rows = wait_audit(db, lambda r: r["action"] == "login.blocked", "login.blocked row")
    assert rows[0]["address"] == "203.0.113.9" and rows[0]["detail"] == "address"
    failed = audit_rows(db, "login.failed")
    assert {r["address"] for r in failed} == {"203.0.113.9"}, failed


def raw_request(d, head_lines, body=b""):
    """Sends one request with exactly these header lines (repeats allowed);
    returns (status, raw answer)."""
    req = "POST /api/v1/session HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % d.port
    req += "".join(h + "\r\n" for h in head_lines)
    req += "Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
    req += "Connection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", d.port), timeout=10) as sock:
        sock.sendall(req.encode() + body)
        out = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            out += chunk
    return int(out.split(b" ", 2)[1]), out


def test_forwarded_for_in_several_header_lines(slapd, db, stafetd, tmp_path):
    """A proxy that adds its own X-Forwarded-For line after the client's
    (HAProxy's option forwardfor does) still names the client: the last
    entry of the field is the last entry of the last line."""
    d = start(stafetd, db, auth_settings(tmp_path, slapd.uri,
                                         http_trusted_proxies="127.0.0.1"))
    body = json.dumps({"username": "mha", "password": "demo"}).encode()
    status, out = raw_request(d, ["X-Forwarded-For: 203.0.113.66",
                                  "X-Forwarded-For: 198.51.100.5"], body)
    assert status == 201, out
    row = wait_audit(db, lambda r: r["action"] == "login", "login row")[0]
    assert row["address"] == "198.51.100.5", row


def test_ipv6_clients_count_by_their_64(slapd, db, stafetd, tmp_path):
    d = start(stafetd, db, auth_settings(
        tmp_path, slapd.uri, http_trusted_proxies="127.0.0.1",
        login_address_max_failures="2", login_user_max_failures="100"))
    assert_problem(login(d, "mha", "bad", headers={"X-Forwarded-For": "2001:db8:1:2::1"}), 401)
    assert_problem(login(d, "sbo", "bad", headers={"X-Forwarded-For": "2001:db8:1:2::abcd"}),
                   401)
    assert_problem(login(d, "pka", headers={"X-Forwarded-For": "2001:db8:1:2:ffff::9"}), 429)
    assert login(d, "pka", headers={"X-Forwarded-For": "2001:db8:1:3::1"}).status_code == 201
    row = wait_audit(db, lambda r: r["action"] == "login", "login row")[0]
    assert row["address"] == "2001:db8:1:3::1", row


def test_untrusted_peer_forwarded_address_ignored(slapd, db, stafetd, tmp_path):
    d = start(stafetd, db, auth_settings(tmp_path, slapd.uri,
                                         http_trusted_proxies="10.11.12.13"))
    xff = {"X-Forwarded-For": "203.0.113.9"}
    assert login(d, "mha", headers=xff).status_code == 201
    assert_problem(login(d, "mha", "bad", headers=xff), 401)
    wait_until(lambda: audit_rows(db, "login.failed"), what="login.failed row")
    rows = audit_rows(db, "login") + audit_rows(db, "login.failed")
    assert {r["address"] for r in rows} == {"127.0.0.1"}, rows


def test_logins_do_not_block_the_loop(slapd, db, stafetd, tmp_path):
    d = start(stafetd, db, auth_settings(
        tmp_path, slapd.uri, login_failure_delay="3s" if WRAPPED else "1s", login_workers="2",
        login_user_max_failures="100", login_address_max_failures="100"))
    token = token_of(d, "mha")
    results = []
    threads = [threading.Thread(target=lambda i=i: results.append(
        login(d, "nobody-%d" % i, "x").status_code)) for i in range(6)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    t = time.monotonic()
    assert healthy(d)
    assert me(d, bearer(token)).status_code == 200
    assert time.monotonic() - t < (2.0 if WRAPPED else 0.5)
    for th in threads:
        th.join()
    assert results == [401] * 6
    # Successful logins in parallel, more than login_workers.
    results = []
    users = ["mha", "sbo", "pka", "kmo", "ath", "ano"]
    threads = [threading.Thread(target=lambda u=u: results.append(login(d, u).status_code))
               for u in users]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert results == [201] * len(users)


# --- logout and expiry -----------------------------------------------------------


def test_logout_kills_the_session(d, db):
    token = token_of(d, "mha")
    other = token_of(d, "mha")
    assert me(d, bearer(token)).status_code == 200
    r = delete_session(d, bearer(token))
    assert r.status_code == 204, r.text
    assert r.content == b""
    name, value, attrs = session_cookie(r)
    assert value == "" and attrs.get("max-age") == "0" and attrs.get("path") == "/", attrs
    for headers in (bearer(token), cookie(token)):
        assert_unauthorized(me(d, headers))
        assert_unauthorized(get(d, "/api/v1/people", headers))
    assert_unauthorized(delete_session(d, bearer(token)))
    # Only that session ended.
    assert me(d, bearer(other)).status_code == 200
    rows = wait_audit(db, lambda r: r["action"] == "logout", "logout row")
    assert len(rows) == 1 and rows[0]["actor_username"] == "mha" and rows[0]["actor_id"]
    assert rows[0]["address"] == "127.0.0.1"


def test_sessions_live_in_the_database(slapd, db, stafetd, tmp_path):
    """Two daemons on one database (the way to scale out) share sessions, a
    logout on one ends the session on the other at once, and a restart
    keeps them."""
    for n in ("cfg-a", "cfg-b"):  # each its own snapshot file
        (tmp_path / n).mkdir()
    a = start(stafetd, db, auth_settings(tmp_path / "cfg-a", slapd.uri), name="a")
    b = start(stafetd, db, auth_settings(tmp_path / "cfg-b", slapd.uri), name="b")
    t1, t2 = token_of(a, "mha"), token_of(a, "sbo")
    assert me(b, bearer(t1)).json()["username"] == "mha"
    assert delete_session(b, bearer(t1)).status_code == 204
    assert_unauthorized(me(a, bearer(t1)))
    assert a.stop() == 0
    a.start()
    wait_until(lambda: ready(a), what="restarted stafetd ready")
    assert me(a, bearer(t2)).json()["username"] == "sbo"
    assert_unauthorized(me(a, bearer(t1)))


def test_logout_by_cookie(d):
    token = token_of(d, "mha")
    r = delete_session(d, dict(cookie(token), Origin=d.url))
    assert r.status_code == 204, r.text
    assert_unauthorized(me(d, cookie(token)))


def test_idle_expiry(slapd, db, stafetd, tmp_path):
    """On the daemon's (test) clock: use keeps a session alive past the idle
    timeout; left unused for longer than it, the session is over."""
    d = start(stafetd, db, auth_settings(tmp_path, slapd.uri, session_idle_timeout="15min"))
    token = token_of(d, "mha")
    for _ in range(4):  # an hour of use, each request within 15 minutes
        d.advance(14 * 60)
        assert me(d, bearer(token)).status_code == 200
    d.advance(15 * 60 + 1)
    assert_unauthorized(me(d, bearer(token)))
    assert_unauthorized(me(d, cookie(token)))
    assert me(d, bearer(token_of(d, "mha"))).status_code == 200


def test_absolute_expiry(slapd, db, stafetd, tmp_path):
    """On the daemon's (test) clock: a session in use all day ends at
    session_absolute_timeout after the login."""
    d = start(stafetd, db, auth_settings(tmp_path, slapd.uri, session_idle_timeout="1h",
                                         session_absolute_timeout="8h"))
    now = datetime.datetime.now(datetime.timezone.utc)
    r = login(d, "mha")
    assert r.status_code == 201
    token = r.json()["token"]
    exp = parse_time(r.json()["expires_at"])
    hours8 = datetime.timedelta(hours=8)
    assert now + hours8 - datetime.timedelta(seconds=5) <= exp <= now + hours8 + \
        datetime.timedelta(seconds=5)
    _, _, attrs = session_cookie(r)
    assert 8 * 3600 - 5 <= int(attrs["max-age"]) <= 8 * 3600, attrs
    for _ in range(9):  # 7.5 hours of use
        d.advance(50 * 60)
        assert me(d, bearer(token)).status_code == 200
    d.advance(31 * 60)  # 8 hours and a minute after the login
    assert_unauthorized(me(d, bearer(token)))


def test_timeouts_reject_bad_values(tmp_path, slapd):
    from tests.harness.stafetd import Stafetd
    for key, value in (("session_idle_timeout", "0s"), ("session_absolute_timeout", "500ms"),
                       ("http_tls_proxy", "maybe"), ("login_user_max_failures", "-1")):
        s = Stafetd(tmp_path / key, auth_settings(tmp_path, slapd.uri, **{key: value}))
        r = s.run("--check-config")
        assert r.returncode != 0, (key, value, r.stdout, r.stderr)
        assert key in r.stdout + r.stderr


def test_reload_applies_roles_and_idle_timeout(d, slapd):
    """SIGHUP: role groups apply from the next request, a shorter idle
    timeout to the sessions already open."""
    ano, pka = token_of(d, "ano"), token_of(d, "pka")
    assert ("admin", None) in role_set(me(d, bearer(ano)).json())
    assert ("admin", None) not in role_set(me(d, bearer(pka)).json())
    d.settings["role_admin_group"] = f'"{QUALITY_GROUP}"'
    d.settings["session_idle_timeout"] = "10min"  # from the default 30 min
    d.write_config()
    d.signal(signal.SIGHUP)
    assert d.wait_log("config: reloaded")
    assert ("admin", None) not in role_set(me(d, bearer(ano)).json())
    assert ("admin", None) in role_set(me(d, bearer(pka)).json())
    assert get(d, "/api/v1/audit", bearer(pka)).status_code == 200
    assert_problem(get(d, "/api/v1/audit", bearer(ano)), 404)
    d.advance(11 * 60)  # past the new idle timeout, within the old one
    assert_unauthorized(me(d, bearer(ano)))
    # The daemon is whole after the reload: metrics answer, SIGTERM stops it.
    assert requests.get(d.url + "/metrics", timeout=10).status_code == 200
    assert d.stop(timeout=15) == 0


# --- cookies and CSRF ------------------------------------------------------------


def test_cookie_flags(d):
    r = login(d, "mha")
    assert r.status_code == 201
    name, value, attrs = session_cookie(r)
    assert value == r.json()["token"]
    assert attrs.get("path") == "/"
    assert attrs.get("httponly") is True
    assert attrs.get("samesite") == "Strict"
    assert "secure" not in attrs
    assert 0 < int(attrs["max-age"]) <= 36000
    assert "domain" not in attrs


def test_cookie_secure_behind_tls_proxy(slapd, db, stafetd, tmp_path):
    # A TLS proxy needs public_url: the origin is never taken from Host there.
    https_origin = "https://stafet.example.dk"
    d = start(stafetd, db, auth_settings(tmp_path, slapd.uri, http_tls_proxy="yes",
                                         public_url=f'"{https_origin}"'))
    r = login(d, "mha")
    assert r.status_code == 201
    _, _, attrs = session_cookie(r)
    assert attrs.get("secure") is True and attrs.get("httponly") is True
    assert attrs.get("samesite") == "Strict"
    token = r.json()["token"]
    # The expected origin is public_url's, not the Host's, in either scheme.
    assert_problem(delete_session(d, dict(cookie(token), Origin=d.url)), 403)
    assert_problem(delete_session(d, dict(cookie(token),
                                          Origin="https://127.0.0.1:%d" % d.port)), 403)
    assert me(d, cookie(token)).status_code == 200
    r = delete_session(d, dict(cookie(token), Origin=https_origin))
    assert r.status_code == 204, r.text
    _, value, attrs = session_cookie(r)
    assert value == "" and attrs.get("max-age") == "0" and attrs.get("secure") is True


def test_csrf_cookie_requests_need_our_origin(d):
    token = token_of(d, "mha")
    for headers in ({"Origin": "http://evil.example"},
                    {"Origin": "null"},
                    {"Origin": d.url + ".evil.example"},
                    {"Origin": "http://127.0.0.1:%d" % (d.port + 1)},
                    {"Origin": "https://127.0.0.1:%d" % d.port},
                    {"Referer": "http://evil.example/stafet"},
                    {"Referer": "http://evil.example/", "Origin": "http://evil.example"},
                    {}):
        r = delete_session(d, dict(cookie(token), **headers))
        assert_problem(r, 403)
        assert not [c for c in set_cookies(r) if "Max-Age=0" in c], headers
        assert me(d, cookie(token)).status_code == 200, headers
    # A foreign Origin on a GET by cookie is no change: allowed.
    assert me(d, dict(cookie(token), Origin="http://evil.example")).status_code == 200
    # Origin wins over Referer.
    r = delete_session(d, dict(cookie(token), Origin="http://evil.example",
                               Referer=d.url + "/"))
    assert_problem(r, 403)
    # Our Referer alone will do.
    t2 = token_of(d, "mha")
    r = delete_session(d, dict(cookie(t2), Referer=d.url + "/app/sager?x=1"))
    assert r.status_code == 204, r.text
    assert_unauthorized(me(d, cookie(t2)))
    # Our Origin.
    r = delete_session(d, dict(cookie(token), Origin=d.url))
    assert r.status_code == 204, r.text
    assert_unauthorized(me(d, cookie(token)))


def test_bearer_needs_no_origin(d):
    token = token_of(d, "mha")
    r = delete_session(d, dict(bearer(token), Origin="http://evil.example"))
    assert r.status_code == 204, r.text
    token = token_of(d, "mha")
    assert delete_session(d, bearer(token)).status_code == 204


def test_public_url_is_the_origin(slapd, db, stafetd, tmp_path):
    d = start(stafetd, db, auth_settings(tmp_path, slapd.uri,
                                         public_url='"https://stafet.example.dk"'))
    token = token_of(d, "mha")
    assert_problem(delete_session(d, dict(cookie(token), Origin=d.url)), 403)
    assert_problem(delete_session(d, dict(cookie(token), Origin="http://stafet.example.dk")),
                   403)
    assert me(d, cookie(token)).status_code == 200
    r = delete_session(d, dict(cookie(token), Origin="https://stafet.example.dk"))
    assert r.status_code == 204, r.text
    assert_problem(login(d, "mha", headers={"Origin": d.url}), 403)
    assert login(d, "mha", headers={"Origin": "https://stafet.example.dk"}).status_code == 201


def test_login_with_foreign_origin(d, db):
    for origin in ("http://evil.example", "null", "https://127.0.0.1:%d" % d.port):
        r = login(d, "mha", headers={"Origin": origin})
        assert_problem(r, 403)
        assert not [c for c in set_cookies(r) if "stafet_session=" in c], set_cookies(r)
        assert "token" not in r.text
    assert audit_rows(db, "login") == []
    assert login(d, "mha", headers={"Origin": d.url}).status_code == 201
    assert login(d, "mha").status_code == 201  # API clients send no Origin


# --- authentication everywhere ------------------------------------------------------


def test_every_endpoint_needs_authentication(d):
    mha = token_of(d, "mha")
    pid = me(d, bearer(mha)).json()["id"]
    calls = [
        ("GET", "/api/v1/people"),
        ("GET", "/api/v1/people?q=mette"),
        ("GET", "/api/v1/people/" + pid),
        ("GET", "/api/v1/people/x"),
        ("GET", "/api/v1/units"),
        ("GET", "/api/v1/units/UR"),
        ("GET", "/api/v1/units/x"),
        ("GET", "/api/v1/me"),
        ("GET", "/api/v1/audit"),
        ("DELETE", "/api/v1/session"),
    ]
    for method, path in calls:
        r = requests.request(method, d.url + path, timeout=10)
        assert_unauthorized(r)
        assert "Mette" not in r.text
        # A garbage cookie is no better (on a state-changing call without
        # Origin the CSRF refusal may come first).
        r = requests.request(method, d.url + path, headers=cookie("x" * 43), timeout=10)
        if method == "GET":
            assert_unauthorized(r)
        else:
            assert r.status_code in (401, 403), (path, r.status_code, r.text)
        r = requests.request(method, d.url + path, headers=dict(cookie("x" * 43), Origin=d.url),
                             timeout=10)
        assert_unauthorized(r)
    # With a token the same calls are answered.
    for method, path in calls:
        r = requests.request(method, d.url + path, headers=bearer(mha), timeout=10)
        want = {"/api/v1/people/x": 404, "/api/v1/units/x": 404, "/api/v1/audit": 404,
                "/api/v1/session": 204}.get(path.split("?")[0], 200)
        assert r.status_code == want, (path, r.status_code, r.text)


def test_anonymous_read_opens_only_the_directory(slapd, db, stafetd, tmp_path):
    d = start(stafetd, db, auth_settings(tmp_path, slapd.uri,
                                         directory_anonymous_read="yes"))
    assert get(d, "/api/v1/people", q="mette").status_code == 200
    assert get(d, "/api/v1/units").status_code == 200
    assert_unauthorized(get(d, "/api/v1/me"))
    assert_unauthorized(get(d, "/api/v1/audit"))
    assert_unauthorized(delete_session(d, {}))


def test_garbled_tokens(d):
    good = token_of(d, "mha")
    flipped = ("B" if good[0] != "B" else "C") + good[1:]
    headers = [
        {"Authorization": "Bearer " + "A" * 4000},
        {"Authorization": "Bearer " + good + "A"},
        {"Authorization": "Bearer " + good[:-1]},
        {"Authorization": "Bearer " + flipped},
        {"Authorization": "Bearer " + "!" * 43},
        {"Authorization": "Bearer " + good[:20] + "$%&" + good[23:]},
        {"Authorization": "Bearer " + good[:42] + "="},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer  "},
        {"Authorization": "Bearer " + good + " " + good},
        {"Authorization": "Basic " + base64.b64encode(b"mha:demo").decode()},
        {"Authorization": "Basic " + good},
        {"Authorization": "Token " + good},
        {"Authorization": good},
        {"Authorization": ""},
        {"Cookie": "stafet_session="},
        {"Cookie": "stafet_session=" + flipped},
        {"Cookie": "stafet_session=" + "A" * 4000},
        {"Cookie": "other=" + good},
        {"Cookie": "xstafet_session=" + good},
    ]
    for h in headers:
        r = me(d, h)
        assert_unauthorized(r)
    # Not in the URL.
    for param in ("access_token", "token", "stafet_session"):
        assert_unauthorized(get(d, "/api/v1/me", **{param: good}))
    assert healthy(d)
    assert me(d, bearer(good)).status_code == 200


# --- what is stored ------------------------------------------------------------------


def test_sessions_table_holds_only_a_hash(d, db):
    tokens = [token_of(d, "mha"), token_of(d, "sbo")]
    dump = db.psql("SELECT s::text FROM sessions s;") + \
        db.psql("SELECT encode(token_hash, 'hex'), encode(token_hash, 'base64') FROM sessions;")
    assert len(db.psql("SELECT id FROM sessions;").split()) == 2
    for t in tokens:
        raw = base64.urlsafe_b64decode(t + "=")
        for form in (t, raw.hex(), base64.b64encode(raw).decode().rstrip("=")):
            assert form not in dump, form
    # Nor anywhere else in the database.
    everything = db.psql(
        "SELECT string_agg(x, E'\\n') FROM ("
        " SELECT a::text AS x FROM audit_log a"
        " UNION ALL SELECT s::text FROM sessions s) q;")
    for t in tokens:
        assert t not in everything


def test_audit_log_is_append_only_for_the_app_role(d, db):
    token_of(d, "mha")
    wait_audit(db, lambda r: r["action"] == "login", "login row")
    # The role can write sessions and insert and read audit rows ...
    db.psql_as_owner("INSERT INTO audit_log (action, detail) VALUES ('test', 'by app role');")
    out = db.psql_as_owner("SELECT count(*) FROM audit_log WHERE action = 'test';").stdout
    assert out.strip() == "1"
    db.psql_as_owner("UPDATE sessions SET last_seen_at = last_seen_at;")
    db.psql_as_owner("DELETE FROM sessions WHERE id < 0;")
    # ... but not change or remove them.
    for sql in ("UPDATE audit_log SET detail = 'x';",
                "UPDATE audit_log SET detail = 'x' WHERE action = 'test';",
                "DELETE FROM audit_log;",
                "DELETE FROM audit_log WHERE action = 'login';",
                "TRUNCATE audit_log;",
                "TRUNCATE audit_log CASCADE;"):
        r = db.psql_as_owner(sql, check=False)
        assert r.returncode != 0, (sql, r.stdout)
        assert "ERROR" in r.stderr, (sql, r.stderr)
    rows = audit_rows(db)
    assert {r["action"] for r in rows} >= {"login", "test"}
    assert not [r for r in rows if r["detail"] == "x"]


def test_audit_rows_for_the_whole_flow(slapd, db, stafetd, tmp_path):
    d = start(stafetd, db, auth_settings(
        tmp_path, slapd.uri, login_user_max_failures="2", login_user_block="15min"))
    r = login(d, "MHA")
    assert r.status_code == 201, r.text
    mha, mha_person = r.json()["token"], r.json()["user"]["id"]
    assert delete_session(d, bearer(mha)).status_code == 204
    assert_problem(login(d, "sbo", "bad"), 401)
    assert_problem(login(d, "ghost-user-q", "bad"), 401)
    assert_problem(login(d, "pka", ""), 401)
    assert_problem(login(d, "sbo", "bad"), 401)  # the second: sbo blocked
    assert_problem(login(d, "sbo"), 429)
    wait_audit(db, lambda r: r["action"] == "login.blocked", "block row")
    rows = audit_rows(db)
    for r in rows:
        assert r["at"] and r["address"] == "127.0.0.1", r
    mha_id = next(r for r in rows if r["action"] == "login")["actor_id"]
    assert mha_id == mha_person
    summary = [(r["action"], r["actor_username"], r["detail"]) for r in rows]
    assert [s[:2] for s in summary[:2]] == [("login", "mha"), ("logout", "mha")], summary
    assert ("login.failed", "sbo", "wrong password") in summary
    assert ("login.failed", None, "unknown user") in summary
    assert ("login.failed", "pka", "empty password") in summary
    assert [s[2] for s in summary if s[0] == "login.blocked"] == ["user"], summary
    assert [s[0] for s in summary].count("login.blocked") == 1
    assert [s[0] for s in summary].count("login.failed") == 4, summary
    logout = next(r for r in rows if r["action"] == "logout")
    assert logout["actor_id"] == mha_id
    ids = [r["id"] for r in rows]
    assert ids == sorted(ids)


def test_audit_endpoint(slapd, db, stafetd, tmp_path):
    d = start(stafetd, db, auth_settings(tmp_path, slapd.uri))
    mha_login = login(d, "mha")
    mha = mha_login.json()["token"]
    mha_id = mha_login.json()["user"]["id"]
    assert_problem(login(d, "mha", "bad"), 401)
    assert_problem(login(d, "sbo", "bad"), 401)
    sbo = token_of(d, "sbo")
    assert delete_session(d, bearer(sbo)).status_code == 204
    token_of(d, "mha")
    ano = token_of(d, "ano")
    admin = bearer(ano)

    def audit(headers=admin, **params):
        return get(d, "/api/v1/audit", headers, **params)

    # Only admins see it; the rest get 404.
    for who in (mha, token_of(d, "pka"), token_of(d, "kmo")):
        assert_problem(audit(bearer(who)), 404)
    assert_unauthorized(audit({}))

    r = audit(limit=500)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"items", "next_cursor"} and body["next_cursor"] is None
    items = body["items"]
    for it in items:
        assert set(it) == {"id", "at", "actor", "address", "action", "object", "detail"}, it
        assert it["object"] is None or set(it["object"]) == {"type", "id"}, it
        assert it["actor"] is None or set(it["actor"]) == {"id", "username"}, it
        parse_time(it["at"])
    # Newest first.
    ats = [parse_time(it["at"]) for it in items]
    assert ats == sorted(ats, reverse=True)
    actions = [it["action"] for it in items]
    assert actions.count("login") >= 5 and "logout" in actions
    assert actions.count("login.failed") == 2

    # By person: username or id alike.
    by_name = audit(person="mha", limit=500).json()["items"]
    by_id = audit(person=mha_id, limit=500).json()["items"]
    assert by_name == by_id
    logins = [it["action"] for it in by_name if it["action"].startswith("login")]
    assert logins == ["login", "login.failed", "login"], by_name
    assert all(it["actor"]["id"] == mha_id and it["actor"]["username"] == "mha"
               for it in by_name)
    assert audit(person="nobody-at-all").json()["items"] == []

    # By action.
    failed = audit(action="login.failed", limit=500).json()["items"]
    assert len(failed) == 2 and {it["actor"]["username"] for it in failed} == {"mha", "sbo"}
    assert {it["detail"] for it in failed} == {"wrong password"}
    logouts = audit(action="logout").json()["items"]
    assert [it["actor"]["username"] for it in logouts] == ["sbo"]
    assert audit(person="sbo", action="logout").json()["items"] == logouts
    assert audit(object="no-such-object").json()["items"] == []
    # By object: the session of sbo's login and logout.
    sbo_rows = audit(person="sbo", limit=500).json()["items"]
    logout = next(it for it in sbo_rows if it["action"] == "logout")
    if logout["object"] is not None:
        same = audit(object=logout["object"]["id"], limit=500).json()["items"]
        assert [it["action"] for it in same] == ["logout", "login"], same
        assert all(it["object"] == logout["object"] for it in same)

    # Reading the log is audited.
    reads = audit(action="audit.read", limit=500).json()["items"]
    assert reads and all(it["actor"]["username"] == "ano" for it in reads)

    # Pages of 2 with the cursor give the same rows, newest first, no repeats.
    full = [it["id"] for it in audit(action="login", limit=500).json()["items"]]
    seen, cursor, pages = [], None, 0
    while True:
        params = {"action": "login", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        r = audit(**params)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= 2
        seen += [it["id"] for it in page["items"]]
        cursor = page["next_cursor"]
        pages += 1
        if not cursor:
            break
        assert pages < 50
    assert seen == full and len(full) >= 5 and pages >= 3
    for limit in ("0", "501", "x"):
        assert_problem(audit(limit=limit), 400)
    assert_problem(audit(cursor="not-a-cursor"), 400)


def test_no_password_or_token_in_the_log(slapd, db, stafetd, tmp_path):
    d = start(stafetd, db, auth_settings(tmp_path, slapd.uri, login_user_max_failures="2",
                                         login_user_block="1s"))
    secrets = ["Hemmelig-%d-kodeord" % i for i in range(4)]
    tokens = []
    r = login(d, "mha", headers={"X-Forwarded-For": "198.51.100.7"})
    tokens.append(r.json()["token"])
    tokens.append(token_of(d, "ano"))
    assert_problem(login(d, "sbo", secrets[0]), 401)
    assert_problem(login(d, secrets[1], secrets[2]), 401)  # a password typed as username
    assert_problem(login(d, "sbo", secrets[3]), 401)
    assert_problem(login(d, "sbo", "demo"), 429)
    login(d, None, body=b'{"username": "mha", "password": "demo\\u0000Hemmelig-nul"}')
    login(d, None, body={"username": "mha", "password": "Hemmelig-extra", "x": 1})
    me(d, bearer(tokens[0]))
    me(d, cookie(tokens[0]))
    get(d, "/api/v1/audit", bearer(tokens[1]))
    me(d, bearer("Hemmelig-garbled-token"))
    delete_session(d, dict(cookie(tokens[0]), Origin="http://evil.example"))
    assert delete_session(d, bearer(tokens[0])).status_code == 204
    me(d, bearer(tokens[0]))
    time.sleep(0.5)
    d.stop()
    text = d.log()
    assert text, "empty log"
    assert "Hemmelig" not in text, [line for line in text.splitlines() if "Hemmelig" in line]
    for t in tokens:
        assert t not in text
        assert t[:16] not in text
    # "demo" is every user's password and "stafetd-demo" the service's.
    assert "demo" not in text, [line for line in text.splitlines() if "demo" in line]
