#!/usr/bin/python3
"""PDF benchmark: how long stafetd takes to render the largest note, and
how the event loop answers meanwhile.

Starts slapd with the demo directory, PostgreSQL and build/stafetd (or
$STAFETD) on 127.0.0.1 in a temporary directory (tests/harness/), files
the note tests/integration/test_pdf.py calls the largest (every text of
every BUR-UR section at the template's 20,000-byte limit, as many goals
and actions as fit in the 1 MiB body; about 100 pages), then fetches its
PDF --rounds times, one at a time, while another client asks /healthz
every 20 ms. Prints the render time (min, median, max), the daemon's CPU
time per render (user and system, from /proc: steadier than the wall clock
on a busy machine), the pages and bytes, and the /healthz latency (median,
p99, max) during the renders.

    /usr/bin/python3 bench/pdf_bench.py [--rounds 5]

Not part of bench/run.sh (DESIGN.md sets no target for it); the figure is
in bench/README.md ("The PDF of a note").
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)

from tests.harness.pg import Postgres  # noqa: E402
from tests.harness.slapd import Slapd  # noqa: E402
from tests.integration.handover_helpers import User, note_body  # noqa: E402
from tests.integration.test_counterparts import start_module_daemon  # noqa: E402
from tests.integration.test_directory import wait_until  # noqa: E402
from tests.integration.test_pdf import max_sections  # noqa: E402


def pct(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="stafet-pdf-bench-") as tmp:
        slapd = Slapd(os.path.join(tmp, "slapd"))
        slapd.start()
        try:
            with Postgres() as pg:
                from pathlib import Path
                d, _db = start_module_daemon(pg, slapd, Path(tmp))
                try:
                    run(d, args.rounds)
                finally:
                    d.stop()
        finally:
            slapd.stop()


def cpu_seconds(pid):
    """User and system CPU seconds of a process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(d, rounds):
    sbo = User(d, "sbo")
    url = d.url + "/api/v1"
    wait_until(lambda: requests.get(url + "/templates/BUR-UR", headers=sbo.headers,
                                    timeout=10).status_code == 200, what="templates")
    r = requests.post(url + "/handovers", headers=sbo.headers,
                      json=max_sections(note_body(placed=True)), timeout=60)
    r.raise_for_status()
    hid = r.json()["id"]
    seconds, cpu, health = [], [], []
    size = pages = 0
    for _ in range(rounds):
        done = threading.Event()

        def probe():
            while not done.is_set():
                t0 = time.monotonic()
                requests.get(d.url + "/healthz", timeout=10).raise_for_status()
                health.append(time.monotonic() - t0)
                time.sleep(0.02)
        t = threading.Thread(target=probe)
        t.start()
        t0, c0 = time.monotonic(), cpu_seconds(d.proc.pid)
        r = requests.get(f"{url}/handovers/{hid}/pdf", headers=sbo.headers, timeout=600)
        seconds.append(time.monotonic() - t0)
        cpu.append(cpu_seconds(d.proc.pid) - c0)
        done.set()
        t.join()
        r.raise_for_status()
        size = len(r.content)
        with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
            f.write(r.content)
            f.flush()
            info = subprocess.run(["pdfinfo", f.name], capture_output=True, text=True).stdout
        pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    print(f"binary            {os.environ.get('STAFETD', 'build/stafetd')}")
    print(f"largest note      {pages} pages, {size:,} bytes")
    print(f"render (s)        min {min(seconds):.2f}  median {pct(seconds, 0.5):.2f}  "
          f"max {max(seconds):.2f}  ({rounds} rounds)")
    print(f"daemon CPU (s)    min {min(cpu):.2f}  median {pct(cpu, 0.5):.2f}  max {max(cpu):.2f} "
          f"per render (the probes' /healthz included)")
    print(f"/healthz meanwhile  {len(health)} answers: median {pct(health, 0.5) * 1000:.1f} ms  "
          f"p99 {pct(health, 0.99) * 1000:.1f} ms  max {max(health) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
