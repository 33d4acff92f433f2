#!/usr/bin/python3
"""What the quality report's triggers (migration 0015) cost the writes of
notes that share a rollup key (filed the same day on the same route and
units, the case of every submit in bench/handover_bench.py).

Starts the stack as bench/report_bench.py does, copies --drafts drafts of
one seed note and then runs, with pgbench at --clients clients, rounds of
two scripts, each once with the report's triggers enabled and once with
them disabled (interleaved, the same period):

  submit   the writes of a submit: the draft's row to 'submitted' (its
           first filing) and its 'submit' event, each draft once
  toggle   the acceptance of one of --hot filed notes switched on or off
           (the note's accepted and working-days figures move)

and prints tps and the backend CPU per transaction with and without the
triggers, and their ratio. See bench/README.md, the quality report."""

import argparse
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import report_bench  # noqa: E402,F401  (the quality role's settings)
from directory_bench import log  # noqa: E402
from handover_bench import (RECEIVER, SENDER, CpuMeter, Env,  # noqa: E402
                            bur_ur_note, make_drafts, wait_for)
import datetime  # noqa: E402

SUBMIT = """\\set total %(total)d
SELECT id AS nid FROM bench_w WHERE n = (SELECT nextval('bench_w_seq') %% :total + 1) \\gset
BEGIN;
UPDATE handovers SET status = 'submitted', version = version + 1, updated_at = clock_timestamp(),
    submitted_at = clock_timestamp(),
    first_submitted_at = COALESCE(first_submitted_at, clock_timestamp())
    WHERE id = :nid RETURNING version AS v \\gset
INSERT INTO handover_events (handover_id, at, by_person, action, from_status, to_status, version)
    SELECT :nid, clock_timestamp(), sender_person, 'submit', 'draft', 'submitted', :v
    FROM handovers WHERE id = :nid;
COMMIT;
"""

TOGGLE = """\\set i random(1, %(hot)d)
SELECT id AS nid FROM bench_hot WHERE n = :i \\gset
UPDATE handovers SET
    status = CASE status WHEN 'accepted' THEN 'received' ELSE 'accepted' END,
    decided_at = CASE status WHEN 'accepted' THEN NULL ELSE clock_timestamp() END
    WHERE id = :nid;
"""


def triggers(env, on):
    """Every trigger of migration 0015 (report_*) enabled or disabled."""
    rows = env.psql("SELECT tgrelid::regclass || ' ' || tgname FROM pg_trigger "
                    "WHERE tgname LIKE 'report\\_%';")
    env.psql("".join("ALTER TABLE %s %s TRIGGER %s;" % (t.split()[0], "ENABLE" if on else
                                                         "DISABLE", t.split()[1])
                     for t in rows.splitlines() if t.strip()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--drafts", type=int, default=60000)
    ap.add_argument("--hot", type=int, default=200)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="stafet-rwbench-")
    os.chmod(work, 0o755)
    env = Env(work, 0)
    try:
        env.start()
        s_token, s_me = env.login(SENDER)
        r_token, r_me = env.login(RECEIVER)
        wait_for(lambda: env.api(s_token, "GET", "/api/v1/routes")[0] == 200, 30, "the routes")
        st, template = env.api(s_token, "GET", "/api/v1/templates/BUR-UR")
        st, seed = env.api(s_token, "POST", "/api/v1/handovers",
                           bur_ur_note(datetime.date.today(), r_me["id"], template))
        if st != 201:
            raise RuntimeError("POST /api/v1/handovers: %s %s" % (st, seed))
        _, ids = make_drafts(env, seed["id"], args.drafts + args.hot, work, "w")
        hot, ids = ids[:args.hot], ids[args.hot:]
        env.psql("CREATE TABLE bench_hot (n int PRIMARY KEY, id uuid NOT NULL);"
                 "INSERT INTO bench_hot SELECT row_number() OVER (ORDER BY id), id FROM "
                 "handovers WHERE id = ANY ('{%s}'::uuid[]);"
                 "UPDATE handovers SET status = 'received', first_submitted_at = now(), "
                 "submitted_at = now() WHERE id IN (SELECT id FROM bench_hot);"
                 "CREATE TABLE bench_w (n int PRIMARY KEY, id uuid NOT NULL);"
                 "INSERT INTO bench_w SELECT row_number() OVER (ORDER BY id), id FROM "
                 "handovers WHERE id = ANY ('{%s}'::uuid[]);"
                 "CREATE SEQUENCE bench_w_seq;"
                 "GRANT ALL ON bench_hot, bench_w, bench_w_seq TO %s; VACUUM ANALYZE;"
                 % (",".join(hot), ",".join(ids), env.db))
        scripts = {}
        for name, text in (("submit", SUBMIT % {"total": len(ids)}),
                           ("toggle", TOGGLE % {"hot": args.hot})):
            scripts[name] = os.path.join(work, name + ".sql")
            with open(scripts[name], "w") as f:
                f.write(text)
        res = {}
        for rnd in range(args.rounds):
            for name in ("submit", "toggle"):
                for on in ((True, False) if rnd % 2 == 0 else (False, True)):
                    triggers(env, on)
                    with CpuMeter(None, env.pg) as cpu:
                        pb = env.pgbench(scripts[name], args.clients, args.duration,
                                         os.path.join(work, "pgb"))
                    r = res.setdefault((name, on), [0, 0.0, [], []])
                    r[0] += pb["transactions"]
                    r[1] += args.duration
                    r[2].append(pb["p99_us"] / 1e3)
                    r[3].append(cpu.text("pgbench", pb["transactions"], args.duration))
                    log("round %d %s triggers %s: %.0f tps, p99 %.1f ms, failed %s; %s" % (
                        rnd, name, "on" if on else "off", pb["transactions"] / args.duration,
                        pb["p99_us"] / 1e3, pb.get("failed", 0),
                        cpu.text("pgbench", pb["transactions"], args.duration)))
        if env.psql("SELECT to_regclass('report_deltas') IS NOT NULL;").strip() == "t":
            log("report_deltas rows left: %s" % env.psql(
                "SELECT count(*) FROM report_deltas;").strip())
        print()
        print("pgbench -c%d, %d rounds of %d s, load %s" % (
            args.clients, args.rounds, args.duration, open("/proc/loadavg").read().split()[:3]))
        for name in ("submit", "toggle"):
            on, off = res[(name, True)], res[(name, False)]
            ton, toff = on[0] / on[1], off[0] / off[1]
            print("%-7s with triggers %6.0f tps (p99 %s ms), without %6.0f tps (p99 %s ms): "
                  "%.0f %%" % (name, ton, "/".join("%.0f" % x for x in on[2]), toff,
                               "/".join("%.0f" % x for x in off[2]), 100 * ton / toff))
            print("         CPU with: %s | without: %s" % (on[3][-1], off[3][-1]))
    finally:
        env.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
