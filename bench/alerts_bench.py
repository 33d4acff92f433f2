#!/usr/bin/python3
"""Alert delivery benchmark: stafetd mailing its outbox to a local SMTP
server, against a plain SMTP client sending the same mails to the same
server.

Starts slapd (the demo directory), PostgreSQL and an SMTP sink
(tests/harness/smtp.py: aiosmtpd, every message stored as a file) on
127.0.0.1 in a temporary directory, and stafetd with smtp_url pointing at
the sink. Then, with stafetd running:

  stafetd   N alerts (outbox rows of one note, each to the UR mailbox)
            written in one INSERT; the rate is N over the time from the
            first row's claim to the last row's sent_at (PostgreSQL's
            clock), i.e. claims, recipients from the directory, the mail
            text, the CPR guard, SMTP and the result written back;
  peer      Python's smtplib sending N mails of the same size to the same
            sink over one connection (what the sink and loopback allow
            one client); the same mails, built once beforehand.

Prints one table (the directory benchmark's format): mails per second,
the peer's, the ratio, the DESIGN.md target (>= 200 mails/s, connections
reused) and whether it is met.
"""

import argparse
import os
import secrets
import shutil
import smtplib
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)
sys.path.insert(0, HERE)

from tests.harness.pg import Postgres  # noqa: E402
from tests.harness.slapd import Slapd  # noqa: E402
from tests.harness.smtp import SmtpSink  # noqa: E402
from tests.harness.stafetd import Stafetd  # noqa: E402

from directory_bench import (Table, http_get, log, machine,  # noqa: E402
                             stafetd_settings, wait_for, yes)

SERVICE_PASSWORD = "stafetd-demo"
TARGET = 200.0  # mails/s to a local SMTP server


class Env:
    def __init__(self, work):
        self.work = work
        self.slapd = self.pg = self.sink = self.d = None

    def start(self):
        pw = os.path.join(self.work, "ldap.password")
        with open(pw, "w") as f:
            f.write(SERVICE_PASSWORD)
        os.chmod(pw, 0o600)
        self.slapd = Slapd(os.path.join(self.work, "slapd"))
        self.slapd.start(timeout=60)
        self.pg = Postgres()
        self.pg.start()
        self.sink = SmtpSink(os.path.join(self.work, "smtp"))
        self.sink.start()
        self.db = "stafet_abench_" + secrets.token_hex(3)
        password = secrets.token_urlsafe(16)
        self.pg.create_role(self.db, password=password)
        self.pg.create_database(self.db, owner=self.db)
        dbpw = os.path.join(self.work, "db.password")
        with open(dbpw, "w") as f:
            f.write(password + "\n")
        os.chmod(dbpw, 0o600)
        settings = stafetd_settings(self.work, self.slapd.uri, pw)
        settings.update({
            "db_conninfo": '"%s"' % self.pg.conninfo(self.db, user=self.db),
            "db_password_file": dbpw,
            "smtp_url": "smtp://127.0.0.1:%d" % self.sink.port,
            "smtp_starttls": "no",
            "smtp_from": "stafet@bench.example",
            "alert_batch": "200",
            "alert_poll_interval": "0.05s",
            "reminder_interval": "1h",
        })
        self.d = Stafetd(os.path.join(self.work, "stafetd"), settings)
        self.d.migrate()
        self.d.start(wait=False)
        self.d.wait_healthy(timeout=30)
        wait_for(lambda: http_get(self.d.url + "/readyz")[0] == 200, 60,
                 "stafetd ready", 0.1)

    def psql(self, sql):
        return self.pg.psql(sql, dbname=self.db)

    def stop(self):
        for what in ("d", "sink", "slapd"):
            obj = getattr(self, what)
            if obj is not None:
                try:
                    obj.stop()
                except Exception as e:  # keep cleaning up
                    log("stopping %s: %s" % (what, e))
                setattr(self, what, None)
        if self.pg is not None:
            self.pg.cleanup()
            self.pg = None


def one_note(env):
    """A submitted note to hang the alerts on (SQL: its content does not
    matter to a mail, which carries only the ref, route and status)."""
    return env.psql(
        "INSERT INTO handovers (id, ref, route, template, template_version, status, "
        "version, sender_person, sender_unit, receiver_unit, citizen, planned_date, "
        "first_submitted_at, submitted_at) VALUES (gen_random_uuid(), 'STF-2026-900001', "
        "'BUR-UR', 'bur-ur', 1, 'submitted', 2, 'bench', 'BUR', 'UR', "
        "'{\"cpr\": \"010101-0000\", \"name\": \"-\"}', current_date + 30, now(), now()) "
        "RETURNING id;").strip().splitlines()[0]


def stafetd_rate(env, note, n):
    before = len(env.sink._files())
    env.psql(
        "INSERT INTO outbox (handover_id, event, audience, recipients, message_id) "
        "SELECT '%s', 'submitted', '[{\"unit\": \"UR\"}]', "
        "'[{\"email\": \"ur@stafet.example\", \"person\": null, \"unit\": \"UR\", "
        "\"deputy_for\": null}]', '<bench-' || g || '-' || gen_random_uuid() || '@stafet>' "
        "FROM generate_series(1, %d) g;" % (note, n))
    t0 = time.monotonic()
    wait_for(lambda: env.psql("SELECT count(*) FROM outbox WHERE state = 'sent';").strip()
             == str(n), 600, "all %d alerts sent" % n, 0.2)
    wall = time.monotonic() - t0
    # PostgreSQL's clock: from the first claim (created_at is the insert) to
    # the last result written.
    span = float(env.psql(
        "SELECT extract(epoch FROM max(sent_at) - min(created_at)) FROM outbox;").strip())
    got = len(env.sink._files()) - before
    if got != n:
        raise RuntimeError("the sink got %d mails for %d alerts" % (got, n))
    return n / span, span, wall


def peer_rate(env, n):
    """smtplib: the same size of mail, N times, over one connection."""
    with open(env.sink._files()[-1], "rb") as f:
        raw = f.read().split(b"\r\n", 3)[3]  # without the sink's X-Peer/From/RcptTo
    before = len(env.sink._files())
    t0 = time.monotonic()
    with smtplib.SMTP("127.0.0.1", env.sink.port, timeout=30) as s:
        for i in range(n):
            s.sendmail("stafet@bench.example", ["ur@stafet.example"], raw)
    span = time.monotonic() - t0
    got = len(env.sink._files()) - before
    if got != n:
        raise RuntimeError("the sink got %d of the peer's %d mails" % (got, n))
    return n / span, span, len(raw)


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--mails", type=int, default=3000)
    ap.add_argument("--json", default="",
                    help="also write the rows as JSON to this file "
                    "(for bench/table.py)")
    args = ap.parse_args()
    started = time.monotonic()
    load_before = open("/proc/loadavg").read().split()[:3]
    work = tempfile.mkdtemp(prefix="stafet-abench-")
    env = Env(work)
    table = Table()
    try:
        log("alerts benchmark: %d mails; %s" % (args.mails, machine()))
        env.start()
        note = one_note(env)
        # warm-up: connection, caches
        stafetd_rate(env, note, 50)
        env.psql("DELETE FROM outbox;")
        rate, span, wall = stafetd_rate(env, note, args.mails)
        log("stafetd: %d mails in %.2f s (%.0f/s; %.2f s wall with polling)" % (
            args.mails, span, rate, wall))
        prate, pspan, size = peer_rate(env, args.mails)
        log("peer: %d mails of %d bytes in %.2f s (%.0f/s)" % (args.mails, size, pspan,
                                                              prate))
        table.add("(e) alert delivery to a local SMTP server: mails/s", "%.0f" % rate,
                  "smtplib, one connection, same sink", "%.0f" % prate,
                  "%.2f×" % (rate / prate), "≥ %.0f/s" % TARGET, yes(rate >= TARGET),
                  section=5, value=rate, unit="mails/s", peer_value=prate,
                  ratio_value=rate / prate, met_ok=rate >= TARGET)
        table.notes.append("stafetd: %d mails in %.2f s (PostgreSQL's clock; %.2f s "
                           "wall with polling); peer: %d mails of %d bytes in %.2f s"
                           % (args.mails, span, wall, args.mails, size, pspan))
        print()
        print(table.render())
        table.write_json(args.json, "alerts", {"mails": args.mails}, started,
                         load_before)
        return 0
    finally:
        env.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
