#!/usr/bin/python3
"""The one table of `make bench`: reads the drivers' JSON (--json of
directory_bench.py, handover_bench.py, alerts_bench.py, growth_bench.py)
and prints their rows as one markdown table, grouped in the order of issue
9, with the columns of bench/README.md's tables:

  1. directory search and counterpart resolution
  2. directory sync (full load, 100 changes, resident memory)
  3. handover submit with 32 clients
  4. incoming list with the notes stored
  5. mail delivery to a local SMTP server
  6. growth: search and resolution at several directory sizes
  7. the notices' pipeline with 5,000 notices stored (pipeline_bench.py)

The table is printed last, after a few lines on the run (date, build,
machine, load average, time); the same, with the drivers' notes after the
table, is saved as build/bench/table-DATE.md (--out). A driver whose JSON
is missing (it failed) gets a row saying so, and the exit status is 1.
"""

import argparse
import json
import os
import sys
import time

SECTIONS = {
    1: "Search and counterparts",
    2: "Directory sync",
    3: "Handover submit",
    4: "Incoming list",
    5: "Mail delivery",
    6: "Growth",
    7: "Notices' pipeline",
    8: "Quality report",
}
# Which driver gives each section (for the "not measured" rows).
DRIVER_OF = {1: "directory", 2: "directory", 3: "handovers", 4: "handovers",
             5: "alerts", 6: "growth", 7: "pipeline", 8: "report"}
HEAD = ("figure", "stafetd", "peer", "peer figure", "stafetd / peer",
        "target", "met")


def title(section, docs):
    """The section's heading row: short, so that it does not widen the
    figure column; what the peers are is in the rows."""
    d = docs.get(DRIVER_OF[section], {})
    p = d.get("params", {})
    if section in (1, 2) and p.get("people"):
        return "%s, %s people" % (SECTIONS[section], format(p["people"], ","))
    if section == 3:
        return "%s, 32 clients" % SECTIONS[3]
    if section == 4 and p.get("notes"):
        return "%s, %s notes stored" % (SECTIONS[4], format(p["notes"], ","))
    if section == 6 and d.get("points"):
        return "%s, 16 in flight" % SECTIONS[6]
    if section == 7 and p.get("notices"):
        return "%s, %s notices stored" % (SECTIONS[7], format(p["notices"], ","))
    return SECTIONS[section]


def render(rows):
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEAD))]
    lines = []
    for n, r in enumerate(rows):
        lines.append("| " + " | ".join(c.ljust(w) for c, w in
                                         zip(r, widths)) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def loadavg_summary(path):
    """min / mean / max of the 1-minute load average sampled during the run
    (run.sh appends /proc/loadavg to path every few seconds)."""
    try:
        vals = [float(x.split()[0]) for x in open(path) if x.strip()]
    except (OSError, ValueError, IndexError):
        return None
    if not vals:
        return None
    return "%.2f / %.2f / %.2f (min / mean / max of %d samples)" % (
        min(vals), sum(vals) / len(vals), max(vals), len(vals))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json", nargs="+", help="the drivers' JSON files")
    ap.add_argument("--out", default="",
                    help="save the table here (default build/bench/"
                    "table-DATE.md)")
    ap.add_argument("--wall", type=float, default=0,
                    help="seconds the whole run took (run.sh)")
    ap.add_argument("--setup", type=float, default=None,
                    help="seconds of it that packages and the build took")
    ap.add_argument("--loadavg", default="",
                    help="file of /proc/loadavg samples taken during the run")
    args = ap.parse_args()

    docs = {}
    for path in args.json:
        try:
            with open(path, encoding="utf-8") as f:
                d = json.load(f)
            docs[d["driver"]] = d
        except (OSError, ValueError, KeyError) as e:
            print("table: %s: %s" % (path, e), file=sys.stderr)

    rows = [HEAD]
    missing = []
    for section in sorted(SECTIONS):
        rows.append(("**%d. %s**" % (section, title(section, docs)),
                     "", "", "", "", "", ""))
        got = [r for d in docs.values() for r in d.get("rows", [])
               if r.get("section") == section]
        if not got:
            missing.append(DRIVER_OF[section])
            rows.append(("**not measured** (%s benchmark failed)" %
                         DRIVER_OF[section], "–", "–", "–", "–", "–", "–"))
        for r in got:
            rows.append((r["figure"], r["stafetd"]["text"], r["peer"],
                         r["peer_value"]["text"], r["ratio"]["text"],
                         r["target"], r["met"]))

    now = time.gmtime()
    out = args.out or os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build",
        "bench", "table-%s.md" % time.strftime("%Y%m%d-%H%M%S", now))
    any_doc = next(iter(docs.values()), {})
    head = ["# `make bench`, %s" % time.strftime("%Y-%m-%d %H:%M UTC", now),
            "",
            "stafetd built from %s; %s." % (any_doc.get("rev", "?"),
                                            any_doc.get("machine", "?"))]
    parts = []
    for name in ("directory", "handovers", "alerts", "growth", "pipeline"):
        d = docs.get(name)
        if d:
            parts.append("%s %.0f s (load %s → %s)" % (
                name, d.get("seconds", 0), " ".join(d.get("load_before", [])),
                " ".join(d.get("load_after", []))))
    if parts:
        head.append("Drivers: " + "; ".join(parts) + ".")
    la = loadavg_summary(args.loadavg) if args.loadavg else None
    if args.wall or la:
        head.append("Whole run: %s%s%s." % (
            "%.0f s (%.1f min%s)" % (
                args.wall, args.wall / 60,
                ", of which packages and build %.0f s" % args.setup
                if args.setup is not None else "") if args.wall else "",
            "; " if args.wall and la else "",
            "load average during it %s" % la if la else ""))
    head.append("\"stafetd / peer\": stafetd's figure divided by the peer's "
                "from the same run (for times lower is better for stafetd, "
                "for rates higher). The load generators share the 2 cores "
                "with the servers.")
    table = render(rows)

    notes = []
    for name in ("directory", "handovers", "alerts", "growth", "pipeline"):
        d = docs.get(name)
        if d and d.get("notes"):
            notes.append("")
            notes.append("Notes (%s):" % name)
            notes += ["- " + n for n in d["notes"]]
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(head) + "\n\n" + table + "\n" + "\n".join(notes)
                + "\n")
    print("\n".join(head[2:]))
    print("bench: the table is saved in %s (with the drivers' notes)" % out)
    if missing:
        print("bench: **not measured: %s**" % ", ".join(sorted(set(missing))))
    print()
    print(table)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
