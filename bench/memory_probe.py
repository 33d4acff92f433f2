#!/usr/bin/python3
"""Memory probe: stafetd's VmRSS after its first full sync, and VmHWM,
against slapd's VmRSS for the same directory, for one or more stafetd
binaries against ONE slapd (set up once per size; the binaries run one after
another, each with a fresh snapshot file).

  bench/memory_probe.py --people 200000 build/stafetd /tmp/old/stafetd ...

Each binary runs --rounds times; after its first full sync it also gets
SIGHUP (a second full load: two snapshots alive) when --hup is given.
"""

import argparse
import os
import shutil
import signal
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)
sys.path.insert(0, HERE)

from tests.harness.slapd import Slapd  # noqa: E402
from tests.harness.stafetd import Stafetd  # noqa: E402
from directory_bench import (SERVICE_PASSWORD, first_full_sync, generate,  # noqa: E402
                             metrics, peer_dump, proc_status, start_postgres,
                             stafetd_settings, wait_for, log)


def run_one(binary, work, slapd, pwfile, db_settings, people, hup, env):
    os.environ["STAFETD"] = binary
    sdir = tempfile.mkdtemp(prefix="mp-", dir=work)
    settings = stafetd_settings(sdir, slapd.uri, pwfile)
    settings.update(db_settings)
    d = Stafetd(sdir, settings, env=env)
    try:
        first, wall, mem = first_full_sync(d, people)
        time.sleep(1.0)
        after = proc_status(d.proc.pid)
        res = {"full_sync_s": first, "rss": mem["VmRSS"], "hwm": mem["VmHWM"],
               "rss_1s": after["VmRSS"], "hwm_1s": after["VmHWM"]}
        if hup:
            n0 = metrics(d).get("stafet_directory_full_syncs_total", 0)
            d.signal(signal.SIGHUP)
            wait_for(lambda: metrics(d).get(
                "stafet_directory_full_syncs_total", 0) > n0 or None, 300,
                "the second full sync", 0.1)
            time.sleep(2.0)
            m2 = proc_status(d.proc.pid)
            res["rss_hup"], res["hwm_hup"] = m2["VmRSS"], m2["VmHWM"]
        return res
    finally:
        d.stop()
        shutil.rmtree(sdir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=200000)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--hup", action="store_true")
    ap.add_argument("binaries", nargs="+")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="stafet-mprobe-")
    slapd = pg = None
    try:
        ldif, _ = generate(work, a.people)
        pwfile = os.path.join(work, "ldap.password")
        with open(pwfile, "w") as f:
            f.write(SERVICE_PASSWORD)
        os.chmod(pwfile, 0o600)
        slapd = Slapd(os.path.join(work, "slapd"), ldif=ldif)
        slapd.start(timeout=900)
        os.unlink(ldif)
        pg, db_settings = start_postgres(work)
        Stafetd(os.path.join(work, "mig"), dict(stafetd_settings(
            work, slapd.uri, pwfile), **db_settings)).migrate()
        # let slapadd's modify timestamps fall out of the overlap window
        time.sleep(3)
        for r in range(a.rounds):
            for b in a.binaries:
                res = run_one(os.path.abspath(b), work, slapd, pwfile, db_settings,
                              a.people, a.hup, None)
                peer_dump(slapd, pwfile)
                sl = proc_status(slapd.pid)
                res["slapd_rss"] = sl["VmRSS"]
                print("RESULT people=%d round=%d bin=%s %s" % (
                    a.people, r, b, " ".join("%s=%.1f" % kv for kv in sorted(res.items()))),
                    flush=True)
    finally:
        if slapd is not None:
            slapd.stop()
        if pg is not None:
            pg.cleanup()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
