"""AD range retrieval, for real: slapd (AD layout) behind
tests/harness/range_proxy.py, which answers as AD does past MaxValRange
(1500) values: "member;range=0-1499" first, then the client must ask for
"member;range=1500-*" and so on (MS-ADTS 3.1.1.3.1.3.3).  slapd alone has no
ranges and Samba 4.17 returns every value, so this is the only place
stafetd's range walk (directory/sync_map.c, all_ranged) meets a server that
enforces it.

The directory: the AD fixture plus 3,100 extra users (gen_ad_ldif --big),
all in the target group stafet-tg-stor (three chunks: 0-1499, 1500-2999,
3000-*), the first 1,600 also in a unit group stafet-unit-STOR (two
chunks).  The extra users carry no memberOf, so stafetd can learn their
unit and target group only from the groups' member lists, whole."""

import os
import socket
import subprocess
import signal
import sys
import time

import pytest
import requests

from tests.harness.range_proxy import (RangeProxy, Message, children,
                                       read_message, tlv, ber_int)
from tests.harness.slapd import AD_SCHEMA_LDIF, CLIENT_ENV, Slapd
from tests.integration.test_directory import loaded, wait_until
from tests.integration.test_directory_ad import ad_settings

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fixtures"))
import gen_ad_ldif as ad  # noqa: E402
import gen_demo_ldif as demo  # noqa: E402

BIG = 3100          # stafet-tg-stor: three chunks at 1500
UNIT_BIG = 1600     # stafet-unit-STOR: two chunks
UNIT_CODE = "STOR"
TG_DN = ad.group_dn(ad.BIG_GROUP)
UNIT_DN = ad.group_dn(ad.UNIT_GROUP_PREFIX + UNIT_CODE)


def extra_sam(i):
    return "xb%05d" % i


def big_ldif(path):
    entries = ad.build(big=BIG)
    extra = {}
    usn = 0
    for e in entries:
        usn = max([usn] + [int(v) for n, v in e.attrs if n == "uSNChanged"])
        sam = e.first("sAMAccountName")
        if sam and sam.startswith("xb") and e.dn.endswith("," + ad.USERS_DN):
            # AD would list the groups here; leave them out so the
            # member lists are the only source.
            e.attrs = [(n, v) for n, v in e.attrs if n != "memberOf"]
            extra[sam] = e.dn
    assert len(extra) == BIG
    members = [extra[extra_sam(i)] for i in range(1, UNIT_BIG + 1)]
    entries.append(demo.Entry(UNIT_DN, [
        ("objectClass", "top"), ("objectClass", "group"),
        ("cn", ad.UNIT_GROUP_PREFIX + UNIT_CODE),
        ("sAMAccountName", ad.UNIT_GROUP_PREFIX + UNIT_CODE),
        ("description", "Stor enhed (range retrieval)"),
        ("objectGUID", ad.object_guid("group:stafet-unit-STOR").bytes_le),
        ("objectCategory", ad.GROUP_CATEGORY),
        ("mail", "stor@" + ad.MAIL_DOMAIN),
        *[("member", m) for m in members],
        ("uSNCreated", str(usn + 1)), ("uSNChanged", str(usn + 1)),
    ], "unit group with %d members" % UNIT_BIG))
    path.write_text(ad.to_ldif(entries, BIG), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def big_slapd(tmp_path_factory):
    work = tmp_path_factory.mktemp("rangeslapd")
    ldif = big_ldif(work / "ad-range.ldif")
    s = Slapd(str(work / "slapd"), ldif=ldif, schemas=[AD_SCHEMA_LDIF])
    s.start()
    ad.enable_ad_filters(s)
    yield s
    s.stop()


@pytest.fixture
def proxy(big_slapd):
    p = RangeProxy(big_slapd.uri, limit=1500).start()
    yield p
    p.stop()
    assert not p.errors, p.errors


def proxy_search(proxy, slapd, base, *attrs, scope="base", extra=()):
    cmd = ["ldapsearch", "-x", "-LLL", "-o", "ldif-wrap=no", "-o", "nettimeout=5",
           "-H", proxy.uri, "-D", slapd.admin_dn, "-w", slapd.admin_password,
           *extra, "-b", base, "-s", scope, "(objectClass=*)", *attrs]
    r = subprocess.run(cmd, capture_output=True, text=True, env=CLIENT_ENV, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def values(ldif):
    """attribute description -> [values] of ldapsearch -LLL output."""
    out = {}
    for line in ldif.splitlines():
        if ": " in line and not line.startswith("dn:"):
            name, v = line.split(": ", 1)
            out.setdefault(name.rstrip(":"), []).append(v)
    return out


def direct_members(slapd, dn):
    r = slapd.ldapsearch("-o", "ldif-wrap=no", "-b", dn, "-s", "base", "member")
    return values(r.stdout)["member"]


# --- The proxy itself ----------------------------------------------------------


def test_proxy_ranges_like_ad(big_slapd, proxy):
    whole = direct_members(big_slapd, TG_DN)
    assert len(whole) == BIG  # slapd alone: no ranges

    first = values(proxy_search(proxy, big_slapd, TG_DN, "member", "cn"))
    assert set(first) == {"cn", "member;range=0-1499"}
    assert first["member;range=0-1499"] == whole[:1500]
    second = values(proxy_search(proxy, big_slapd, TG_DN, "member;range=1500-*"))
    assert set(second) == {"member;range=1500-2999"}
    assert second["member;range=1500-2999"] == whole[1500:3000]
    last = values(proxy_search(proxy, big_slapd, TG_DN, "member;range=3000-*"))
    assert last == {"member;range=3000-*": whole[3000:]}
    # an explicit HIGH: as asked, and "*" once it reaches the last value
    mid = values(proxy_search(proxy, big_slapd, TG_DN, "member;range=10-19"))
    assert mid == {"member;range=10-19": whole[10:20]}
    tail = values(proxy_search(proxy, big_slapd, TG_DN, "Member;range=3090-9999"))
    assert tail == {"member;range=3090-*": whole[3090:]}  # slapd names it
    # all attributes ("*") are cut too
    star = values(proxy_search(proxy, big_slapd, TG_DN))
    assert len(star["member;range=0-1499"]) == 1500 and "member" not in star

    # at the limit or below: unchanged, no range option
    ur = ad.group_dn(ad.UNIT_GROUP_PREFIX + "UR")
    small = values(proxy_search(proxy, big_slapd, ur, "member"))
    assert small == {"member": direct_members(big_slapd, ur)}
    asked = values(proxy_search(proxy, big_slapd, ur, "member;range=0-*"))
    assert asked == {"member;range=0-*": small["member"]}

    # past the last value: the attribute with no values (Samba's answer)
    assert proxy.past_end_requests == 0
    past = values(proxy_search(proxy, big_slapd, TG_DN, "member;range=5000-*", "cn"))
    assert past == {"cn": [ad.BIG_GROUP]}
    assert proxy.past_end_requests == 1

    # paged results pass through; each page's entries are cut alike
    paged = proxy_search(proxy, big_slapd, ad.GROUPS_DN, "member",
                         scope="one", extra=["-E", "pr=5/noprompt"])
    assert paged.count("\ndn: ") + paged.startswith("dn: ") > 5
    assert values(paged)["member;range=0-1499"] and "member;range=0-1499" in paged
    assert proxy.range_asked == [  # the searches that asked by range
        "member;range=1500-*", "member;range=3000-*", "member;range=10-19",
        "Member;range=3090-9999", "member;range=0-*", "member;range=5000-*"]
    assert proxy.range_requests == 6
    assert proxy.ranged_entries >= 3


def _bind(msgid, dn, pw):
    op = ber_int(0x02, 3) + tlv(0x04, dn.encode()) + tlv(0x80, pw.encode())
    return tlv(0x30, ber_int(0x02, msgid) + tlv(0x60, op))


def _search(msgid, base, attrs):
    op = (tlv(0x04, base.encode()) + ber_int(0x0A, 0) + ber_int(0x0A, 0) +
          ber_int(0x02, 0) + ber_int(0x02, 0) + tlv(0x01, b"\x00") +
          tlv(0x87, b"objectClass") +
          tlv(0x30, b"".join(tlv(0x04, a.encode()) for a in attrs)))
    return tlv(0x30, ber_int(0x02, msgid) + tlv(0x63, op))


def test_proxy_outstanding_requests_abandon_unbind(big_slapd, proxy):
    """Three searches in flight on one connection, answered by message ID
    each with its own ranges; an abandon and an unbind pass through."""
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as s, \
            s.makefile("rb") as f:
        s.sendall(_bind(1, big_slapd.admin_dn, big_slapd.admin_password))
        m = Message(read_message(f))
        assert (m.msgid, m.op_tag) == (1, 0x61)
        s.sendall(_search(2, TG_DN, ["member;range=1500-*"]) +
                  _search(3, TG_DN, ["member"]) +
                  _search(4, TG_DN, ["member;range=3000-*"]) +
                  tlv(0x30, ber_int(0x02, 5) + ber_int(0x50, 99)))  # abandon #99
        got, done = {}, set()
        while len(done) < 3:
            m = Message(read_message(f))
            if m.op_tag == 0x64:
                attrs = m.op_children()[1]
                for _, a, b, _ in children(m.raw, attrs[1], attrs[2]):
                    (_, ts, te, _), (_, vs, ve, _) = children(m.raw, a, b)[:2]
                    got[m.msgid] = (m.raw[ts:te].decode(),
                                    len(children(m.raw, vs, ve)))
            elif m.op_tag == 0x65:
                done.add(m.msgid)
        assert got == {2: ("member;range=1500-2999", 1500),
                       3: ("member;range=0-1499", 1500),
                       4: ("member;range=3000-*", 100)}
        s.sendall(tlv(0x30, ber_int(0x02, 6) + tlv(0x42, b"")))
        assert f.read(1) == b""  # slapd closes after the unbind
    # the proxy logs what it relayed from its own thread: the unbind may be
    # written just after slapd closed the connection
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any(line == "unbind" for line in proxy.log):
        time.sleep(0.05)
    assert any(line == "abandon" for line in proxy.log)
    assert any(line == "unbind" for line in proxy.log)


# --- stafetd through the proxy -------------------------------------------------


@pytest.fixture
def d(proxy, db, stafetd, tmp_path):
    settings = ad_settings(tmp_path, proxy.uri, directory_reconcile_interval="1h")
    settings.update(db.settings())
    inst = stafetd(settings=settings)
    wait_until(lambda: loaded(inst), timeout=60, what="first AD snapshot")
    return inst


def all_people(d, **params):
    out, cursor = [], None
    while True:
        p = dict(params, limit=500)
        if cursor:
            p["cursor"] = cursor
        r = requests.get(d.url + "/api/v1/people", params=p, timeout=30)
        assert r.status_code == 200, r.text
        body = r.json()
        out += body["items"]
        cursor = body["next_cursor"]
        if not cursor:
            return out


def test_stafetd_reads_ranged_members_whole(d, proxy):
    t0 = time.monotonic()
    r = requests.get(d.url + "/api/v1/units/" + UNIT_CODE, timeout=30)
    assert r.status_code == 200, r.text
    members = [m["username"] for m in r.json()["members"]]
    assert len(members) == UNIT_BIG, "unit members: %d of %d" % (len(members), UNIT_BIG)
    assert len(set(members)) == UNIT_BIG, "some unit members twice"
    assert set(members) == {extra_sam(i) for i in range(1, UNIT_BIG + 1)}

    stor = [p["username"] for p in all_people(d, target_group="stor")]
    assert len(stor) == BIG, "target group members: %d of %d" % (len(stor), BIG)
    assert len(set(stor)) == BIG, "some target group members twice"
    assert set(stor) == {extra_sam(i) for i in range(1, BIG + 1)}

    # ...and they came by range: both groups were cut, and stafetd walked
    # 1500-* (each) and 3000-* (the target group), never past the end
    assert proxy.ranged_entries >= 2
    assert proxy.range_asked.count("member;range=1500-*") >= 2, proxy.range_asked
    assert "member;range=3000-*" in proxy.range_asked, proxy.range_asked
    assert proxy.past_end_requests == 0
    print("api reads took %.2fs; proxy: %d searches, %d ranged entries, "
          "%d range requests" % (time.monotonic() - t0, proxy.searches,
                                 proxy.ranged_entries, proxy.range_requests))



def usn(slapd):
    out = slapd.ldapsearch("-b", ad.BASE_DN, "(uSNChanged=*)", "uSNChanged").stdout
    return max(int(line.split(":")[1]) for line in out.splitlines()
               if line.startswith("uSNChanged:"))


def test_incremental_refresh_walks_the_ranges(big_slapd, d, proxy):
    """A change to the big group (a 3,101st member, uSNChanged moved) comes
    in at the next refresh, read whole through the three chunks again."""
    assert len(all_people(d, target_group="stor")) == BIG
    mha = next(p for p in all_people(d, q="mette hansen") if p["username"] == "mha")
    dn = ad.user_dn("Mette Hansen")
    n = usn(big_slapd) + 1
    before = len(proxy.range_asked)
    big_slapd.ldapmodify("dn: %s\nchangetype: modify\nadd: member\nmember: %s\n-\n"
                         "replace: uSNChanged\nuSNChanged: %d\n" % (TG_DN, dn, n))
    try:
        def grown():
            stor = [p["username"] for p in all_people(d, target_group="stor")]
            return stor if len(stor) > BIG else None
        stor = wait_until(grown, timeout=30, what="3,101 in stafet-tg-stor")
        assert len(stor) == len(set(stor)) == BIG + 1 and "mha" in stor
        assert mha["id"] in {p["id"] for p in all_people(d, target_group="stor")}
        assert "member;range=3000-*" in proxy.range_asked[before:], proxy.range_asked
    finally:
        big_slapd.ldapmodify("dn: %s\nchangetype: modify\ndelete: member\nmember: %s\n-\n"
                             "replace: uSNChanged\nuSNChanged: %d\n" % (TG_DN, dn, n + 1))
    wait_until(lambda: len(all_people(d, target_group="stor")) == BIG, timeout=30,
               what="back to 3,100")


@pytest.fixture
def d_fast(proxy, db, stafetd, tmp_path):
    """ldap_timeout under a second (the key allows 0.1 s and up)."""
    settings = ad_settings(tmp_path, proxy.uri, directory_reconcile_interval="1h",
                           ldap_timeout="900ms")
    settings.update(db.settings())
    inst = stafetd(settings=settings, name="fast")
    wait_until(lambda: loaded(inst), timeout=60, what="first AD snapshot")
    return inst


def test_stafetd_ranged_members_with_subsecond_timeout(d_fast, proxy):
    r = requests.get(d_fast.url + "/api/v1/units/" + UNIT_CODE, timeout=30)
    assert r.status_code == 200, r.text
    members = [m["username"] for m in r.json()["members"]]
    stor = [p["username"] for p in all_people(d_fast, target_group="stor")]
    assert (len(members), len(stor)) == (UNIT_BIG, BIG)
    assert "member;range=3000-*" in proxy.range_asked, proxy.range_asked


def test_a_failed_range_step_fails_the_round(big_slapd, d, proxy):
    """A range step the server refuses must not leave a member list cut at
    1,500 as if whole: the round fails, the snapshot served stays the last
    whole one, and the log names the LDAP error (not the group's DN)."""
    proxy.fail_range_steps = True
    try:
        d.signal(signal.SIGHUP)  # a reload reads everything again
        assert d.wait_log("range retrieval of member failed", timeout=60), d.log()[-3000:]
        r = requests.get(d.url + "/api/v1/units/" + UNIT_CODE, timeout=30)
        assert r.status_code == 200, r.text
        assert len({m["username"] for m in r.json()["members"]}) == UNIT_BIG
        stor = all_people(d, target_group="stor")
        assert len({p["username"] for p in stor}) == BIG
        line = [ln for ln in d.log().splitlines()
                if "range retrieval of member failed" in ln][0]
        assert "operations error" in line.lower(), line
        assert "cn=" not in line.lower() and "dc=" not in line.lower(), line
    finally:
        proxy.fail_range_steps = False
