"""A colleague as a vCard (API.md 1.1 "Exports"; issue 21): GET
/api/v1/people/{id}/vcard against a real stafetd and slapd, each card read
back twice: by python3-vobject (an independent reader) and by a strict
line reader of our own (RFC 6350: CRLF, 75 octets, folding, escapes)."""

import base64
import secrets

import pytest
import requests
import vobject

from tests.integration.test_auth import PEOPLE, auth_settings, bearer, ready, token_of
from tests.integration.test_directory import wait_until

VCARD_TYPE = "text/vcard; charset=utf-8"


@pytest.fixture(scope="module")
def odd(slapd):
    """A person whose fields hold what vCard must escape: comma, semicolon,
    backslash, Danish letters, and a title long enough to fold. Added for
    the time it takes the daemon to read it, then removed from slapd."""
    uid = "vc" + secrets.token_hex(3)
    fields = {
        "display": "Ærø, Åse; \\Østergård",
        "given": "Åse; Marie",
        "sn": "Ærø, Østergård",
        "title": ("Afdelingsleder for Børne- og Ungerådgivningens tværfaglige "
                  "ungeteam, Ærøskøbing; særlige opgaver \\ projekter og udvikling"),
        "office": "Rådhuspladsen 1, 2. sal; lokale 2.14",
        "phone": "+45 12 34 56 78",
    }

    def b64(v):
        return base64.b64encode(v.encode()).decode()
    slapd.ldapmodify("\n".join([
        f"dn: uid={uid},{PEOPLE}", "changetype: add",
        "objectClass: inetOrgPerson", "objectClass: stafetPerson",
        f"uid: {uid}", f"cn:: {b64(fields['display'])}", f"sn:: {b64(fields['sn'])}",
        f"givenName:: {b64(fields['given'])}", f"displayName:: {b64(fields['display'])}",
        f"title:: {b64(fields['title'])}",
        f"physicalDeliveryOfficeName:: {b64(fields['office'])}",
        f"telephoneNumber: {fields['phone']}",
        "stafetUnitCode: UR", "stafetDepartment: BSF",
        f"mail: {uid}@stafet.example", "userPassword: demo"]) + "\n")
    fields["uid"] = uid
    try:
        yield fields
    finally:
        slapd.ldapmodify(f"dn: uid={uid},{PEOPLE}\nchangetype: delete\n", check=False)


@pytest.fixture(scope="module")
def d(pg, slapd, odd, tmp_path_factory):
    from tests.integration.conftest import Database
    from tests.harness.stafetd import Stafetd
    tmp = tmp_path_factory.mktemp("vcard")
    db = Database(pg, tmp)
    settings = auth_settings(tmp, slapd.uri, directory_refresh_interval="1h")
    settings.update(db.settings())
    inst = Stafetd(tmp / "stafetd", settings)
    inst.migrate()
    inst.start()
    try:
        wait_until(lambda: ready(inst), timeout=60, what="stafetd ready")
        yield inst
    finally:
        inst.stop()


@pytest.fixture(scope="module")
def mha(d):
    return bearer(token_of(d, "mha"))


def person_id(d, headers, username):
    r = requests.get(d.url + "/api/v1/people", params={"q": username}, headers=headers,
                     timeout=10)
    assert r.status_code == 200, r.text
    hits = [p for p in r.json()["items"] if p["username"] == username]
    assert len(hits) == 1, r.json()
    return hits[0]


def unescape(v):
    out, i = [], 0
    while i < len(v):
        c = v[i]
        if c == "\\":
            assert i + 1 < len(v), v
            n = v[i + 1]
            assert n in "\\,;nN", ("bad escape", v)
            out.append("\n" if n in "nN" else n)
            i += 2
            continue
        assert c not in ",;", ("unescaped separator", v)
        out.append(c)
        i += 1
    return "".join(out)


def split_unescaped(v, sep=";"):
    parts, cur, i = [], [], 0
    while i < len(v):
        if v[i] == "\\":
            cur.append(v[i:i + 2])
            i += 2
            continue
        if v[i] == sep:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(v[i])
        i += 1
    parts.append("".join(cur))
    return parts


def strict_parse(raw):
    """{NAME(;PARAMS): [value parts, unescaped]} from a card, after checking
    the framing: UTF-8, CRLF only, at most 75 octets a line, folding."""
    raw.decode("utf-8")
    assert raw.endswith(b"\r\n")
    physical = raw[:-2].split(b"\r\n")
    logical = []
    for p in physical:
        assert len(p) <= 75, (len(p), p)
        assert b"\n" not in p and b"\r" not in p
        if p.startswith(b" "):
            logical[-1] += p[1:]
        else:
            logical.append(p)
    lines = [x.decode("utf-8") for x in logical]
    assert lines[0] == "BEGIN:VCARD" and lines[1] == "VERSION:4.0" and lines[-1] == "END:VCARD"
    props = {}
    for line in lines[1:-1]:
        name, _, value = line.partition(":")
        assert name and _ == ":", line
        props.setdefault(name, []).append([unescape(x) for x in split_unescaped(value)])
    return props


def card(d, headers, pid):
    r = requests.get(d.url + f"/api/v1/people/{pid}/vcard", headers=headers, timeout=10)
    assert r.status_code == 200, (r.status_code, r.text[:300])
    assert r.headers["Content-Type"] == VCARD_TYPE, r.headers
    return r


def test_card_of_a_colleague(d, mha):
    p = person_id(d, mha, "sbo")
    r = card(d, mha, p["id"])
    assert r.headers["Content-Disposition"] == 'attachment; filename="sbo.vcf"'
    props = strict_parse(r.content)
    assert props["FN"] == [["Søren Bøgh"]]
    assert props["N"] == [["Bøgh", "Søren", "", "", ""]]
    assert props["TITLE"] == [["Socialrådgiver"]]
    assert props["EMAIL;TYPE=work"] == [["sbo@stafet.example"]]
    assert props["TEL;TYPE=work,voice"] == [["+45 65 95 67 94"]]
    assert props["TEL;TYPE=cell"] == [["+45 46 04 13 57"]]
    assert props["ADR;TYPE=work"] == [["", "Ørbækvej 100", "", "", "", "", ""]]
    assert props["UID"] == [["urn:uuid:" + p["id"]]]
    unit = requests.get(d.url + "/api/v1/units/BUR", headers=mha, timeout=10).json()
    dept = requests.get(d.url + "/api/v1/units/" + unit["department"], headers=mha,
                        timeout=10).json()
    assert props["ORG"] == [[dept["name"], unit["name"]]]
    # The independent reader agrees.
    v = vobject.readOne(r.content.decode("utf-8"))
    assert v.version.value == "4.0"
    assert v.fn.value == "Søren Bøgh"
    assert v.n.value.family == "Bøgh" and v.n.value.given == "Søren"
    assert v.title.value == "Socialrådgiver"
    assert v.email.value == "sbo@stafet.example"
    tels = {",".join(x.lower() for x in t.params["TYPE"]): t.value for t in v.contents["tel"]}
    assert tels == {"work,voice": "+45 65 95 67 94", "cell": "+45 46 04 13 57"}, tels
    assert v.adr.value.extended == "Ørbækvej 100"
    head = requests.head(d.url + f"/api/v1/people/{p['id']}/vcard", headers=mha, timeout=10)
    assert head.status_code == 200 and head.content == b""


def test_escaping_and_folding(d, mha, odd):
    p = person_id(d, mha, odd["uid"])
    r = card(d, mha, p["id"])
    raw = r.content
    assert r.headers["Content-Disposition"] == f'attachment; filename="{odd["uid"]}.vcf"'
    assert b"\\," in raw and b"\\;" in raw and b"\\\\" in raw
    assert any(line.startswith(b" ") for line in raw.split(b"\r\n")), "the title folds"
    props = strict_parse(raw)
    assert props["FN"] == [[odd["display"]]]
    assert props["N"] == [[odd["sn"], odd["given"], "", "", ""]]
    assert props["TITLE"] == [[odd["title"]]]
    assert props["ADR;TYPE=work"] == [["", odd["office"], "", "", "", "", ""]]
    assert "TEL;TYPE=cell" not in props  # no mobile in the directory: none on the card
    v = vobject.readOne(raw.decode("utf-8"))
    assert v.fn.value == odd["display"]
    assert v.title.value == odd["title"]
    assert v.n.value.family == odd["sn"] and v.n.value.given == odd["given"]
    assert v.adr.value.extended == odd["office"]


def test_unknown_unauthenticated_and_parameters(d, mha):
    p = person_id(d, mha, "sbo")
    r = requests.get(d.url + f"/api/v1/people/{p['id']}/vcard", timeout=10)
    assert r.status_code == 401
    for bad in ("00000000-0000-0000-0000-000000000000", "x" * 3000, "%C3%A6%C3%B8",
                "..%2F..%2Fetc"):
        r = requests.get(d.url + f"/api/v1/people/{bad}/vcard", headers=mha, timeout=10)
        assert r.status_code == 404, (bad[:40], r.status_code, r.text[:200])
        assert r.headers["Content-Type"] == "application/problem+json"
    r = requests.get(d.url + f"/api/v1/people/{p['id']}/vcard", params={"format": "x"},
                     headers=mha, timeout=10)
    assert r.status_code == 400
