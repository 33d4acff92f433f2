#!/usr/bin/python3
"""Growth benchmark: how the directory's costs grow with its size.

For each size in --people (default 5000 and 200000) it does what
bench/directory_bench.py does, shortened: generates the directory
(tests/fixtures/gen_demo_ldif.py), loads it with slapadd into a private
slapd, starts PostgreSQL and build/stafetd, and measures

  full sync          the first full sync, against ldapsearch dumping the
                     same subtree (paged)
  memory             stafetd's VmRSS after it, against slapd's
  people search      wrk -c16 over HTTP keep-alive (bench/people.lua) for
                     --duration seconds, against (e') one LDAP search per
                     request on the indexed fields (ldapbench, 4 x 4)
  counterparts       wrk -c16 (bench/counterparts.lua), against (g') one
                     LDAP search per request for the receiving unit's
                     members with allocation rules (ldapbench -z 0, 4 x 4)

and the CPU time of stafetd's request thread (its main thread, which
serves every request) per request under each load (/proc). Before the
loads one person is changed in LDAP and the driver waits out
directory_overlap, as the main run's incremental rounds do: otherwise every
1 s refresh would re-read all that slapadd wrote in its last 2 s (tens of
thousands of entries at 200,000) while the load runs. The
size that the main run measured (50,000) is not measured again: --from
names its JSON (directory_bench.py --json), whose "growth" figures are the
same ones at 16 in flight. The directory benchmark's code does the work
(its functions are imported, not copied), so the figures mean the same.

Prints one table, growth rows per size, each against the LDAP peer at the
same size, and the CPU per request against the smallest size's; --json
writes the rows for bench/table.py. See bench/README.md.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)
sys.path.insert(0, HERE)

from tests.harness.slapd import Slapd  # noqa: E402
from tests.harness.stafetd import Stafetd  # noqa: E402

from directory_bench import (COUNTERPART_PEERS, PEER_FIELDS,  # noqa: E402
                             PEOPLE_BASE, SERVICE_PASSWORD, Table, counterparts_load,
                             first_full_sync, generate, growth_point, log,
                             machine, peer_dump, proc_status, search_load,
                             start_postgres, stafetd_settings)

SECTION = 6
LEVEL = [(16, 4, 4)]  # wrk -c16; ldapbench 4 connections x 4 in flight
# At 200,000 people one (g') search reads ~10,000 entries: with 16 in
# flight each takes longer than a 5 s run, so few or none complete. A peer
# with fewer than this many runs again for three times as long.
MIN_SEARCHES = 32
FLAT = 1.2  # DESIGN.md "Targets": counterpart CPU per lookup, flat in size


def yes(ok):
    return "yes" if ok else "**no**"


def measure(people, seconds, ldapbench):
    """One size: returns (growth point, notes, timings)."""
    work = tempfile.mkdtemp(prefix="stafet-gbench-")
    slapd = pg = d = None
    timings = {}
    scratch = Table()
    try:
        t0 = time.monotonic()
        ldif, uids = generate(work, people)
        timings["generate"] = time.monotonic() - t0
        pwfile = os.path.join(work, "ldap.password")
        with open(pwfile, "w") as f:
            f.write(SERVICE_PASSWORD)
        os.chmod(pwfile, 0o600)
        t0 = time.monotonic()
        slapd = Slapd(os.path.join(work, "slapd"), ldif=ldif)
        slapd.start(timeout=600)
        timings["slapadd"] = time.monotonic() - t0
        log("%d people: slapd loaded and started in %.1f s" % (
            people, timings["slapadd"]))
        os.unlink(ldif)  # 140 MB at 200,000 people
        t0 = time.monotonic()
        pg, db_settings = start_postgres(work)
        settings = stafetd_settings(work, slapd.uri, pwfile)
        settings.update(db_settings)
        d = Stafetd(os.path.join(work, "stafetd"), settings)
        d.migrate()
        timings["postgres"] = time.monotonic() - t0
        t0 = time.monotonic()
        first, wall, mem = first_full_sync(d, people)
        timings["start_to_answer"] = wall
        dump = peer_dump(slapd, pwfile)
        slapd_mem = proc_status(slapd.pid)
        # Move the refresh window past the bulk load (see above).
        slapd.ldapmodify("dn: uid=%s,%s\nchangetype: modify\nreplace: "
                         "title\ntitle: Growth %d\n\n" % (
                             uids[0], PEOPLE_BASE, int(time.time())))
        time.sleep(3)
        t0 = time.monotonic()
        search = search_load(d, scratch, slapd, pwfile, work, ldapbench,
                             seconds, LEVEL, peer_fields=[
                                 p for p in PEER_FIELDS if p[0] == "e'"],
                             min_searches=MIN_SEARCHES)
        cparts = counterparts_load(d, scratch, slapd, pwfile, work, ldapbench,
                                   seconds, LEVEL, [
                                       p for p in COUNTERPART_PEERS
                                       if p[0] == "g'"],
                                   min_searches=MIN_SEARCHES)
        timings["load"] = time.monotonic() - t0
        point = growth_point(people, seconds, first, dump, mem, slapd_mem,
                             search, cparts)
        rc = d.stop()
        if rc != 0:
            scratch.notes.append("**stafetd exited with %s at SIGTERM**" % rc)
        d = None
        return point, scratch.notes, timings
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
        shutil.rmtree(work, ignore_errors=True)


def rows(table, points):
    """The growth rows: per size, each figure against the LDAP peer at the
    same size; CPU per request also against the smallest size."""
    base = points[0]
    for p in points:
        n = p["people"]
        tag = "%s people" % format(n, ",")
        table.add("%s: full sync" % tag, "%.2f s" % p["full_sync_s"],
                  "ldapsearch -E pr=500 dump", "%.2f s" % p["dump_s"],
                  "%.1f× its time" % (p["full_sync_s"] / p["dump_s"]), "–",
                  "–", value=p["full_sync_s"], unit="s",
                  peer_value=p["dump_s"],
                  ratio_value=p["full_sync_s"] / p["dump_s"])
        table.add("%s: resident memory after full sync" % tag,
                  "%.0f MB" % p["rss_mb"], "slapd VmRSS (mdb mmap)",
                  "%.0f MB" % p["slapd_rss_mb"],
                  "%.2f× its RSS" % (p["rss_mb"] / p["slapd_rss_mb"]),
                  "≤ slapd's" if n >= 50000 else "–",
                  yes(p["rss_mb"] <= p["slapd_rss_mb"]) if n >= 50000
                  else "–", value=p["rss_mb"], unit="MB",
                  peer_value=p["slapd_rss_mb"],
                  ratio_value=p["rss_mb"] / p["slapd_rss_mb"],
                  met_ok=(p["rss_mb"] <= p["slapd_rss_mb"]) if n >= 50000
                  else None)
        for key, what, peer in (
                ("search", "people search", "(e') LDAP per request, indexed "
                 "only (no title)"),
                ("counterparts", "counterparts", "(g') LDAP per request, "
                 "members with allocation rules")):
            w, lb, cpu = p[key]["w"], p[key]["peer"], p[key]["cpu"]
            if lb["searches"]:
                ratio = w["rate"] / lb["rate"]
                table.add("%s: %s, %d in flight: req/s" % (
                    tag, what, p["conns"]), "%.0f" % w["rate"], peer,
                    "%.1f" % lb["rate"], "%.1f× its rate" % ratio, "–", "–",
                    value=w["rate"], unit="req/s", peer_value=lb["rate"],
                    ratio_value=ratio)
                r99 = w["p99_us"] / max(lb["p99_us"], 1)
                table.add("%s: %s … p50 / p99" % (tag, what),
                          "%.2f / %.2f ms" % (w["p50_us"] / 1e3,
                                              w["p99_us"] / 1e3),
                          "(%s)" % peer.split(")")[0].lstrip("("),
                          "%.2f / %.2f ms" % (lb["p50_us"] / 1e3,
                                              lb["p99_us"] / 1e3),
                          ("%.3f× its p99" if r99 < 0.1 else "%.2f× its p99")
                          % r99, "–", "–",
                          value=[w["p50_us"] / 1e3, w["p99_us"] / 1e3],
                          unit="ms", peer_value=[lb["p50_us"] / 1e3,
                                                 lb["p99_us"] / 1e3],
                          ratio_value=r99)
            else:  # no search completed: no rate, no latency to compare
                none = "none completed in %.0f s" % lb.get("seconds", 0)
                table.add("%s: %s, %d in flight: req/s" % (
                    tag, what, p["conns"]), "%.0f" % w["rate"], peer, none,
                    "–", "–", "–", value=w["rate"], unit="req/s",
                    peer_value=0)
                table.add("%s: %s … p50 / p99" % (tag, what),
                          "%.2f / %.2f ms" % (w["p50_us"] / 1e3,
                                              w["p99_us"] / 1e3),
                          "(%s)" % peer.split(")")[0].lstrip("("), none,
                          "–", "–", "–",
                          value=[w["p50_us"] / 1e3, w["p99_us"] / 1e3],
                          unit="ms")
            b = base[key]["cpu"]["main_us_per_request"]
            us = cpu["main_us_per_request"]
            if p is base:
                table.add("%s: %s … request-thread CPU per request" % (
                          tag, what),
                          "%.0f µs" % us, "–", "–", "–", "–", "–", value=us,
                          unit="µs")
            else:
                # DESIGN.md: a counterpart lookup's CPU flat in the
                # directory's size (at 200,000 people <= 1.2x at 5,000).
                target = ("≤ %.1f× at %s" % (FLAT, format(base["people"], ","))
                          if key == "counterparts" else "–")
                table.add("%s: %s … request-thread CPU per request" % (
                          tag, what), "%.0f µs" % us, "stafetd at %s people" % format(
                              base["people"], ","), "%.0f µs" % b,
                          "%.2f× its cost" % (us / b),
                          target, yes(us / b <= FLAT) if target != "–"
                          else "–", value=us, unit="µs", peer_value=b,
                          ratio_value=us / b,
                          met_ok=(us / b <= FLAT) if target != "–" else None)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", default="5000,200000",
                    help="sizes to measure, comma-separated")
    ap.add_argument("--duration", type=int, default=5,
                    help="seconds of each load run (default 5)")
    ap.add_argument("--from", dest="reuse", default="",
                    help="directory_bench.py's JSON: its size's figures are "
                    "taken from there, not measured again")
    ap.add_argument("--ldapbench", default=os.path.join(REPO, "build", "bench",
                                                        "ldapbench"))
    ap.add_argument("--json", default="",
                    help="also write the rows as JSON to this file "
                    "(for bench/table.py)")
    args = ap.parse_args()
    for tool in ("wrk", "ldapsearch", args.ldapbench,
                 os.path.join(REPO, "build", "stafetd")):
        if not shutil.which(tool):
            sys.exit("bench: %s is missing (run `make bench`)" % tool)

    started = time.monotonic()
    load_before = open("/proc/loadavg").read().split()[:3]
    table = Table(section=SECTION)
    points, notes = [], []
    reused = None
    if args.reuse:
        try:
            with open(args.reuse, encoding="utf-8") as f:
                reused = json.load(f)["growth"]
        except (OSError, ValueError, KeyError) as e:
            log("cannot reuse %s (%s): its size is left out" % (args.reuse, e))
    if reused:
        points.append(reused)
        notes.append("%s people: from the directory benchmark's run "
                     "(%d s load runs), not measured again" % (
                         format(reused["people"], ","), reused["duration"]))
    for n in sorted(int(x) for x in args.people.split(",") if x.strip()):
        if reused and n == reused["people"]:
            continue
        t0 = time.monotonic()
        point, pnotes, timings = measure(n, args.duration, args.ldapbench)
        points.append(point)
        took = time.monotonic() - t0
        notes.append(
            "%s people: %.0f s in all (generate %.0f s, slapadd and start "
            "%.0f s, PostgreSQL and migrate %.0f s, stafetd start to first "
            "answer %.1f s, the two loads %.0f s)" % (
                format(n, ","), took, timings["generate"], timings["slapadd"],
                timings["postgres"], timings["start_to_answer"],
                timings["load"]))
        notes += ["%s people: %s" % (format(n, ","), x) for x in pnotes
                  if "errors" in x or "SIGTERM" in x or "in flight" in x]
    points.sort(key=lambda p: p["people"])
    rows(table, points)
    table.notes = notes
    print()
    print("Growth benchmark, %s people; %s" % (
        ", ".join(format(p["people"], ",") for p in points), machine()))
    print("Load runs of %d s at 16 in flight; load average before %s, after "
          "%s." % (args.duration, " ".join(load_before),
                   " ".join(open("/proc/loadavg").read().split()[:3])))
    print()
    print(table.render())
    print()
    for n in table.notes:
        print("- " + n)
    print("- total time %.0f s" % (time.monotonic() - started))
    table.write_json(args.json, "growth", {"people": args.people,
                                           "duration": args.duration},
                     started, load_before, {"points": points})


if __name__ == "__main__":
    main()
