"""The LDAP side of the test bed: Stafet's schema, the demo directory and
the Slapd harness, checked against a real slapd in a temporary directory.

Run: /usr/bin/python3 -m pytest -q tests/integration/test_ldap_fixture.py
"""

import base64
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
# Import the harness as tests.harness (as conftest.py does) however pytest
# was started.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.harness.common import wait_for_port  # noqa: E402
from tests.harness.slapd import CLIENT_ENV, Slapd  # noqa: E402

GENERATOR = TESTS / "fixtures" / "gen_demo_ldif.py"
SCHEMA = REPO / "schema" / "ldap" / "stafet.schema"
SCHEMA_LDIF = REPO / "schema" / "ldap" / "stafet.ldif"


def load_generator():
    spec = importlib.util.spec_from_file_location("gen_demo_ldif", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = load_generator()
PEOPLE = "ou=people," + gen.BASE_DN
UNITS = "ou=units," + gen.BASE_DN


def parse_ldif(text):
    """ldapsearch -LLL output -> {dn: {attr_lower: [values]}}.

    Handles folded lines and base64 ("attr:: ...") values, which is how
    OpenLDAP prints anything non-ASCII such as "Bøgh"."""
    lines = []
    for line in text.splitlines():
        if line.startswith(" ") and lines:
            lines[-1] += line[1:]
        else:
            lines.append(line)
    entries, current = {}, None
    for line in lines + [""]:
        if not line:
            current = None
            continue
        if line.startswith("#"):
            continue
        name, sep, value = line.partition(":")
        if value.startswith(":"):
            value = base64.b64decode(value[1:].strip()).decode("utf-8")
        else:
            value = value.strip()
        if name.lower() == "dn":
            current = entries.setdefault(value, {})
        else:
            current.setdefault(name.lower(), []).append(value)
    return entries


@pytest.fixture(scope="module")
def people(slapd):
    out = slapd.ldapsearch("-b", PEOPLE, "(objectClass=inetOrgPerson)").stdout
    return parse_ldif(out)


def search(slapd, base, flt="(objectClass=*)", *attrs, scope="sub", **kw):
    out = slapd.ldapsearch("-b", base, "-s", scope, flt, *attrs, **kw).stdout
    return parse_ldif(out)


def exists(slapd, dn):
    result = slapd.ldapsearch("-b", dn, "-s", "base", "(objectClass=*)",
                              "1.1", check=False)
    return result.returncode == 0 and result.stdout.strip() != ""


# --- Schema ----------------------------------------------------------------


def schema_definitions(text, keywords):
    """Definitions as whitespace-normalised strings, without {n} prefixes."""
    text = re.sub(r"(?m)^#.*\n", "", text)
    text = re.sub(r"\n ", "", text)  # LDIF folding
    found = re.findall(r"(?:%s)\s*:?\s*(?:\{\d+\})?(\(.*?\))\s*(?=\n\S|\Z)"
                       % "|".join(keywords), text, re.S | re.I)
    return sorted(" ".join(d.split()) for d in found)


def test_schema_forms_define_the_same_things():
    schema = SCHEMA.read_text(encoding="utf-8")
    ldif = SCHEMA_LDIF.read_text(encoding="utf-8")
    a = schema_definitions(schema, ["attributetype", "objectclass"])
    b = schema_definitions(ldif, ["olcAttributeTypes", "olcObjectClasses"])
    assert len(a) == 15  # 13 attribute types (stafetIntake the latest), 2 classes
    assert a == b


def test_schema_file_is_accepted_by_slaptest(tmp_path):
    conf = tmp_path / "slapd.conf"
    conf.write_text("".join(
        "include /etc/ldap/schema/%s.schema\n" % s
        for s in ["core", "cosine", "nis", "inetorgperson"])
        + "include %s\n" % SCHEMA)
    result = subprocess.run(["slaptest", "-u", "-f", str(conf)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_generated_ldif_is_up_to_date():
    result = subprocess.run([sys.executable, str(GENERATOR), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# --- The demo directory ------------------------------------------------------


def test_directory_loads(slapd):
    base = search(slapd, gen.BASE_DN, scope="base")
    assert base[gen.BASE_DN]["o"] == ["Stafet Kommune"]
    units = search(slapd, UNITS, "(objectClass=stafetUnit)", "stafetUnitCode")
    codes = sorted(e["stafetunitcode"][0] for e in units.values())
    assert codes == sorted(u.code for u in gen.UNITS)
    # Departments hold their units: BUR sits under BUF, ÆHF's DN is UTF-8.
    assert "ou=BUR,ou=BUF," + UNITS in units
    assert "ou=VH,ou=ÆHF," + UNITS in units


def test_admin_finds_all_people(slapd, people):
    assert len(people) == gen.DEFAULT_PEOPLE == 200
    uids = [e["uid"][0] for e in people.values()]
    assert len(set(uids)) == len(uids)


def test_utf8_surname_search(slapd):
    found = search(slapd, PEOPLE, "(sn=Bøgh)", "uid", "cn", "ou")
    assert list(found) == ["uid=sbo," + PEOPLE]
    entry = found["uid=sbo," + PEOPLE]
    assert entry["cn"] == ["Søren Bøgh"]
    assert entry["ou"] == ["BUR"]


def test_user_bind_with_password(slapd):
    mha = "uid=mha," + PEOPLE
    ok = slapd.ldapwhoami(mha, gen.DEMO_PASSWORD)
    assert ok.stdout.strip() == "dn:" + mha
    bad = slapd.ldapwhoami(mha, "not-the-password", check=False)
    assert bad.returncode == 49  # invalidCredentials


def test_users_read_but_not_passwords(slapd):
    as_sbo = dict(bind_dn="uid=sbo," + PEOPLE, password=gen.DEMO_PASSWORD)
    found = search(slapd, "uid=mha," + PEOPLE, "(objectClass=*)", "*",
                   scope="base", **as_sbo)
    entry = found["uid=mha," + PEOPLE]
    assert entry["cn"] == ["Mette Hansen"]
    assert "userpassword" not in entry
    anonymous = subprocess.run(
        ["ldapsearch", "-x", "-LLL", "-H", slapd.uri, "-b", PEOPLE,
         "(uid=mha)", "cn"], capture_output=True, text=True, env=CLIENT_ENV)
    assert "Mette" not in anonymous.stdout


def test_demo_login_mha(people):
    mha = people["uid=mha," + PEOPLE]
    assert mha["cn"] == ["Mette Hansen"]
    assert mha["title"] == ["Rådgiver"]
    assert mha["stafetunitcode"] == ["UR"]
    assert mha["stafetallocation"] == ["birthday:11-20"]
    assert mha["stafetabsentuntil"] == ["20260303000000Z"]
    assert mha["stafetdeputy"] == ["uid=akh," + PEOPLE]
    assert people["uid=akh," + PEOPLE]["cn"] == ["Ali Khan"]


def is_absent(entry, at):
    start = entry.get("stafetabsentfrom", [None])[0]
    until = entry.get("stafetabsentuntil", [None])[0]
    # GeneralizedTime in the same form (YYYYmmddHHMMSSZ) sorts as text.
    return start is not None and start <= at and (until is None or at < until)


def test_absent_people_have_present_deputies_in_their_unit(slapd, people):
    with_absence = {dn: e for dn, e in people.items()
                    if "stafetabsentfrom" in e}
    away = [dn for dn, e in with_absence.items()
            if is_absent(e, gen.REFERENCE_DATE)]
    assert len(away) == gen.ABSENT_AT_REFERENCE == 12
    for dn, entry in with_absence.items():
        (deputy_dn,) = entry["stafetdeputy"]
        assert exists(slapd, deputy_dn), deputy_dn
        deputy = people[deputy_dn]
        assert deputy_dn != dn
        assert deputy["stafetunitcode"] == entry["stafetunitcode"]
        assert not is_absent(deputy, gen.REFERENCE_DATE)


def test_managers_exist_and_are_never_oneself(slapd, people):
    heads = 0
    for dn, entry in people.items():
        managers = entry.get("manager", [])
        if not managers:
            heads += 1
            assert entry["title"] == ["Direktør"], dn
            continue
        (manager,) = managers
        assert manager != dn
        assert manager in people, manager
        assert manager not in people[manager].get("manager", []), \
            "manager loop at %s" % dn
    departments = [u for u in gen.UNITS if u.parent is None]
    assert heads == len(departments)
    # Every unit's lead exists, and the lead's manager leads the parent.
    units = search(slapd, UNITS, "(objectClass=stafetUnit)")
    for dn, unit in units.items():
        (lead,) = unit["stafetlead"]
        assert lead in people, dn
        assert unit["stafetmailbox"][0].endswith("@stafet.example")


def test_paged_search_returns_all_people(slapd):
    # A plain user, not the rootdn, so the server's limits apply.  Without
    # -LLL ldapsearch prints a "pagedresults: cookie=..." line per page.
    cmd = ["ldapsearch", "-x", "-H", slapd.uri,
           "-D", "uid=mha," + PEOPLE, "-w", gen.DEMO_PASSWORD,
           "-E", "pr=50/noprompt", "-b", PEOPLE,
           "(objectClass=inetOrgPerson)", "1.1"]
    result = subprocess.run(cmd, capture_output=True, text=True,
                            env=CLIENT_ENV, check=True)
    dns = [line for line in result.stdout.splitlines()
           if line.startswith("dn:")]
    assert len(dns) == 200
    pages = [line for line in result.stdout.splitlines()
             if line.startswith("pagedresults:")]
    assert len(pages) == 4


def test_syncprov_answers_a_sync_search(slapd):
    # refreshOnly syncrepl (RFC 4533), as stafetd's incremental sync uses.
    result = slapd.ldapsearch("-E", "sync=ro", "-b", PEOPLE, "(uid=mha)",
                              "uid")
    assert "uid: mha" in result.stdout


def test_groups(slapd):
    groups = search(slapd, "ou=groups," + gen.BASE_DN,
                    "(objectClass=groupOfNames)")
    admin = groups["cn=stafet-admin,ou=groups," + gen.BASE_DN]
    assert "uid=ano," + PEOPLE in admin["member"]
    for group in groups.values():
        for member in group["member"]:
            assert exists(slapd, member), member


# --- The harness itself ---------------------------------------------------


def test_restart_and_crash_keep_changes_and_stop_is_idempotent(tmp_path):
    server = Slapd(tmp_path / "slapd")
    try:
        with server:
            port = server.port
            server.ldapmodify(
                "dn: uid=sbo,%s\nchangetype: modify\nreplace: roomNumber\n"
                "roomNumber: 9.99\n" % PEOPLE)
            server.restart()
            assert server.port == port
            room = search(server, "uid=sbo," + PEOPLE, "(objectClass=*)",
                          "roomNumber", scope="base")
            assert room["uid=sbo," + PEOPLE]["roomnumber"] == ["9.99"]
            # A crash (SIGKILL) loses nothing already acknowledged.
            server.kill()
            assert not server.running
            server.start()
            room = search(server, "uid=sbo," + PEOPLE, "(objectClass=*)",
                          "roomNumber", scope="base")
            assert room["uid=sbo," + PEOPLE]["roomnumber"] == ["9.99"]
        assert not server.running
        server.stop()  # a second stop is harmless
        assert not wait_for_port("127.0.0.1", port, timeout=0.5)
    finally:
        server.stop()
