"""The directory and login against a real Active Directory: Samba's AD DC
(tests/harness/samba.py, the session fixture samba_dc in conftest.py) with
the AD fixture's municipality (tests/fixtures/gen_ad_ldif.py) plus 1,600
extra users in one unit (stafet-unit-VIK) and one target group
(stafet-tg-stor), and a user whose logon name is not ASCII (bjørn).

stafetd binds as a plain domain user (cn=stafetd,ou=Tjenester, not the
Administrator) over ldaps:// with the test CA; the DC sets objectGUID,
uSNChanged, memberOf and objectCategory itself, so what is tested here is
what a real AD hands stafetd.  Samba's schema has no extensionAttributes
(nor has an AD that Exchange never extended): with the default mapping
stafetd warns of each one it maps; allocation, deputy, absences and KLE
numbers are tested with the mapping onto AD's base schema that
stafetd.conf(5) gives ("An Active Directory without Exchange").

Tests that change the directory use users and groups of their own (named
zz<kind><hex>) and delete them afterwards: the DC is shared by the whole run.

Renames keep one person (identity by objectGUID) and a login right after;
a move between unit groups and into or out of a target group show from
the groups' member lists alone (a user's uSNChanged does not move when a
group's member changes, in Samba as in AD); a non-ASCII username matches
in another case, as the DC's own does. A setup that goes wrong raises
Precondition, apart from the assertions the tests are about."""

import base64
import os
import secrets
import signal
import sys
import time
import uuid

import pytest
import requests

from tests.integration.test_auth import ready
from tests.integration.test_directory import names, people, wait_until

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fixtures"))
import gen_ad_ldif as ad  # noqa: E402

BASE = "DC=stafet,DC=example"
USERS = "OU=Brugere," + BASE
GROUPS = "OU=Grupper," + BASE
SERVICE_DN = "CN=stafetd,OU=Tjenester," + BASE
PASSWORD = ad.DEMO_PASSWORD
REFRESH = 1.0  # directory_refresh_interval, seconds
# Under valgrind (STAFETD_WRAPPER) the daemon is many times slower.
WRAPPED = bool(os.environ.get("STAFETD_WRAPPER", "").strip())
# One refresh interval, and the time to read and publish a snapshot.
WITHIN_ONE_REFRESH = REFRESH + (20.0 if WRAPPED else 4.0)


OWN = "zz"  # sAMAccountName prefix of the users and groups tests add


class Precondition(Exception):
    """The test's own setup did not come out as expected (not the bug the
    test is about)."""


def group_dn(cn):
    return "CN=%s,%s" % (cn, GROUPS)


def samba_settings(tmp_path, dc, **extra):
    pw = tmp_path / "ldap.password"
    pw.write_text(ad.SERVICE_PASSWORD + "\n")
    os.chmod(pw, 0o600)
    s = {
        "ldap_uri": f'"{dc.ldaps_uri}"',
        "ldap_ca_file": dc.ca_file,
        "ldap_bind_dn": f'"{SERVICE_DN}"',
        "ldap_bind_password_file": str(pw),
        "ldap_connect_timeout": "2s",
        "ldap_timeout": "10s",
        "directory_layout": "ad",
        "directory_people_base": f'"{USERS}"',
        "directory_units_base": f'"{GROUPS}"',
        "directory_groups_base": f'"{GROUPS}"',
        "directory_refresh_interval": "%gs" % REFRESH,
        # No full reload during a test: changes must come incrementally.
        "directory_reconcile_interval": "1h",
        "directory_snapshot_file": str(tmp_path / "directory.json"),
        "directory_anonymous_read": "yes",
        "login_failure_delay": "50ms",
    }
    s.update(extra)
    return s


def settle(fn, timeout=30, what="condition", exc=Precondition):
    return wait_until(fn, timeout=timeout, what=what, exc=exc)


def start(stafetd, db, tmp_path, dc, name="a", **extra):
    settings = samba_settings(tmp_path, dc, **extra)
    settings.update(db.settings())
    inst = stafetd(settings=settings, name=name)
    settle(lambda: ready(inst), timeout=60, what="stafetd ready (first snapshot from Samba)")
    return inst


@pytest.fixture
def d(samba_dc, db, stafetd, tmp_path):
    return start(stafetd, db, tmp_path, samba_dc)


def login(d, username, password=PASSWORD):
    return requests.post(d.url + "/api/v1/session",
                         json={"username": username, "password": password}, timeout=30)


def all_pages(d, **params):
    items, cursor = [], None
    while True:
        p = dict(params, limit=500)
        if cursor:
            p["cursor"] = cursor
        body = people(d, **p)
        items += body["items"]
        cursor = body["next_cursor"]
        if not cursor:
            return items


def by_username(d, sam):
    return [p for p in people(d, q=sam, limit=500)["items"] if p["username"] == sam]


def unit(d, code):
    r = requests.get(d.url + "/api/v1/units/" + code, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def guid_of(dc, dn):
    out = dc.ldapsearch("-b", dn, "-s", "base", "objectGUID").stdout
    line = next(x for x in out.replace("\n ", "").splitlines() if x.startswith("objectGUID::"))
    return str(uuid.UUID(bytes_le=base64.b64decode(line.split("::", 1)[1].strip())))


def b64(text):
    return base64.b64encode(text.encode("utf-8")).decode()


def pwd(password):
    return base64.b64encode(('"%s"' % password).encode("utf-16-le")).decode()


class OwnEntries:
    """Users and groups a test adds to the shared DC, deleted at the end
    (deleting a user takes it out of every group: member is a linked
    attribute)."""

    def __init__(self, dc):
        self.dc = dc
        self.dns = []

    def user(self, kind, given, sn, groups=(), title="Rådgiver", uac=512):
        sam = "%s%s%s" % (OWN, kind, secrets.token_hex(3))
        cn = "%s %s" % (given, sn)
        dn = "CN=%s,%s" % (cn, USERS)
        self.dc.ldapmodify(f"""dn:: {b64(dn)}
changetype: add
objectClass: user
cn:: {b64(cn)}
sn:: {b64(sn)}
givenName:: {b64(given)}
sAMAccountName: {sam}
userPrincipalName: {sam}@{ad.MAIL_DOMAIN}
title:: {b64(title)}
mail: {sam}@{ad.MAIL_DOMAIN}
unicodePwd:: {pwd(PASSWORD)}
userAccountControl: {uac}
""")
        self.dns.append(dn)
        for g in groups:
            self.add_member(g, dn)
        return sam, dn

    def group(self, kind, members=()):
        cn = "%s%s%s" % (OWN, kind, secrets.token_hex(3))
        dn = group_dn(cn)
        self.dc.ldapmodify(f"dn: {dn}\nchangetype: add\nobjectClass: group\ncn: {cn}\n"
                           f"sAMAccountName: {cn}\n")
        self.dns.insert(0, dn)
        for m in members:
            self.add_member(dn, m)
        return cn, dn

    def add_member(self, group, member):
        self.dc.ldapmodify(f"dn:: {b64(group)}\nchangetype: modify\nadd: member\n"
                           f"member:: {b64(member)}\n-\n")

    def remove_member(self, group, member):
        self.dc.ldapmodify(f"dn:: {b64(group)}\nchangetype: modify\ndelete: member\n"
                           f"member:: {b64(member)}\n-\n")

    def rename(self, dn, new_cn):
        new_dn = "CN=%s,%s" % (new_cn, USERS)
        self.dc.ldapmodify(f"dn:: {b64(dn)}\nchangetype: modrdn\nnewrdn:: {b64('CN=' + new_cn)}\n"
                           "deleteoldrdn: 1\n")
        self.dns[self.dns.index(dn)] = new_dn
        return new_dn

    def modify(self, dn, attr, value):
        self.dc.ldapmodify(f"dn:: {b64(dn)}\nchangetype: modify\nreplace: {attr}\n"
                           f"{attr}:: {b64(value)}\n-\n")

    def cleanup(self):
        for dn in self.dns:
            self.dc.ldapmodify(f"dn:: {b64(dn)}\nchangetype: delete\n", check=False)


@pytest.fixture
def own(samba_dc):
    entries = OwnEntries(samba_dc)
    yield entries
    entries.cleanup()


# --- what works today ------------------------------------------------------------


def test_people_units_and_ids(d, samba_dc):
    mha = by_username(d, "mha")
    assert len(mha) == 1
    mha = mha[0]
    assert mha["display_name"] == "Mette Hansen"
    assert mha["id"] == guid_of(samba_dc, "CN=Mette Hansen," + USERS)
    assert mha["unit"]["code"] == "UR" and mha["unit"]["department"] == "BSF"
    tops = {u["code"]: u for u in requests.get(d.url + "/api/v1/units", timeout=30)
            .json()["items"]}
    assert {"BUF", "BSF", "ÆHF"} <= set(tops)
    assert "UR" in {c["code"] for c in tops["BSF"]["children"]}
    ur = unit(d, "UR")
    assert ur["parent"] == "BSF" and ur["mailbox"] and ur["lead"]
    assert any(m["username"] == "mha" for m in ur["members"])
    assert any(m["username"] == "bjørn" for m in ur["members"])
    r = requests.get(d.url + "/api/v1/people/" + mha["id"], timeout=30)
    assert r.status_code == 200 and r.json()["display_name"] == "Mette Hansen"


def test_nested_target_groups(d):
    # stafet-tg-anbragt holds only groups (and team-anbragt-ur a cycle)
    assert people(d, target_group="anbragt", limit=500)["items"]
    assert people(d, target_group="neuro", limit=500)["items"]  # two levels down
    mha = by_username(d, "mha")[0]
    assert "ung-social" in mha["target_groups"]


def test_login_by_every_form_of_the_name(d):
    for username in ["mha", "MHA", "mha@stafet.example", "STAFET\\mha", "x\\mha",
                     "bjørn", "bjørn@stafet.example", "STAFET\\bjørn"]:
        r = login(d, username)
        assert r.status_code == 201, (username, r.status_code, r.text)
        me = requests.get(d.url + "/api/v1/me", timeout=30,
                          headers={"Authorization": "Bearer " + r.json()["token"]})
        assert me.status_code == 200
        assert me.json()["username"] in ("mha", "bjørn"), me.json()


def test_login_non_ascii_name_in_upper_case(d, samba_dc):
    if not samba_dc.bind_ok("BJØRN@STAFET.EXAMPLE", PASSWORD):
        raise Precondition("the DC refuses BJØRN@STAFET.EXAMPLE")
    r = login(d, "BJØRN")
    assert r.status_code == 201, r.text


def test_wrong_password_and_unknown_user(d):
    assert login(d, "mha", "wrong").status_code == 401
    assert login(d, "bjørn", "").status_code in (400, 401)
    assert login(d, "nobody-here", "demo").status_code == 401
    assert login(d, "mha").status_code == 201


def test_disabled_and_expired_accounts(d, samba_dc):
    # The DC itself refuses them (AD's 533 and 701)...
    r = samba_dc.ldapsearch("-b", "", "-s", "base", "dsServiceName",
                            bind_dn="bsp@stafet.example", password=PASSWORD, check=False)
    assert r.returncode != 0 and "data 533" in r.stderr, r.stderr
    r = samba_dc.ldapsearch("-b", "", "-s", "base", "dsServiceName",
                            bind_dn="jud@stafet.example", password=PASSWORD, check=False)
    assert r.returncode != 0 and "data 701" in r.stderr, r.stderr
    # ... and stafetd neither lets them in nor shows them.
    for sam, name in ad.DISABLED + ad.EXPIRED:
        assert login(d, sam).status_code == 401, sam
        assert people(d, q=name)["items"] == [], name
        assert people(d, q=sam)["items"] == [], sam
    usernames = {p["username"] for p in all_pages(d, unit="UR")}
    assert "mha" in usernames and not usernames & set(ad.HIDDEN_USERNAMES)


def test_search_folds_danish_letters(d):
    assert "Søren Bøgh" in names(people(d, q="soren"))
    assert "Søren Bøgh" in names(people(d, q="søren bøgh"))
    assert any(n.startswith("Åse") for n in names(people(d, q="aase")))
    assert any(n.startswith("Åse") for n in names(people(d, q="åse")))
    assert "Bjørn Ærøskøbing" in names(people(d, q="bjorn aeroskobing"))


def test_the_1600_member_group_whole(d, samba_dc):
    # Samba returns all 1,600 values of member (no range=0-1499 as AD does)
    out = samba_dc.ldapsearch("-b", group_dn("stafet-unit-VIK"), "-s", "base", "member").stdout
    assert out.count("\nmember") == 1600
    vik = unit(d, "VIK")
    assert len(vik["members"]) == 1600
    assert len({m["id"] for m in vik["members"]}) == 1600
    stor = all_pages(d, target_group="stor")
    assert len(stor) == 1600 and all(p["username"].startswith("xb") for p in stor)
    # the demo, the extras, bjørn; not the other workers' own users
    assert len([p for p in all_pages(d) if not p["username"].startswith(OWN)]) == 200 + 1600 + 1


def test_starttls_with_our_ca(samba_dc, db, stafetd, tmp_path):
    d = start(stafetd, db, tmp_path, samba_dc, ldap_uri=f'"{samba_dc.uri}"',
              ldap_starttls="yes")
    assert by_username(d, "mha")
    assert login(d, "mha").status_code == 201


def test_changes_show_after_the_next_refresh(samba_dc, db, stafetd, tmp_path, own):
    """A title change, a new user and a disabled account, each seen by
    uSNChanged at the next incremental refresh (no reconcile runs)."""
    sam, dn = own.user("t", "Tove", "Titelskift", groups=[group_dn("stafet-unit-UR")])
    d = start(stafetd, db, tmp_path, samba_dc)
    before = by_username(d, sam)
    assert before and before[0]["title"] == "Rådgiver" and before[0]["unit"]["code"] == "UR"

    own.modify(dn, "title", "Teamleder")
    d.hurry(REFRESH)
    settle(lambda: [p for p in by_username(d, sam) if p["title"] == "Teamleder"],
           timeout=WITHIN_ONE_REFRESH, what="the new title", exc=AssertionError)
    assert by_username(d, sam)[0]["id"] == before[0]["id"]

    new_sam, _ = own.user("n", "Nanna", "Nyansat")
    d.hurry(REFRESH)
    settle(lambda: by_username(d, new_sam), timeout=WITHIN_ONE_REFRESH,
           what="the new user", exc=AssertionError)
    assert login(d, new_sam).status_code == 201

    own.modify(dn, "userAccountControl", "514")
    d.hurry(REFRESH)
    settle(lambda: by_username(d, sam) == [], timeout=WITHIN_ONE_REFRESH,
           what="the disabled account gone", exc=AssertionError)
    assert login(d, sam).status_code == 401
    assert all(m["username"] != sam for m in unit(d, "UR")["members"])


# --- group changes seen today: the changed group itself is read again --------------
# (Samba, like AD, leaves the user's uSNChanged alone when a group's member
# changes: only the group's moves.)


def test_into_a_target_group(samba_dc, db, stafetd, tmp_path, own):
    sam, dn = own.user("i", "Ida", "Indmeldt", groups=[group_dn("stafet-unit-UR")])
    d = start(stafetd, db, tmp_path, samba_dc)
    before = by_username(d, sam)
    if len(before) != 1 or "ung-social" in before[0]["target_groups"]:
        raise Precondition("before: %r" % before)

    own.add_member(group_dn("stafet-tg-ung-social"), dn)
    d.hurry(REFRESH)
    settle(lambda: "ung-social" in by_username(d, sam)[0]["target_groups"],
           timeout=WITHIN_ONE_REFRESH, what="ung-social", exc=AssertionError)
    assert sam in {p["username"] for p in all_pages(d, target_group="ung-social")}


def test_nesting_change(samba_dc, db, stafetd, tmp_path, own):
    sam, dn = own.user("g", "Gorm", "Gruppemand", groups=[group_dn("stafet-unit-BUR")])
    team, team_dn = own.group("team", members=[dn])
    d = start(stafetd, db, tmp_path, samba_dc)
    before = by_username(d, sam)
    if len(before) != 1 or "anbragt" in before[0]["target_groups"]:
        raise Precondition("before: %r" % before)

    anbragt = group_dn("stafet-tg-anbragt")
    own.add_member(anbragt, team_dn)   # the team into the target group
    d.hurry(REFRESH)
    settle(lambda: "anbragt" in by_username(d, sam)[0]["target_groups"],
           timeout=WITHIN_ONE_REFRESH, what="anbragt through the team", exc=AssertionError)

    own.remove_member(anbragt, team_dn)  # and out again
    d.hurry(REFRESH)
    settle(lambda: "anbragt" not in by_username(d, sam)[0]["target_groups"],
           timeout=WITHIN_ONE_REFRESH, what="anbragt gone with the team", exc=AssertionError)


# --- renames and moves: identity by objectGUID, membership from the lists ----------


def test_rename_keeps_one_person(samba_dc, db, stafetd, tmp_path, own):
    sam, dn = own.user("r", "Rikke", "Førnavn", groups=[group_dn("stafet-unit-UR")])
    d = start(stafetd, db, tmp_path, samba_dc)
    before = by_username(d, sam)
    if len(before) != 1 or before[0]["unit"]["code"] != "UR":
        raise Precondition("before the rename: %r" % before)
    pid = before[0]["id"]

    own.rename(dn, "Rikke Eftersøn")
    d.hurry(REFRESH)
    # The DC's own view first: same objectGUID, new DN.
    if guid_of(samba_dc, "CN=Rikke Eftersøn," + USERS) != pid:
        raise Precondition("the DC changed the objectGUID")
    time.sleep(WITHIN_ONE_REFRESH)
    found = by_username(d, sam)
    assert [p["id"] for p in found] == [pid], found
    assert found[0]["display_name"] == "Rikke Eftersøn", found
    assert [p["id"] for p in people(d, q="rikke", limit=500)["items"]
            if p["id"] == pid] == [pid]
    members = [m for m in unit(d, "UR")["members"] if m["username"] == sam]
    assert [m["id"] for m in members] == [pid], members
    assert login(d, sam).status_code == 201


def test_login_right_after_a_rename(samba_dc, db, stafetd, tmp_path, own):
    """Between a rename and the refresh that sees it, the DN held is gone:
    the login finds the account by its objectGUID and binds as it is now."""
    sam, dn = own.user("q", "Quirin", "Førstenavn", groups=[group_dn("stafet-unit-UR")])
    d = start(stafetd, db, tmp_path, samba_dc)
    if len(by_username(d, sam)) != 1:
        raise Precondition("before the rename")
    own.rename(dn, "Quirin Andetnavn")
    r = login(d, sam)  # no refresh yet: the snapshot still holds the old DN
    assert r.status_code == 201, r.text
    assert by_username(d, sam)[0]["display_name"] == "Quirin Førstenavn"


def test_unit_move_by_group_membership(samba_dc, db, stafetd, tmp_path, own):
    ur, bur = group_dn("stafet-unit-UR"), group_dn("stafet-unit-BUR")
    sam, dn = own.user("m", "Mads", "Flytter", groups=[ur])
    d = start(stafetd, db, tmp_path, samba_dc)
    before = by_username(d, sam)
    if len(before) != 1 or before[0]["unit"]["code"] != "UR":
        raise Precondition("before the move: %r" % before)

    own.remove_member(ur, dn)
    own.add_member(bur, dn)
    d.hurry(REFRESH)
    time.sleep(WITHIN_ONE_REFRESH)
    after = by_username(d, sam)
    assert len(after) == 1 and after[0]["unit"]["code"] == "BUR", after
    assert all(m["username"] != sam for m in unit(d, "UR")["members"])
    assert [m["username"] for m in unit(d, "BUR")["members"]].count(sam) == 1
    assert sam in {p["username"] for p in all_pages(d, unit="BUR")}


def test_out_of_a_target_group(samba_dc, db, stafetd, tmp_path, own):
    tg = group_dn("stafet-tg-ung-social")
    sam, dn = own.user("o", "Otto", "Udmeldt", groups=[group_dn("stafet-unit-UR"), tg])
    d = start(stafetd, db, tmp_path, samba_dc)
    before = by_username(d, sam)
    if len(before) != 1 or "ung-social" not in before[0]["target_groups"]:
        raise Precondition("before: %r" % before)

    own.remove_member(tg, dn)
    d.hurry(REFRESH)
    time.sleep(WITHIN_ONE_REFRESH)
    assert "ung-social" not in by_username(d, sam)[0]["target_groups"]
    assert sam not in {p["username"] for p in all_pages(d, target_group="ung-social")}


# --- a schema without Exchange (issue 18) -------------------------------------------
# Samba's schema, like an AD that Exchange never extended, has no
# extensionAttribute1-15, which the ad layout maps by default.

# The default ad mapping's attributes Samba lacks, and the keys that map them,
# in the order /readyz names them (the keys' order).
DEFAULT_MISSING = {
    "extensionAttribute2": "map_allocation, map_kle_performing",
    "extensionAttribute3": "map_deputy, map_kle_insight",
    "extensionAttribute4": "map_absent_from",
    "extensionAttribute5": "map_absent_until",
    "extensionAttribute1": "map_kle_responsible",
}

# stafetd.conf(5), "An Active Directory without Exchange": AD's base schema.
NO_EXCHANGE = {
    "map_allocation": "msDS-cloudExtensionAttribute1",
    "map_deputy": "assistant",
    "map_absent_from": "msDS-cloudExtensionAttribute2",
    "map_absent_until": "msDS-cloudExtensionAttribute3",
    "map_kle_responsible": "info",
    "map_kle_performing": "adminDescription",
    "map_kle_insight": "extensionName",
}

SCHEMA_WARNING = "directory: the schema has no attribute "


def metric(d, name):
    text = requests.get(d.url + "/metrics", timeout=10).text
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines() if line.startswith(name)}


def readyz_checks(d):
    r = requests.get(d.url + "/readyz", timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["checks"]


def test_default_mapping_warns_of_each_missing_attribute(d):
    log = d.log()
    said = [line for line in log.splitlines() if SCHEMA_WARNING in line]
    for attr, keys in DEFAULT_MISSING.items():
        line = f"{SCHEMA_WARNING}{attr} ({keys}): it is read as empty"
        assert sum(line in x for x in said) == 1, (attr, said)
    assert len(said) == len(DEFAULT_MISSING), said
    assert metric(d, "stafet_directory_schema_missing ") == {
        "stafet_directory_schema_missing": len(DEFAULT_MISSING)}
    assert metric(d, "stafet_directory_schema_read ") == {"stafet_directory_schema_read": 1}
    per = metric(d, "stafet_directory_schema_missing_attribute{")
    assert per == {'stafet_directory_schema_missing_attribute{attribute="%s",key="%s"}'
                   % (a, k): 1 for a, k in DEFAULT_MISSING.items()}, per
    detail = readyz_checks(d)["directory_schema"]
    assert detail == "missing: " + ", ".join(
        f"{a} ({k})" for a, k in DEFAULT_MISSING.items()), detail

    # A full reload reads the schema again: the same set, no new warning.
    fulls = metric(d, "stafet_directory_full_syncs_total")["stafet_directory_full_syncs_total"]
    d.signal(signal.SIGHUP)
    settle(lambda: metric(d, "stafet_directory_full_syncs_total")[
        "stafet_directory_full_syncs_total"] > fulls, timeout=WITHIN_ONE_REFRESH + 10,
        what="a full reload after SIGHUP", exc=AssertionError)
    assert d.log().count(SCHEMA_WARNING) == len(DEFAULT_MISSING)



def test_no_exchange_mapping(samba_dc, db, stafetd, tmp_path, own):
    """The documented mapping onto AD's base schema: a user's allocation
    rules, deputy and absence and a unit group's KLE numbers show in the API,
    and the schema has every attribute mapped."""
    code = "zzk" + secrets.token_hex(3)
    unit_dn = group_dn("stafet-unit-" + code)
    samba_dc.ldapmodify(f"""dn: {unit_dn}
changetype: add
objectClass: group
cn: stafet-unit-{code}
sAMAccountName: stafet-unit-{code}
description: Enhed uden Exchange
info: 27.24.00;27.24.04
adminDescription: 27.24.08
extensionName: 27.36.00
extensionName: 27.36.04;27.36.08
""")
    own.dns.append(unit_dn)
    deputy_sam, deputy_dn = own.user("d", "Dorte", "Stedfortræder", groups=[unit_dn])
    sam, dn = own.user("x", "Xenia", "Udenexchange", groups=[unit_dn])
    start_day = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))
    back_day = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 30 * 86400))
    samba_dc.ldapmodify(f"""dn:: {b64(dn)}
changetype: modify
replace: msDS-cloudExtensionAttribute1
msDS-cloudExtensionAttribute1: district:Vollsmose; surname:A-K
-
replace: assistant
assistant:: {b64(deputy_dn)}
-
replace: msDS-cloudExtensionAttribute2
msDS-cloudExtensionAttribute2: {start_day}
-
replace: msDS-cloudExtensionAttribute3
msDS-cloudExtensionAttribute3: {back_day}
-
""")
    d = start(stafetd, db, tmp_path, samba_dc, **NO_EXCHANGE)

    found = by_username(d, sam)
    assert len(found) == 1, found
    p = found[0]
    assert p["unit"]["code"] == code
    assert p["allocation"] == [{"kind": "district", "value": "Vollsmose"},
                               {"kind": "surname", "from": "A", "to": "K"}], p["allocation"]
    deputy = by_username(d, deputy_sam)[0]
    assert p["deputy"] is not None and p["deputy"]["id"] == deputy["id"], p["deputy"]
    assert p["absent"] == {"from": start_day, "until": back_day}, p["absent"]

    u = unit(d, code)
    assert u["kle"] == {"responsible": ["27.24.00", "27.24.04"], "performing": ["27.24.08"],
                        "insight": ["27.36.00", "27.36.04", "27.36.08"]}, u["kle"]

    assert SCHEMA_WARNING not in d.log()
    assert readyz_checks(d)["directory_schema"] == "ok"
    assert metric(d, "stafet_directory_schema_missing ") == {
        "stafet_directory_schema_missing": 0}


def test_unit_intake_by_group(samba_dc, db, stafetd, tmp_path, own):
    """map_unit_intake's AD default, group:stafet-intake: a unit group that
    is a member of a group so named takes new cases in through its intake;
    taken out of it, it no longer does, after one refresh (the intake
    group's member list says so, not the unit group's memberOf)."""
    import secrets
    cn = "stafet-intake-%s%s" % (OWN, secrets.token_hex(3))
    dn = group_dn(cn)
    samba_dc.ldapmodify(f"dn: {dn}\nchangetype: add\nobjectClass: group\ncn: {cn}\n"
                        f"sAMAccountName: {cn}\n")
    own.dns.insert(0, dn)
    ur = group_dn("stafet-unit-UR")
    own.add_member(dn, ur)
    d = start(stafetd, db, tmp_path, samba_dc)
    assert unit(d, "UR")["intake"] is True
    assert unit(d, "BUR")["intake"] is False
    own.remove_member(dn, ur)
    d.hurry(REFRESH)
    settle(lambda: unit(d, "UR")["intake"] is False, timeout=WITHIN_ONE_REFRESH,
           what="UR out of the intake group", exc=AssertionError)
