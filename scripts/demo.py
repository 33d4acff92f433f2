#!/usr/bin/env python3
"""
`make demo`: runs stafetd against a real slapd, PostgreSQL and an SMTP sink,
all living under run/demo/, and leaves them running after this script exits.

    python3 scripts/demo.py start    start what is not running, print the URL
    python3 scripts/demo.py status   show what runs, and where
    python3 scripts/demo.py stop     stop everything; the data stays for the next start

The environment variable STAFETD names another daemon binary than
build/stafetd (a sanitizer build, say); STAFET_DEMO_DIR another run
directory, and STAFET_DEMO_PORT the first HTTP port to try (default 8080).
"""

import fcntl
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.harness.common import free_port  # noqa: E402
from tests.harness.pg import Postgres, quote_ident, quote_literal  # noqa: E402
from tests.harness.smtp import SmtpSink  # noqa: E402

# STAFET_DEMO_DIR and STAFET_DEMO_PORT let the tests run a demo of their own.
DEFAULT_RUN = REPO / "run" / "demo"
RUN = Path(os.environ.get("STAFET_DEMO_DIR") or DEFAULT_RUN)
STATE = RUN / "state.json"
CONF = RUN / "stafetd.conf"
PWFILE = RUN / "db.password"
STAFETD_LOG = RUN / "stafetd.log"
DEMO_LDIF = REPO / "tests" / "fixtures" / "demo.ldif"
DEMO_USER, DEMO_PASSWORD = "mha", "demo"
DEFAULT_HTTP_PORT = int(os.environ.get("STAFET_DEMO_PORT") or 8080)


# -- small helpers -------------------------------------------------------------

def say(msg=""):
    print(msg, flush=True)


def die(msg):
    print(f"demo: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


def proc_alive(pid, *markers):
    """True if pid runs (not a zombie) and its command line holds every
    marker, so a pid reused by some other program does not count."""
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                return False
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read()
    except (OSError, IndexError):
        return False
    return all(m.encode() in cmdline for m in markers)


def find_pid(*markers):
    """The lowest pid whose command line holds every marker, or None."""
    pids = [int(e) for e in os.listdir("/proc")
            if e.isdigit() and int(e) != os.getpid() and proc_alive(int(e), *markers)]
    return min(pids) if pids else None


def terminate(pid, *markers, timeout=20):
    """SIGTERM, then SIGKILL after timeout; waits until pid is gone.
    Returns False if it was not running."""
    if not proc_alive(pid, *markers):
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while proc_alive(pid, *markers):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + timeout
        time.sleep(0.05)
    return True


def port_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # As a server would bind: a port in TIME_WAIT counts as free.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def load_state():
    try:
        return json.loads(STATE.read_text())
    except FileNotFoundError:
        return {}
    except ValueError:
        die(f"{STATE} is damaged; stop what runs by hand and remove it")


def save_state(state):
    # 0600: it holds the directory's admin password.
    tmp = STATE.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(state, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, STATE)


def write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)  # an older file may have had a wider mode


def run_detached(fn, log_path):
    """Calls fn in a forked child that has left our session and whose stdio
    goes to log_path, so that whatever fn spawns outlives this script and
    never holds our terminal or pipe (a `make demo | tee` would otherwise
    hang). fn's JSON-able result comes back through a pipe."""
    sys.stdout.flush()
    sys.stderr.flush()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            os.setsid()
            log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(log, 1)
            os.dup2(log, 2)
            result = {"ok": True, "value": fn()}
        except BaseException as e:  # noqa: B902 -- report anything to the parent
            result = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        os.write(w, json.dumps(result).encode())
        # No cleanup handlers: they could stop the service we just started.
        os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 65536):
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    result = json.loads(data or b'{"ok": false, "error": "child died"}')
    if not result["ok"]:
        raise RuntimeError(result["error"])
    return result["value"]


def http(method, url, body=None, headers=None, timeout=3):
    """(status, parsed JSON body or None); status 0 if nothing answered."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    except (OSError, urllib.error.URLError):
        return 0, None
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, None


def stafetd_binary():
    path = Path(os.environ.get("STAFETD") or REPO / "build" / "stafetd")
    if not os.access(path, os.X_OK):
        die(f"{path} not found: build it first (make)")
    return path.resolve()


# -- the services --------------------------------------------------------------
# Each ensure_* starts its service unless it already runs, records it in
# state, and returns True if it had to start it.

# slapd is known by its command line naming our workdir (its config is there).
LDAP_DIR = RUN / "ldap"
SLAPD = ("slapd", str(LDAP_DIR))


def ensure_ldap(state):
    st = state.get("ldap") or {}
    if proc_alive(st.get("pid"), *SLAPD):
        return False
    try:
        from tests.harness.slapd import Slapd
    except ImportError:
        say("demo: tests/harness/slapd.py is missing; starting without LDAP")
        state["ldap"] = None
        return False

    port = st.get("port") if st.get("port") and port_free(st["port"]) else None

    def launch():
        # Loaded on first start only; later starts keep the directory as is.
        ldap = Slapd(str(LDAP_DIR), ldif=str(DEMO_LDIF), port=port)
        ldap.start()
        return {"uri": ldap.uri, "base_dn": ldap.base_dn,
                "admin_dn": ldap.admin_dn, "admin_password": ldap.admin_password}

    info = run_detached(launch, RUN / "ldap-harness.log")
    info["port"] = urllib.parse.urlsplit(info["uri"]).port
    info["pid"] = find_pid(*SLAPD)
    if info["pid"] is None:
        die(f"slapd started, but no slapd process names {LDAP_DIR}")
    state["ldap"] = info
    return True


def open_postgres(port=None):
    """The demo's cluster; a running server is adopted with its own port."""
    pg = Postgres(RUN / "pg", port=port, fast=False)
    if pg.relocated:
        pg.cleanup()
        die(f"the postgres user cannot reach {RUN}; make its parent "
            "directories world-searchable (chmod o+x) or run as non-root")
    return pg


def ensure_postgres(state):
    saved = (state.get("postgres") or {}).get("port")
    pg = open_postgres(saved if saved and port_free(saved) else None)
    started = False
    if not pg.running():
        pg.start()
        started = True
    state["postgres"] = {"pid": pg.pid, "port": pg.port, "host": pg.host,
                         "datadir": pg.datadir, "log": pg.log_path}
    return pg, started


def ensure_database(pg):
    """Role and database `stafet`, with the password kept in db.password.
    Returns True if the password is new."""
    new = not PWFILE.exists()
    if new:
        password = secrets.token_urlsafe(24)
        write_private(PWFILE, password)
    else:
        password = PWFILE.read_text()
        os.chmod(PWFILE, 0o600)
    if not pg.psql("SELECT 1 FROM pg_roles WHERE rolname = 'stafet'").strip():
        pg.create_role("stafet", password=password)
    else:  # keeps role and file in step, should the file have been lost
        pg.psql(f"ALTER ROLE {quote_ident('stafet')} PASSWORD {quote_literal(password)};")
    if not pg.psql("SELECT 1 FROM pg_database WHERE datname = 'stafet'").strip():
        pg.create_database("stafet", owner="stafet")
    return new


def ensure_smtp(state):
    saved = (state.get("smtp") or {}).get("port")
    sink = SmtpSink(RUN / "smtp", port=saved, detach=True)
    started = False
    if not sink.running():
        if not saved or not port_free(saved):
            sink.port = free_port()
        sink.start()
        started = True
    state["smtp"] = {"pid": sink.pid, "port": sink.port, "host": sink.host,
                     "maildir": sink.maildir}
    return started


def conf_value(value):
    """Double-quotes a config value only where the format needs it."""
    value = str(value)
    if value == value.strip() and '#' not in value and '"' not in value:
        return value
    if '"' in value or "\\" in value:
        die(f"cannot write {value!r} into stafetd.conf")
    return f'"{value}"'


LDAP_PWFILE = RUN / "ldap.password"
# The demo directory's service account (tests/fixtures/gen_demo_ldif.py).
LDAP_SERVICE_DN = "cn=stafetd,ou=services,dc=stafet,dc=example"
LDAP_SERVICE_PASSWORD = "stafetd-demo"


def render_conf(http_port, pg_port, ldap_uri, smtp_port=None):
    if not LDAP_PWFILE.exists():
        write_private(LDAP_PWFILE, LDAP_SERVICE_PASSWORD + "\n")
    items = [
        ("listen", f"127.0.0.1:{http_port}"),
        ("web_root", REPO / "web"),
        ("log_level", "info"),
        ("db_conninfo", f"host=127.0.0.1 port={pg_port} dbname=stafet user=stafet"),
        ("db_password_file", PWFILE),
        # The demo slapd listens on loopback only, without TLS.
        ("ldap_uri", ldap_uri),
        ("ldap_starttls", "no"),
        ("ldap_allow_plaintext", "yes"),
        ("ldap_bind_dn", LDAP_SERVICE_DN),
        ("ldap_bind_password_file", LDAP_PWFILE),
        ("directory_people_base", "ou=people,dc=stafet,dc=example"),
        ("directory_units_base", "ou=units,dc=stafet,dc=example"),
        ("directory_groups_base", "ou=groups,dc=stafet,dc=example"),
        ("directory_refresh_interval", "10s"),
        ("directory_reconcile_interval", "10m"),
        ("directory_snapshot_file", RUN / "directory.json"),
        ("role_quality_group", "cn=stafet-quality,ou=groups,dc=stafet,dc=example"),
        ("role_admin_group", "cn=stafet-admin,ou=groups,dc=stafet,dc=example"),
    ]
    if smtp_port:
        # The demo's SMTP sink on loopback: no TLS there.
        items += [("smtp_url", f"smtp://127.0.0.1:{smtp_port}"),
                  ("smtp_starttls", "no"),
                  ("smtp_from", "stafet@demo.example")]
    return ("# Written by scripts/demo.py at each start; edit the script, not this.\n"
            + "".join(f"{k} = {conf_value(v)}\n" for k, v in items))


def pick_http_port():
    for port in range(DEFAULT_HTTP_PORT, DEFAULT_HTTP_PORT + 100):
        if port_free(port):
            return port
    die(f"no free port in {DEFAULT_HTTP_PORT}..{DEFAULT_HTTP_PORT + 99}")


def healthy(port):
    return http("GET", f"http://127.0.0.1:{port}/healthz")[0] == 200


def ensure_stafetd(state, binary, pg_port, new_password):
    """Starts stafetd unless it runs with the current config; a config that
    changed (a service came back on another port) or a new database
    password means a restart."""
    st = state.get("stafetd") or {}
    # Our -c path is in its command line; no other stafetd has it.
    running = proc_alive(st.get("pid"), str(CONF))
    port = st["port"] if running else pick_http_port()
    text = render_conf(port, pg_port, state["ldap"]["uri"],
                       (state.get("smtp") or {}).get("port"))
    changed = not CONF.exists() or CONF.read_text() != text
    if running and not changed and not new_password:
        return False
    if running:
        say("demo: new configuration or database password, restarting stafetd")
        terminate(st["pid"], str(CONF))
    write_private(CONF, text)

    r = subprocess.run([str(binary), "--migrate", "-c", str(CONF)],
                       capture_output=True, text=True, timeout=300, cwd=REPO)
    if r.returncode != 0:
        die(f"stafetd --migrate failed ({r.returncode}):\n{r.stdout}{r.stderr}")

    with open(STAFETD_LOG, "ab") as log:
        # A marker per start, so the log tells one run from the next.
        log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} scripts/demo.py "
                  f"starts {binary} -c {CONF}\n".encode())
        log.flush()
        proc = subprocess.Popen([str(binary), "-c", str(CONF)], cwd=REPO,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True)
    state["stafetd"] = {"pid": proc.pid, "port": port,
                        "url": f"http://127.0.0.1:{port}/", "log": str(STAFETD_LOG)}
    deadline = time.monotonic() + 30
    while not healthy(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                terminate(proc.pid, str(CONF))
            tail = "".join(STAFETD_LOG.read_text(errors="replace").splitlines(True)[-20:])
            die(f"stafetd did not answer /healthz on port {port}; "
                f"{STAFETD_LOG} ends:\n{tail}")
        time.sleep(0.1)
    return True


def login_note(port):
    """One line about the demo login, checked against the running daemon."""
    who = f"{DEMO_USER} / {DEMO_PASSWORD} (Mette Hansen, caseworker in UR)"
    base = f"http://127.0.0.1:{port}/api/v1/session"
    # A first start has no saved directory yet: give the first sync (and the
    # routes) a moment before judging the login.
    deadline = time.monotonic() + 30
    while (http("GET", f"http://127.0.0.1:{port}/readyz")[0] != 200
           and time.monotonic() < deadline):
        time.sleep(0.2)
    status, body = http("POST", base, {"username": DEMO_USER, "password": DEMO_PASSWORD})
    if status == 201 and isinstance(body, dict) and body.get("token"):
        http("DELETE", base, headers={"Authorization": f"Bearer {body['token']}"})
        return (f"Demo login: {who}; every demo user's password is {DEMO_PASSWORD} "
                f"(ano: admin, kmo: quality)")
    why = ""
    if isinstance(body, dict) and body.get("title"):  # a problem response
        why = f" ({body['title']}: {body.get('detail', '')})"
    return (f"Demo login: {who} -- but stafetd answered {status} to it{why}; "
            f"see {STAFETD_LOG}")


# -- demo data: notices (varsler) -----------------------------------------------

NOTICE_FIRST = ["Emil", "Freja", "Noah", "Ida", "Oscar", "Alma", "William", "Clara", "Lucas",
                "Sofia", "Malthe", "Ella", "Victor", "Agnes", "Elias", "Karla"]
NOTICE_LAST = ["Nielsen", "Jensen", "Pedersen", "Andersen", "Christensen", "Larsen",
               "Sørensen", "Rasmussen", "Jørgensen", "Madsen", "Kristensen", "Olsen"]


def _add_months(year, month, n):
    total = year * 12 + (month - 1) + n
    return total // 12, total % 12 + 1


def notice_csv(route, age, count, seed):
    """A case system's CSV export: `count` citizens on `route`, expected
    over the next 24 months (the 1st or the 15th), each `age` years old on
    that date. Fictitious CPR numbers with real dates; the same `seed`
    gives the same citizens (a re-import changes nothing)."""
    today = time.gmtime()
    lines = ["cpr;name;route;expected_date;comment"]
    for i in range(count):
        y, m = _add_months(today.tm_year, today.tm_mon, 1 + i * 23 // count)
        day = 1 if i % 2 == 0 else 15
        born_y, born_d = y - age, 1 + (seed * 7 + i * 5) % 28
        serial = "%03d" % ((seed * 211 + i * 37) % 1000)
        cpr = "%02d%02d%02d-4%s" % (born_d, m, born_y % 100, serial)
        name = f"{NOTICE_FIRST[(i + seed) % len(NOTICE_FIRST)]} " \
               f"{NOTICE_LAST[(i * 5 + seed) % len(NOTICE_LAST)]}"
        comment = "Forventes at afslutte grundskolen; uddannelsesplan er lagt." \
            if route == "BUR-UR" else "16-årsmødet er holdt; voksenafgørelse forberedes."
        lines.append(f'{cpr};{name};{route};{y:04d}-{m:02d}-{day:02d};"{comment}"')
    return "\n".join(lines) + "\n"


def seed_notices(port):
    """Notices over the next 24 months for BUR->UR (filed by sbo) and
    BUR-H->ÆHF (by lbk), through the import; idempotent. One line."""
    base = f"http://127.0.0.1:{port}/api/v1"
    made = []
    for user, route, age, count, seed in (("sbo", "BUR-UR", 17, 36, 1),
                                          ("lbk", "BURH-AEHF", 18, 18, 2)):
        status, body = http("POST", base + "/session", {"username": user,
                                                        "password": DEMO_PASSWORD})
        if status != 201 or not isinstance(body, dict):
            return f"Demo notices: could not log in as {user} ({status})."
        auth = {"Authorization": f"Bearer {body['token']}"}
        req = urllib.request.Request(base + "/notices/import", method="POST",
                                     data=notice_csv(route, age, count, seed).encode(),
                                     headers=dict(auth, **{"Content-Type": "text/csv"}))
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                out = json.loads(resp.read())
            made.append(f"{route}: {out['created']} new, {out['unchanged']} already there")
        except (OSError, urllib.error.URLError, ValueError) as e:
            made.append(f"{route}: import failed ({e})")
        http("DELETE", base + "/session", headers=auth)
    return "Demo notices (varsler) for the next 24 months: " + "; ".join(made) + "."


# -- commands ------------------------------------------------------------------

def lock():
    """One demo.py at a time per run directory."""
    fd = os.open(RUN / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def cmd_start():
    binary = stafetd_binary()  # before starting anything for it
    RUN.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:  # the postgres user must reach run/demo/pg
        if RUN == DEFAULT_RUN:
            os.chmod(RUN.parent, 0o755)
        os.chmod(RUN, 0o755)
    lock()
    state = load_state()
    state["repo"] = str(REPO)
    started = []

    # Saved after each step, so `stop` finds whatever a failed start left.
    if ensure_ldap(state):
        started.append("slapd")
    save_state(state)
    pg, pg_started = ensure_postgres(state)
    save_state(state)
    new_password = ensure_database(pg)
    if pg_started:
        started.append("PostgreSQL")
    if ensure_smtp(state):
        started.append("SMTP sink")
    save_state(state)
    if ensure_stafetd(state, binary, pg.port, new_password):
        started.append("stafetd")
    save_state(state)

    port = state["stafetd"]["port"]
    if started:
        say(f"Started {', '.join(started)}.")
    else:
        say("Stafet demo already running.")
    say(f"Stafet demo: {state['stafetd']['url']}")
    say(login_note(port))
    say(seed_notices(port))
    say("Status: python3 scripts/demo.py status; stop: python3 scripts/demo.py stop")


def report(name, stopped):
    say(f"{name} stopped." if stopped else f"{name} was not running.")


def cmd_stop():
    if not RUN.exists():
        say("Stafet demo is not set up; nothing to stop.")
        return
    lock()
    state = load_state()
    # The daemon first, so it sees no outage of its services on the way out.
    st = state.get("stafetd") or {}
    report("stafetd", terminate(st.get("pid"), str(CONF)))
    sink = SmtpSink(RUN / "smtp")
    was = sink.running()
    sink.stop()
    report("SMTP sink", was)
    was = False
    if (RUN / "pg" / "data").exists():
        pg = open_postgres()
        was = pg.running()
        pg.stop()
    report("PostgreSQL", was)
    ldap = state.get("ldap") or {}
    report("slapd", terminate(ldap.get("pid") or find_pid(*SLAPD), *SLAPD))
    for name in ("stafetd", "smtp", "postgres", "ldap"):
        if state.get(name):
            state[name]["pid"] = None
    save_state(state)
    say(f"Data kept in {RUN}; `python3 scripts/demo.py start` resumes.")


def cmd_status():
    state = load_state()
    if not state:
        say("Stafet demo is not set up (python3 scripts/demo.py start).")
        return 3
    rows = []
    ldap = state.get("ldap")
    if ldap:
        up = proc_alive(ldap.get("pid"), *SLAPD)
        rows.append(("slapd", up, ldap.get("pid"),
                     f"{ldap['uri']}  base {ldap['base_dn']}  admin {ldap['admin_dn']}"))
    else:
        rows.append(("slapd", None, None, "not part of this demo (no harness)"))
    pgs = state.get("postgres") or {}
    pg_pid = open_postgres().pid if (RUN / "pg" / "data").exists() else None
    rows.append(("PostgreSQL", pg_pid is not None, pg_pid,
                 f"127.0.0.1:{pgs.get('port')}  db stafet, user stafet, "
                 f"password in {PWFILE}"))
    smtp = state.get("smtp") or {}
    sink = SmtpSink(RUN / "smtp", port=smtp.get("port"))
    rows.append(("SMTP sink", sink.running(), sink.pid,
                 f"127.0.0.1:{smtp.get('port')}  {len(sink.messages())} received "
                 f"in {sink.maildir}/new"))
    st = state.get("stafetd") or {}
    up = proc_alive(st.get("pid"), str(CONF))
    detail = f"{st.get('url')}  log {STAFETD_LOG}"
    if up and not healthy(st["port"]):
        detail += "  (not answering /healthz)"
    rows.append(("stafetd", up, st.get("pid"), detail))

    for name, up, pid, detail in rows:
        what = {True: f"running (pid {pid})", False: "stopped", None: "-"}[up]
        say(f"{name:<11} {what:<22} {detail}")
    return 0 if all(up is not False for _, up, _, _ in rows) else 3


def main():
    cmds = {"start": cmd_start, "stop": cmd_stop, "status": cmd_status}
    if len(sys.argv) != 2 or sys.argv[1] not in cmds:
        print(f"usage: {sys.argv[0]} start|stop|status", file=sys.stderr)
        return 2
    try:
        return cmds[sys.argv[1]]() or 0
    except RuntimeError as e:
        die(str(e))
    except BrokenPipeError:
        # The reader left (`make demo | head`); what runs is not affected.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
