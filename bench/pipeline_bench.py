#!/usr/bin/env python3
"""Notices: the receiving unit's pipeline with 5,000 notices stored, against
the bare SELECT on the same PostgreSQL (issue 22).

Usage: bench/pipeline_bench.py [--notices N] [--seconds S] [--json FILE]

Starts slapd (the demo directory), PostgreSQL and stafetd as
bench/handover_bench.py does, stores N notices (default 5,000) to UR from
BUR, their expected dates spread over the next 24 months (a fifth of them
acknowledged, a tenth cancelled), then measures
GET /api/v1/notices/pipeline?unit=UR&months=24 as Mette Hansen (UR) with
wrk at 8 and 32 connections for S seconds (default 8) against pgbench
running the pipeline's own SELECT (api/notices_import.c: counts by
expected month over the index on receiver_unit and expected_date) with as
many clients. The answer is checked against the SELECT's counts first.
Prints one table row per connection count: stafetd's requests per second,
the peer's transactions per second and the ratio, with p50/p99 of both.
"""

import argparse
import datetime
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import time  # noqa: E402

import handover_bench as hb  # noqa: E402
from directory_bench import Table, log, run_wrk  # noqa: E402

RECEIVER = ("mha", "demo")  # Mette Hansen, UR

# The daemon's query, with its parameters as pgbench variables.
PIPELINE_SQL = (
    "SELECT to_char(expected_date, 'YYYY-MM'), count(*), "
    "count(*) FILTER (WHERE acknowledged_at IS NOT NULL), "
    "count(*) FILTER (WHERE status = 'converted') FROM notices "
    "WHERE receiver_unit = 'UR' AND status <> 'cancelled' "
    "AND expected_date >= :first::date AND expected_date < :last::date GROUP BY 1;")


def seed(env, n):
    """n notices to UR, one citizen each, expected over the next 24 months."""
    env.psql(
        "INSERT INTO notices (id, ref, route, status, version, citizen, birthdate, "
        "sender_person, sender_unit, receiver_unit, expected_date, acknowledged_at, "
        "cancel_reason, created_at) "
        "SELECT gen_random_uuid(), 'VAR-BENCH-' || lpad(i::text, 6, '0'), 'BUR-UR', "
        "CASE WHEN i % 10 = 0 THEN 'cancelled' WHEN i % 5 = 0 THEN 'acknowledged' "
        "ELSE 'open' END, 1, "
        "jsonb_build_object('cpr', to_char(DATE '2010-01-01' + (i % 3650), 'DDMMYY') "
        "|| '-' || lpad((1000 + i % 9000)::text, 4, '0'), 'name', 'Bench ' || i), "
        "DATE '2010-01-01' + (i % 3650), 'bench', 'BUR', 'UR', "
        "current_date + (i % 720), "
        "CASE WHEN i % 5 = 0 AND i % 10 <> 0 THEN now() END, "
        "CASE WHEN i % 10 = 0 THEN 'bench' END, now() "
        "FROM generate_series(1, @COUNT@) AS i;".replace("@COUNT@", str(int(n))))
    env.psql("ANALYZE notices;")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notices", type=int, default=5000)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--json", help="write the rows as JSON here (bench/table.py's form)")
    args = ap.parse_args()
    started = time.monotonic()
    load_before = open("/proc/loadavg").read().split()[:3]
    table = Table(section=7)

    work = tempfile.mkdtemp(prefix="stafet-pipeline-")
    env = hb.Env(work, 0)
    rows = []
    try:
        env.start()
        seed(env, args.notices)
        token, _ = env.login(RECEIVER)
        path = "/api/v1/notices/pipeline?unit=UR&months=24"
        st, answer = env.api(token, "GET", path)
        if st != 200 or len(answer.get("months", [])) != 24:
            raise RuntimeError("%s answered %s: %s" % (path, st, str(answer)[:300]))
        first = answer["months"][0]["month"] + "-01"
        y, m = int(first[:4]), int(first[5:7]) + 24
        last = "%04d-%02d-01" % (y + (m - 1) // 12, (m - 1) % 12 + 1)
        sql = PIPELINE_SQL.replace(":first", "'%s'" % first).replace(":last", "'%s'" % last)
        peer = {}
        for line in env.psql(sql).splitlines():
            parts = line.split("|")
            if len(parts) == 4:
                peer[parts[0].strip()] = [int(p) for p in parts[1:]]
        got = {mo["month"]: [mo["expected"], mo["acknowledged"], mo["converted"]]
               for mo in answer["months"] if mo["expected"]}
        if got != peer:
            raise RuntimeError("stafetd and the SELECT disagree: %s vs %s" % (got, peer))
        total = sum(v[0] for v in got.values())
        log("pipeline: %d notices stored, %d in the 24 months counted; stafetd agrees "
            "with the SELECT" % (args.notices, total))
        script = os.path.join(work, "pipeline.sql")
        with open(script, "w") as f:  # -M prepared: :first and :last are parameters
            f.write(PIPELINE_SQL + "\n")
        defines = ["first=" + first, "last=" + last]
        paths = os.path.join(work, "paths.txt")
        with open(paths, "w") as f:
            f.write(path + "\n")
        for conns in (8, 32):
            extra = ["GET", token, "2"]
            run_wrk(env.d, paths, conns, 1, script="handovers.lua", extra=extra)
            w = run_wrk(env.d, paths, conns, args.seconds, script="handovers.lua",
                        extra=extra)
            env.pgbench(script, conns, 1, os.path.join(work, "pgb"), defines=defines)
            pb = env.pgbench(script, conns, args.seconds, os.path.join(work, "pgb"),
                             defines=defines)
            ratio = w["rate"] / pb["tps"] if pb["tps"] else float("inf")
            log("pipeline -c%d: stafetd %.0f req/s (p50 %.2f ms, p99 %.2f ms, errors %d); "
                "pgbench %.0f tps (p50 %.2f ms, p99 %.2f ms); %.2fx" % (
                    conns, w["rate"], w["p50_us"] / 1e3, w["p99_us"] / 1e3, w["errors"],
                    pb["tps"], pb["p50_us"] / 1e3, pb["p99_us"] / 1e3, ratio))
            table.add("pipeline, %d conns: req/s" % conns, "%.0f" % w["rate"],
                      "pgbench, the bare SELECT, -c %d" % conns, "%.0f" % pb["tps"],
                      "%.2f× its rate" % ratio, "–", "–", value=w["rate"], unit="req/s",
                      peer_value=pb["tps"], peer_unit="tps", ratio_value=ratio)
            rows.append({"connections": conns, "stafetd_rps": round(w["rate"]),
                         "stafetd_p50_ms": w["p50_us"] / 1e3,
                         "stafetd_p99_ms": w["p99_us"] / 1e3, "errors": w["errors"],
                         "pgbench_tps": round(pb["tps"]), "pgbench_p50_ms": pb["p50_us"] / 1e3,
                         "pgbench_p99_ms": pb["p99_us"] / 1e3, "ratio": round(ratio, 3)})
    finally:
        env.stop()
    print()
    print("| pipeline, %d notices | stafetd req/s | pgbench (the bare SELECT) tps | "
          "stafetd / pgbench | p50 / p99 ms (stafetd; pgbench) |" % args.notices)
    print("| --- | --- | --- | --- | --- |")
    for r in rows:
        print("| %d connections | %d | %d | %.2f× | %.2f / %.2f; %.2f / %.2f |" % (
            r["connections"], r["stafetd_rps"], r["pgbench_tps"], r["ratio"],
            r["stafetd_p50_ms"], r["stafetd_p99_ms"], r["pgbench_p50_ms"],
            r["pgbench_p99_ms"]))
    print("\n%s, load average %s" % (datetime.date.today().isoformat(),
                                     open("/proc/loadavg").read().split()[:3]))
    table.write_json(args.json, "pipeline", {"notices": args.notices, "seconds": args.seconds},
                     started, load_before)


if __name__ == "__main__":
    main()
