#!/usr/bin/python3
"""Quality report benchmark: GET /api/v1/reports/quality at 1,000 and at
100,000 notes, against the rollup SELECT it sends (pgbench) and the full
scan it replaced.

Starts slapd with the demo directory, PostgreSQL with a database of its
own and build/stafetd, all on 127.0.0.1 in a temporary directory
(tests/harness/), as bench/handover_bench.py does, and stores notes with
its bulk insert (bulk_notes: routes, units, statuses and two years of
filing dates), plus a 'return' event on every returned note and a notice
on every tenth accepted one: the first --small through the report's
triggers (migration 0015), the rest (when more than 5,000) without them
and then the migration's backfill over all. Then, at --small notes and
again at --notes:

  report        GET /api/v1/reports/quality (the default range: five
                quarters, the quality role: every note) as kmo, with wrk
                at 8 connections; p50/p99 and the CPU per request, against
                pgbench running the SELECT stafetd sends (report_items,
                api/reports.c) with 8 clients
  full scan     the SELECT stafetd sent before 0015 (the notes, each with
                its return and notice subqueries, and their flags), with
                pgbench at 2 clients, JIT on (PostgreSQL's default) and off

and prints one table: each figure against its peer, the ratio and the
target (p99 <= 20 ms at 100,000 notes; the p99 at 100,000 notes within
1.5x of the one at 1,000: the cost does not follow the number of notes).
The notes say whether the full scan's estimate starts JIT (jit_above_cost;
report_quality() has it off), how many rollup rows the range holds, and
what the triggers and the backfill cost the bulk insert.

Called by bench/run.sh; see bench/README.md."""

import argparse
import datetime
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)
sys.path.insert(0, HERE)

import handover_bench  # noqa: E402
from directory_bench import BASE, Table, log, machine, run_wrk, yes  # noqa: E402
from handover_bench import (RECEIVER, SENDER, CpuMeter, Env,  # noqa: E402
                            bulk_notes, bur_ur_note, wait_for)


def _settings_with_roles(*a, **kw):
    """handover_bench's stafetd settings, and the quality role's group (as
    tests/integration/test_auth.py names it), so that kmo sees every note."""
    s = _stafetd_settings(*a, **kw)
    s["directory_groups_base"] = '"ou=groups,%s"' % BASE
    s["role_quality_group"] = '"cn=stafet-quality,ou=groups,%s"' % BASE
    return s


_stafetd_settings = handover_bench.stafetd_settings
handover_bench.stafetd_settings = _settings_with_roles

QUALITY = ("kmo", "demo")  # the quality role: every note counts
TARGETS = {"p99_ms": 20.0, "growth": 1.5}


def c_string_sql(path, name):
    """The SQL of a `static const char name[] = "..." "...";` in a C file."""
    with open(path, encoding="utf-8") as f:
        src = f.read()
    m = re.search(r"static const char %s\[\] =\n(.*?);\n" % name, src, re.S)
    if not m:
        raise RuntimeError("%s not found in %s" % (name, path))
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1))
    return "".join(parts).replace('\\"', '"')


# The SELECT the report sent before migration 0015 (api/reports.c at
# 2083a54), for the full-scan rows: $1 from, $2 to, $3 route, $4 units,
# $5 the note limit plus one.
OLD_SQL_FILE = os.path.join(REPO, "tests", "integration", "test_reports_rollup.py")


def old_sql():
    with open(OLD_SQL_FILE, encoding="utf-8") as f:
        src = f.read()
    m = re.search(r"^OLD_SQL = \((.*?)\)\n", src, re.S | re.M)
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1))
    return "".join(parts).replace('\\"', '"')


def literal(sql, params):
    for k in sorted(params, reverse=True):  # $10 before $1
        sql = sql.replace(k, params[k])
    return sql


def extra_events(env):
    """A 'return' event on every returned note, a notice on every tenth
    accepted one (made 30-400 days before its acceptance), where missing."""
    env.psql("""
INSERT INTO handover_events (handover_id, at, by_person, action, from_status, to_status, version)
SELECT h.id, h.decided_at, h.sender_person, 'return', 'received', 'returned', h.version
FROM handovers h WHERE h.status = 'returned' AND NOT EXISTS (
    SELECT 1 FROM handover_events e WHERE e.handover_id = h.id AND e.action = 'return');
INSERT INTO notices (id, ref, route, status, version, citizen, sender_person, sender_unit,
    receiver_unit, expected_date, handover_id, created_at)
SELECT gen_random_uuid(), 'VAR-B-' || h.ref, h.route, 'converted', 2, '{}', h.sender_person,
    h.sender_unit, h.receiver_unit, h.decided_at::date, h.id,
    h.decided_at - (30 + (hashtext(h.ref) & 1023) %% 370) * interval '1 day'
FROM handovers h WHERE h.status = 'accepted' AND (hashtext(h.ref) & 2147483647) %% 10 = 0
  AND NOT EXISTS (SELECT 1 FROM notices n WHERE n.handover_id = h.id);
""".replace("%%", "%"))


def load(env, table, token, seconds, work, notes, label):
    """The report with wrk at 8 connections, the rollup SELECT with pgbench
    at 8 clients, the old full scan with pgbench at 2, JIT on and off."""
    path = "/api/v1/reports/quality"
    st, body = env.api(token, "GET", path)
    if st != 200 or not body.get("periods"):
        raise RuntimeError("%s answered %s: %s" % (path, st, str(body)[:300]))
    filed = sum(p["filed"] for p in body["periods"])
    params = {"$1": "'%s'::date" % body["from"], "$2": "'%s'::date" % body["to"],
              "$3": "NULL::text", "$4": "NULL::text[]", "$5": "0"}
    new_sql = literal(c_string_sql(os.path.join(REPO, "api", "reports.c"), "report_sql"),
                      params)
    full_sql = literal(old_sql(), dict(params, **{"$5": "200001"}))
    # the peer's figures are the report's: filed per period and route
    rows = env.psql("SELECT period, route, sum(c) FROM (%s) x WHERE k = 0 "
                    "GROUP BY 1, 2 ORDER BY period, route COLLATE \"C\";" % full_sql)
    got = ["%s|%s|%d" % (p["period"], p["route"], p["filed"]) for p in body["periods"]]
    if rows.split() != got:
        raise RuntimeError("the full scan and the report disagree at %d notes: %s / %s" % (
            notes, rows.split()[:4], got[:4]))
    full_cost = float(re.search(r"cost=[\d.]+\.\.([\d.]+)", env.psql(
        "EXPLAIN " + full_sql + ";")).group(1))
    jit_above = float(env.psql("SHOW jit_above_cost;").strip())
    items = env.psql(
        "SELECT count(*) FROM report_items WHERE bucket BETWEEN '%s' AND '%s';" % (
            body["from"], body["to"])).strip()
    table.notes.append(
        "%s: %d notes stored, %d of them in the report's default range %s..%s "
        "(%d periods); report_quality() runs with jit = off (its SET clause); the full "
        "scan's estimate %.0f against jit_above_cost %.0f: JIT %s for it; report_items "
        "holds %s rows (all grains) in the range" % (
            label, notes, filed, body["from"], body["to"], len(body["periods"]),
            full_cost, jit_above, "starts" if full_cost > jit_above else "does not start",
            items))

    pfile = os.path.join(work, "report-path.txt")
    with open(pfile, "w") as f:
        f.write(path + "\n")
    run_wrk(env.d, pfile, 8, 1, script="handovers.lua", extra=["GET", token, "2"])
    with CpuMeter(env.d, env.pg) as cpu:
        w = run_wrk(env.d, pfile, 8, seconds, script="handovers.lua",
                    extra=["GET", token, "2"])
    log("wrk report -c8 at %d notes: %.0f req/s, p50 %.2f ms, p99 %.2f ms, errors %d; %s" % (
        notes, w["rate"], w["p50_us"] / 1e3, w["p99_us"] / 1e3, w["errors"],
        cpu.text("wrk", w["requests"], w["duration_us"] / 1e6)))
    if w["errors"]:
        logged = [x for x in env.d.log().splitlines() if x.strip()][-3:]
        table.notes.append("**report at %d notes: %d errors (%s); stafetd's last log "
                           "lines: %s**" % (notes, w["errors"], w["error_kinds"],
                                            " / ".join(logged) or "none"))
    script = os.path.join(work, "report-rollup.sql")
    with open(script, "w") as f:
        f.write(new_sql + ";\n")
    env.pgbench(script, 8, 1, os.path.join(work, "pgb"))
    with CpuMeter(None, env.pg) as pcpu:
        pb = env.pgbench(script, 8, seconds, os.path.join(work, "pgb"))
    log("pgbench rollup SELECT -c8 at %d notes: %.0f tps, p50 %.2f ms, p99 %.2f ms; %s" % (
        notes, pb["tps"], pb["p50_us"] / 1e3, pb["p99_us"] / 1e3,
        pcpu.text("pgbench", pb["transactions"], seconds)))
    full = {}
    for jit in ("on", "off"):
        fscript = os.path.join(work, "report-full-%s.sql" % jit)
        with open(fscript, "w") as f:
            f.write("SET jit = %s;\n%s;\n" % (jit, full_sql))
        with CpuMeter(None, env.pg) as fcpu:
            full[jit] = env.pgbench(fscript, 2, seconds, os.path.join(work, "pgb"))
        full[jit]["cpu"] = fcpu
        log("pgbench full scan (jit %s) -c2 at %d notes: %.1f tps, p50 %.2f ms, p99 %.2f ms;"
            " %s" % (jit, notes, full[jit]["tps"], full[jit]["p50_us"] / 1e3,
                     full[jit]["p99_us"] / 1e3,
                     fcpu.text("pgbench", full[jit]["transactions"], seconds)))

    ms = (lambda us: us / 1e3)
    each = (lambda c, n, s: (c.main + c.other) * s / n * 1e3 if n else 0)
    pg_each = (lambda c, n, s: c.pg_share * s / n * 1e3 if n else 0)
    secs = w["duration_us"] / 1e6
    big = label == "large"
    table.add("report, %d notes, 8 conns: p50 / p99" % notes,
              "%.2f / %.2f ms" % (ms(w["p50_us"]), ms(w["p99_us"])),
              "pgbench, the rollup SELECT, -c 8",
              "%.2f / %.2f ms" % (ms(pb["p50_us"]), ms(pb["p99_us"])),
              "%.2f× its p99" % (w["p99_us"] / max(pb["p99_us"], 1)),
              "p99 ≤ %.0f ms" % TARGETS["p99_ms"] if big else "–",
              yes(ms(w["p99_us"]) <= TARGETS["p99_ms"]) if big else "–",
              section=9, value=[ms(w["p50_us"]), ms(w["p99_us"])], unit="ms",
              peer_value=[ms(pb["p50_us"]), ms(pb["p99_us"])],
              ratio_value=w["p99_us"] / max(pb["p99_us"], 1),
              met_ok=(ms(w["p99_us"]) <= TARGETS["p99_ms"]) if big else None)
    table.add("report, %d notes: req/s; CPU per request" % notes,
              "%.0f; stafetd %.2f + PostgreSQL %.2f ms" % (
                  w["rate"], each(cpu, w["requests"], secs),
                  pg_each(cpu, w["requests"], secs)),
              "(same)", "%.0f tps; PostgreSQL %.2f ms" % (
                  pb["tps"], pg_each(pcpu, pb["transactions"], seconds)),
              "%.2f× its rate" % (w["rate"] / pb["tps"] if pb["tps"] else 0), "–", "–",
              section=9, value=w["rate"], unit="req/s", peer_value=pb["tps"],
              peer_unit="tps", ratio_value=w["rate"] / pb["tps"] if pb["tps"] else None)
    for jit in ("on", "off"):
        f = full[jit]
        table.add("… the full scan it replaced (jit %s), -c 2: p50 / p99" % jit,
                  "%.1f / %.1f ms" % (ms(f["p50_us"]), ms(f["p99_us"])),
                  "the report's p99", "%.2f ms" % ms(w["p99_us"]),
                  "%.1f× the report's p99" % (f["p99_us"] / max(w["p99_us"], 1)),
                  "–", "–", section=9, value=[ms(f["p50_us"]), ms(f["p99_us"])],
                  unit="ms", peer_value=ms(w["p99_us"]),
                  ratio_value=f["p99_us"] / max(w["p99_us"], 1))
    table.notes.append(
        "%s: stafetd %d requests in %.1f s (%s); pgbench rollup SELECT %d transactions (%s); "
        "full scan jit on %d, jit off %d transactions (%s / %s)" % (
            label, w["requests"], secs, cpu.text("wrk", w["requests"], secs),
            pb["transactions"], pcpu.text("pgbench", pb["transactions"], seconds),
            full["on"]["transactions"], full["off"]["transactions"],
            full["on"]["cpu"].text("pgbench", full["on"]["transactions"], seconds),
            full["off"]["cpu"].text("pgbench", full["off"]["transactions"], seconds)))
    if big:
        changing(env, table, token, pfile, seconds, work, notes)
    return w


# The figures' version moves with every change of a filed note the report
# can see (0016); while notes change, a read after a change runs the
# rollup again. A flag set on a filed note at random is such a change.
CHANGE_SQL = """\\set r random(1, :nfiled)
INSERT INTO handover_flags (handover_id, version, section, kind, by_person)
SELECT id, version, :section, 'missing', sender_person FROM bench_filed WHERE n = :r;
"""


def changing(env, table, token, pfile, seconds, work, notes):
    """Rows: the report at 8 connections while notes change, once and ten
    times a second (pgbench -R setting flags on filed notes)."""
    env.psql("DROP TABLE IF EXISTS bench_filed; CREATE TABLE bench_filed AS "
             "SELECT row_number() OVER () AS n, id, version, sender_person FROM handovers "
             "WHERE first_submitted_at IS NOT NULL; CREATE INDEX ON bench_filed (n); "
             "ANALYZE bench_filed; ALTER TABLE bench_filed OWNER TO %s;" % env.db)
    nfiled = int(env.psql("SELECT count(*) FROM bench_filed;").strip())
    section = env.psql("SELECT section FROM handover_flags GROUP BY 1 ORDER BY count(*) DESC "
                       "LIMIT 1;").strip() or "samtykke"
    script = os.path.join(work, "report-change.sql")
    with open(script, "w") as f:
        f.write(CHANGE_SQL)
    for rate in (1, 10):
        out = {}

        def writer():
            out["pb"] = env.pgbench(script, 1, seconds + 1, os.path.join(work, "pgbw"),
                                    threads=1, rate=rate,
                                    defines=["nfiled=%d" % nfiled, "section=%s" % section])
        t = threading.Thread(target=writer)
        t.start()
        time.sleep(0.5)
        w = run_wrk(env.d, pfile, 8, seconds, script="handovers.lua",
                    extra=["GET", token, "2"])
        t.join()
        pb = out["pb"]
        log("wrk report -c8 at %d notes, %d changes a second: %.0f req/s, p50 %.2f ms, "
            "p99 %.2f ms, errors %d; %d changes (p99 %.2f ms)" % (
                notes, rate, w["rate"], w["p50_us"] / 1e3, w["p99_us"] / 1e3,
                w["errors"], pb["transactions"], pb["p99_us"] / 1e3))
        table.add("report, %d notes, 8 conns, a note changed %s: p50 / p99" % (
                      notes, "every second" if rate == 1 else "%d times a second" % rate),
                  "%.2f / %.2f ms" % (w["p50_us"] / 1e3, w["p99_us"] / 1e3),
                  "–", "–", "–", "–", "–", section=9,
                  value=[w["p50_us"] / 1e3, w["p99_us"] / 1e3], unit="ms")
        table.notes.append(
            "report while notes change, %d a second: %d reads at %.0f/s, %d changes "
            "(a flag on a filed note at random, pgbench -R %d), errors %d%s" % (
                rate, w["requests"], w["rate"], pb["transactions"], rate, w["errors"],
                " (%s)" % w["error_kinds"] if w["errors"] else ""))
    env.psql("DROP TABLE bench_filed;")


TRIGGERS = handover_bench.REPORT_TRIGGERS
backfill_sql = handover_bench.report_backfill_sql


def store(env, n, members, seed_id, triggers):
    """n more notes, through the report's triggers or (triggers=False) with
    them off and then the migration's backfill over every note."""
    t0 = time.monotonic()
    if not triggers:
        env.psql("".join("ALTER TABLE %s DISABLE TRIGGER %s;" % t for t in TRIGGERS))
    _, stats, t_ins, t_vac = bulk_notes(env, n, members, seed_id)
    extra_events(env)
    t_fill = 0.0
    if not triggers:
        env.psql("".join("ALTER TABLE %s ENABLE TRIGGER %s;" % t for t in TRIGGERS))
        t1 = time.monotonic()
        env.psql("BEGIN; TRUNCATE report_notes, report_dists, report_deltas;\n" + backfill_sql() +
                 "\nCOMMIT;")
        t_fill = time.monotonic() - t1
    env.psql("VACUUM ANALYZE;")
    items = env.psql("SELECT count(*) FROM report_items;").strip()
    log("stored %d notes in %.1f s (insert %.1f s %s; backfill %.1f s); report_items %s rows"
        % (n, time.monotonic() - t0, t_ins, "through the triggers" if triggers else
           "without them", t_fill, items))
    return t_ins, t_fill, items


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", type=int, default=1000, help="notes at the first run")
    ap.add_argument("--notes", type=int, default=100000, help="notes at the second run")
    ap.add_argument("--duration", type=int, default=8,
                    help="seconds of each load run (default 8)")
    ap.add_argument("--keep", action="store_true", help="keep the working directory")
    ap.add_argument("--json", default="",
                    help="also write the rows as JSON to this file (for bench/table.py)")
    args = ap.parse_args()

    for tool in ("wrk", os.path.join(REPO, "build", "stafetd")):
        if not shutil.which(tool):
            sys.exit("bench: %s is missing (run `make bench`)" % tool)
    started = time.monotonic()
    load_before = open("/proc/loadavg").read().split()[:3]
    work = tempfile.mkdtemp(prefix="stafet-rbench-")
    os.chmod(work, 0o755)
    log("working in %s" % work)
    table = Table(section=9)
    env = Env(work, 0)
    try:
        env.start()
        s_token, s_me = env.login(SENDER)
        r_token, r_me = env.login(RECEIVER)
        q_token, _ = env.login(QUALITY)
        wait_for(lambda: env.api(s_token, "GET", "/api/v1/routes")[0] == 200, 30, "the routes")
        st, template = env.api(s_token, "GET", "/api/v1/templates/BUR-UR")
        st, units = env.api(s_token, "GET", "/api/v1/units")
        codes = []

        def walk(u):
            codes.append(u["code"])
            for c in u.get("children", []):
                walk(c)
        for u in units["items"]:
            walk(u)
        members = {}
        for code in codes:
            st, unit = env.api(s_token, "GET", "/api/v1/units/" + urllib.parse.quote(code))
            members[code] = [p["id"] for p in unit.get("members", [])]
        st, seed = env.api(s_token, "POST", "/api/v1/handovers",
                           bur_ur_note(datetime.date.today(), r_me["id"], template))
        if st != 201:
            raise RuntimeError("POST /api/v1/handovers: %s %s" % (st, seed))

        t_small, _, items_small = store(env, args.small, members, seed["id"], True)
        small = load(env, table, q_token, args.duration, work, args.small, "small")
        t_big, t_fill, items_big = store(env, args.notes - args.small, members, seed["id"],
                                         args.notes - args.small <= 5000)
        big = load(env, table, q_token, args.duration, work, args.notes, "large")
        growth = big["p99_us"] / max(small["p99_us"], 1)
        table.add("report p99, %d / %d notes" % (args.notes, args.small), "%.2f×" % growth,
                  "–", "–", "–", "≤ %.1f×" % TARGETS["growth"],
                  yes(growth <= TARGETS["growth"]), section=9, value=growth, unit="×",
                  met_ok=growth <= TARGETS["growth"])
        table.notes.append(
            "report_items: %s rows at %d notes, %s at %d. The first %d notes went in through "
            "the report's triggers (bench/handover_bench.py's bulk_notes: %.1f s); the other "
            "%d %s" % (
                items_small, args.small, items_big, args.notes, args.small, t_small,
                args.notes - args.small,
                "through them too (%.1f s)" % t_big if not t_fill else
                "without them (%.1f s), then migration 0015's backfill over all %d (%.1f s, "
                "as on an existing database)" % (t_big, args.notes, t_fill)))
        d = env.d
        rc = env.stop()
        if rc != 0:
            table.notes.append("**stafetd exited with %s at SIGTERM**" % rc)
        logged = [x for x in d.log().splitlines() if x.strip()]
        if logged:
            table.notes.append("stafetd logged (warning and up) %d lines, the last: %s" % (
                len(logged), logged[-1]))
        print()
        print("Quality report benchmark, %d and %d notes; %s" % (args.small, args.notes,
                                                                 machine()))
        rev = subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty"],
                             capture_output=True, text=True).stdout.strip() or "?"
        print("stafetd built from %s. PostgreSQL as tests/harness/pg.py runs it; load "
              "average before %s, after %s." % (
                  rev, " ".join(load_before),
                  " ".join(open("/proc/loadavg").read().split()[:3])))
        print()
        print(table.render())
        print()
        for n in table.notes:
            print("- " + n)
        print("- total time %.0f s" % (time.monotonic() - started))
        table.write_json(args.json, "report", {"small": args.small, "notes": args.notes,
                                               "duration": args.duration},
                         started, load_before)
    finally:
        if env.d is not None:
            log("stafetd log tail:\n" + env.d.log()[-3000:])
        env.stop()
        if args.keep:
            log("kept %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
