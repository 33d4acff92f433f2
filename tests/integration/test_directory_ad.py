"""The directory mirror in Active Directory layout, against slapd loaded with
AD's attribute names (tests/fixtures/ad): objectGUID ids, sAMAccountName,
units and target groups from nested groups, extensionAttributes, disabled
and expired accounts left out, changes seen by uSNChanged."""

import os
import sys

import pytest
import requests

from tests.harness.slapd import AD_LDIF, AD_SCHEMA_LDIF, Slapd
from tests.integration.test_directory import loaded, names, people, wait_until

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fixtures"))
import gen_ad_ldif as ad  # noqa: E402


@pytest.fixture(scope="module")
def ad_slapd(tmp_path_factory):
    s = Slapd(str(tmp_path_factory.mktemp("adslapd")), ldif=AD_LDIF, schemas=[AD_SCHEMA_LDIF])
    s.start()
    ad.enable_ad_filters(s)  # AD's (objectCategory=person) shorthand
    yield s
    s.stop()


def ad_settings(tmp_path, uri, **extra):
    pw = tmp_path / "ldap.password"
    pw.write_text(ad.SERVICE_PASSWORD + "\n")
    os.chmod(pw, 0o600)
    s = {
        "ldap_uri": f'"{uri}"',
        "ldap_starttls": "no",
        "ldap_allow_plaintext": "yes",
        "ldap_bind_dn": f'"{ad.SERVICE_DN}"',
        "ldap_bind_password_file": str(pw),
        "ldap_connect_timeout": "1s",
        "ldap_timeout": "5s",
        "directory_layout": "ad",
        "directory_people_base": f'"{ad.USERS_DN}"',
        "directory_units_base": f'"{ad.GROUPS_DN}"',
        "directory_groups_base": f'"{ad.GROUPS_DN}"',
        "directory_refresh_interval": "1s",
        "directory_reconcile_interval": "4s",
        "directory_snapshot_file": str(tmp_path / "directory.json"),
        # These tests read the directory as such; login is test_auth.py's.
        "directory_anonymous_read": "yes",
    }
    s.update(extra)
    return s


@pytest.fixture
def d(ad_slapd, db, stafetd, tmp_path):
    settings = ad_settings(tmp_path, ad_slapd.uri)
    settings.update(db.settings())
    inst = stafetd(settings=settings)
    wait_until(lambda: loaded(inst), what="first AD snapshot")
    return inst


def everyone(d):
    return people(d, limit=500)["items"]


def test_people_and_ids(d):
    items = everyone(d)
    assert len(items) == 200
    mha = next(p for p in items if p["username"] == "mha")
    assert mha["id"] == str(ad.object_guid("user:mha"))
    r = requests.get(d.url + "/api/v1/people/" + mha["id"])
    assert r.status_code == 200 and r.json()["display_name"] == "Mette Hansen"


def test_disabled_and_expired_never_appear(d):
    usernames = {p["username"] for p in everyone(d)}
    assert not usernames & set(ad.HIDDEN_USERNAMES)
    for sam, name in ad.DISABLED + ad.EXPIRED:
        assert people(d, q=name)["items"] == [], name
        assert people(d, q=sam)["items"] == [], sam


def test_search_folds_danish_letters(d):
    assert "Søren Bøgh" in names(people(d, q="soren"))
    assert any(n.startswith("Åse") for n in names(people(d, q="aase")))
    assert any(n.startswith("Åse") for n in names(people(d, q="åse")))
    two = names(people(d, q="mette hansen", limit=500))
    assert "Mette Hansen" in two and len(two) < len(names(people(d, q="mette", limit=500))) + 1


def test_units_from_nested_groups(d):
    mha = next(p for p in everyone(d) if p["username"] == "mha")
    assert mha["unit"]["code"] == "UR" and mha["unit"]["department"] == "BSF"
    tops = {u["code"]: u for u in requests.get(d.url + "/api/v1/units").json()["items"]}
    assert {"BUF", "BSF"} <= set(tops)
    assert "UR" in {c["code"] for c in tops["BSF"]["children"]}
    u = requests.get(d.url + "/api/v1/units/UR").json()
    assert u["parent"] == "BSF" and u["mailbox"] and u["lead"]
    assert any(m["username"] == "mha" for m in u["members"])
    assert u["kle"]["responsible"] or u["kle"]["performing"] or u["kle"]["insight"]
    ur = people(d, unit="UR", limit=500)["items"]
    assert ur and all(p["unit"]["code"] == "UR" for p in ur)
    bsf = people(d, department="BSF", limit=500)["items"]
    assert len(bsf) > len(ur)


def test_extension_attributes(d):
    mha = next(p for p in everyone(d) if p["username"] == "mha")
    assert {"kind": "birthday", "from": 11, "to": 20} in mha["allocation"]
    assert mha["deputy"]["display_name"] == "Ali Khan"
    assert mha["manager"]["display_name"]
    assert "ung-social" in mha["target_groups"]


def test_nested_target_groups(d):
    # stafet-tg-anbragt holds only groups; its people get "anbragt" through them
    anbragt = people(d, target_group="anbragt", limit=500)["items"]
    assert anbragt
    neuro = people(d, target_group="neuro", limit=500)["items"]
    assert neuro  # two levels of nesting


def test_pagination_is_stable(d):
    full = [p["id"] for p in everyone(d)]
    seen, cursor = [], None
    while True:
        params = {"limit": 64}
        if cursor:
            params["cursor"] = cursor
        body = people(d, **params)
        seen += [p["id"] for p in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == full


def usn(slapd):
    out = slapd.ldapsearch("-b", ad.BASE_DN, "(uSNChanged=*)", "uSNChanged").stdout
    return max(int(line.split(":")[1]) for line in out.splitlines()
               if line.startswith("uSNChanged:"))


def group_member(slapd, group_cn, dn, op="add"):
    """What AD does when someone joins (op "add") or leaves ("delete") a
    group: the group's member list changes and so does its uSNChanged; the
    member's memberOf is computed from the lists, its uSNChanged stays."""
    slapd.ldapmodify(f"""dn: cn={group_cn},{ad.GROUPS_DN}
changetype: modify
{op}: member
member: {dn}
-
replace: uSNChanged
uSNChanged: {usn(slapd) + 1}
""")


def test_changes_by_usn(ad_slapd, db, stafetd, tmp_path):
    """A change is visible once its uSNChanged is past the last one seen;
    disabling an account removes it at the next refresh. No reconcile runs
    meanwhile: this is the incremental path alone."""
    settings = ad_settings(tmp_path, ad_slapd.uri, directory_reconcile_interval="1h")
    settings.update(db.settings())
    d = stafetd(settings=settings, name="incr")
    wait_until(lambda: loaded(d), what="first AD snapshot")
    dn = "cn=Zenia Ærøskøbing," + ad.USERS_DN
    n = usn(ad_slapd) + 1
    guid = b"\x01" * 16
    import base64
    ad_slapd.ldapmodify(f"""dn: {dn}
changetype: add
objectClass: user
cn: Zenia Ærøskøbing
sn: Ærøskøbing
givenName: Zenia
sAMAccountName: zzt
objectCategory: {ad.PERSON_CATEGORY}
objectGUID:: {base64.b64encode(guid).decode()}
userAccountControl: 512
accountExpires: 0
memberOf: cn=stafet-unit-UR,{ad.GROUPS_DN}
uSNChanged: {n}
""")
    try:
        group_member(ad_slapd, "stafet-unit-UR", dn)
        found = wait_until(lambda: [p for p in people(d, q="zenia aero")["items"]
                                    if p["username"] == "zzt"], what="added AD user")
        assert found[0]["unit"]["code"] == "UR"
        ad_slapd.ldapmodify(f"""dn: {dn}
changetype: modify
replace: userAccountControl
userAccountControl: 514
-
replace: uSNChanged
uSNChanged: {usn(ad_slapd) + 1}
""")
        wait_until(lambda: people(d, q="zenia")["items"] == [], what="disabled account gone")
    finally:
        group_member(ad_slapd, "stafet-unit-UR", dn, "delete")
        ad_slapd.ldapmodify(f"dn: {dn}\nchangetype: delete\n")


def test_garbage_absence_dates(ad_slapd, d):
    """extensionAttribute4/5 are free text in AD: a value that is not a
    date reads as no absence, and the answers stay JSON (the dates are
    written into them unescaped)."""
    import base64
    dn = "cn=Gurli Garbage," + ad.USERS_DN
    n = usn(ad_slapd) + 1
    guid = base64.b64encode(b"\x02" * 16).decode()
    ad_slapd.ldapmodify(f"""dn: {dn}
changetype: add
objectClass: user
cn: Gurli Garbage
sn: Garbage
givenName: Gurli
sAMAccountName: zgg
objectCategory: {ad.PERSON_CATEGORY}
objectGUID:: {guid}
userAccountControl: 512
accountExpires: 0
memberOf: cn=stafet-unit-UR,{ad.GROUPS_DN}
extensionAttribute4: 2"\\x-01-01
extensionAttribute5: 2999-12-3"
uSNChanged: {n}
""")
    try:
        group_member(ad_slapd, "stafet-unit-UR", dn)

        def found():
            r = requests.get(d.url + "/api/v1/people", params={"q": "gurli garbage"})
            assert r.status_code == 200
            return [p for p in r.json()["items"] if p["username"] == "zgg"]
        p = wait_until(found, what="added AD user")[0]
        assert p["absent"] is None
        r = requests.get(d.url + "/api/v1/people/" + p["id"])
        assert r.status_code == 200 and r.json()["absent"] is None
        r = requests.get(d.url + "/api/v1/units/UR")
        assert r.status_code == 200
        assert any(m["username"] == "zgg" for m in r.json()["members"])
    finally:
        group_member(ad_slapd, "stafet-unit-UR", dn, "delete")
        ad_slapd.ldapmodify(f"dn: {dn}\nchangetype: delete\n")


def test_saved_snapshot_keeps_the_layout(d, tmp_path):
    """After a restart with AD down, the saved snapshot still knows the
    target groups that came from group names."""
    assert d.stop() == 0
    d.settings["ldap_uri"] = '"ldap://127.0.0.1:1"'
    d.write_config()
    d.start()
    mha = next(p for p in people(d, q="mette hansen")["items"] if p["username"] == "mha")
    assert "ung-social" in mha["target_groups"]
    assert people(d, q="mette")["directory"]["stale"] is True


# --- identity by objectGUID: renames and moves --------------------------------------


def add_user(slapd, cn, sam, guid_byte, unit="UR", deputy_dn=None, groups=()):
    """A user as AD holds one: in the unit group's member list and those of
    `groups` (and so in memberOf), with a password, a fresh uSNChanged."""
    import base64
    dn = f"cn={cn},{ad.USERS_DN}"
    given, sn = cn.split(" ", 1)
    extra = f"extensionAttribute3: {deputy_dn}\n" if deputy_dn else ""
    extra += "".join(f"memberOf: {ad.group_dn(g)}\n" for g in groups)
    slapd.ldapmodify(f"""dn: {dn}
changetype: add
objectClass: user
cn: {cn}
sn: {sn}
givenName: {given}
sAMAccountName: {sam}
userPrincipalName: {sam}@stafet.test
objectCategory: {ad.PERSON_CATEGORY}
objectGUID:: {base64.b64encode(bytes([guid_byte]) * 16).decode()}
userAccountControl: 512
accountExpires: 0
userPassword: {ad.DEMO_PASSWORD}
memberOf: cn=stafet-unit-{unit},{ad.GROUPS_DN}
{extra}uSNChanged: {usn(slapd) + 1}
""")
    group_member(slapd, f"stafet-unit-{unit}", dn)
    for g in groups:
        group_member(slapd, g, dn)
    return dn


def drop_member_of(slapd, dn, group_cn):
    """AD computes memberOf from the lists: it loses the group with no
    change to the member's uSNChanged. slapd is told so by hand."""
    slapd.ldapmodify(f"dn: {dn}\nchangetype: modify\ndelete: memberOf\n"
                     f"memberOf: {ad.group_dn(group_cn)}\n")


def rename(slapd, dn, new_rdn, new_superior=None):
    """A modrdn (a rename, or with new_superior a move between OUs), and
    the uSNChanged AD gives the renamed object. slapd keeps the old DN in
    the groups' member lists (AD rewrites it there without touching the
    groups' uSNChanged): either way the groups are not re-read."""
    sup = f"newsuperior: {new_superior}\n" if new_superior else ""
    slapd.ldapmodify(f"""dn: {dn}
changetype: modrdn
newrdn: {new_rdn}
deleteoldrdn: 1
{sup}""")
    new_dn = f"{new_rdn},{new_superior or dn.split(',', 1)[1]}"
    slapd.ldapmodify(f"""dn: {new_dn}
changetype: modify
replace: uSNChanged
uSNChanged: {usn(slapd) + 1}
""")
    return new_dn


def leave_all(slapd, groups, dns):
    """Cleanup: each DN out of each group, where it is listed (slapd keeps
    a renamed member's old DN)."""
    from tests.harness.slapd import SlapdError
    for g in groups:
        for x in dict.fromkeys(dns):
            try:
                group_member(slapd, g, x, "delete")
            except SlapdError:
                pass


def login_token(d, username):
    r = requests.post(d.url + "/api/v1/session", timeout=30,
                      json={"username": username, "password": ad.DEMO_PASSWORD})
    assert r.status_code == 201, (r.status_code, r.text)
    return r.json()["token"]


def unit_members(d, code):
    r = requests.get(d.url + "/api/v1/units/" + code, timeout=10)
    assert r.status_code == 200, r.text
    return [m["username"] for m in r.json()["members"]]


@pytest.fixture
def d_login(ad_slapd, db, stafetd, tmp_path):
    """stafetd with logins and no reconcile during the test: what a change
    shows within it is the incremental refresh's work alone."""
    settings = ad_settings(tmp_path, ad_slapd.uri, directory_reconcile_interval="1h")
    settings.update(db.settings())
    inst = stafetd(settings=settings, name="ident")
    wait_until(lambda: loaded(inst), what="first AD snapshot")
    return inst


def test_rename_keeps_one_person_and_their_login(ad_slapd, d_login):
    """A rename (the cn changes, e.g. on marriage) keeps one person with
    one id: search finds them once under the new name, their unit lists
    them once, the deputy relation pointing at them holds, their session
    lives on, and they log in at once."""
    d = d_login
    dn = old_dn = add_user(ad_slapd, "Rikke Ravn", "zrr", 0x31)
    dep = add_user(ad_slapd, "Dorte Dahl", "zdd", 0x32, deputy_dn=dn)
    try:
        wait_until(lambda: "zrr" in unit_members(d, "UR") and "zdd" in unit_members(d, "UR"),
                   what="the new users")
        tok = login_token(d, "zdd")
        before = requests.get(d.url + "/api/v1/people", params={"q": "rikke"}, timeout=10,
                              headers={"Authorization": "Bearer " + tok}).json()["items"]
        before = [p for p in before if p["username"] == "zrr"]
        assert len(before) == 1
        rid = before[0]["id"]
        token = login_token(d, "zrr")
        new_dn = rename(ad_slapd, dn, "cn=Rikke Ravn Holm")
        dn = new_dn
        h = {"Authorization": "Bearer " + tok}
        found = wait_until(lambda: [p for p in requests.get(
            d.url + "/api/v1/people", params={"q": "holm"}, headers=h, timeout=10)
            .json()["items"] if p["username"] == "zrr"], what="the new name")
        assert [p["id"] for p in found] == [rid]
        everyone_zrr = [p for p in requests.get(d.url + "/api/v1/people", headers=h,
                                                params={"q": "rikke", "limit": 100},
                                                timeout=10).json()["items"]]
        assert [(p["id"], p["display_name"]) for p in everyone_zrr
                if p["username"] == "zrr"] == [(rid, "Rikke Ravn Holm")]
        r = requests.get(d.url + "/api/v1/units/UR", headers=h, timeout=10)
        assert [m["username"] for m in r.json()["members"]].count("zrr") == 1
        r = requests.get(d.url + "/api/v1/people/" + rid, headers=h, timeout=10)
        assert r.status_code == 200 and r.json()["unit"]["code"] == "UR"
        dd = [p for p in requests.get(d.url + "/api/v1/people", params={"q": "dorte dahl"},
                                      headers=h, timeout=10).json()["items"]][0]
        r = requests.get(d.url + "/api/v1/people/" + dd["id"], headers=h, timeout=10)
        assert r.json()["deputy"]["id"] == rid
        r = requests.get(d.url + "/api/v1/me", timeout=10,
                         headers={"Authorization": "Bearer " + token})
        assert r.status_code == 200 and r.json()["id"] == rid, r.text
        login_token(d, "zrr")  # right after the refresh that saw the rename
    finally:
        leave_all(ad_slapd, ["stafet-unit-UR"], [old_dn, dn, dep])
        for x in (dn, dep):
            ad_slapd.ldapmodify(f"dn: {x}\nchangetype: delete\n")


def test_move_between_ous_and_units(ad_slapd, d_login):
    """A move to another OU (the DN's parent changes) keeps the person;
    a move from one unit group to another shows at the next refresh,
    although the person's own entry (and memberOf's stale value) is not
    re-read."""
    d = d_login
    ad_slapd.ldapmodify(f"dn: ou=Flyttet,{ad.USERS_DN}\nchangetype: add\n"
                        "objectClass: organizationalUnit\nou: Flyttet\n")
    dn = old_dn = add_user(ad_slapd, "Mads Mølle", "zmm", 0x33)
    try:
        wait_until(lambda: "zmm" in unit_members(d, "UR"), what="the new user")
        tok = login_token(d, "zmm")
        h = {"Authorization": "Bearer " + tok}
        mid = [p for p in requests.get(d.url + "/api/v1/people", params={"q": "mads"},
                                       headers=h, timeout=10).json()["items"]
               if p["username"] == "zmm"][0]["id"]
        dn = rename(ad_slapd, dn, "cn=Mads Mølle", f"ou=Flyttet,{ad.USERS_DN}")
        wait_until(lambda: ad_slapd.ldapsearch("-b", dn, "-s", "base", "cn").returncode == 0,
                   what="the move in slapd")
        login_token(d, "zmm")
        # the unit move: BUR's list gains them, UR's loses them
        group_member(ad_slapd, "stafet-unit-BUR", dn)
        leave_all(ad_slapd, ["stafet-unit-UR"], [old_dn, dn])  # slapd kept the old DN
        wait_until(lambda: "zmm" in unit_members(d, "BUR") and "zmm" not in
                   unit_members(d, "UR"), what="the move between units")
        r = requests.get(d.url + "/api/v1/people/" + mid, headers=h, timeout=10)
        assert r.json()["unit"]["code"] == "BUR"
        found = [p for p in requests.get(d.url + "/api/v1/people", params={"q": "mads"},
                                         headers=h, timeout=10).json()["items"]
                 if p["username"] == "zmm"]
        assert [p["id"] for p in found] == [mid]
        login_token(d, "zmm")
    finally:
        leave_all(ad_slapd, ["stafet-unit-BUR", "stafet-unit-UR"], [old_dn, dn])
        ad_slapd.ldapmodify(f"dn: {dn}\nchangetype: delete\n")
        ad_slapd.ldapmodify(f"dn: ou=Flyttet,{ad.USERS_DN}\nchangetype: delete\n")


def test_target_group_in_and_out_and_nesting(ad_slapd, d_login):
    """Into and out of a target group, and a change of nesting, show at the
    next refresh from the groups' lists alone: the member's memberOf, read
    when the member last changed, is older than the group's list."""
    d = d_login
    dn = add_user(ad_slapd, "Tove Tang", "ztt", 0x34, groups=["stafet-tg-anbragt"])

    def tgs():
        r = requests.get(d.url + "/api/v1/people", params={"q": "tove tang"}, timeout=10)
        items = [p for p in r.json()["items"] if p["username"] == "ztt"]
        return sorted(items[0]["target_groups"]) if items else None
    try:
        wait_until(lambda: tgs() == ["anbragt"], what="the new user")
        group_member(ad_slapd, "stafet-tg-anbragt", dn, "delete")
        drop_member_of(ad_slapd, dn, "stafet-tg-anbragt")
        wait_until(lambda: tgs() == [], what="out of the target group")
        group_member(ad_slapd, "stafet-tg-anbragt", dn)
        wait_until(lambda: tgs() == ["anbragt"], what="into a target group")
        group_member(ad_slapd, "stafet-tg-anbragt", dn, "delete")
        wait_until(lambda: tgs() == [], what="out again")
        # nesting: the user joins a team group, which then leaves and
        # rejoins a target group
        group_member(ad_slapd, "team-neuro", dn)
        wait_until(lambda: tgs() == ["neuro"], what="through team-neuro")
        group_member(ad_slapd, "stafet-tg-neuro", ad.group_dn("team-neuro"), "delete")
        wait_until(lambda: tgs() == [], what="team-neuro out of stafet-tg-neuro")
        group_member(ad_slapd, "stafet-tg-neuro", ad.group_dn("team-neuro"))
        wait_until(lambda: tgs() == ["neuro"], what="team-neuro back in")
        group_member(ad_slapd, "team-neuro", dn, "delete")
        wait_until(lambda: tgs() == [], what="out of team-neuro")
    finally:
        leave_all(ad_slapd, ["stafet-unit-UR", "stafet-tg-anbragt", "team-neuro"], [dn])
        ad_slapd.ldapmodify(f"dn: {dn}\nchangetype: delete\n")


# --- the schema's attributes (issue 18) --------------------------------------------

SCHEMA_WARNING = "directory: the schema has no attribute "


def readyz(d):
    """/readyz's answer once ready (the routes load after the first snapshot)."""
    wait_until(lambda: requests.get(d.url + "/readyz", timeout=10).status_code == 200,
               what="ready")
    return requests.get(d.url + "/readyz", timeout=10)


def schema_metric(d):
    text = requests.get(d.url + "/metrics", timeout=10).text
    return [line for line in text.splitlines() if line.startswith("stafet_directory_schema")]


def test_schema_with_extension_attributes_says_nothing(d):
    """The AD look-alike schema has Exchange's extensionAttributes: the
    default mapping finds every attribute it reads."""
    wait_until(lambda: "stafet_directory_schema_read 1" in schema_metric(d),
               what="the schema read")
    assert SCHEMA_WARNING not in d.log()
    assert "stafet_directory_schema_missing 0" in schema_metric(d)
    r = readyz(d)
    assert r.status_code == 200 and r.json()["checks"]["directory_schema"] == "ok", r.text


def test_schema_names_a_mapped_attribute_it_lacks(ad_slapd, db, stafetd, tmp_path):
    """A map_ key naming an attribute slapd's schema does not define: one
    warning by name and key, /readyz and the metric say so, still ready."""
    settings = ad_settings(tmp_path, ad_slapd.uri, map_kle_insight="noSuchKleAttribute",
                           map_deputy="EXTENSIONATTRIBUTE9",  # names match in any case
                           map_kle_performing="surname")  # NAME ( 'sn' 'surname' )
    settings.update(db.settings())
    inst = stafetd(settings=settings)
    wait_until(lambda: loaded(inst), what="first AD snapshot")
    said = [x for x in inst.log().splitlines() if SCHEMA_WARNING in x]
    assert len(said) == 1 and "noSuchKleAttribute (map_kle_insight)" in said[0], said
    assert "stafet_directory_schema_missing 1" in schema_metric(inst)
    r = readyz(inst)  # still ready
    assert r.status_code == 200, r.text
    assert r.json()["checks"]["directory_schema"] == \
        "missing: noSuchKleAttribute (map_kle_insight)"
