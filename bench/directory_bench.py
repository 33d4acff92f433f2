#!/usr/bin/python3
"""Directory benchmark: stafetd against its peers on the same slapd.

Generates a directory of --people people (tests/fixtures/gen_demo_ldif.py),
starts slapd with it, PostgreSQL (stafetd needs a migrated database to be
ready) and build/stafetd, all on 127.0.0.1 in a temporary directory, and
prints one table; each row a figure, the peer's figure in the same run, the
ratio stafetd / peer, the DESIGN.md target and whether it is met:

  full sync          stafetd's stafet_directory_full_sync_seconds (first
                     sync, and again after SIGHUP with a warm slapd)
                     vs ldapsearch dumping the same subtree, paged
  incremental        100 people changed with ldapmodify: the sync's
                     stafet_directory_incremental_sync_seconds and the wall
                     time until /api/v1/people/{id} shows the change, vs
                     ldapsearch of the entries changed since the mark
  memory             stafetd's VmRSS after the full sync vs slapd's
  people search      wrk over HTTP keep-alive (bench/people.lua) vs
                     bench/ldapbench (one LDAP search per request, async,
                     same queries, same slapd), at 16 and 64 in flight
  counterparts       POST /api/v1/counterparts with a session, wrk over
                     HTTP keep-alive (bench/counterparts.lua) vs ldapbench
                     reading the receiving unit's members from LDAP (one
                     search per request, no size limit), at 16 and 64

Called by bench/run.sh (which installs wrk and builds ldapbench); see
bench/README.md for what each row means.
"""

import argparse
import calendar
import json
import os
import platform
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tests.harness.pg import Postgres  # noqa: E402
from tests.harness.slapd import CLIENT_ENV, Slapd  # noqa: E402
from tests.harness.stafetd import Stafetd  # noqa: E402

BASE = "dc=stafet,dc=example"
PEOPLE_BASE = "ou=people," + BASE
SERVICE_DN = "cn=stafetd,ou=services," + BASE
SERVICE_PASSWORD = "stafetd-demo"
GEN = os.path.join(REPO, "tests", "fixtures", "gen_demo_ldif.py")
HERE = os.path.dirname(os.path.abspath(__file__))

# The attributes stafetd reads for a person (directory/sync.c, OpenLDAP
# layout), so the peer's dump carries the same data.
PERSON_ATTRS = ["entryUUID", "uid", "displayName", "cn", "givenName", "sn",
                "title", "mail", "telephoneNumber", "mobile",
                "physicalDeliveryOfficeName", "manager", "memberOf",
                "stafetUnitCode", "stafetTargetGroup", "stafetAllocation",
                "stafetDeputy", "stafetAbsentFrom", "stafetAbsentUntil",
                "modifyTimestamp", "entryCSN"]

# What caseworkers type: first names, surnames, both, Danish letters typed
# either way, prefixes (search as you type), titles, unit names.
QUERIES = [
    "mette", "søren", "soren", "aase", "åse", "jørgen", "kåre", "fatima",
    "lars", "anne", "hansen", "nielsen", "sørensen", "møller", "kærgaard",
    "østergaard", "khan", "mette hansen", "søren jensen", "lars nielsen",
    "anne pedersen", "åse nørgaard", "ali khan", "jen", "chr", "pet",
    "socialrådgiver", "jobkonsulent", "ungerådgivningen", "psykiatri",
]
UNIT_FILTERS = ["UR"]

TARGETS = {
    "full_sync_s": 10.0,
    "incremental_s": 1.0,
    "rss_mb": 300.0,
    "rps": 20000.0,
    "p99_ms": 2.0,
    "ratio": 20.0,
}


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


# --- small helpers ------------------------------------------------------------


def http_get(url, timeout=10):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError:
        return None, b""


def metrics(d):
    status, body = http_get(d.url + "/metrics")
    out = {}
    if status != 200:
        return out
    for line in body.decode().splitlines():
        if line.startswith("#") or " " not in line:
            continue
        name, value = line.rsplit(" ", 1)
        try:
            out[name] = float(value)
        except ValueError:
            pass
    return out


def wait_for(fn, timeout, what, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(interval)
    raise RuntimeError("timed out after %.0f s waiting for %s" % (timeout, what))


def proc_status(pid):
    """VmRSS and VmHWM of pid in MB (10^6 bytes, the target's unit)."""
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0]) * 1024 / 1e6  # kB are KiB
    return out


def ldap_cmd(tool, slapd, pwfile, *args):
    return [tool, "-x", "-H", slapd.uri, "-o", "nettimeout=5",
            "-D", SERVICE_DN, "-y", pwfile, *args]


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) / 1024 / 1024
    return "%d cores (%s), %.1f GB RAM, %s %s" % (
        os.cpu_count(), cpu, mem, platform.system(), platform.release())


# --- the table ------------------------------------------------------------------


class Table:
    """The rows of a driver's table, as text (render()) and as JSON records
    (write_json()) for bench/table.py. A record keeps the cells' text and,
    where there is one, the number behind it: value / peer_value (a number,
    or [p50, p99]) with their unit, ratio_value (stafetd's figure divided by
    the peer's, as the text shows it) and met_ok (one bool per target)."""

    def __init__(self, section=None):
        self.rows = []
        self.records = []
        self.notes = []
        self.section = section

    def add(self, figure, ours, peer_name, peer, ratio, target, met,
            section=None, value=None, unit=None, peer_value=None,
            peer_unit=None, ratio_value=None, met_ok=None, at=None):
        row = (figure, ours, peer_name, peer, ratio, target, met)
        if isinstance(met_ok, bool):
            met_ok = [met_ok]
        rec = {"section": section if section is not None else self.section,
               "figure": figure,
               "stafetd": {"value": value, "unit": unit, "text": ours},
               "peer": peer_name,
               "peer_value": {"value": peer_value,
                              "unit": peer_unit if peer_unit is not None
                              else unit, "text": peer},
               "ratio": {"value": ratio_value, "text": ratio},
               "target": target, "met": met, "met_ok": met_ok}
        if at is None:
            self.rows.append(row)
            self.records.append(rec)
        else:
            self.rows.insert(at, row)
            self.records.insert(at, rec)

    def render(self):
        head = ("figure", "stafetd", "peer", "peer figure", "stafetd / peer",
                "target", "met")
        rows = [head] + self.rows
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        lines = []
        for n, r in enumerate(rows):
            lines.append("| " + " | ".join(c.ljust(w) for c, w in
                                             zip(r, widths)) + " |")
            if n == 0:
                lines.append("|" + "|".join("-" * (w + 2) for w in widths)
                             + "|")
        return "\n".join(lines)

    def write_json(self, path, driver, params, started, load_before,
                   extra=None):
        """Writes the records, the notes and the run's context to path (for
        bench/table.py)."""
        if not path:
            return
        doc = {"driver": driver, "params": params,
               "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "machine": machine(), "rev": git_rev(),
               "load_before": load_before,
               "load_after": open("/proc/loadavg").read().split()[:3],
               "seconds": round(time.monotonic() - started, 1),
               "rows": self.records, "notes": self.notes}
        doc.update(extra or {})
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False, indent=1)
        os.replace(path + ".tmp", path)
        log("rows saved in %s" % path)


def git_rev():
    return subprocess.run(["git", "-C", REPO, "describe", "--always",
                           "--dirty"], capture_output=True,
                          text=True).stdout.strip() or "?"


def yes(ok):
    return "yes" if ok else "**no**"


# --- the steps -------------------------------------------------------------------


def generate(work, people):
    ldif = os.path.join(work, "people.ldif")
    t0 = time.monotonic()
    subprocess.run(["/usr/bin/python3", GEN, "--people", str(people), "-o",
                    ldif], check=True)
    log("generated %d people in %.1f s (%s, %.0f MB)" % (
        people, time.monotonic() - t0, ldif, os.path.getsize(ldif) / 1e6))
    uids = re.findall(r"^dn: uid=([^,]+),ou=people,", open(ldif).read(), re.M)
    return ldif, uids


def new_database(pg, work):
    """A role and a database of its own on pg: stafetd's db_* settings."""
    name = "stafet_bench_" + secrets.token_hex(3)
    password = secrets.token_urlsafe(16)
    pg.create_role(name, password=password)
    pg.create_database(name, owner=name)
    pwfile = os.path.join(work, "db-%s.password" % name)
    with open(pwfile, "w") as f:
        f.write(password + "\n")
    os.chmod(pwfile, 0o600)
    return {"db_conninfo": '"%s"' % pg.conninfo(name, user=name),
            "db_password_file": pwfile}


def start_postgres(work):
    pg = Postgres()
    pg.start()
    return pg, new_database(pg, work)


def stafetd_settings(work, slapd_uri, ldap_pw):
    return {
        "log_level": "warning",
        "ldap_uri": '"%s"' % slapd_uri,
        "ldap_starttls": "no",
        "ldap_allow_plaintext": "yes",
        "ldap_bind_dn": '"%s"' % SERVICE_DN,
        "ldap_bind_password_file": ldap_pw,
        "ldap_timeout": "60s",
        "directory_people_base": '"%s"' % PEOPLE_BASE,
        "directory_units_base": '"ou=units,%s"' % BASE,
        "directory_groups_base": '"ou=groups,%s"' % BASE,
        "directory_refresh_interval": "1s",
        "directory_reconcile_interval": "24h",
        "directory_overlap": "2s",
        "directory_snapshot_file": os.path.join(work, "directory.json"),
        # The search figures are of the directory alone, as before login
        # existed; an authenticated run (a session lookup per request) is
        # the benchmark issue's to add.
        "directory_anonymous_read": "yes",
    }


def first_full_sync(d, people):
    """Starts stafetd; returns (full sync seconds, start-to-answer wall
    time, memory) once the first snapshot answers."""
    t0 = time.monotonic()
    d.start(wait=False)
    d.wait_healthy(timeout=30)
    m = wait_for(lambda: (lambda m: m if m.get(
        "stafet_directory_full_syncs_total", 0) >= 1 else None)(metrics(d)),
        180, "the first full sync", 0.05)
    wait_for(lambda: http_get(d.url + "/api/v1/people?limit=1")[0] == 200,
             30, "the first snapshot")
    wall = time.monotonic() - t0
    first = m["stafet_directory_full_sync_seconds"]
    npeople = int(metrics(d).get("stafet_directory_snapshot_people", 0))
    if npeople < people:
        raise RuntimeError("snapshot holds %d people, expected %d" % (
            npeople, people))
    mem = proc_status(d.proc.pid)
    log("full sync %.2f s (start to first answer %.2f s), %d people, "
        "VmRSS %.0f MB" % (first, wall, npeople, mem["VmRSS"]))
    return first, wall, mem


def peer_dump(slapd, pwfile):
    """The peer of the full sync: ldapsearch dumping the people subtree,
    paged, the attributes stafetd reads. Returns its wall time."""
    cmd = ldap_cmd("ldapsearch", slapd, pwfile, "-LLL", "-E",
                   "pr=500/noprompt", "-b", PEOPLE_BASE,
                   "(objectClass=inetOrgPerson)", *PERSON_ATTRS)
    t0 = time.monotonic()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True, env=CLIENT_ENV)
    dump = time.monotonic() - t0
    log("ldapsearch paged dump %.2f s" % dump)
    return dump


def dump_and_resync(d, slapd, pwfile, resync=True):
    """The peer of the full sync (peer_dump()), then (with resync) a second
    full sync of stafetd's (SIGHUP), both with nothing else going on."""
    dump = peer_dump(slapd, pwfile)
    if not resync:
        return dump, None, None

    n = metrics(d).get("stafet_directory_full_syncs_total", 0)
    d.signal(signal.SIGHUP)  # new settings: the sync thread reads all again
    m = wait_for(lambda: (lambda m: m if m.get(
        "stafet_directory_full_syncs_total", 0) > n else None)(metrics(d)),
        180, "the full sync after SIGHUP", 0.05)
    second = m["stafet_directory_full_sync_seconds"]
    mem = proc_status(d.proc.pid)
    log("full sync after SIGHUP %.2f s, VmRSS %.0f MB, VmHWM %.0f MB" % (
        second, mem["VmRSS"], mem["VmHWM"]))
    return dump, second, mem


def incr_samples(d, samples, stop):
    """Keeps samples[count] = duration of every incremental sync seen (the
    metric only holds the last one)."""
    while not stop.is_set():
        m = metrics(d)
        n = m.get("stafet_directory_incremental_syncs_total")
        if n:
            samples[n] = m["stafet_directory_incremental_sync_seconds"]
        time.sleep(0.01)


def person_ids(slapd, pwfile, uids):
    flt = "(|%s)" % "".join("(uid=%s)" % u for u in uids)
    out = subprocess.run(ldap_cmd("ldapsearch", slapd, pwfile, "-LLL", "-b",
                                  PEOPLE_BASE, flt, "entryUUID", "uid"),
                         capture_output=True, text=True, check=True,
                         env=CLIENT_ENV).stdout
    ids = {}
    for block in out.split("\n\n"):
        u = re.search(r"^uid: (\S+)$", block, re.M)
        e = re.search(r"^entryUUID: (\S+)$", block, re.M)
        if u and e:
            ids[u.group(1)] = e.group(1)
    if len(ids) != len(uids):
        raise RuntimeError("found ids for %d of %d people" % (len(ids),
                                                               len(uids)))
    return ids


def change_round(d, slapd, ids, chosen, samples, label, timeout=90):
    """Changes the title of every chosen person with one ldapmodify and
    waits until stafetd serves all of them. Returns (duration of the
    slowest incremental sync since, wall time from the modify's end until
    the last changed person showed, until all did)."""
    before = max(samples) if samples else 0
    stamp = "Bench %s %d" % (label, int(time.time()))
    ldif = "".join("dn: uid=%s,%s\nchangetype: modify\nreplace: title\n"
                   "title: %s %d\n-\n\n" % (u, PEOPLE_BASE, stamp, i)
                   for i, u in enumerate(chosen))
    t_mod0 = time.monotonic()
    slapd.ldapmodify(ldif)  # as the directory's admin
    t_mod1 = time.monotonic()

    def shows(i):
        st, body = http_get(d.url + "/api/v1/people/" + ids[chosen[i]])
        return st == 200 and json.loads(body).get("title") == \
            "%s %d" % (stamp, i)

    wait_for(lambda: shows(len(chosen) - 1), timeout, "the last changed "
             "person", 0.005)
    wall_last = time.monotonic() - t_mod1
    seen = max(samples) if samples else 0
    pending = set(range(len(chosen)))

    def all_shown():
        for i in sorted(pending):
            if shows(i):
                pending.discard(i)
        return not pending

    partial = len([i for i in pending if not shows(i)])
    wait_for(all_shown, timeout, "all changed people", 0.005)
    wall_all = time.monotonic() - t_mod1
    # The sync that carried the change counts itself only after saving the
    # snapshot file, so the loop may serve it first: wait for one more.
    wait_for(lambda: max(samples) > seen, 60, "the incremental sync's metric")
    after = {n: s for n, s in samples.items() if n > before}
    carried = max(after.values())
    log("%s: ldapmodify of %d took %.2f s; the last visible %.3f s after it "
        "(%d of the others not yet), all %.3f s after it; incremental syncs "
        "since: %s" % (label, len(chosen), t_mod1 - t_mod0, wall_last,
                       partial, wall_all,
                       ", ".join("%.3f s" % v for v in after.values())))
    return carried, wall_last, wall_all, partial


def window_size(slapd, pwfile, overlap=2):
    """People stafetd re-reads on every refresh: those modified within the
    overlap before the newest change (what a bulk load leaves behind)."""
    out = subprocess.run(ldap_cmd("ldapsearch", slapd, pwfile, "-LLL", "-E",
                                  "pr=500/noprompt", "-b", PEOPLE_BASE,
                                  "(objectClass=inetOrgPerson)",
                                  "modifyTimestamp"),
                         capture_output=True, text=True, check=True,
                         env=CLIENT_ENV).stdout
    stamps = [calendar.timegm(time.strptime(s, "%Y%m%d%H%M%S")) for s in
              re.findall(r"^modifyTimestamp: (\d{14})Z$", out, re.M)]
    top = max(stamps)
    return sum(1 for s in stamps if s >= top - overlap)


def incremental(d, table, slapd, pwfile, uids, nchange=100):
    """Rows: 100 people changed in LDAP until stafetd serves them, right
    after the bulk load and in the steady state, vs the LDAP read."""
    step = max(1, len(uids) // nchange)
    chosen = uids[::step][:nchange]
    ids = person_ids(slapd, pwfile, chosen)
    samples, stop = {}, threading.Event()
    th = threading.Thread(target=incr_samples, args=(d, samples, stop),
                          daemon=True)
    th.start()
    try:
        # Right after the bulk load every entry slapadd wrote in its last
        # `directory_overlap` seconds is in the refresh window.
        wait_for(lambda: samples, 120, "the first incremental refresh", 0.05)
        bulk_idle = samples[min(samples)]
        window = window_size(slapd, pwfile)
        log("first idle incremental refresh after the bulk load: %.3f s "
            "(%d people in the overlap window)" % (bulk_idle, window))
        bulk = change_round(d, slapd, ids, chosen, samples, "after-load")
        time.sleep(2.5)  # past the overlap: the next round's own window
        mark = time.time()
        steady = change_round(d, slapd, ids, chosen, samples, "steady")
        n = max(samples)
        time.sleep(2.5)
        idle = [s for k, s in samples.items() if k > n]
    finally:
        stop.set()
        th.join()

    # The peer: the LDAP read behind it, the entries changed since the mark.
    ts = time.strftime("%Y%m%d%H%M%SZ", time.gmtime(int(mark)))
    cmd = ldap_cmd("ldapsearch", slapd, pwfile, "-LLL", "-E",
                   "pr=500/noprompt", "-b", PEOPLE_BASE,
                   "(&(objectClass=inetOrgPerson)(modifyTimestamp>=%s))" % ts,
                   *PERSON_ATTRS)
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, check=True,
                       env=CLIENT_ENV)
    peer = time.monotonic() - t0
    npeer = len(re.findall(r"^dn: ", r.stdout, re.M))

    carried, wall_last, wall, partial = steady
    table.add("(b) incremental refresh, %d changed: sync" % nchange,
              "%.3f s" % carried,
              "ldapsearch of the %d changed" % npeer, "%.3f s" % peer,
              "%.1f× its time" % (carried / peer),
              "≤ %.0f s" % TARGETS["incremental_s"],
              yes(carried <= TARGETS["incremental_s"]), section=2,
              value=carried, unit="s", peer_value=peer,
              ratio_value=carried / peer,
              met_ok=carried <= TARGETS["incremental_s"])
    table.add("(b) … change to visible in /people/{id} (wall)",
              "%.3f s" % wall, "(refresh every 1 s)", "–", "–",
              "≤ %.0f s" % TARGETS["incremental_s"],
              yes(wall <= TARGETS["incremental_s"]), section=2, value=wall,
              unit="s", met_ok=wall <= TARGETS["incremental_s"])
    bcarried, bwall_last, bwall, bpartial = bulk
    table.add("(b*) the same right after the bulk load: sync / wall",
              "%.2f s / %.2f s" % (bcarried, bwall),
              "(%d people in the window)" % window, "–", "–",
              "≤ %.0f s" % TARGETS["incremental_s"],
              yes(max(bcarried, bwall) <= TARGETS["incremental_s"]),
              section=2, value=[bcarried, bwall], unit="s",
              met_ok=max(bcarried, bwall) <= TARGETS["incremental_s"])
    table.notes.append(
        "idle incremental refresh (nothing changed): %.3f s right after the "
        "bulk load (it re-reads the %d entries modified within "
        "directory_overlap = 2 s of the newest one, every refresh), %s in the "
        "steady state" % (bulk_idle, window,
                          " / ".join("%.3f s" % s for s in idle)))
    for p, w, what in ((partial, wall_last, "steady state"),
                       (bpartial, bwall_last, "after the bulk load")):
        if p:
            table.notes.append(
                "%s: when the last of the %d changed people showed (%.2f s),"
                " %d of the others did not yet: one snapshot held part of "
                "the batch" % (what, nchange, w, p))


def write_queries(work):
    paths = os.path.join(work, "paths.txt")
    specs = os.path.join(work, "ldap-queries.txt")
    with open(paths, "w") as p, open(specs, "w", encoding="utf-8") as s:
        for q in QUERIES:
            p.write("/api/v1/people?q=%s\n" % urllib.parse.quote(q))
            s.write("q\t%s\n" % q)
        for u in UNIT_FILTERS:
            p.write("/api/v1/people?unit=%s\n" % urllib.parse.quote(u))
            s.write("unit\t%s\n" % u)
    return paths, specs


def check_queries(d, paths):
    """Every query answers 200; returns the mean number of items."""
    counts = []
    for path in open(paths).read().split():
        st, body = http_get(d.url + path)
        if st != 200:
            raise RuntimeError("%s answered %s: %s" % (path, st, body[:200]))
        counts.append(len(json.loads(body)["items"]))
    return statistics.mean(counts), counts


def run_wrk(d, paths, conns, seconds, threads=2, script="people.lua",
            extra=()):
    """wrk with one of bench/*.lua; paths (or bodies) and extra are the
    script's arguments."""
    cmd = ["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % seconds,
           "--timeout", "5s", "-s", os.path.join(HERE, script),
           d.url, "--", paths, *extra]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    m = re.search(r"^WRK (.*)$", r.stdout, re.M)
    if r.returncode != 0 or not m:
        raise RuntimeError("wrk failed: %s%s" % (r.stdout, r.stderr))
    v = {k: int(x) for k, x in (kv.split("=") for kv in m.group(1).split())}
    v["rate"] = v["requests"] / (v["duration_us"] / 1e6)
    # which errors, for the notes: "status 1, timeout 2" (empty when none)
    v["error_kinds"] = ", ".join(
        "%s %d" % (k[4:], v[k]) for k in ("err_connect", "err_read", "err_write",
                                          "err_status", "err_timeout") if v.get(k))
    return v


def run_ldapbench(ldapbench, slapd, pwfile, specs, conns, inflight, seconds,
                  fields, threads=2, sizelimit=50):
    cmd = [ldapbench, "-H", slapd.uri, "-D", SERVICE_DN, "-y", pwfile,
           "-b", PEOPLE_BASE, "-f", specs, "-t", str(threads),
           "-c", str(conns), "-n", str(inflight), "-d", str(seconds),
           "-a", fields, "-z", str(sizelimit)]
    r = subprocess.run(cmd, capture_output=True, text=True,
                       timeout=seconds + 60, env=CLIENT_ENV)
    m = re.search(r"^searches=.*$", r.stdout, re.M)
    if not m:
        raise RuntimeError("ldapbench failed (%d): %s%s" % (
            r.returncode, r.stdout, r.stderr))
    v = {}
    for kv in m.group(0).split():
        k, x = kv.split("=")
        v[k] = float(x)
    return v


# The peer's search fields: those stafetd searches (title is not indexed in
# the test slapd, so every search scans), and the indexed ones only.
PEER_FIELDS = [
    ("e", "cn,sn,givenName,uid,mail,title", "as stafetd's (title unindexed)"),
    ("e'", "cn,sn,givenName,uid,mail", "indexed only (no title)"),
]


def search_load(d, table, slapd, pwfile, work, ldapbench, seconds, levels,
                peer_fields=PEER_FIELDS, min_searches=0):
    """Rows (d): people search over HTTP keep-alive (wrk) against one LDAP
    search per request (ldapbench, each of peer_fields) at each level
    (wrk connections, ldapbench connections, searches in flight each).
    Returns one result per level: conns, wrk's figures (w), stafetd's CPU
    (cpu) and the peers' figures by tag. A peer that completes fewer than
    min_searches searches runs again for three times as long (its
    searches outlast a short run: none would complete)."""
    results = []
    paths, specs = write_queries(work)
    mean_items, _ = check_queries(d, paths)
    log("%d queries; stafetd answers %.1f people per query on average" % (
        len(QUERIES) + len(UNIT_FILTERS), mean_items))
    for conns, lconns, inflight in levels:
        # Warm-up (not counted): connections, caches.
        run_wrk(d, paths, conns, 1)
        t0 = cpu_ticks(d.proc.pid)
        w = run_wrk(d, paths, conns, seconds)
        cpu = cpu_use(t0, cpu_ticks(d.proc.pid), w["requests"])
        log("wrk -c%d: %.0f req/s, p50 %.2f ms, p99 %.2f ms, errors %d; "
            "stafetd CPU %.1f µs per request (request thread %.1f)" % (
                conns, w["rate"], w["p50_us"] / 1e3, w["p99_us"] / 1e3,
                w["errors"], cpu["us_per_request"], cpu["main_us_per_request"]))
        status, _ = http_get(d.url + "/healthz")
        if d.proc.poll() is not None or status != 200:
            raise RuntimeError("stafetd is gone or unhealthy after the load "
                               "(exit %s):\n%s" % (d.proc.poll(),
                                                    d.log()[-4000:]))
        peers = []
        for tag, fields, what in peer_fields:
            run_ldapbench(ldapbench, slapd, pwfile, specs, lconns, inflight,
                          1, fields)
            lb = run_ldapbench(ldapbench, slapd, pwfile, specs, lconns,
                               inflight, seconds, fields)
            if lb["searches"] < min_searches:
                log("ldapbench %s: %d searches in %d s; again for %d s" % (
                    what, lb["searches"], seconds, 3 * seconds))
                lb = run_ldapbench(ldapbench, slapd, pwfile, specs, lconns,
                                   inflight, 3 * seconds, fields)
            log("ldapbench %s, %d conns × %d in flight: %.0f searches/s, "
                "p50 %.2f ms, p99 %.2f ms, errors %d, %.1f entries per search"
                % (what, lconns, inflight, lb["rate"], lb["p50_us"] / 1e3,
                   lb["p99_us"] / 1e3, lb["errors"],
                   lb["entries"] / max(lb["searches"], 1)))
            peers.append((tag, what, lb))
        for tag, what, lb in peers:
            ratio = w["rate"] / lb["rate"] if lb["rate"] else float("inf")
            table.add("(d) people search, %d in flight: req/s" % conns,
                      "%.0f" % w["rate"],
                      "(%s) LDAP per request, %s" % (tag, what),
                      "%.0f" % lb["rate"], "%.1f× its rate" % ratio,
                      "≥ %.0f/s; ≥ %.0f×" % (TARGETS["rps"], TARGETS["ratio"]),
                      "%s; %s" % (yes(w["rate"] >= TARGETS["rps"]),
                                  yes(ratio >= TARGETS["ratio"])),
                      section=1, value=w["rate"], unit="req/s",
                      peer_value=lb["rate"], ratio_value=ratio,
                      met_ok=[w["rate"] >= TARGETS["rps"],
                              ratio >= TARGETS["ratio"]])
        tag, what, lb = peers[-1]
        table.add("(d) people search, %d in flight: p50 / p99" % conns,
                  "%.2f / %.2f ms" % (w["p50_us"] / 1e3, w["p99_us"] / 1e3),
                  "(%s)" % tag, "%.2f / %.2f ms" % (lb["p50_us"] / 1e3,
                                                    lb["p99_us"] / 1e3),
                  "%.2f× its p99" % (w["p99_us"] / max(lb["p99_us"], 1)),
                  "p99 ≤ %.0f ms" % TARGETS["p99_ms"],
                  yes(w["p99_us"] / 1e3 <= TARGETS["p99_ms"]), section=1,
                  value=[w["p50_us"] / 1e3, w["p99_us"] / 1e3], unit="ms",
                  peer_value=[lb["p50_us"] / 1e3, lb["p99_us"] / 1e3],
                  ratio_value=w["p99_us"] / max(lb["p99_us"], 1),
                  met_ok=w["p99_us"] / 1e3 <= TARGETS["p99_ms"])
        errors = [lb["errors"] for _, _, lb in peers]
        if w["errors"] or any(errors):
            table.notes.append("**errors at %d in flight: wrk %d, ldapbench "
                               "%s**" % (conns, w["errors"], errors))
        results.append({"conns": conns, "w": w, "cpu": cpu,
                        "peers": {tag: lb for tag, _, lb in peers}})
        table.notes.append(
            "%d in flight (wrk -t2 -c%d; ldapbench -t2 -c%d -n%d): stafetd %d "
            "requests in %.1f s, %.1f µs of its CPU per request (request "
            "thread %.1f); LDAP %s searches, %s entries each" % (
                conns, conns, lconns, inflight, w["requests"],
                w["duration_us"] / 1e6, cpu["us_per_request"],
                cpu["main_us_per_request"],
                " / ".join("%d" % lb["searches"] for _, _, lb in peers),
                " / ".join("%.1f" % (lb["entries"] / max(lb["searches"], 1))
                           for _, _, lb in peers)))
    table.notes.append("stafetd answers %.1f people per query on average "
                       "(page of 50)" % mean_items)
    return results


# --- counterpart resolution -------------------------------------------------------

# The date every lookup is made on (who counts as absent): the generated
# directory's reference date, when ~6 % of the people are away and their
# deputies stand in.
LOOKUP_DATE = "2026-02-16"
LOGIN = ("mha", "demo")  # gen_demo_ldif.py: a pinned person; every password

# What caseworkers send: mostly BUR-UR (a young person leaving primary
# school; birth date or CPR number, placed or not, surname), the handicap
# route at 18, the myndighedssnit with an employment status, and the
# generic route with a KLE number. Not all of them find someone (one gives
# a surname only, which UR does not allocate by).
COUNTERPART_BODIES = [
    ("BUR-UR", {"birthdate": "2009-03-14", "placed": False,
                "surname": "Hansen"}, None),
    ("BUR-UR", {"cpr": "140309-4123", "placed": False,
                "surname": "Østergaard"}, None),
    ("BUR-UR", {"birthdate": "2010-01-05", "placed": True,
                "surname": "Nielsen"}, None),
    ("BUR-UR", {"cpr": "270810-4567", "placed": True}, None),
    ("BUR-UR", {"birthdate": "2009-11-21", "surname": "Aagaard"}, None),
    ("BUR-UR", {"birthdate": "2009-06-30", "placed": False}, None),
    ("BUR-UR", {"cpr": "020210-5021", "placed": False, "surname": "Ærbø"},
     None),
    ("BUR-UR", {"birthdate": "2010-05-18", "placed": False,
                "surname": "Jensen"}, None),
    ("BUR-UR", {"birthdate": "2009-09-09", "placed": True,
                "surname": "Khan"}, None),
    ("BUR-UR", {"cpr": "311209-4111", "placed": False, "surname": "Møller"},
     None),
    ("BUR-UR", {"birthdate": "2010-07-11", "placed": False,
                "surname": "Pedersen"}, None),
    ("BUR-UR", {"surname": "Larsen", "placed": False}, None),
    ("BURH-AEHF", {"birthdate": "2008-02-20", "surname": "Sørensen"}, None),
    ("BURH-AEHF", {"cpr": "100408-4321", "target_group": "handicap"}, None),
    ("BURH-AEHF", {"birthdate": "2008-01-01", "surname": "Kjær",
                   "target_group": "handicap"}, None),
    ("BURH-AEHF", {"birthdate": "2007-12-24", "district": "Vollsmose"}, None),
    ("BSF-AEHF", {"birthdate": "1975-05-05", "surname": "Holm",
                  "employment_status": "disability_pension"}, None),
    ("BSF-AEHF", {"cpr": "121258-1234",
                  "employment_status": "old_age_pension"}, None),
    ("BSF-AEHF", {"birthdate": "1990-10-15",
                  "employment_status": "pension_assessment"}, None),
    ("BSF-AEHF", {"birthdate": "1982-03-28", "target_group": "handicap",
                  "employment_status": "disability_pension"}, None),
    ("GENERISK", {"birthdate": "2009-04-04", "placed": False}, "27.39.00"),
    ("GENERISK", {"cpr": "230710-4444"}, "27.39.00"),
    ("GENERISK", {"birthdate": "2010-10-10", "surname": "Dahl"}, "27.39.00"),
    ("GENERISK", {"birthdate": "2009-08-19", "target_group": "ung-social"},
     "27.39.00"),
]

# The peer's filter per receiving unit: (g) all of the unit's members, what
# resolution has to look at; (g') only those with an allocation rule or a
# target group, the ones that can be candidates (the stronger peer).
COUNTERPART_PEERS = [
    ("g", "unit\t%s", "the unit's members"),
    ("g'", "filter\t(&(stafetUnitCode=%s)(|(stafetAllocation=*)"
     "(stafetTargetGroup=*)))", "members with allocation rules"),
]


def http_json(url, body=None, headers=None, timeout=10):
    """GET (or POST with a JSON body); returns (status, parsed body, size)."""
    data = None if body is None else json.dumps(body).encode()
    h = {"Content-Type": "application/json"} if data is not None else {}
    h.update(headers or {})
    req = urllib.request.Request(url, data=data, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw, status = r.read(), r.status
    except urllib.error.HTTPError as e:
        raw, status = e.read(), e.code
    try:
        return status, json.loads(raw), len(raw)
    except ValueError:
        return status, raw, len(raw)


def counterpart_body(route, citizen, kle):
    b = {"route": route, "citizen": citizen, "date": LOOKUP_DATE}
    if kle:
        b["kle"] = kle
    return b


def cpu_ticks(pid):
    """(ticks of pid's main thread, of its other threads, of the machine
    busy, of the machine in all), from /proc: what a load run used."""
    main = rest = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a thread that just ended
        t = int(fields[11]) + int(fields[12])  # utime + stime
        if int(tid) == pid:
            main += t
        else:
            rest += t
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    idle = cpu[3] + cpu[4]
    return main, rest, sum(cpu) - idle, sum(cpu)


def cpu_share(before, after):
    """The main thread's and the other threads' share of one core, and the
    machine's busy share, between two cpu_ticks()."""
    d = [a - b for a, b in zip(after, before)]
    ncpu = os.cpu_count() or 1
    wall = d[3] / ncpu  # ticks of one core
    return (d[0] / wall if wall else 0, d[1] / wall if wall else 0,
            d[2] / d[3] if d[3] else 0)


def cpu_use(before, after, requests):
    """stafetd's CPU between two cpu_ticks(), per request: all its threads,
    and its main (request) thread alone, in µs."""
    hz = os.sysconf("SC_CLK_TCK")
    main = (after[0] - before[0]) / hz
    rest = (after[1] - before[1]) / hz
    n = max(requests, 1)
    return {"us_per_request": (main + rest) * 1e6 / n,
            "main_us_per_request": main * 1e6 / n,
            "cpu_s": main + rest, "main_cpu_s": main}


def counterparts_load(d, table, slapd, pwfile, work, ldapbench, seconds,
                      levels, peer_specs_=COUNTERPART_PEERS, min_searches=0):
    """Rows: POST /api/v1/counterparts with a session, over HTTP keep-alive
    (bench/counterparts.lua), vs one LDAP search for the receiving unit's
    members per request (ldapbench, each of peer_specs_), at the same
    levels as the search; min_searches and the result as in
    search_load()."""
    st, answer, _ = http_json(d.url + "/api/v1/session",
                              {"username": LOGIN[0], "password": LOGIN[1]})
    if st != 201:
        raise RuntimeError("login as %s answered %s: %s" % (LOGIN[0], st,
                                                           answer))
    token = answer["token"]
    auth = {"Authorization": "Bearer " + token}
    # The routes are read from the database after start: 503 until then.
    wait_for(lambda: http_json(d.url + "/api/v1/routes", headers=auth)[0]
             == 200, 30, "the routes")

    bodies = os.path.join(work, "counterparts.txt")
    peer_specs = {tag: os.path.join(work, "ldap-counterparts-%s.txt" % i)
                  for i, (tag, _, _) in enumerate(peer_specs_)}
    found, sizes, units, routes = [], [], [], {}
    with open(bodies, "w", encoding="utf-8") as f:
        for route, citizen, kle in COUNTERPART_BODIES:
            body = counterpart_body(route, citizen, kle)
            st, answer, size = http_json(d.url + "/api/v1/counterparts", body,
                                         auth)
            if st != 200:
                raise RuntimeError("counterparts %s answered %s: %s" % (
                    json.dumps(body, ensure_ascii=False), st, answer))
            unit = answer["receiving_unit"]["code"]
            found.append(len(answer["candidates"]))
            sizes.append(size)
            units.append(unit)
            routes.setdefault(route, set()).add(unit)
            f.write(json.dumps(body, ensure_ascii=False,
                               separators=(",", ":")) + "\n")
    for i, (tag, spec, _) in enumerate(peer_specs_):
        with open(peer_specs[tag], "w", encoding="utf-8") as f:
            for unit in units:
                f.write(spec % unit + "\n")
    nonempty = sum(1 for n in found if n)
    log("%d counterpart lookups (%s); %d find candidates, %.1f on average "
        "(at most 10), answers %.1f KB on average" % (
            len(found), ", ".join("%s → %s" % (r, "/".join(sorted(u)))
                                  for r, u in routes.items()),
            nonempty, statistics.mean(found),
            statistics.mean(sizes) / 1e3))
    if nonempty < 0.75 * len(found):
        raise RuntimeError("only %d of %d counterpart lookups find anyone: "
                           "%s" % (nonempty, len(found), found))
    members = {u: unit_members(slapd, pwfile, u) for u in set(units)}
    mem_before = proc_status(d.proc.pid)

    results = []
    for conns, lconns, inflight in levels:
        extra = [token]
        run_wrk(d, bodies, conns, 1, script="counterparts.lua", extra=extra)
        t0 = cpu_ticks(d.proc.pid)
        w = run_wrk(d, bodies, conns, seconds, script="counterparts.lua",
                    extra=extra)
        t1 = cpu_ticks(d.proc.pid)
        loop_cpu, other_cpu, busy = cpu_share(t0, t1)
        cpu = cpu_use(t0, t1, w["requests"])
        log("wrk counterparts -c%d: %.0f req/s, p50 %.2f ms, p99 %.2f ms, "
            "errors %d; stafetd CPU %.1f µs per request (request thread "
            "%.1f)" % (conns, w["rate"], w["p50_us"] / 1e3,
                       w["p99_us"] / 1e3, w["errors"], cpu["us_per_request"],
                       cpu["main_us_per_request"]))
        status, _ = http_get(d.url + "/healthz")
        if d.proc.poll() is not None or status != 200:
            raise RuntimeError("stafetd is gone or unhealthy after the load "
                               "(exit %s):\n%s" % (d.proc.poll(),
                                                    d.log()[-4000:]))
        peers = []
        for tag, _, what in peer_specs_:
            run_ldapbench(ldapbench, slapd, pwfile, peer_specs[tag], lconns,
                          inflight, 1, "cn", sizelimit=0)
            lb = run_ldapbench(ldapbench, slapd, pwfile, peer_specs[tag],
                               lconns, inflight, seconds, "cn", sizelimit=0)
            if lb["searches"] < min_searches:
                log("ldapbench %s: %d searches in %d s; again for %d s" % (
                    what, lb["searches"], seconds, 3 * seconds))
                lb = run_ldapbench(ldapbench, slapd, pwfile, peer_specs[tag],
                                   lconns, inflight, 3 * seconds, "cn",
                                   sizelimit=0)
            log("ldapbench %s, %d conns × %d in flight: %.1f searches/s, "
                "p50 %.2f ms, p99 %.2f ms, errors %d, %.0f entries per search"
                % (what, lconns, inflight, lb["rate"], lb["p50_us"] / 1e3,
                   lb["p99_us"] / 1e3, lb["errors"],
                   lb["entries"] / max(lb["searches"], 1)))
            peers.append((tag, what, lb))
        for tag, what, lb in peers:
            ratio = w["rate"] / lb["rate"] if lb["rate"] else float("inf")
            table.add("(f) counterparts, %d in flight: req/s" % conns,
                      "%.0f" % w["rate"],
                      "(%s) LDAP per request, %s" % (tag, what),
                      "%.1f" % lb["rate"], "%.0f× its rate" % ratio,
                      "≥ %.0f/s; ≥ %.0f×" % (TARGETS["rps"], TARGETS["ratio"]),
                      "%s; %s" % (yes(w["rate"] >= TARGETS["rps"]),
                                  yes(ratio >= TARGETS["ratio"])),
                      section=1, value=w["rate"], unit="req/s",
                      peer_value=lb["rate"], ratio_value=ratio,
                      met_ok=[w["rate"] >= TARGETS["rps"],
                              ratio >= TARGETS["ratio"]])
        tag, what, lb = peers[-1]
        table.add("(f) counterparts, %d in flight: p50 / p99" % conns,
                  "%.2f / %.2f ms" % (w["p50_us"] / 1e3, w["p99_us"] / 1e3),
                  "(%s)" % tag, "%.0f / %.0f ms" % (lb["p50_us"] / 1e3,
                                                    lb["p99_us"] / 1e3),
                  "%.3f× its p99" % (w["p99_us"] / max(lb["p99_us"], 1)),
                  "p99 ≤ %.0f ms" % TARGETS["p99_ms"],
                  yes(w["p99_us"] / 1e3 <= TARGETS["p99_ms"]), section=1,
                  value=[w["p50_us"] / 1e3, w["p99_us"] / 1e3], unit="ms",
                  peer_value=[lb["p50_us"] / 1e3, lb["p99_us"] / 1e3],
                  ratio_value=w["p99_us"] / max(lb["p99_us"], 1),
                  met_ok=w["p99_us"] / 1e3 <= TARGETS["p99_ms"])
        errors = [lb["errors"] for _, _, lb in peers]
        results.append({"conns": conns, "w": w, "cpu": cpu,
                        "peers": {tag: lb for tag, _, lb in peers}})
        table.notes.append(
            "counterparts, %d in flight (wrk -t2 -c%d; ldapbench -t2 -c%d -n%d"
            " -z0): stafetd %d requests in %.1f s, errors %d, its main "
            "(request) thread busy %.0f %% of a core, its other threads "
            "(directory sync, logins) %.0f %%, the machine %.0f %% busy; "
            "LDAP %s searches, %s entries each, errors %s" % (
                conns, conns, lconns, inflight, w["requests"],
                w["duration_us"] / 1e6, w["errors"], 100 * loop_cpu,
                100 * other_cpu, 100 * busy,
                " / ".join("%d" % lb["searches"] for _, _, lb in peers),
                " / ".join("%.0f" % (lb["entries"] / max(lb["searches"], 1))
                           for _, _, lb in peers),
                " / ".join("%d" % e for e in errors)))
    table.notes.append(
        "counterparts: %d request bodies (%s), date %s, as %s with a Bearer "
        "session (one PostgreSQL session lookup per request); %d of them find "
        "candidates, %.1f on average (at most 10 shown), answers %.1f KB on "
        "average; receiving units' members: %s" % (
            len(found), ", ".join("%d %s" % (
                sum(1 for r, _, _ in COUNTERPART_BODIES if r == route), route)
                for route in routes), LOOKUP_DATE, LOGIN[0], nonempty,
            statistics.mean(found), statistics.mean(sizes) / 1e3,
            ", ".join("%s %d" % (u, n) for u, n in sorted(members.items()))))
    mem = proc_status(d.proc.pid)
    table.notes.append(
        "counterparts: stafetd VmRSS %.0f MB before this load, %.0f MB after "
        "(VmHWM %.0f MB before, %.0f MB after)" % (
            mem_before["VmRSS"], mem["VmRSS"], mem_before["VmHWM"],
            mem["VmHWM"]))
    return results


def growth_point(people, seconds, first, dump, mem, slapd_mem, search,
                 counterparts, conns=16):
    """The figures the growth rows compare between directory sizes
    (bench/growth_bench.py): full sync and its peer, memory, and people
    search and counterparts at `conns` in flight with their strongest
    peers, (e') and (g'), from search_load() and counterparts_load()."""
    def level(results, tag):
        r = [x for x in results if x["conns"] == conns][0]
        return {"w": r["w"], "cpu": r["cpu"], "peer": r["peers"][tag]}
    return {"people": people, "duration": seconds, "full_sync_s": first,
            "dump_s": dump, "rss_mb": mem["VmRSS"],
            "slapd_rss_mb": slapd_mem["VmRSS"], "conns": conns,
            "search": level(search, "e'"),
            "counterparts": level(counterparts, "g'")}


def unit_members(slapd, pwfile, code):
    """How many people LDAP has in the unit (what the peer reads)."""
    out = subprocess.run(ldap_cmd("ldapsearch", slapd, pwfile, "-LLL", "-b",
                                  PEOPLE_BASE, "(stafetUnitCode=%s)" % code,
                                  "1.1"),
                         capture_output=True, text=True, check=True,
                         env=CLIENT_ENV).stdout
    return len(re.findall(r"^dn: ", out, re.M))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=50000)
    ap.add_argument("--duration", type=int, default=10,
                    help="seconds of each load run (default 10)")
    ap.add_argument("--ldapbench", default=os.path.join(REPO, "build", "bench",
                                                        "ldapbench"))
    ap.add_argument("--keep", action="store_true",
                    help="keep the working directory")
    ap.add_argument("--json", default="",
                    help="also write the rows as JSON to this file "
                    "(for bench/table.py)")
    ap.add_argument("--no-resync", action="store_true",
                    help="skip the second full sync (SIGHUP, warm)")
    ap.add_argument("--preload", default="",
                    help="LD_PRELOAD for stafetd (for diagnostics)")
    args = ap.parse_args()

    for tool in ("wrk", "ldapsearch", "ldapmodify", args.ldapbench,
                 os.path.join(REPO, "build", "stafetd")):
        if not shutil.which(tool):
            sys.exit("bench: %s is missing (run `make bench`)" % tool)

    started = time.monotonic()
    load_before = open("/proc/loadavg").read().split()[:3]
    work = tempfile.mkdtemp(prefix="stafet-bench-")
    log("working in %s" % work)
    table = Table()
    slapd = pg = d = None
    try:
        ldif, uids = generate(work, args.people)
        pwfile = os.path.join(work, "ldap.password")
        with open(pwfile, "w") as f:
            f.write(SERVICE_PASSWORD)  # ldapsearch -y sends the file as is
        os.chmod(pwfile, 0o600)

        t0 = time.monotonic()
        slapd = Slapd(os.path.join(work, "slapd"), ldif=ldif)
        slapd.start(timeout=120)
        log("slapd loaded and started in %.1f s" % (time.monotonic() - t0))
        pg, db_settings = start_postgres(work)

        settings = stafetd_settings(work, slapd.uri, pwfile)
        settings.update(db_settings)
        env = {"LD_PRELOAD": os.path.abspath(args.preload)} \
            if args.preload else None
        d = Stafetd(os.path.join(work, "stafetd"), settings, env=env)
        d.migrate()
        first, wall, mem = first_full_sync(d, args.people)
        incremental(d, table, slapd, pwfile, uids)
        dump, second, mem2 = dump_and_resync(d, slapd, pwfile,
                                             not args.no_resync)
        table.add(
            "(a) full sync, %d people" % args.people, "%.2f s" % first,
            "ldapsearch -E pr=500 dump", "%.2f s" % dump,
            "%.1f× its time" % (first / dump),
            "≤ %.0f s" % TARGETS["full_sync_s"],
            yes(first <= TARGETS["full_sync_s"]), section=2, value=first,
            unit="s", peer_value=dump, ratio_value=first / dump,
            met_ok=first <= TARGETS["full_sync_s"], at=0)
        if second is not None:
            table.add(
                "(a) … again (SIGHUP, warm)", "%.2f s" % second, "same dump",
                "%.2f s" % dump, "%.1f× its time" % (second / dump),
                "≤ %.0f s" % TARGETS["full_sync_s"],
                yes(second <= TARGETS["full_sync_s"]), section=2,
                value=second, unit="s", peer_value=dump,
                ratio_value=second / dump,
                met_ok=second <= TARGETS["full_sync_s"], at=1)
        table.notes.insert(0, "stafetd start to first answer from the "
                           "snapshot: %.2f s" % wall)

        slapd_mem = proc_status(slapd.pid)
        table.add("(c) resident memory after full sync", "%.0f MB" %
                  mem["VmRSS"], "slapd VmRSS (mdb mmap)",
                  "%.0f MB" % slapd_mem["VmRSS"],
                  "%.2f× its RSS" % (mem["VmRSS"] / slapd_mem["VmRSS"]),
                  "≤ %.0f MB; ≤ slapd's" % TARGETS["rss_mb"],
                  "%s; %s" % (yes(mem["VmRSS"] <= TARGETS["rss_mb"]),
                              yes(mem["VmRSS"] <= slapd_mem["VmRSS"])),
                  section=2, value=mem["VmRSS"], unit="MB",
                  peer_value=slapd_mem["VmRSS"],
                  ratio_value=mem["VmRSS"] / slapd_mem["VmRSS"],
                  met_ok=(mem["VmRSS"] <= TARGETS["rss_mb"]
                          and mem["VmRSS"] <= slapd_mem["VmRSS"]))

        search = search_load(d, table, slapd, pwfile, work, args.ldapbench,
                             args.duration, [(16, 4, 4), (64, 8, 8)])
        cparts = counterparts_load(d, table, slapd, pwfile, work,
                                   args.ldapbench, args.duration,
                                   [(16, 4, 4), (64, 8, 8)])
        point = growth_point(args.people, args.duration, first, dump, mem,
                             slapd_mem, search, cparts)
        end = proc_status(d.proc.pid)
        table.add("(c') resident memory after all (peak)",
                  "%.0f MB (%.0f MB)" % (end["VmRSS"], end["VmHWM"]), "–",
                  "–", "–", "≤ %.0f MB" % TARGETS["rss_mb"],
                  yes(max(end["VmRSS"], end["VmHWM"]) <= TARGETS["rss_mb"]),
                  section=2, value=[end["VmRSS"], end["VmHWM"]], unit="MB",
                  met_ok=max(end["VmRSS"], end["VmHWM"]) <= TARGETS["rss_mb"])
        if mem2 is not None:
            table.notes.append("after the full sync again (SIGHUP): VmRSS "
                               "%.0f MB, VmHWM %.0f MB" % (mem2["VmRSS"],
                                                           mem2["VmHWM"]))

        rc = d.stop()
        if rc != 0:
            table.notes.append("**stafetd exited with %s at SIGTERM**" % rc)
        logged = [x for x in d.log().splitlines() if x.strip()]
        d = None
        if logged:
            table.notes.append("stafetd logged (warning and up) %d lines, "
                               "the last: %s" % (len(logged), logged[-1]))
        print()
        print("Directory benchmark, %d people; %s" % (args.people, machine()))
        print("The load generators (wrk, ldapbench) share the machine with "
              "stafetd and slapd; load average before %s, after %s." % (
                  " ".join(load_before),
                  " ".join(open("/proc/loadavg").read().split()[:3])))
        if args.preload:
            print("DIAGNOSTIC RUN: stafetd with LD_PRELOAD=%s" % args.preload)
        print()
        print(table.render())
        print()
        for n in table.notes:
            print("- " + n)
        print("- total time %.0f s" % (time.monotonic() - started))
        table.write_json(args.json, "directory",
                         {"people": args.people, "duration": args.duration},
                         started, load_before, {"growth": point})
    finally:
        if d is not None:
            try:
                d.stop()
            except Exception as e:  # report, but keep cleaning up
                log("stopping stafetd: %s" % e)
            log("stafetd log tail:\n" + d.log()[-3000:])
        if slapd is not None:
            slapd.stop()
        if pg is not None:
            pg.cleanup()
        if args.keep:
            log("kept %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
