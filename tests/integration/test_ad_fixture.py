"""The Active Directory stand-in: the AD schema names (tests/fixtures/ad/
ad-test.ldif), the demo municipality in AD layout (tests/fixtures/ad/ad.ldif,
from tests/fixtures/gen_ad_ldif.py) and the Slapd harness's schemas=
option, checked against a real slapd in a temporary directory.

Run: /usr/bin/python3 -m pytest -q tests/integration/test_ad_fixture.py
"""

import base64
import datetime
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.harness.slapd import (  # noqa: E402
    AD_LDIF, AD_SCHEMA_LDIF, CLIENT_ENV, Slapd)

GENERATOR = TESTS / "fixtures" / "gen_ad_ldif.py"


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = load("gen_ad_ldif", GENERATOR)
demo = gen.demo
USERS, GROUPS, BASE = gen.USERS_DN, gen.GROUPS_DN, gen.BASE_DN
SERVICE = dict(bind_dn=gen.SERVICE_DN, password=gen.SERVICE_PASSWORD)
BINARY = {"objectguid"}


@pytest.fixture(scope="module")
def ad(tmp_path_factory):
    server = Slapd(tmp_path_factory.mktemp("slapd-ad"), ldif=AD_LDIF,
                   schemas=[AD_SCHEMA_LDIF])
    server.start()
    try:
        gen.enable_ad_filters(server)
        yield server
    finally:
        server.stop()


def parse_ldif(text):
    """ldapsearch -LLL output -> {dn: {attr_lower: [values]}}; base64
    values are decoded, to bytes for objectGUID and to str otherwise."""
    lines = []
    for line in text.splitlines():
        if line.startswith(" ") and lines:
            lines[-1] += line[1:]
        else:
            lines.append(line)
    entries, current = {}, None
    for line in lines + [""]:
        if not line or line.startswith("#"):
            if not line:
                current = None
            continue
        name, _, value = line.partition(":")
        name = name.lower()
        if value.startswith(":"):
            raw = base64.b64decode(value[1:].strip())
            value = raw if name in BINARY else raw.decode("utf-8")
        else:
            value = value.strip()
            if name in BINARY:
                value = value.encode()
        if name == "dn":
            current = entries.setdefault(value, {})
        else:
            current.setdefault(name, []).append(value)
    return entries


def search(server, base, flt="(objectClass=*)", *attrs, scope="sub", **kw):
    out = server.ldapsearch("-b", base, "-s", scope, flt, *attrs, **kw).stdout
    return parse_ldif(out)


@pytest.fixture(scope="module")
def users(ad):
    return search(ad, USERS, "(objectClass=user)", scope="one")


@pytest.fixture(scope="module")
def groups(ad):
    return search(ad, GROUPS, "(objectClass=group)", scope="one")


@pytest.fixture(scope="module")
def by_sam(users):
    return {e["samaccountname"][0]: (dn, e) for dn, e in users.items()}


def filetime_now():
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    delta = now - datetime.datetime(1601, 1, 1)
    return (delta.days * 86400 + delta.seconds) * 10 ** 7


def reference_filetime():
    r = demo.REFERENCE_DATE
    return gen.filetime(int(r[0:4]), int(r[4:6]), int(r[6:8]))


def ldap_escape_bytes(value):
    return "".join("\\%02x" % b for b in value)


def is_disabled(entry):
    return int(entry["useraccountcontrol"][0]) & 2 != 0


def is_expired(entry, at):
    ft = int(entry.get("accountexpires", ["0"])[0])
    return ft not in (0, gen.NEVER_MAX) and ft < at


# --- Files -------------------------------------------------------------------


def test_generated_ldif_is_up_to_date():
    result = subprocess.run([sys.executable, str(GENERATOR), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_schema_uses_only_the_private_placeholder_arc():
    text = AD_SCHEMA_LDIF.read_text(encoding="utf-8")
    oids = re.findall(r"^olc(?:AttributeTypes|ObjectClasses):\s*\{\d+\}\(\s*"
                      r"([\d.]+)", text, re.M)
    assert len(oids) == 8 + 15 + 6 + 2
    assert all(o.startswith("1.3.6.1.4.1.99999.2.") for o in oids)
    assert len(set(oids)) == len(oids)
    assert "1.2.840.113556" not in re.sub(r"(?m)^#.*\n", "", text)


# --- Loading -----------------------------------------------------------------


def test_directory_loads(ad, users, groups):
    base = search(ad, BASE, scope="base")
    assert base[BASE]["o"] == ["Stafet Kommune"]
    hidden = len(gen.DISABLED) + len(gen.EXPIRED)
    assert len(users) == demo.DEFAULT_PEOPLE + hidden == 206
    unit_groups = [e["cn"][0] for e in groups.values()
                   if e["cn"][0].startswith(gen.UNIT_GROUP_PREFIX)]
    assert sorted(unit_groups) == sorted(
        gen.UNIT_GROUP_PREFIX + u.code for u in demo.UNITS)
    assert "cn=stafet-unit-ÆHF," + GROUPS in groups
    assert "cn=stafet-unit-BUR-H," + GROUPS in groups
    for name in ["stafet-tg-ung-social", "stafet-tg-anbragt",
                 "stafet-quality", "stafet-admin"]:
        assert "cn=%s,%s" % (name, GROUPS) in groups


def test_indexes_for_the_ad_attributes(ad):
    config = ad.ldapsearch("-b", "olcDatabase={1}mdb,cn=config", "-s", "base",
                           "(objectClass=*)", "olcDbIndex",
                           bind_dn=ad.config_admin_dn,
                           password=ad.admin_password).stdout
    for attr in ["sAMAccountName", "uSNChanged", "objectGUID", "memberOf"]:
        assert "olcDbIndex: %s " % attr in config


def test_sam_account_name_finds_mette_hansen(ad, users):
    for name in ["mha", "MHA"]:  # case-insensitive, as in AD
        found = search(ad, USERS, "(sAMAccountName=%s)" % name)
        assert list(found) == ["cn=Mette Hansen," + USERS]
    mha = users["cn=Mette Hansen," + USERS]
    assert mha["displayname"] == ["Mette Hansen"]
    assert mha["userprincipalname"] == ["mha@stafet.example"]
    assert mha["title"] == ["Rådgiver"]
    assert mha["manager"] == ["cn=Kirsten Mølgaard," + USERS]
    assert mha["extensionattribute2"] == ["birthday:11-20"]
    assert mha["extensionattribute3"] == ["akh"]  # the deputy, Ali Khan
    assert mha["extensionattribute4"] == ["2026-01-12"]
    assert mha["extensionattribute5"] == ["2026-03-03"]
    assert mha["memberof"] == ["cn=stafet-unit-UR," + GROUPS,
                               "cn=stafet-tg-ung-social," + GROUPS]
    assert mha["objectguid"] == [gen.object_guid("user:mha").bytes_le]
    assert "uid" not in mha  # AD has no uid: Stafet must use sAMAccountName
    akh = search(ad, USERS, "(sAMAccountName=akh)", "cn")
    assert list(akh) == ["cn=Ali Khan," + USERS]


def test_same_people_as_the_demo_directory(users, by_sam):
    demo_people = [e for e in demo.build() if e.dn.endswith(demo.PEOPLE_DN)
                   and e.first("uid")]
    demo_dn = {e.dn: e.first("uid") for e in demo_people}
    assert len(demo_people) == 200
    for d in demo_people:
        uid = d.first("uid")
        dn, e = by_sam[uid]
        assert e["cn"] == d.get("cn") and e["sn"] == d.get("sn")
        for attr in ["title", "mail", "telephoneNumber", "mobile",
                     "physicalDeliveryOfficeName", "givenName"]:
            assert e.get(attr.lower(), []) == d.get(attr), (uid, attr)
        unit = gen.UNIT_GROUP_PREFIX + d.first("stafetUnitCode")
        assert "cn=%s,%s" % (unit, GROUPS) in e["memberof"]
        if d.first("manager"):
            manager_dn, _ = by_sam[demo_dn[d.first("manager")]]
            assert e["manager"] == [manager_dn]
        else:
            assert "manager" not in e
        assert e.get("extensionattribute2", []) == (
            [";".join(d.get("stafetAllocation"))]
            if d.get("stafetAllocation") else [])
        if d.first("stafetDeputy"):
            assert e["extensionattribute3"] == [demo_dn[d.first(
                "stafetDeputy")]]
            assert e["extensionattribute4"] == [gen.ymd(d.first(
                "stafetAbsentFrom"))]
            until = d.first("stafetAbsentUntil")
            assert e.get("extensionattribute5", []) == (
                [gen.ymd(until)] if until else [])
        else:
            assert not any("extensionattribute%d" % i in e
                           for i in (3, 4, 5))


# --- AD specifics ------------------------------------------------------------


def test_object_guids_are_16_unique_bytes(ad, users, groups):
    service = search(ad, gen.SERVICE_DN, scope="base")
    everything = {**users, **groups, **service}
    guids = [e["objectguid"] for e in everything.values()]
    assert all(len(g) == 1 and len(g[0]) == 16 for g in guids)
    assert len({g[0] for g in guids}) == len(guids)


def test_object_guid_filter_with_escaped_bytes(ad, users):
    # Search by the binary id, as a client of AD does; pick a GUID that
    # holds bytes a filter must escape.
    special = [(dn, e["objectguid"][0]) for dn, e in users.items()
               if set(e["objectguid"][0]) & set(b"\0()*\\")]
    assert special, "no GUID with bytes that need escaping"
    dn, guid = special[0]
    found = search(ad, BASE, "(objectGUID=%s)" % ldap_escape_bytes(guid),
                   "1.1")
    assert list(found) == [dn]


def test_usn_changed_ordering_filter(ad, users, groups):
    service = search(ad, gen.SERVICE_DN, scope="base")
    entries = {**users, **groups, **service}
    usn = {dn: int(e["usnchanged"][0]) for dn, e in entries.items()}
    created = {dn: int(e["usncreated"][0]) for dn, e in entries.items()}
    assert all(usn[dn] >= created[dn] for dn in entries)
    assert len(set(created.values())) == len(created)
    threshold = sorted(usn.values())[-25]
    expected = {dn for dn, n in usn.items() if n >= threshold}
    found = search(ad, BASE, "(uSNChanged>=%d)" % threshold, "1.1")
    assert set(found) == expected and len(expected) == 25
    # The most recent changes include Mette Hansen's absence.
    assert "cn=Mette Hansen," + USERS in expected
    older = search(ad, BASE, "(uSNChanged<=%d)" % (threshold - 1), "1.1")
    assert set(older) == set(entries) - expected
    assert search(ad, BASE, "(uSNChanged>=%d)" % (max(usn.values()) + 1),
                  "1.1") == {}


def test_disabled_accounts_have_bit_2(ad, users, by_sam):
    assert len(gen.DISABLED) >= 3
    disabled = {dn for dn, e in users.items() if is_disabled(e)}
    assert disabled == {by_sam[sam][0] for sam, _ in gen.DISABLED}
    for sam, name in gen.DISABLED:
        dn, e = by_sam[sam]
        assert e["cn"] == [name] and "Spærret" in name
    # Not only 514: a test of the value instead of the bit misses one.
    assert {int(users[dn]["useraccountcontrol"][0]) for dn in disabled} \
        == {514, 66050}
    # OpenLDAP knows AD's bitwise-AND matching rule by its AD OID.
    found = search(ad, USERS, "(userAccountControl:1.2.840.113556.1.4.803:=2)",
                   "1.1")
    assert set(found) == disabled


def test_expired_accounts_expire_in_the_past(users, by_sam):
    assert len(gen.EXPIRED) >= 3
    now, ref = filetime_now(), reference_filetime()
    expired = {dn for dn, e in users.items() if is_expired(e, now)}
    assert expired == {by_sam[sam][0] for sam, _ in gen.EXPIRED}
    for sam, name in gen.EXPIRED:
        dn, e = by_sam[sam]
        assert e["cn"] == [name] and "Udløbet" in name
        assert not is_disabled(e)
        ft = int(e["accountexpires"][0])
        assert 0 < ft < ref < now  # before the demo's reference date too
    # Both "never" values occur; apprentices expire, but in the future.
    values = [int(e["accountexpires"][0]) for e in users.values()]
    assert 0 in values and gen.NEVER_MAX in values
    future = [dn for dn, e in users.items()
              if e.get("employeetype") == ["Elev"]]
    assert future and all(int(users[dn]["accountexpires"][0]) > now
                          for dn in future)


def test_an_ad_live_filter_finds_exactly_the_demo_people(ad, users):
    # The filter a client of AD uses for live accounts.
    now = filetime_now()
    live = ("(&(objectCategory=person)(objectClass=user)"
            "(!(userAccountControl:1.2.840.113556.1.4.803:=2))"
            "(|(accountExpires=0)(accountExpires=9223372036854775807)"
            "(accountExpires>=%d)))" % now)
    found = search(ad, USERS, live, "sAMAccountName")
    sams = sorted(e["samaccountname"][0] for e in found.values())
    demo_uids = sorted(e.first("uid") for e in demo.build()
                       if e.dn.endswith(demo.PEOPLE_DN) and e.first("uid"))
    assert sams == demo_uids
    hidden = set(gen.HIDDEN_USERNAMES)
    assert not hidden & set(sams)
    for name in ["Spærret", "Udløbet"]:
        assert len(search(ad, USERS, "(sn=%s)" % name, "1.1")) == 3


def test_hidden_accounts_sit_where_they_would_be_picked(users, by_sam):
    # Each is in a unit group and has rules like live colleagues, so only
    # the account state keeps them out.
    for sam in gen.HIDDEN_USERNAMES:
        dn, e = by_sam[sam]
        assert any(g.startswith("cn=" + gen.UNIT_GROUP_PREFIX)
                   for g in e["memberof"])
        assert e["extensionattribute2"]
    birthday_11_20_in_ur = {
        sam for sam, (dn, e) in by_sam.items()
        if "cn=stafet-unit-UR," + GROUPS in e["memberof"]
        and e.get("extensionattribute2") == ["birthday:11-20"]}
    assert {"mha", "bsp", "jud"} <= birthday_11_20_in_ur


def test_object_category_shorthand(ad):
    # After enable_ad_filters, as on AD: "person" stands for the DN.
    full = search(ad, BASE, "(objectCategory=%s)" % gen.PERSON_CATEGORY,
                  "1.1")
    short = search(ad, BASE, "(&(objectCategory=person)(objectClass=user))",
                   "1.1")
    assert set(short) == set(full) and len(full) == 207  # service included
    assert len(search(ad, GROUPS, "(objectCategory=group)", "1.1")) \
        == len(search(ad, GROUPS, "(objectClass=group)", "1.1"))
    gen.enable_ad_filters(ad)  # a second call changes nothing


# --- Groups ------------------------------------------------------------------


def test_units_are_nested_groups(ad, groups, users):
    demo_units = {e.first("stafetUnitCode"): e for e in demo.build()
                  if e.first("stafetUnitCode") and
                  e.dn.endswith(demo.UNITS_DN)}
    for unit in demo.UNITS:
        dn = "cn=%s%s,%s" % (gen.UNIT_GROUP_PREFIX, unit.code, GROUPS)
        g, d = groups[dn], demo_units[unit.code]
        assert g["description"] == [unit.name]
        assert g["mail"] == d.get("stafetMailbox")
        (lead,) = g["managedby"]
        assert lead in users and dn in users[lead]["memberof"]
        for i, kle in enumerate([unit.kle_responsible, unit.kle_performing,
                                 unit.kle_insight], start=1):
            assert g.get("extensionattribute%d" % i, []) == (
                [";".join(kle)] if kle else [])
        if unit.parent:
            parent = "cn=%s%s,%s" % (gen.UNIT_GROUP_PREFIX, unit.parent,
                                     GROUPS)
            assert dn in groups[parent]["member"]
            assert g["memberof"] == [parent]
        else:
            assert "memberof" not in g
    assert groups["cn=stafet-unit-UR," + GROUPS]["mail"] == \
        ["ur@stafet.example"]
    assert groups["cn=stafet-unit-ÆHF," + GROUPS]["mail"] == \
        ["aehf@stafet.example"]


def transitive_users(groups, users, dn, seen=None):
    """Users reachable from group dn through member, cycles cut."""
    seen = set() if seen is None else seen
    if dn in seen:
        return set()
    seen.add(dn)
    found = set()
    for m in groups[dn].get("member", []):
        if m in users:
            found.add(m)
        elif m in groups:
            found |= transitive_users(groups, users, m, seen)
    return found


def test_nested_target_groups(groups, users, by_sam):
    def tg(name):
        return "cn=%s%s,%s" % (gen.TARGET_GROUP_PREFIX, name, GROUPS)
    demo_people = [e for e in demo.build() if e.dn.endswith(demo.PEOPLE_DN)
                   and e.first("uid")]

    def expected(name):
        uids = {e.first("uid") for e in demo_people
                if name in e.get("stafetTargetGroup")}
        uids |= {h[0] for h in gen._HIDDEN if name in h[5]}
        return {by_sam[u][0] for u in uids}
    # stafet-tg-anbragt holds no user itself: only team groups.
    anbragt = groups[tg("anbragt")]
    assert not set(anbragt["member"]) & set(users)
    assert "cn=team-anbragt-ur," + GROUPS in anbragt["member"]
    # Two levels: stafet-tg-neuro > team-neuro > team-neuro-bur-h > users.
    assert "cn=team-neuro," + GROUPS in groups[tg("neuro")]["member"]
    assert groups["cn=team-neuro," + GROUPS]["member"] == [
        "cn=team-neuro-bur-h," + GROUPS]
    # A cycle: team-anbragt-ur and cyklus-anbragt-ur hold each other.
    assert "cn=cyklus-anbragt-ur," + GROUPS in \
        groups["cn=team-anbragt-ur," + GROUPS]["member"]
    assert "cn=team-anbragt-ur," + GROUPS in \
        groups["cn=cyklus-anbragt-ur," + GROUPS]["member"]
    names = set()
    for e in demo_people:
        names |= set(e.get("stafetTargetGroup"))
    for name in names:
        assert transitive_users(groups, users, tg(name)) == expected(name), \
            name
    assert len(transitive_users(groups, users, tg("anbragt"))) == 9


def test_member_of_is_the_direct_inverse_of_member(groups, users, ad):
    service = search(ad, gen.SERVICE_DN, scope="base")
    objects = {**users, **groups, **service}
    inverse = {}
    for dn, g in groups.items():
        for m in g.get("member", []):
            assert m in objects, m  # no dangling members
            inverse.setdefault(m, set()).add(dn)
    for dn, e in objects.items():
        assert set(e.get("memberof", [])) == inverse.get(dn, set()), dn


def test_quality_and_admin_groups(groups, by_sam):
    admin = groups["cn=stafet-admin," + GROUPS]["member"]
    assert sorted(admin) == sorted(by_sam[u][0] for u in ["ano", "tda"])
    quality = groups["cn=stafet-quality," + GROUPS]["member"]
    assert by_sam["kmo"][0] in quality and by_sam["pka"][0] in quality
    assert len(quality) == 3


# --- Binding -----------------------------------------------------------------


def test_service_account_binds_and_reads_users(ad):
    who = ad.ldapwhoami(**SERVICE)
    assert who.stdout.strip() == "dn:" + gen.SERVICE_DN
    found = search(ad, USERS, "(sAMAccountName=mha)", "*", "memberOf",
                   **SERVICE)
    (mha,) = found.values()
    assert mha["cn"] == ["Mette Hansen"]
    assert len(mha["objectguid"][0]) == 16
    assert "userpassword" not in mha
    # Paged, as against AD (which serves at most 1,000 a page).
    cmd = ["ldapsearch", "-x", "-H", ad.uri, "-D", gen.SERVICE_DN,
           "-w", gen.SERVICE_PASSWORD, "-E", "pr=100/noprompt", "-b", USERS,
           "(objectClass=user)", "1.1"]
    result = subprocess.run(cmd, capture_output=True, text=True,
                            env=CLIENT_ENV, check=True)
    dns = [line for line in result.stdout.splitlines()
           if line.startswith("dn:")]
    assert len(dns) == 206
    pages = [line for line in result.stdout.splitlines()
             if line.startswith("pagedresults:")]
    assert len(pages) == 3
    bad = ad.ldapwhoami(gen.SERVICE_DN, "wrong", check=False)
    assert bad.returncode == 49


def test_users_bind_with_the_demo_password(ad):
    dn = "cn=Mette Hansen," + USERS
    ok = ad.ldapwhoami(dn, gen.DEMO_PASSWORD)
    assert ok.stdout.strip() == "dn:" + dn


def test_sync_search_still_works_with_the_filter_rewrite(ad):
    result = ad.ldapsearch("-E", "sync=ro", "-b", USERS,
                           "(sAMAccountName=mha)", "sAMAccountName", **SERVICE)
    assert "sAMAccountName: mha" in result.stdout


# --- The big variant ---------------------------------------------------------


def test_big_variant_loads_one_group_past_1500(tmp_path):
    out = tmp_path / "ad-big.ldif"
    subprocess.run([sys.executable, str(GENERATOR), "--big", "1600",
                    "-o", str(out)], check=True)
    with Slapd(tmp_path / "slapd", ldif=out, schemas=[AD_SCHEMA_LDIF]) as big:
        group = search(big, "cn=%s,%s" % (gen.BIG_GROUP, GROUPS),
                       scope="base")
        (entry,) = group.values()
        assert len(entry["member"]) == 1600
        assert len(search(big, USERS, "(objectClass=user)", "1.1",
                          scope="one")) == 206 + 1600
