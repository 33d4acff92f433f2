#!/usr/bin/python3
"""Authenticated reads: the login check on every request, against /healthz.

Starts slapd with a generated directory of --people people, PostgreSQL and
stafetd as bench/directory_bench.py does (its functions, imported), logs
in, and measures with wrk (-t2 -c16, the same duration each) in rounds,
one after another in the same run:

  /healthz             no login check: the HTTP exchange alone (the peer)
  /api/v1/me           the login check and the person's JSON
  people search        bench/people.lua's paths with the Bearer token
                       (directory_anonymous_read = no: every search checks
                       the session)

Each round runs /healthz before and after each authenticated load, which
counts against the mean of the two (the machine may be shared, its load
moving within seconds). Each row: the rate, the ratio to that /healthz
rate (the median of the rounds') against the DESIGN.md target (>= 60 %),
and stafetd's CPU per request (/proc/PID/task/*/stat over the load run);
the notes add the ratio of /healthz's CPU per request to the load's, what
the rate ratio is on a daemon bound by its own CPU. With --binary
given more than once, each binary runs as its own daemon on the same slapd
and PostgreSQL and the rounds interleave them: old against new in the same
period. The time a logout takes to answer (it waits out the session
cache's lease, auth/session_cache.c) is measured too.

Called by bench/run.sh; rows as JSON (--json) for bench/table.py.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import directory_bench as db  # noqa: E402
from tests.harness.slapd import Slapd  # noqa: E402
from tests.harness.stafetd import Stafetd  # noqa: E402

TARGET = 0.60  # DESIGN.md Targets: authenticated read >= 60 % of /healthz


def wrk(d, paths, seconds, token=None, conns=16):
    """wrk -t2 -c16 with bench/people.lua over paths; the Bearer token as a
    header. Returns wrk's figures and stafetd's CPU per request."""
    cmd = ["wrk", "-t2", "-c%d" % conns, "-d%ds" % seconds, "--timeout", "5s",
           "-s", os.path.join(HERE, "people.lua")]
    if token:
        cmd += ["-H", "Authorization: Bearer " + token]
    cmd += [d.url, "--", paths]
    t0 = db.cpu_ticks(d.proc.pid)
    r = subprocess.run(cmd, capture_output=True, text=True,
                       timeout=seconds + 60)
    t1 = db.cpu_ticks(d.proc.pid)
    line = [x for x in r.stdout.splitlines() if x.startswith("WRK ")]
    if r.returncode != 0 or not line:
        raise RuntimeError("wrk failed: %s%s" % (r.stdout, r.stderr))
    v = {k: int(x) for k, x in (kv.split("=") for kv in line[0][4:].split())}
    v["rate"] = v["requests"] / (v["duration_us"] / 1e6)
    v["cpu"] = db.cpu_use(t0, t1, v["requests"])
    return v


def login(d):
    st, answer, _ = db.http_json(d.url + "/api/v1/session",
                                 {"username": db.LOGIN[0],
                                  "password": db.LOGIN[1]})
    if st != 201:
        raise RuntimeError("login answered %s: %s" % (st, answer))
    return answer["token"]


def logout_times(d, n=5):
    """Seconds from a logout's request to its 204, n times (fresh sessions,
    each used once first so that it is cached)."""
    out = []
    for _ in range(n):
        token = login(d)
        h = {"Authorization": "Bearer " + token}
        db.http_json(d.url + "/api/v1/me", headers=h)
        db.http_json(d.url + "/api/v1/me", headers=h)
        t0 = time.monotonic()
        req = db.urllib.request.Request(d.url + "/api/v1/session",
                                        method="DELETE", headers=h)
        with db.urllib.request.urlopen(req, timeout=10) as r:
            if r.status != 204:
                raise RuntimeError("logout answered %s" % r.status)
        out.append(time.monotonic() - t0)
    return out


def start_daemon(work, name, binary, settings, people):
    os.environ["STAFETD"] = binary  # the harness runs $STAFETD
    d = Stafetd(os.path.join(work, name), dict(settings))
    d.settings["directory_snapshot_file"] = os.path.join(work, name,
                                                         "directory.json")
    d.write_config()
    d.migrate()
    d.start(wait=False)
    d.wait_healthy(timeout=30)
    # (directory_bench's first_full_sync() asks /people without a session)
    db.wait_for(lambda: db.metrics(d).get("stafet_directory_snapshot_people",
                                          0) >= people, 180,
                "the first full sync", 0.05)
    return d


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, default=50000)
    ap.add_argument("--duration", type=int, default=8,
                    help="seconds of each load run (default 8)")
    ap.add_argument("--rounds", type=int, default=2,
                    help="rounds of the three loads (default 2)")
    ap.add_argument("--binary", action="append", default=[],
                    help="stafetd binary (default build/stafetd); given "
                    "more than once, the daemons' rounds interleave")
    ap.add_argument("--json", default="",
                    help="also write the rows as JSON to this file "
                    "(for bench/table.py)")
    ap.add_argument("--perf", default="",
                    help="also record a profile (perf record --call-graph "
                    "dwarf) of the first daemon under each authenticated "
                    "load, after the rounds: PERF-me.data, PERF-search.data")
    ap.add_argument("--keep", action="store_true",
                    help="keep the working directory")
    args = ap.parse_args()
    binaries = [os.path.abspath(b) for b in args.binary] or [
        os.path.join(db.REPO, "build", "stafetd")]
    for tool in ["wrk", *binaries]:
        if not shutil.which(tool):
            sys.exit("bench: %s is missing (run `make bench`)" % tool)

    started = time.monotonic()
    load_before = open("/proc/loadavg").read().split()[:3]
    work = tempfile.mkdtemp(prefix="stafet-authbench-")
    db.log("working in %s" % work)
    table = db.Table(section=8)
    slapd = pg = None
    daemons = []
    try:
        ldif, _ = db.generate(work, args.people)
        pwfile = os.path.join(work, "ldap.password")
        with open(pwfile, "w") as f:
            f.write(db.SERVICE_PASSWORD)
        os.chmod(pwfile, 0o600)
        slapd = Slapd(os.path.join(work, "slapd"), ldif=ldif)
        slapd.start(timeout=120)
        pg, db_settings = db.start_postgres(work)
        settings = db.stafetd_settings(work, slapd.uri, pwfile)
        settings.update(db_settings)
        settings["directory_anonymous_read"] = "no"  # searches check the session
        # No refresh during the loads: right after the bulk load every
        # refresh re-reads the entries in its overlap window, the whole
        # directory here (directory_bench's "(b*)" row), on another thread
        # whose CPU would count against every request.
        settings["directory_refresh_interval"] = "1h"
        for i, b in enumerate(binaries):
            daemons.append(start_daemon(work, "stafetd-%d" % i, b, settings,
                                        args.people))

        healthz = os.path.join(work, "healthz.txt")
        me = os.path.join(work, "me.txt")
        with open(healthz, "w") as f:
            f.write("/healthz\n")
        with open(me, "w") as f:
            f.write("/api/v1/me\n")
        search, _ = db.write_queries(work)
        loads = [("/healthz", healthz, False), ("/api/v1/me", me, True),
                 ("people search", search, True)]
        tokens = [login(d) for d in daemons]
        for d, t in zip(daemons, tokens):
            for _, paths, auth in loads:  # every path answers 200
                for p in open(paths).read().split():
                    st, body, _ = db.http_json(
                        d.url + p, headers={"Authorization": "Bearer " + t}
                        if auth else {})
                    if st != 200:
                        raise RuntimeError("%s answered %s: %s" % (p, st, body))
            for _, paths, auth in loads:  # warm-up, not counted
                wrk(d, paths, 1, t if auth else None)

        # Each round and daemon: /healthz before and after each of the
        # others, which count against the mean of the two (the machine is
        # shared: its load moves within seconds).
        res = [{name: [] for name, _, _ in loads} for _ in daemons]
        peer = [{name: [] for name, _, _ in loads} for _ in daemons]
        order = [loads[0]]
        for load in loads[1:]:
            order += [load, loads[0]]
        for rnd in range(args.rounds):
            for i, (d, t) in enumerate(zip(daemons, tokens)):
                prev_hz, pending = None, None
                for name, paths, auth in order:
                    w = wrk(d, paths, args.duration, t if auth else None)
                    res[i][name].append(w)
                    if name == loads[0][0]:
                        if pending:
                            peer[i][pending].append((prev_hz + w["rate"]) / 2)
                        prev_hz, pending = w["rate"], None
                    else:
                        pending = name
                    db.log("round %d, %s, %s: %.0f req/s, p99 %.2f ms, "
                           "errors %d, %.1f µs CPU per request" % (
                               rnd + 1, os.path.relpath(binaries[i]), name,
                               w["rate"], w["p99_us"] / 1e3, w["errors"],
                               w["cpu"]["us_per_request"]))
                    if w["errors"]:
                        table.notes.append("**%s, %s: %d errors in round %d**"
                                           % (binaries[i], name, w["errors"],
                                              rnd + 1))

        for what, paths in (("me", me), ("search", search)):
            if not args.perf:
                break
            d, t = daemons[0], tokens[0]
            out = "%s-%s.data" % (args.perf, what)
            rec = subprocess.Popen(["perf", "record", "-q", "--call-graph",
                                    "dwarf", "-F", "2000", "-o", out,
                                    "-p", str(d.proc.pid), "--", "sleep",
                                    str(max(args.duration - 2, 1))],
                                   stdout=subprocess.DEVNULL)
            wrk(d, paths, args.duration, t)
            rec.wait()
            db.log("profile of %s in %s" % (what, out))
        logouts = [logout_times(d) for d in daemons]
        for i, b in enumerate(binaries):
            label = "" if len(binaries) == 1 else " [%s]" % os.path.relpath(
                b, db.REPO)
            hz = res[i]["/healthz"]
            hz_rate = statistics.median(w["rate"] for w in hz)
            hz_cpu = statistics.median(w["cpu"]["us_per_request"] for w in hz)
            table.add("(h) /healthz: req/s, CPU per request%s" % label,
                      "%.0f/s, %.1f µs" % (hz_rate, hz_cpu), "–", "–", "–",
                      "(the peer)", "–", value=hz_rate, unit="req/s")
            for name, _, _ in loads[1:]:
                ws = res[i][name]
                rate = statistics.median(w["rate"] for w in ws)
                ratios = [w["rate"] / h for w, h in zip(ws, peer[i][name])]
                ratio = statistics.median(ratios)
                cpu = statistics.median(w["cpu"]["us_per_request"] for w in ws)
                p99 = statistics.median(w["p99_us"] for w in ws) / 1e3
                table.add("(h) %s with a session: req/s, CPU per request%s" % (
                    name, label), "%.0f/s, %.1f µs" % (rate, cpu),
                    "/healthz, same daemon and round", "%.0f/s, %.1f µs" % (
                        hz_rate, hz_cpu), "%.0f %% of its rate" % (100 * ratio),
                    "≥ %.0f %% of /healthz" % (100 * TARGET),
                    db.yes(ratio >= TARGET), value=rate, unit="req/s",
                    peer_value=hz_rate, ratio_value=ratio,
                    met_ok=ratio >= TARGET)
                main = statistics.median(w["cpu"]["main_us_per_request"]
                                         for w in ws)
                hz_main = statistics.median(w["cpu"]["main_us_per_request"]
                                            for w in hz)
                table.notes.append(
                    "%s%s: %s req/s in the rounds (ratios to the mean of the "
                    "/healthz runs before and after it: %s), p99 %.2f ms, CPU "
                    "%.1f µs per request, request thread %.1f (/healthz %.1f "
                    "and %.1f µs: the login check and the lookup add %.1f µs "
                    "of the request thread; on a daemon bound by that thread "
                    "its rate is %.0f %% of /healthz's)" % (
                        name, label, " / ".join("%.0f" % w["rate"] for w in ws),
                        " / ".join("%.2f" % r for r in ratios), p99, cpu, main,
                        hz_cpu, hz_main, main - hz_main, 100 * hz_main / main))
            table.notes.append("logout%s: answered in %s ms (p50 %.0f ms)" % (
                label, " / ".join("%.0f" % (1e3 * x) for x in logouts[i]),
                1e3 * statistics.median(logouts[i])))

        for d in daemons:
            rc = d.stop()
            if rc != 0:
                table.notes.append("**stafetd exited with %s at SIGTERM**" % rc)
        daemons = []
        print()
        print("Authenticated reads, %d people; %s" % (args.people,
                                                      db.machine()))
        print("wrk -t2 -c16 -d%ds, %d rounds; load average before %s, after "
              "%s." % (args.duration, args.rounds, " ".join(load_before),
                       " ".join(open("/proc/loadavg").read().split()[:3])))
        print()
        print(table.render())
        print()
        for n in table.notes:
            print("- " + n)
        table.write_json(args.json, "auth",
                         {"people": args.people, "duration": args.duration,
                          "rounds": args.rounds,
                          "binaries": [os.path.relpath(b, db.REPO)
                                       for b in binaries]},
                         started, load_before)
    finally:
        for d in daemons:
            try:
                d.stop()
            except Exception as e:  # report, but keep cleaning up
                db.log("stopping stafetd: %s" % e)
            db.log("stafetd log tail:\n" + d.log()[-2000:])
        if slapd is not None:
            slapd.stop()
        if pg is not None:
            pg.cleanup()
        if args.keep:
            db.log("kept %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
