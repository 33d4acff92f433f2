#!/usr/bin/python3
"""Handover benchmark: stafetd's submit and incoming list against pgbench.

Starts slapd with the demo directory (tests/fixtures/demo.ldif, 200
people), PostgreSQL with a database of its own and build/stafetd, all on
127.0.0.1 in a temporary directory (tests/harness/), and prints one table;
each row a figure, the peer's figure in the same run, the ratio stafetd /
peer, the DESIGN.md target and whether it is met:

  incoming list      100,000 notes bulk-inserted with SQL (a few thousand
                     of them incoming to UR), VACUUM ANALYZE, then
                     GET /api/v1/handovers?box=incoming&limit=50 as mha (UR)
                     with wrk at 8 and 32 connections, first page and the
                     next one by its cursor, vs pgbench running the same
                     SELECT with as many clients
  submit             drafts of a complete BUR-UR note (one made through the
                     API, the rest copied from it in SQL), then
                     POST /api/v1/handovers/{id}/submit as sbo (BUR), each
                     draft once, with wrk at 32 connections, vs pgbench
                     (-c 32 -j 2 -M prepared) running one transaction with
                     the same writes (the note's row, a version, an event,
                     an outbox row, an audit row)

The list is measured first (UR's box then holds only the stored notes;
every submit adds one) but the table shows submit first, as DESIGN.md
does. For each load run the notes give the CPU that stafetd, PostgreSQL
and the load generator used, in all and per request.

Called by bench/run.sh after the directory benchmark; see bench/README.md
for what each row means.
"""

import argparse
import datetime
import glob
import json
import os
import re
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)
sys.path.insert(0, HERE)

from tests.harness.pg import Postgres  # noqa: E402
from tests.harness.slapd import Slapd  # noqa: E402
from tests.harness.stafetd import Stafetd  # noqa: E402

# The directory benchmark's helpers: the table, HTTP, wrk, the machine.
from directory_bench import (Table, http_get, http_json, log, machine,  # noqa: E402
                             proc_status, run_wrk, stafetd_settings, wait_for,
                             yes)

SERVICE_PASSWORD = "stafetd-demo"
SENDER = ("sbo", "demo")    # Søren Bøgh, BUR: the sending unit of BUR-UR
RECEIVER = ("mha", "demo")  # Mette Hansen, UR: the receiving unit

TARGETS = {
    "submit_rate": 1000.0,     # notes/s with 32 clients
    "submit_share": 0.5,       # of pgbench's rate for the same writes
    "list_p99_ms": 10.0,       # incoming/outgoing list, 100,000 notes
}

# GET /api/v1/handovers?box=incoming&limit=50: the SELECT stafetd runs,
# handover_list()'s query (schema/sql/0014_list_submit.sql, read from the
# file so that the two cannot drift apart), with mha's acting units ({UR})
# and no status or route filter, as a pgbench script: :lim, and on the
# cursor page :cur_us/:cur_id. The driver also checks that both return the
# same notes in the same order. The peer runs the bare SELECT: not the
# audit row handover_list() writes first.
def list_sql(cursor):
    text = open(os.path.join(REPO, "schema", "sql", "0014_list_submit.sql")).read()
    body = text[text.index("RETURN QUERY") + len("RETURN QUERY"):]
    body = body[:body.index(";\nEND")].strip()
    subs = {
        "p_units": "'{UR}'::text[]", "p_statuses": "NULL::text[]",
        "p_route": "NULL::text", "p_limit": ":lim::int", "p_person": "NULL::text",
        "inc": "true", "outg": "false", "drafts": "false",
        "cur_at": ("('epoch'::timestamptz + :cur_us::bigint * interval '1 microsecond')"
                   if cursor else "'infinity'::timestamptz"),
        "cur_id": (":cur_id::uuid" if cursor
                   else "'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid"),
    }
    for k, v in subs.items():
        body = re.sub(r"\b%s\b" % k, lambda m: v, body)
    return body + ";"


# --- small helpers ------------------------------------------------------------


def thread_ticks(pid):
    """(ticks of pid's main thread, of its other threads)."""
    main = rest = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        t = int(fields[11]) + int(fields[12])
        if int(tid) == pid:
            main += t
        else:
            rest += t
    return main, rest


def machine_ticks():
    with open("/proc/stat") as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    return sum(cpu) - cpu[3] - cpu[4], sum(cpu)


def pg_ticks(pg):
    """CPU ticks of the PostgreSQL server so far: the postmaster, the
    processes it runs now (backends, writers) and those it has reaped
    (cutime + cstime), so that backends coming and going between two
    samples are counted."""
    top = pg.pid
    total = 0
    try:
        with open("/proc/%d/stat" % top) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += sum(int(x) for x in fields[11:15])
    except (OSError, TypeError):
        return 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == top:
            total += int(fields[11]) + int(fields[12])
    return total


class CpuMeter:
    """Who used the CPU during one load run, in shares of one core:
    stafetd's request thread and its other threads, PostgreSQL (all its
    processes), the load generator (this script's children), the machine."""

    def __init__(self, d, pg):
        self.d, self.pg = d, pg

    def __enter__(self):
        self.t0 = (thread_ticks(self.d.proc.pid) if self.d else (0, 0),
                   pg_ticks(self.pg), machine_ticks(),
                   resource.getrusage(resource.RUSAGE_CHILDREN))
        return self

    def __exit__(self, *exc):
        t1 = (thread_ticks(self.d.proc.pid) if self.d else (0, 0),
              pg_ticks(self.pg), machine_ticks(),
              resource.getrusage(resource.RUSAGE_CHILDREN))
        hz = os.sysconf("SC_CLK_TCK")
        ncpu = os.cpu_count() or 1
        wall = (t1[2][1] - self.t0[2][1]) / ncpu  # ticks of one core
        share = (lambda ticks: ticks / wall if wall else 0)
        self.main = share(t1[0][0] - self.t0[0][0])
        self.other = share(t1[0][1] - self.t0[0][1])
        self.pg_share = share(t1[1] - self.t0[1])
        ru0, ru1 = self.t0[3], t1[3]
        self.client = share((ru1.ru_utime + ru1.ru_stime - ru0.ru_utime -
                             ru0.ru_stime) * hz)
        self.busy = ((t1[2][0] - self.t0[2][0]) / (t1[2][1] - self.t0[2][1])
                     if t1[2][1] > self.t0[2][1] else 0)
        return False

    def text(self, client, count=0, seconds=0):
        """The shares; with count (requests or transactions in seconds),
        also the CPU time each one cost stafetd and PostgreSQL."""
        parts = []
        if self.d:
            parts.append("stafetd request thread %.0f %%, its other threads "
                         "%.0f %%" % (100 * self.main, 100 * self.other))
        parts.append("PostgreSQL %.0f %%" % (100 * self.pg_share))
        parts.append("%s %.0f %%" % (client, 100 * self.client))
        out = "CPU (shares of one core): %s; the machine %.0f %% busy" % (
            ", ".join(parts), 100 * self.busy)
        if count and seconds:
            each = seconds / count * 1e3  # ms of one core per request
            per = []
            if self.d:
                per.append("stafetd %.2f ms" % ((self.main + self.other) *
                                                each))
            per.append("PostgreSQL %.2f ms" % (self.pg_share * each))
            out += "; CPU per request: " + ", ".join(per)
        return out


def percentile(sorted_values, q):
    if not sorted_values:
        return 0.0
    k = min(len(sorted_values) - 1, max(0, int(round(q / 100.0 * (len(
        sorted_values) - 1)))))
    return sorted_values[k]


# --- the servers ------------------------------------------------------------------


class Env:
    """slapd (demo directory), PostgreSQL (a database and role of its
    own) and stafetd, as the bench runs them."""

    def __init__(self, work, pool_size):
        self.work = work
        self.pool_size = pool_size
        self.slapd = self.pg = self.d = None

    def start(self):
        t0 = time.monotonic()
        pw = os.path.join(self.work, "ldap.password")
        with open(pw, "w") as f:
            f.write(SERVICE_PASSWORD)
        os.chmod(pw, 0o600)
        self.slapd = Slapd(os.path.join(self.work, "slapd"))  # demo.ldif
        self.slapd.start(timeout=60)
        self.pg = Postgres()
        self.pg.start()
        self.db = "stafet_hbench_" + secrets.token_hex(3)
        self.db_password = secrets.token_urlsafe(16)
        self.pg.create_role(self.db, password=self.db_password)
        self.pg.create_database(self.db, owner=self.db)
        dbpw = os.path.join(self.work, "db.password")
        with open(dbpw, "w") as f:
            f.write(self.db_password + "\n")
        os.chmod(dbpw, 0o600)
        settings = stafetd_settings(self.work, self.slapd.uri, pw)
        settings.update({
            "directory_anonymous_read": "no",
            "directory_reconcile_interval": "1h",
            "db_conninfo": '"%s"' % self.pg.conninfo(self.db, user=self.db),
            "db_password_file": dbpw,
        })
        if self.pool_size:
            settings["db_pool_size"] = str(self.pool_size)
        self.d = Stafetd(os.path.join(self.work, "stafetd"), settings)
        self.d.migrate()
        self.d.start(wait=False)
        self.d.wait_healthy(timeout=30)
        wait_for(lambda: http_get(self.d.url + "/readyz")[0] == 200, 60,
                 "stafetd ready (database and first snapshot)", 0.1)
        log("slapd, PostgreSQL and stafetd up in %.1f s (%s)" % (
            time.monotonic() - t0, self.d.url))

    def psql(self, sql):
        return self.pg.psql(sql, dbname=self.db)

    def login(self, who):
        st, answer, _ = http_json(self.d.url + "/api/v1/session",
                                  {"username": who[0], "password": who[1]})
        if st != 201:
            raise RuntimeError("login as %s answered %s: %s" % (who[0], st,
                                                               answer))
        return answer["token"], answer["user"]

    def api(self, token, method, path, body=None):
        """(status, parsed answer) of one authenticated call."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.d.url + path, data=data, method=method,
            headers={"Authorization": "Bearer " + token,
                     "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                raw, status = r.read(), r.status
        except urllib.error.HTTPError as e:
            raw, status = e.read(), e.code
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw

    def pgbench(self, script, clients, seconds, logdir, threads=2, defines=(),
                rate=0):
        """pgbench -M prepared with a custom script, as the database's own
        role over TCP (as stafetd connects); returns tps, transactions and
        latency percentiles from the per-transaction log."""
        shutil.rmtree(logdir, ignore_errors=True)
        os.makedirs(logdir)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["PGPASSWORD"] = self.db_password
        cmd = [os.path.join(self.pg.bindir, "pgbench"), "-n", "-M", "prepared",
               "-c", str(clients), "-j", str(threads), "-T", str(seconds),
               "-f", script, "-l", "--log-prefix", os.path.join(logdir, "tx"),
               "-h", self.pg.host, "-p", str(self.pg.port), "-U", self.db]
        for d in defines:
            cmd += ["-D", d]
        if rate:  # transactions per second, in all (pgbench -R)
            cmd += ["-R", str(rate)]
        cmd.append(self.db)
        r = subprocess.run(cmd, capture_output=True, text=True,
                           timeout=seconds + 120, env=env, cwd=logdir)
        out = r.stdout + r.stderr
        if r.returncode != 0:
            raise RuntimeError("pgbench failed (%d): %s" % (r.returncode, out))
        lat, failed = [], 0
        for path in glob.glob(os.path.join(logdir, "tx*")):
            with open(path) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) >= 3:
                        if parts[2] == "failed":
                            failed += 1
                        elif parts[2].isdigit():
                            lat.append(int(parts[2]))
        lat.sort()
        m = re.search(r"tps = ([\d.]+) \(without initial connection time\)",
                      out)
        n = re.search(r"number of transactions actually processed: (\d+)", out)
        return {"tps": float(m.group(1)) if m else 0.0,
                "transactions": int(n.group(1)) if n else len(lat),
                "p50_us": percentile(lat, 50), "p99_us": percentile(lat, 99),
                "failed": failed, "output": out}

    def stop(self):
        rc = None
        if self.d is not None:
            try:
                rc = self.d.stop()
            except Exception as e:  # report, but keep cleaning up
                log("stopping stafetd: %s" % e)
            self.d = None
        if self.slapd is not None:
            self.slapd.stop()
            self.slapd = None
        if self.pg is not None:
            self.pg.cleanup()
            self.pg = None
        return rc


# --- a valid note -------------------------------------------------------------------


def add_months(d, months):
    y, m = divmod(d.month - 1 + months, 12)
    return d.replace(year=d.year + y, month=m + 1, day=min(d.day, 28))


def bur_ur_note(today, receiver_id, template):
    """A complete BUR-UR note that passes every check at submit: a placed
    17-year-old (so every conditional section is required), the planned
    date 60 days ahead, the ungeplan decided a month after the 16th
    birthday, support after 18 seven months before the 18th."""
    birth = add_months(today, -12 * 17 - 2)
    cpr = birth.strftime("%d%m%y") + "-4123"
    keys = {s["key"] for s in template["sections"]}
    sections = {
        "situation": "Den unge går i 10. klasse og afslutter grundskolen til "
                     "sommer; bor i plejefamilie i Odense og trives der.",
        "background": "Anbragt i plejefamilie siden 2019 efter en periode med "
                      "forebyggende foranstaltninger; skoleskift i 7. klasse.",
        "assessment": "Ressourcestærk, men sårbar ved skift; har brug for en "
                      "fast kontaktperson i overgangen til ungdomsuddannelse.",
        "youth_voice": "Den unge ønsker at starte på en erhvervsuddannelse og "
                       "har selv deltaget i at skrive planen og denne "
                       "overdragelse.",
        "placed": True,
        "goals": [{"area": a, "goal": "Konkret mål for %s, aftalt med den "
                   "unge og plejefamilien" % label,
                   "timeframe": "Inden udgangen af %d" % (today.year + 1)}
                  for a, label in (("uddannelse", "uddannelse"),
                                   ("beskaeftigelse", "beskæftigelse"),
                                   ("bolig", "bolig"),
                                   ("oekonomi", "økonomi"))],
        "own_room": "Kan lave mad og handle selv; mangler erfaring med budget "
                    "og regninger.",
        "ungeplan": {"date": add_months(birth, 12 * 16 + 1).isoformat(),
                     "text": "Ungeplan vedtaget med fokus på uddannelse."},
        "support_after_18": {"date": add_months(birth, 12 * 18 - 7).isoformat(),
                             "text": "Efterværn med kontaktperson til 23 år."},
        "education_plan": "Uddannelsesplan: EUD grundforløb 1; UU-vejlederen "
                          "følger op hvert kvartal.",
        "consent": {"basis": "consent",
                    "date": (today - datetime.timedelta(days=10)).isoformat(),
                    "purpose": "Overdragelse af sagen til Ungerådgivningen",
                    "recipients": "Ungerådgivningen"},
        "actions": [{"action": "Overdragelsesmøde med den unge og "
                     "plejefamilien", "owner": "Søren Bøgh",
                     "due": (today + datetime.timedelta(days=30)).isoformat()},
                    {"action": "Ansøgning om efterværn sendes",
                     "owner": "Ungerådgivningen",
                     "due": (today + datetime.timedelta(days=90)).isoformat()}],
        "contingency": "Hvis den unge udebliver fra skolen mere end to dage, "
                       "så kontakt plejefamilien og UU-vejlederen samme dag.",
    }
    missing = keys - set(sections)
    if missing:
        raise RuntimeError("the BUR-UR template has sections this bench does "
                           "not fill: %s" % ", ".join(sorted(missing)))
    return {"route": "BUR-UR",
            "citizen": {"cpr": cpr, "name": "Testperson Jensen",
                        "birthdate": birth.isoformat()},
            "planned_date": (today + datetime.timedelta(days=60)).isoformat(),
            "receiver": {"unit": "UR", "person": receiver_id},
            "sections": sections}


# --- 100,000 notes ------------------------------------------------------------------

# Where the stored notes go: (route, template, sending unit, receiving unit,
# share in %). UR receives 4 % of them (3 % BUR-UR, 1 % BURH-BSF); the
# rest go between the other units.
PLAN = [
    ("BUR-UR", "bur-ur", "BUR", "UR", 3),
    ("BURH-BSF", "burh-voksen", "BUR-H", "UR", 1),
    ("BURH-AEHF", "burh-voksen", "BUR-H", "VH", 20),
    ("BSF-AEHF", "myndighedssnit", "VSR", "VH", 15),
    ("AEHF-BSF", "myndighedssnit", "VH", "VSR", 15),
    ("GENERISK", "generisk", "JC-SYG", "PSY", 6),
    ("GENERISK", "generisk", "PSY", "JC-SYG", 6),
    ("GENERISK", "generisk", "JC-UNG", "VSR", 6),
    ("GENERISK", "generisk", "HJS", "VH", 6),
    ("GENERISK", "generisk", "VH", "HJS", 6),
    ("GENERISK", "generisk", "VSR", "JC-UNG", 6),
    ("GENERISK", "generisk", "BUR", "JC-UNG", 5),
    ("GENERISK", "generisk", "PSY", "VSR", 5),
]
# Status by bucket of 20: 10 % draft, 15 % submitted, 15 % received, 5 %
# returned, 50 % accepted, 5 % withdrawn.
STATUS_BUCKETS = (["draft"] * 2 + ["submitted"] * 3 + ["received"] * 3 +
                  ["returned"] + ["accepted"] * 10 + ["withdrawn"])
FIRST_NAMES = ["Mikkel", "Freja", "Oliver", "Ida", "Noah", "Emma", "Lucas",
               "Sofie", "Ali", "Aya", "Magnus", "Clara", "Søren", "Åse",
               "Jonas", "Nanna", "Emil", "Laura", "Frederik", "Mathilde"]
SURNAMES = ["Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen",
            "Christensen", "Larsen", "Sørensen", "Rasmussen", "Jørgensen",
            "Petersen", "Madsen", "Kristensen", "Olsen", "Thomsen",
            "Christiansen", "Poulsen", "Johansen", "Møller", "Mortensen",
            "Østergaard", "Khan", "Ærbø", "Kjær"]


def sql_lit(s):
    return "'" + s.replace("'", "''") + "'"


def pgbench_json(value):
    """A JSON value as an SQL literal for a pgbench script. pgbench takes
    every :name in a script for a variable, quotes or not, so the JSON is
    written with ": " between keys and values and any other colon
    followed by a letter or digit (inside a string) as \\u003a."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ": "))
    return sql_lit(re.sub(r":(?=\w)", r"\\u003a", text))


# The quality report's triggers (migration 0015), and the migration's last
# part, which fills the rollups from the notes already stored.
REPORT_TRIGGERS = [("handovers", "report_handovers_insert"),
                   ("handover_events", "report_events_insert"),
                   ("handover_flags", "report_flags_insert"),
                   ("notices", "report_notices_insert")]


def report_backfill_sql():
    """What migration 0015 runs on a database with notes: its last part.
    Its INSERT into report_dists (and the TRUNCATE before it) bumps
    report_generation through migration 0016's statement triggers, so the
    reports stafetd keeps are not served over the new figures."""
    with open(os.path.join(REPO, "schema", "sql", "0015_report_rollup.sql"),
              encoding="utf-8") as f:
        text = f.read()
    return text[text.index("-- The notes filed before this migration."):]


def bulk_notes(env, n, members, seed_id):
    """n notes straight into handovers (and flags), spread over the PLAN's
    routes and units, statuses and two years of changes, each with the
    sections, checks and completeness the API stored for the seed note;
    senders and named receivers are real people of their units. Returns
    the number incoming to UR."""
    t0 = time.monotonic()
    buckets = []
    lo = 0
    for route, tmpl, frm, to, share in PLAN:
        buckets.append("(%d, %d, %s, %s, %s, %s)" % (
            lo, lo + share - 1, sql_lit(route), sql_lit(tmpl), sql_lit(frm),
            sql_lit(to)))
        lo += share
    if lo != 100:
        raise RuntimeError("PLAN shares add up to %d %%" % lo)
    people = ",".join("(%s, %d, %s)" % (sql_lit(u), i, sql_lit(pid))
                      for u, ids in sorted(members.items())
                      for i, pid in enumerate(ids))
    statuses = "ARRAY[%s]" % ",".join(sql_lit(s) for s in STATUS_BUCKETS)
    sql = """
SET synchronous_commit = off;
CREATE TEMP TABLE bplan (lo int, hi int, route text, template text, from_unit text, to_unit text);
INSERT INTO bplan VALUES %(buckets)s;
CREATE TEMP TABLE bpeople (unit text, idx int, id text);
INSERT INTO bpeople VALUES %(people)s;
CREATE TEMP TABLE bunits AS SELECT unit, count(*)::int AS n FROM bpeople GROUP BY unit;
CREATE TEMP TABLE bseed AS SELECT sections, checks, completeness FROM handovers WHERE id = '%(seed)s';
INSERT INTO handovers (id, ref, route, template, template_version, status, version,
    sender_person, sender_unit, receiver_unit, receiver_person, citizen, birthdate,
    planned_date, sections, checks, completeness, returned_by, created_at, updated_at,
    submitted_at, first_submitted_at, received_at, decided_at)
SELECT gen_random_uuid(),
    'STF-' || to_char(x.created, 'YYYY') || '-' || lpad(nextval('handover_ref_seq')::text, 6, '0'),
    p.route, p.template, 1, x.status,
    CASE WHEN x.status = 'draft' THEN 1 + g %% 3 ELSE 2 + g %% 5 END,
    sp.id, p.from_unit, p.to_unit,
    CASE WHEN g %% 2 = 0 THEN rp.id END,
    jsonb_build_object('cpr', to_char(x.birth, 'DDMMYY') || '-' || lpad((1000 + g %% 9000)::text, 4, '0'),
        'name', (%(first)s)[1 + g %% %(nfirst)d] || ' ' || (%(sur)s)[1 + (g / 7) %% %(nsur)d],
        'birthdate', x.birth),
    x.birth, (x.created + interval '60 days')::date,
    s.sections, s.checks, s.completeness,
    CASE WHEN x.status = 'returned' THEN rp.id END,
    x.created, x.updated,
    CASE WHEN x.status <> 'draft' THEN x.created + interval '1 day' END,
    CASE WHEN x.status <> 'draft' THEN x.created + interval '1 day' END,
    CASE WHEN x.status IN ('received', 'returned', 'accepted') THEN x.created + interval '2 days' END,
    CASE WHEN x.status IN ('returned', 'accepted', 'withdrawn') THEN x.updated END
FROM generate_series(1, %(n)d) g
CROSS JOIN LATERAL (SELECT
    now() - ((g::bigint * 7919) %% (730 * 1440)) * interval '1 minute'
          - (g %% 997) * interval '1 millisecond' AS created,
    date '2007-01-01' + (g * 13) %% 1800 AS birth,
    (%(statuses)s)[1 + (g / 100) %% 20] AS status) x0
CROSS JOIN LATERAL (SELECT x0.*, least(now(), x0.created + (g %% 20) * interval '1 day'
                                      + (g %% 3600) * interval '1 second') AS updated) x
JOIN bplan p ON g %% 100 BETWEEN p.lo AND p.hi
JOIN bunits su ON su.unit = p.from_unit
JOIN bpeople sp ON sp.unit = p.from_unit AND sp.idx = g %% su.n
JOIN bunits ru ON ru.unit = p.to_unit
JOIN bpeople rp ON rp.unit = p.to_unit AND rp.idx = (g / 3) %% ru.n
CROSS JOIN bseed s;
-- Flags: 1-2 open ones on every returned note; a resolved one on a fifth
-- of the accepted ones (they were returned once).
INSERT INTO handover_flags (handover_id, version, section, kind, comment, by_person, at, resolved_at)
SELECT h.id, h.version, (ARRAY['goals', 'situation', 'own_room', 'consent', 'actions'])[1 + k + (hashtext(h.ref) & 2147483647) %% 4],
    CASE WHEN k = 0 THEN 'missing' ELSE 'imprecise' END,
    'Målet for bolig mangler en tidsramme.',
    COALESCE(h.returned_by, h.receiver_person, h.sender_person), h.decided_at,
    CASE WHEN h.status = 'accepted' THEN h.decided_at END
FROM handovers h CROSS JOIN generate_series(0, 1) k
WHERE (h.status = 'returned' AND (k = 0 OR (hashtext(h.ref) & 2147483647) %% 2 = 0))
   OR (h.status = 'accepted' AND k = 0 AND (hashtext(h.ref) & 2147483647) %% 5 = 0);
SELECT count(*) FROM handovers WHERE receiver_unit = 'UR' AND status <> 'draft'
    AND first_submitted_at IS NOT NULL;
""" % {"buckets": ",".join(buckets), "people": people, "seed": seed_id,
       "first": "ARRAY[%s]" % ",".join(sql_lit(x) for x in FIRST_NAMES),
       "nfirst": len(FIRST_NAMES),
       "sur": "ARRAY[%s]" % ",".join(sql_lit(x) for x in SURNAMES),
       "nsur": len(SURNAMES), "statuses": statuses, "n": n}
    incoming = int(env.psql(sql).split()[-1])
    t1 = time.monotonic()
    env.psql("VACUUM ANALYZE;")
    t2 = time.monotonic()
    stats = env.psql(
        "SELECT count(*), pg_size_pretty(pg_total_relation_size('handovers')), "
        "(SELECT count(*) FROM handover_flags) FROM handovers;").strip()
    log("inserted %d notes in %.1f s (VACUUM ANALYZE %.1f s); %d incoming to "
        "UR; notes / handovers size / flags: %s" % (n, t1 - t0, t2 - t1,
                                                    incoming, stats))
    return incoming, stats, t1 - t0, t2 - t1


# --- the incoming list ----------------------------------------------------------------


def list_load(env, table, token, seconds, expected_incoming, work):
    """Rows: GET /api/v1/handovers?box=incoming&limit=50 (and the next page
    by its cursor) with wrk at 8 and 32 connections vs pgbench running the
    same SELECT with as many clients."""
    first = "/api/v1/handovers?box=incoming&limit=50"
    st, page = env.api(token, "GET", first)
    if st != 200 or len(page.get("items", [])) != 50 or not page.get(
            "next_cursor"):
        raise RuntimeError("%s answered %s: %s" % (first, st, str(page)[:300]))
    cursor = page["next_cursor"]
    second = first + "&cursor=" + urllib.parse.quote(cursor, safe="")
    st, page2 = env.api(token, "GET", second)
    if st != 200 or len(page2.get("items", [])) != 50:
        raise RuntimeError("%s answered %s: %s" % (second, st,
                                                   str(page2)[:300]))
    # The peer's SELECT must return the same notes in the same order.
    cur_us, cur_id = cursor.split(".", 1)
    sql_first = list_sql(False).replace(":lim", "51")
    sql_second = list_sql(True).replace(":lim", "51").replace(
        ":cur_us", cur_us).replace(":cur_id", sql_lit(cur_id))
    for sql, pg_page, what in ((sql_first, page, "first"),
                               (sql_second, page2, "second")):
        only = "SELECT q.id FROM (%s) AS q;" % sql.rstrip().rstrip(";")
        rows = [x.strip() for x in env.psql(only).splitlines() if x.strip()]
        ids = [x["id"] for x in pg_page["items"]]
        if rows[:50] != ids:
            raise RuntimeError("the peer's SELECT and stafetd disagree on the "
                               "%s page" % what)
    size = len(json.dumps(page, ensure_ascii=False).encode())
    log("incoming list: %d notes incoming to UR; pages of 50 agree with the "
        "peer's SELECT; a page is %.1f KB of JSON" % (expected_incoming,
                                                      size / 1e3))
    scripts = {}
    for name, cursor in (("first", False), ("next", True)):
        path = os.path.join(work, "list-%s.sql" % name)
        with open(path, "w") as f:
            # pgbench: one statement per line
            f.write("\\set lim 51\n" + " ".join(list_sql(cursor).split()) + "\n")
        scripts[name] = path
    defines_next = ["cur_us=%s" % cur_us, "cur_id=%s" % cur_id]
    paths = {}
    for name, p in (("first", first), ("next", second)):
        paths[name] = os.path.join(work, "list-%s.txt" % name)
        with open(paths[name], "w") as f:
            f.write(p + "\n")

    results = []
    for name, label in (("first", "first page"), ("next", "next page (cursor)")):
        for conns in (8, 32):
            args = [paths[name], "GET", token, "2"]
            run_wrk(env.d, paths[name], conns, 1, script="handovers.lua",
                    extra=args[1:])
            with CpuMeter(env.d, env.pg) as cpu:
                w = run_wrk(env.d, paths[name], conns, seconds,
                            script="handovers.lua", extra=args[1:])
            log("wrk incoming %s -c%d: %.0f req/s, p50 %.2f ms, p99 %.2f ms, "
                "errors %d; %s" % (label, conns, w["rate"], w["p50_us"] / 1e3,
                                   w["p99_us"] / 1e3, w["errors"],
                                   cpu.text("wrk")))
            if w["errors"]:
                table.notes.append("**incoming %s, %d connections: %d errors "
                                   "(%s)**" % (label, conns, w["errors"],
                                               w["error_kinds"]))
            defines = defines_next if name == "next" else []
            env.pgbench(scripts[name], conns, 1, os.path.join(work, "pgb"),
                        defines=defines)
            with CpuMeter(None, env.pg) as pcpu:
                pb = env.pgbench(scripts[name], conns, seconds,
                                 os.path.join(work, "pgb"), defines=defines)
            log("pgbench incoming %s -c%d: %.0f tps, p50 %.2f ms, p99 %.2f ms;"
                " %s" % (label, conns, pb["tps"], pb["p50_us"] / 1e3,
                         pb["p99_us"] / 1e3, pcpu.text("pgbench")))
            results.append((name, label, conns, w, pb))
            ratio = w["rate"] / pb["tps"] if pb["tps"] else float("inf")
            table.add("(b) incoming, %s, %d conns: req/s" % (label, conns),
                      "%.0f" % w["rate"],
                      "pgbench, the same SELECT, -c %d" % conns,
                      "%.0f" % pb["tps"], "%.2f× its rate" % ratio, "–", "–",
                      section=4, value=w["rate"], unit="req/s",
                      peer_value=pb["tps"], peer_unit="tps",
                      ratio_value=ratio)
            table.add("(b) … p50 / p99", "%.2f / %.2f ms" % (
                w["p50_us"] / 1e3, w["p99_us"] / 1e3), "(same)",
                "%.2f / %.2f ms" % (pb["p50_us"] / 1e3, pb["p99_us"] / 1e3),
                "%.2f× its p99" % (w["p99_us"] / max(pb["p99_us"], 1)),
                "p99 ≤ %.0f ms" % TARGETS["list_p99_ms"],
                yes(w["p99_us"] / 1e3 <= TARGETS["list_p99_ms"]), section=4,
                value=[w["p50_us"] / 1e3, w["p99_us"] / 1e3], unit="ms",
                peer_value=[pb["p50_us"] / 1e3, pb["p99_us"] / 1e3],
                ratio_value=w["p99_us"] / max(pb["p99_us"], 1),
                met_ok=w["p99_us"] / 1e3 <= TARGETS["list_p99_ms"])
            table.notes.append(
                "incoming %s, %d connections: stafetd %d requests in %.1f s "
                "(%s); pgbench %d transactions (%s)" % (
                    label, conns, w["requests"], w["duration_us"] / 1e6,
                    cpu.text("wrk", w["requests"], w["duration_us"] / 1e6),
                    pb["transactions"],
                    pcpu.text("pgbench", pb["transactions"], seconds)))
    table.notes.append(
        "incoming list: mha (UR) sees %d notes in the box; a page of 50 is "
        "%.1f KB of JSON; every request also writes an audit row (in the "
        "same call, handover_list()), which the peer's SELECT does not; the "
        "session comes from stafetd's cache" % (expected_incoming, size / 1e3))
    return results


# --- submit ------------------------------------------------------------------------------

CLONE_SQL = """
SET synchronous_commit = off;
WITH src AS (SELECT * FROM handovers WHERE id = '%(seed)s'),
n AS (
    INSERT INTO handovers (id, ref, route, template, template_version, status, version,
        sender_person, sender_unit, receiver_unit, receiver_person, citizen, birthdate,
        planned_date, sections, checks, completeness)
    SELECT gen_random_uuid(),
        'STF-' || to_char(now(), 'YYYY') || '-' || lpad(nextval('handover_ref_seq')::text, 6, '0'),
        s.route, s.template, s.template_version, 'draft', 1, s.sender_person, s.sender_unit,
        s.receiver_unit, s.receiver_person,
        jsonb_set(s.citizen, '{cpr}', to_jsonb(left(s.citizen->>'cpr', 8)
                  || lpad((g %% 1000)::text, 3, '0'))),
        s.birthdate, s.planned_date, s.sections, s.checks, s.completeness
    FROM src s, generate_series(1, %(n)d) g
    RETURNING *),
v AS (INSERT INTO handover_versions (handover_id, version, at, by_person, status, action, doc)
      SELECT n.id, 1, n.created_at, n.sender_person, 'draft', 'create',
             handover_doc(ROW(n.*)::handovers) FROM n),
e AS (INSERT INTO handover_events (handover_id, at, by_person, action, from_status, to_status,
                                   version)
      SELECT n.id, n.created_at, n.sender_person, 'create', NULL, 'draft', 1 FROM n),
a AS (INSERT INTO audit_log (actor_id, actor_username, address, action, object_type,
                             object_id, detail)
      SELECT n.sender_person, 'sbo', '127.0.0.1', 'handover.create', 'handover', n.id::text,
             n.ref FROM n)
SELECT id FROM n;
"""


def make_drafts(env, seed_id, n, work, tag):
    """n drafts copied from the seed draft, with what handover_create()
    writes for each (the row, version 1, the create event, the audit row);
    only the CPR number's serial differs. Returns the paths file."""
    t0 = time.monotonic()
    ids = [x.strip() for x in env.psql(CLONE_SQL % {"seed": seed_id, "n": n}
                                       ).splitlines() if x.strip()]
    if len(ids) != n:
        raise RuntimeError("made %d drafts, wanted %d" % (len(ids), n))
    path = os.path.join(work, "submit-%s.txt" % tag)
    with open(path, "w") as f:
        for i in ids:
            f.write("/api/v1/handovers/%s/submit\n" % i)
    log("%d drafts copied in SQL in %.1f s" % (n, time.monotonic() - t0))
    return path, ids


def submit_peer_script(env, work, seed_checks, outbox, by, ref):
    """pgbench: the writes of one submit, as plain statements. A sequence
    hands every transaction its own note (all notes in turn)."""
    env.psql(
        "DROP TABLE IF EXISTS bench_peer; "
        "CREATE TABLE bench_peer (n int PRIMARY KEY, id uuid NOT NULL); "
        "INSERT INTO bench_peer SELECT row_number() OVER (ORDER BY id), id "
        "FROM handovers; "
        "DROP SEQUENCE IF EXISTS bench_peer_seq; CREATE SEQUENCE bench_peer_seq; "
        "GRANT ALL ON bench_peer, bench_peer_seq TO %s; ANALYZE bench_peer;"
        % env.db)
    total = int(env.psql("SELECT count(*) FROM bench_peer;").strip())
    checks = pgbench_json(seed_checks)
    audience = pgbench_json(outbox["audience"])
    recipients = pgbench_json(outbox["recipients"])
    script = """\\set total %(total)d
SELECT id AS nid FROM bench_peer WHERE n = (SELECT nextval('bench_peer_seq') %% :total + 1) \\gset
BEGIN;
UPDATE handovers SET status = 'submitted', checks = %(checks)s::jsonb, completeness = 100,
    version = version + 1, updated_at = clock_timestamp(), submitted_at = clock_timestamp(),
    first_submitted_at = COALESCE(first_submitted_at, clock_timestamp()),
    received_at = NULL, decided_at = NULL
    WHERE id = :nid RETURNING version AS v, ref AS ref \\gset
INSERT INTO handover_versions (handover_id, version, at, by_person, status, action, doc)
    SELECT h.id, h.version, h.updated_at, %(by)s, h.status, 'submit', handover_doc(h)
    FROM handovers h WHERE h.id = :nid;
INSERT INTO handover_events (handover_id, at, by_person, action, from_status, to_status, version)
    VALUES (:nid, clock_timestamp(), %(by)s, 'submit', 'draft', 'submitted', :v);
INSERT INTO outbox (handover_id, event, audience, recipients, message_id)
    VALUES (:nid, 'submitted', %(audience)s::jsonb, %(recipients)s::jsonb,
            '<' || gen_random_uuid()::text || '@stafet>');
INSERT INTO audit_log (actor_id, actor_username, address, action, object_type, object_id, detail)
    VALUES (%(by)s, 'sbo', '127.0.0.1', 'handover.submit', 'handover', :nid, :ref);
COMMIT;
""" % {"total": total, "checks": checks, "by": sql_lit(by),
       "audience": audience, "recipients": recipients}
    path = os.path.join(work, "submit-peer.sql")
    with open(path, "w") as f:
        f.write(script)
    return path


def median(values):
    v = sorted(values)
    n = len(v)
    return (v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2) if n else 0


def submit_load(env, table, token, me, seed_id, seconds, work, rounds=3):
    """Rows: POST /api/v1/handovers/{id}/submit, each draft once, wrk at 32
    connections, vs pgbench running the same writes with 32 clients. The
    two run in alternating windows (`rounds` each, who goes first
    alternating), so that both meet the same spells of a shared machine;
    the rows give the median of each and the ratio of the medians, the
    notes every window's rate and the CPU per note of each side."""
    conns = 32
    # Warm-up (not counted): connections, plans; also the rate to plan by.
    warm_path, _ = make_drafts(env, seed_id, 4000, work, "warm")
    w0 = run_wrk(env.d, warm_path, conns, 2, script="handovers.lua",
                 extra=["POST", token, "2", "once"])
    if w0["errors"]:
        raise RuntimeError("submit warm-up: %d errors of %d (%s)" % (
            w0["errors"], w0["requests"], env.d.log()[-2000:]))

    # What one submit wrote, for the peer: the checks, the outbox row. The
    # peer's notes are the ones stored now: not the drafts made below.
    row = json.loads(env.psql(
        "SELECT json_build_object('checks', h.checks, 'outbox', "
        "json_build_object('audience', o.audience, 'recipients', o.recipients))"
        " FROM outbox o JOIN handovers h ON h.id = o.handover_id "
        "ORDER BY o.id DESC LIMIT 1;").strip())
    peer_path = submit_peer_script(env, work, row["checks"], row["outbox"],
                                   me["id"], "STF")
    env.pgbench(peer_path, conns, 1, os.path.join(work, "pgb"))

    need = int(w0["rate"] * seconds * 1.6) + 2000
    log("submit warm-up: %.0f/s; making %d drafts for each of %d windows of "
        "%d s" % (w0["rate"], need, rounds, seconds))
    paths = [make_drafts(env, seed_id, need, work, "run%d" % i)
             for i in range(rounds)]

    ws, pbs, wcpu, pcpu_ = [], [], [], []
    n_before = int(env.psql("SELECT count(*) FROM handovers WHERE status = "
                            "'submitted';").strip())
    o_before = int(env.psql("SELECT count(*) FROM outbox;").strip())

    def run_stafetd(i):
        with CpuMeter(env.d, env.pg) as cpu:
            w = run_wrk(env.d, paths[i][0], conns, seconds,
                        script="handovers.lua",
                        extra=["POST", token, "2", "once"])
        time.sleep(0.5)  # the writes in flight when wrk stopped
        log("wrk submit -c%d window %d: %.0f/s, p50 %.2f ms, p99 %.2f ms, "
            "errors %d; %s" % (conns, i + 1, w["rate"], w["p50_us"] / 1e3,
                               w["p99_us"] / 1e3, w["errors"],
                               cpu.text("wrk", w["requests"],
                                        w["duration_us"] / 1e6)))
        if w["requests"] > len(paths[i][1]):
            table.notes.append("**submit: the drafts ran out (%d requests, %d "
                               "drafts): the rest answered 409**" % (
                                   w["requests"], len(paths[i][1])))
        ws.append(w)
        wcpu.append((cpu, w["requests"], w["duration_us"] / 1e6))

    def run_peer(i):
        with CpuMeter(None, env.pg) as cpu:
            pb = env.pgbench(peer_path, conns, seconds,
                             os.path.join(work, "pgb"))
        log("pgbench submit writes -c%d window %d: %.0f tps, p50 %.2f ms, "
            "p99 %.2f ms, failed %d; %s" % (
                conns, i + 1, pb["tps"], pb["p50_us"] / 1e3,
                pb["p99_us"] / 1e3, pb["failed"],
                cpu.text("pgbench", pb["transactions"], seconds)))
        pbs.append(pb)
        pcpu_.append((cpu, pb["transactions"], seconds))

    for i in range(rounds):
        for f in ((run_stafetd, run_peer) if i % 2 == 0 else
                  (run_peer, run_stafetd)):
            f(i)
    n_after = int(env.psql("SELECT count(*) FROM handovers WHERE status = "
                           "'submitted';").strip())
    o_after = int(env.psql("SELECT count(*) FROM outbox;").strip())

    rate = median([w["rate"] for w in ws])
    tps = median([pb["tps"] for pb in pbs])
    share = rate / tps if tps else 0
    p50 = median([w["p50_us"] for w in ws])
    p99 = median([w["p99_us"] for w in ws])
    pp50 = median([pb["p50_us"] for pb in pbs])
    pp99 = median([pb["p99_us"] for pb in pbs])
    # CPU per note, ms of one core: stafetd and its backends; pgbench and
    # its backends. Medians of the windows.
    s_d = median([(c.main + c.other) * t / n * 1e3 for c, n, t in wcpu])
    s_pg = median([c.pg_share * t / n * 1e3 for c, n, t in wcpu])
    p_pg = median([c.pg_share * t / n * 1e3 for c, n, t in pcpu_])
    p_cl = median([c.client * t / n * 1e3 for c, n, t in pcpu_])
    table.add("(a) submit a note, %d conns: notes/s" % conns,
              "%.0f" % rate,
              "pgbench, the same writes in one transaction, -c %d" % conns,
              "%.0f" % tps, "%.0f %% of its rate" % (100 * share),
              "≥ %.0f/s; ≥ %.0f %%" % (TARGETS["submit_rate"],
                                       100 * TARGETS["submit_share"]),
              "%s; %s" % (yes(rate >= TARGETS["submit_rate"]),
                          yes(share >= TARGETS["submit_share"])),
              section=3, value=rate, unit="notes/s",
              peer_value=tps, peer_unit="tps", ratio_value=share,
              met_ok=[rate >= TARGETS["submit_rate"],
                      share >= TARGETS["submit_share"]])
    table.add("(a) … p50 / p99", "%.2f / %.2f ms" % (p50 / 1e3, p99 / 1e3),
              "(same)", "%.2f / %.2f ms" % (pp50 / 1e3, pp99 / 1e3),
              "%.2f× its p99" % (p99 / max(pp99, 1)), "–", "–",
              section=3, value=[p50 / 1e3, p99 / 1e3], unit="ms",
              peer_value=[pp50 / 1e3, pp99 / 1e3],
              ratio_value=p99 / max(pp99, 1))
    table.add("(a) … CPU per note (server + its PostgreSQL)",
              "%.2f + %.2f ms" % (s_d, s_pg), "pgbench + its PostgreSQL",
              "%.2f + %.2f ms" % (p_cl, p_pg),
              "%.2f× its CPU" % ((s_d + s_pg) / max(p_cl + p_pg, 1e-9)),
              "–", "–", section=3, value=s_d + s_pg, unit="ms",
              peer_value=p_cl + p_pg,
              ratio_value=(s_d + s_pg) / max(p_cl + p_pg, 1e-9))
    table.notes.append(
        "submit, %d connections, %d alternating windows of %d s each "
        "(stafetd first in windows 1 and 3): stafetd %s notes/s (median "
        "%.0f, range %.0f–%.0f), pgbench %s tps (median %.0f, range "
        "%.0f–%.0f); ratio of the medians %.0f %%, of each window pair %s; "
        "stafetd %d requests, errors %d; %d notes moved to submitted and %d "
        "outbox rows by both sides" % (
            conns, rounds, seconds,
            ", ".join("%.0f" % w["rate"] for w in ws), rate,
            min(w["rate"] for w in ws), max(w["rate"] for w in ws),
            ", ".join("%.0f" % pb["tps"] for pb in pbs), tps,
            min(pb["tps"] for pb in pbs), max(pb["tps"] for pb in pbs),
            100 * share,
            ", ".join("%.0f %%" % (100 * w["rate"] / max(pb["tps"], 1e-9))
                      for w, pb in zip(ws, pbs)),
            sum(w["requests"] for w in ws), sum(w["errors"] for w in ws),
            n_after - n_before, o_after - o_before))
    for i, (c, n, t) in enumerate(wcpu):
        table.notes.append("submit window %d, stafetd: %s" % (
            i + 1, c.text("wrk", n, t)))
    for i, (c, n, t) in enumerate(pcpu_):
        table.notes.append(
            "submit window %d, peer (pgbench -c %d -j 2 -M prepared): %d "
            "transactions, %d failed; %s; pgbench %.2f ms per transaction" % (
                i + 1, conns, n, pbs[i]["failed"], c.text("pgbench", n, t),
                c.client * t / n * 1e3 if n else 0))

    return ws[0], pbs[0]


# --- main ----------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notes", type=int, default=100000,
                    help="notes stored before the list is measured")
    ap.add_argument("--duration", type=int, default=10,
                    help="seconds of each load run (default 10)")
    ap.add_argument("--db-pool-size", type=int, default=0,
                    help="stafetd's db_pool_size (default: its own, 8)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="alternating submit windows of each side (default 3)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the working directory")
    ap.add_argument("--json", default="",
                    help="also write the rows as JSON to this file "
                    "(for bench/table.py)")
    args = ap.parse_args()

    for tool in ("wrk", os.path.join(REPO, "build", "stafetd")):
        if not shutil.which(tool):
            sys.exit("bench: %s is missing (run `make bench`)" % tool)

    started = time.monotonic()
    load_before = open("/proc/loadavg").read().split()[:3]
    work = tempfile.mkdtemp(prefix="stafet-hbench-")
    os.chmod(work, 0o755)
    log("working in %s" % work)
    table = Table()
    env = Env(work, args.db_pool_size)
    try:
        env.start()
        if not shutil.which(os.path.join(env.pg.bindir, "pgbench")):
            sys.exit("bench: pgbench is missing in %s" % env.pg.bindir)
        s_token, s_me = env.login(SENDER)
        r_token, r_me = env.login(RECEIVER)
        wait_for(lambda: env.api(s_token, "GET", "/api/v1/routes")[0] == 200,
                 30, "the routes")
        st, template = env.api(s_token, "GET", "/api/v1/templates/BUR-UR")
        if st != 200:
            raise RuntimeError("GET /api/v1/templates/BUR-UR: %s" % st)
        members = {}
        st, units = env.api(s_token, "GET", "/api/v1/units")
        codes = []

        def walk(u):
            codes.append(u["code"])
            for c in u.get("children", []):
                walk(c)
        for u in units["items"]:
            walk(u)
        for code in codes:
            st, unit = env.api(s_token, "GET", "/api/v1/units/" +
                               urllib.parse.quote(code))
            members[code] = [p["id"] for p in unit.get("members", [])]
        if r_me["unit"]["code"] != "UR" or s_me["unit"]["code"] != "BUR":
            raise RuntimeError("expected sbo in BUR and mha in UR: %s, %s" % (
                s_me["unit"], r_me["unit"]))

        # The seed: one complete draft made through the API, checked.
        body = bur_ur_note(datetime.date.today(), r_me["id"], template)
        st, check = env.api(s_token, "POST", "/api/v1/handovers/check", body)
        failing = [c["id"] for c in (check or {}).get("checks", [])
                   if not c.get("passed") and c.get("severity") == "error"]
        st, seed = env.api(s_token, "POST", "/api/v1/handovers", body)
        if st != 201:
            raise RuntimeError("POST /api/v1/handovers: %s %s" % (st, seed))
        log("seed draft %s (%s), completeness %s; failing error checks as a "
            "draft: %s" % (seed["id"], seed["ref"], seed.get("completeness"),
                           failing or "none"))

        # The bulk load as a migration meets it: the report's triggers
        # (0015) off, then the migration's backfill over every note; one
        # INSERT of 100,000 notes through them is one transaction of
        # 100,000 refreshes (not how stafetd writes: a note at a time).
        env.psql("".join("ALTER TABLE %s DISABLE TRIGGER %s;" % t
                         for t in REPORT_TRIGGERS))
        incoming, stats, t_ins, t_vac = bulk_notes(env, args.notes, members,
                                                   seed["id"])
        env.psql("".join("ALTER TABLE %s ENABLE TRIGGER %s;" % t
                         for t in REPORT_TRIGGERS))
        t_fill = time.monotonic()
        env.psql("BEGIN; TRUNCATE report_notes, report_dists, report_deltas;\n"
                 + report_backfill_sql() + "\nCOMMIT;")
        log("the quality report's rollups filled in %.1f s" % (
            time.monotonic() - t_fill))
        # The list first, while UR's box holds only the bulk-inserted
        # notes (every submit below adds one); its rows go last.
        list_load(env, table, r_token, args.duration, incoming, work)
        nlist = len(table.rows)
        submit_load(env, table, s_token, s_me, seed["id"], args.duration,
                    work, args.rounds)
        table.rows = table.rows[nlist:] + table.rows[:nlist]
        table.records = table.records[nlist:] + table.records[:nlist]
        table.notes.insert(0, "stored notes: %s (notes / handovers table with "
                           "TOAST and indexes / flags) after the bulk insert "
                           "of %d (%.0f s) and VACUUM ANALYZE (%.0f s)" % (
                               stats.replace("|", " / "), args.notes, t_ins,
                               t_vac))
        mem = proc_status(env.d.proc.pid)
        table.notes.append("stafetd VmRSS %.0f MB, VmHWM %.0f MB at the end" %
                           (mem["VmRSS"], mem["VmHWM"]))
        d = env.d
        rc = env.stop()
        if rc != 0:
            table.notes.append("**stafetd exited with %s at SIGTERM**" % rc)
        logged = [x for x in d.log().splitlines() if x.strip()]
        if logged:
            table.notes.append("stafetd logged (warning and up) %d lines, the "
                               "last: %s" % (len(logged), logged[-1]))
        print()
        print("Handover benchmark, %d notes stored; %s" % (args.notes,
                                                           machine()))
        rev = subprocess.run(["git", "-C", REPO, "describe", "--always",
                              "--dirty"], capture_output=True,
                             text=True).stdout.strip() or "?"
        print("stafetd built from %s (build/stafetd as `make all` left it)."
              % rev)
        print("PostgreSQL as tests/harness/pg.py runs it (fsync = off, "
              "synchronous_commit = on); stafetd db_pool_size = %s. The load "
              "generators (wrk, pgbench) share the machine with stafetd, "
              "PostgreSQL and slapd; load average before %s, after %s." % (
                  env.pool_size or "8 (default)", " ".join(load_before),
                  " ".join(open("/proc/loadavg").read().split()[:3])))
        print()
        print(table.render())
        print()
        for n in table.notes:
            print("- " + n)
        print("- total time %.0f s" % (time.monotonic() - started))
        table.write_json(args.json, "handovers",
                         {"notes": args.notes, "duration": args.duration},
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
