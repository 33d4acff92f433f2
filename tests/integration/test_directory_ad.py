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
        found = wait_until(lambda: [p for p in people(d, q="zenia aero")["items"]
                                    if p["username"] == "zzt"], what="added AD user")
        assert found[0]["unit"]["code"] == "UR"
        ad_slapd.ldapmodify(f"""dn: {dn}
changetype: modify
replace: userAccountControl
userAccountControl: 514
-
replace: uSNChanged
uSNChanged: {n + 1}
""")
        wait_until(lambda: people(d, q="zenia")["items"] == [], what="disabled account gone")
    finally:
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
