#!/usr/bin/env python3
"""Two builds of stafetd, interleaved: people search and counterparts.

Usage: bench/ab.py OLD_BINARY NEW_BINARY [--people N] [--rounds R]
       [--seconds S] [--profile DIR]

Both daemons run at once against one slapd (the generated directory of
bench/directory_bench.py) and one PostgreSQL; each round measures them one
after the other, alternating which goes first, with wrk at 16 connections
(people search over bench/people.lua's queries; counterparts with a session
over bench/counterparts.lua's bodies) for S seconds each. A machine shared
with other work slows both alike: the figures are the requests per second
and stafetd's CPU time per request (all threads, from /proc) summed over
the rounds, and their ratio new / old. This is how a change that should
not change speed (issue 17, the layers) is checked against the build
before it; `make bench` is the benchmark of record.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import directory_bench as db  # noqa: E402
from tests.harness.slapd import Slapd  # noqa: E402
from tests.harness.stafetd import Stafetd  # noqa: E402


def start(binary, work, name, slapd_uri, pwfile, pg, people):
    settings = db.stafetd_settings(os.path.join(work, name), slapd_uri, pwfile)
    os.makedirs(os.path.join(work, name), exist_ok=True)
    settings.update(pg)
    os.environ["STAFETD"] = binary
    d = Stafetd(os.path.join(work, name), settings)
    d.migrate()
    db.first_full_sync(d, people)
    return d


def session(d):
    st, answer, _ = db.http_json(d.url + "/api/v1/session",
                                 {"username": db.LOGIN[0], "password": db.LOGIN[1]})
    if st != 201:
        raise RuntimeError("login answered %s: %s" % (st, answer))
    token = answer["token"]
    db.wait_for(lambda: db.http_json(
        d.url + "/api/v1/routes",
        headers={"Authorization": "Bearer " + token})[0] == 200, 30, "the routes")
    return token


def measure(d, what, arg, seconds, token):
    extra = [token] if token else []
    script = "counterparts.lua" if token else "people.lua"
    t0 = db.cpu_ticks(d.proc.pid)
    w = db.run_wrk(d, arg, 16, seconds, script=script, extra=extra)
    cpu = db.cpu_use(t0, db.cpu_ticks(d.proc.pid), w["requests"])
    if w["errors"]:
        raise RuntimeError("%s: %d errors" % (what, w["errors"]))
    return w["requests"], w["duration_us"] / 1e6, cpu["cpu_s"]


def profile(d, bodies, token, seconds, out):
    """Counterparts for `seconds` under perf record; the top of its report."""
    rec = subprocess.Popen(["perf", "record", "-q", "-F", "999", "-g", "-o", out,
                            "-p", str(d.proc.pid)], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        db.run_wrk(d, bodies, 16, seconds, script="counterparts.lua", extra=[token])
    finally:
        rec.send_signal(2)
        rec.wait(timeout=60)
    rep = subprocess.run(["perf", "report", "-i", out, "--no-children", "--stdio",
                          "--sort", "symbol", "-g", "none", "--percent-limit", "0.5"],
                         capture_output=True, text=True)
    lines = [ln for ln in rep.stdout.splitlines() if ln.strip() and not ln.startswith("#")]
    return "\n".join(lines[:25])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--people", type=int, default=50000)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--seconds", type=int, default=4)
    ap.add_argument("--profile", metavar="DIR",
                    help="sample each daemon with perf record afterwards")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="stafet-ab-")
    ldif, _ = db.generate(work, args.people)
    pwfile = os.path.join(work, "ldap.password")
    with open(pwfile, "w") as f:
        f.write(db.SERVICE_PASSWORD)
    os.chmod(pwfile, 0o600)
    slapd = Slapd(os.path.join(work, "slapd"), ldif=ldif)
    slapd.start(timeout=120)
    pg, pg_old = db.start_postgres(work)
    daemons = {}
    try:
        pg_new = db.new_database(pg, work)  # one PostgreSQL, a database each
        daemons["old"] = start(args.old, work, "old", slapd.uri, pwfile, pg_old,
                               args.people)
        daemons["new"] = start(args.new, work, "new", slapd.uri, pwfile, pg_new,
                               args.people)
        paths, _ = db.write_queries(work)
        bodies = os.path.join(work, "counterparts.txt")
        with open(bodies, "w", encoding="utf-8") as f:
            for route, citizen, kle in db.COUNTERPART_BODIES:
                f.write(json.dumps(db.counterpart_body(route, citizen, kle),
                                   ensure_ascii=False, separators=(",", ":")) + "\n")
        tokens = {k: session(d) for k, d in daemons.items()}
        for k, d in daemons.items():  # warm-up
            db.run_wrk(d, paths, 16, 1)
            db.run_wrk(d, bodies, 16, 1, script="counterparts.lua", extra=[tokens[k]])
        sums = {(k, w): [0, 0.0, 0.0] for k in daemons for w in ("search", "counterparts")}
        for r in range(args.rounds):
            order = ["old", "new"] if r % 2 == 0 else ["new", "old"]
            for what, arg in (("search", paths), ("counterparts", bodies)):
                for k in order:
                    tok = tokens[k] if what == "counterparts" else None
                    n, secs, cpu = measure(daemons[k], what, arg, args.seconds, tok)
                    s = sums[(k, what)]
                    s[0] += n
                    s[1] += secs
                    s[2] += cpu
                    db.log("round %d %s %s: %.0f req/s, %.1f µs CPU per request" % (
                        r + 1, what, k, n / secs, cpu * 1e6 / max(n, 1)))
        print()
        print("| figure | old | new | new / old |")
        print("| --- | --- | --- | --- |")
        for what in ("search", "counterparts"):
            o, n = sums[("old", what)], sums[("new", what)]
            ro, rn = o[0] / o[1], n[0] / n[1]
            co, cn = o[2] * 1e6 / o[0], n[2] * 1e6 / n[0]
            print("| %s, req/s | %.0f | %.0f | %.3f |" % (what, ro, rn, rn / ro))
            print("| %s, CPU µs per request | %.1f | %.1f | %.3f |" % (what, co, cn, cn / co))
        print("\n%d rounds of %d s each, %d people, load average %s" % (
            args.rounds, args.seconds, args.people,
            open("/proc/loadavg").read().split()[:3]))
        if args.profile:
            os.makedirs(args.profile, exist_ok=True)
            for k, d in daemons.items():
                out = os.path.join(args.profile, "perf-%s.data" % k)
                print("\n%s, counterparts, self time (%s):" % (k, out))
                print(profile(d, bodies, tokens[k], args.seconds, out))
    finally:
        for d in daemons.values():
            d.stop()
        slapd.stop()
        pg.stop()


if __name__ == "__main__":
    main()
