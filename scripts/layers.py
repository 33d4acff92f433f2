#!/usr/bin/env python3
"""layers.py [OBJDIR]: the layer check (DESIGN.md "Architecture").

From the object files' defined and undefined symbols (nm), fails when a
file of a lower layer names a symbol defined in a higher one, and prints
each offending pair: "daemon/metrics.o -> dir_sync_metrics_render
(directory/sync.o)".

    0 daemon/     the core
    1 directory/  the LDAP mirror, search, counterparts
    2 auth/       login, sessions, roles, audit (may read the directory)
    3 handover/   notes, routes, alerts, reports (may read both)
    4 api/        the HTTP handlers
    5 app/        main, the route, key and module tables

A folder may name what its own folder or a lower layer defines. Objects
outside these folders (build/gen's embedded data) count as the core. The
last lines are cmocka's, so scripts/check.sh counts the check as a test.
"""

import os
import subprocess
import sys

RANK = {"daemon": 0, "directory": 1, "auth": 2, "handover": 3, "api": 4, "app": 5}


def nm(args, path):
    out = subprocess.run(["nm", *args, path], capture_output=True, text=True, check=True)
    return [line.split()[-1] for line in out.stdout.splitlines() if line.strip()]


def main():
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    objdir = sys.argv[1] if len(sys.argv) > 1 else "build/obj"
    # the objects of today's sources (a moved file leaves its old object)
    objs = sorted(f"{folder}/{f[:-2]}.o" for folder in RANK if os.path.isdir(folder)
                  for f in os.listdir(folder) if f.endswith(".c"))
    objs += sorted(os.path.relpath(os.path.join(d, f), objdir)
                   for d, _, files in os.walk(os.path.join(objdir, "build"))
                   for f in files if f.endswith(".o"))
    missing = [o for o in objs if not os.path.exists(os.path.join(objdir, o))]
    if missing:
        print(f"layers: {len(missing)} objects not built under {objdir}: {missing[:5]}")
        print("[  FAILED  ] 1 test(s), listed below: layers")
        return 1
    if not objs:
        print(f"layers: no object files under {objdir} (run make first)")
        print("[  FAILED  ] 1 test(s), listed below: layers")
        return 1
    defined = {}
    for o in objs:
        for sym in nm(["--defined-only", "-g"], os.path.join(objdir, o)):
            defined.setdefault(sym, o)
    bad = []
    for o in objs:
        mine = RANK.get(o.split("/")[0], 0)
        for sym in nm(["-u"], os.path.join(objdir, o)):
            where = defined.get(sym)
            if where and RANK.get(where.split("/")[0], 0) > mine:
                bad.append(f"{o} -> {sym} ({where})")
    for line in bad:
        print(line)
    if bad:
        print(f"layers: {len(bad)} calls from a lower layer to a higher one")
        print("[  FAILED  ] 1 test(s), listed below: layers")
        return 1
    print(f"layers: {len(objs)} files, no call upward")
    print("[  PASSED  ] 1 test(s).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
