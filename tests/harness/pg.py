"""
A real PostgreSQL server in a throwaway directory, for integration tests and
the demo.

PostgreSQL refuses to run as root, so when we are root (CI, this machine) the
server runs as the `postgres` system user and its directories are created
where that user can reach them; as anyone else it runs as the current user.
The superuser connects over the Unix socket with trust auth; other roles use
TCP on 127.0.0.1 with SCRAM passwords, as stafetd does in production.
"""

import glob
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time

from .common import free_port, log_tail

# Sockets live in the data dir; a sockaddr_un path holds at most 107 bytes.
_SUN_PATH_MAX = 107


def find_bindir():
    """The directory of the newest installed PostgreSQL's server binaries."""
    def version(path):
        v = os.path.basename(os.path.dirname(path))
        return tuple(int(x) for x in re.findall(r"\d+", v))

    dirs = [d for d in glob.glob("/usr/lib/postgresql/*/bin")
            if os.access(os.path.join(d, "postgres"), os.X_OK)]
    if dirs:
        return max(dirs, key=version)
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True,
                             text=True, check=True).stdout.strip()
        if os.access(os.path.join(out, "postgres"), os.X_OK):
            return out
    except (OSError, subprocess.CalledProcessError):
        pass
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl:
        return os.path.dirname(os.path.realpath(pg_ctl))
    raise RuntimeError("PostgreSQL server binaries not found "
                       "(install the postgresql package)")


def _conn_value(v):
    """Quotes a libpq key=value value when it needs it."""
    v = str(v)
    if v and not re.search(r"[\s'\\]", v):
        return v
    return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"


def quote_ident(name):
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value):
    # standard_conforming_strings is on (the default), so only ' needs doubling.
    return "'" + value.replace("'", "''") + "'"


def _proc_alive(pid, comm=None):
    """True if pid runs (and is named comm, if given); a zombie (dead, not
    yet reaped by init) counts as gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            head, tail = f.read().rsplit(")", 1)
        state = tail.split()[0]
    except (OSError, ValueError, IndexError):
        return False
    if comm is not None and head.split("(", 1)[-1] != comm:
        return False
    return state not in ("Z", "X")


def _children(pid):
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            kids.append(int(entry))
    return kids


class Postgres:
    """
    One PostgreSQL cluster. Nothing runs until start(); cleanup() stops it and
    removes its files. Use as a context manager to get both.

    workdir: where the cluster lives (data dir is workdir/data, reused if it
    holds a cluster already). None makes a fresh directory under /tmp. As
    root, a workdir the postgres user cannot reach (pytest's tmp_path is 0700)
    is replaced by a fresh directory under /tmp; see `relocated`.
    port: TCP port on 127.0.0.1; None picks a free one (or adopts the port of
    a server already running in workdir), kept across restarts.
    fast: fsync off, for speed. Committed data still survives kill() (it is
    in the OS page cache), just not a crash of the machine.
    """

    host = "127.0.0.1"
    superuser = "postgres"

    def __init__(self, workdir=None, port=None, fast=True):
        self.bindir = find_bindir()
        self.fast = fast
        self.port = int(port) if port else None
        self._as_root = os.geteuid() == 0
        if self._as_root:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root needs the 'postgres' system "
                                   "user (installed with the postgresql package)")
            self._uid, self._gid, self._home = pw.pw_uid, pw.pw_gid, pw.pw_dir
        self._own_dirs = []   # directories we made and cleanup() removes whole
        self.relocated = False

        if workdir is None:
            workdir = self._mkdtemp("stafet-pg-")
        workdir = os.path.abspath(workdir)
        os.makedirs(workdir, exist_ok=True)
        self.workdir = workdir
        self.datadir = os.path.join(workdir, "data")
        self._make_datadir()
        if self._as_root and not self._postgres_can_use(self.datadir):
            try:
                os.rmdir(self.datadir)  # only if we just made it, empty
            except OSError:
                pass
            self.workdir = self._mkdtemp("stafet-pg-")
            self.datadir = os.path.join(self.workdir, "data")
            self._make_datadir()
            self.relocated = True
        self.log_path = os.path.join(self.datadir, "postgres.log")

        # A server already running here (started by an earlier process, as
        # in the demo) is adopted with its port and socket dir.
        lines = self._pidfile_lines() if self.running() else []
        if lines:
            self.port = int(lines[3])
        elif self.port is None:
            self.port = free_port()
        self.sockdir = self.datadir
        if len(lines) > 4 and lines[4]:
            self.sockdir = lines[4]
        elif len(os.path.join(self.sockdir, f".s.PGSQL.{self.port}.lock")) > _SUN_PATH_MAX:
            self.sockdir = self._mkdtemp("stafet-pgs-")

    # -- lifecycle ---------------------------------------------------------

    def start(self):
        """Starts the server (initialising the cluster the first time) and
        returns once it accepts connections. A no-op if it already runs."""
        if self.running():
            return
        self._remove_stale_locks()
        if not os.path.exists(os.path.join(self.datadir, "PG_VERSION")):
            self._initdb()
        self._write_settings()
        r = self._run_pg("pg_ctl", "start", "-D", self.datadir, "-l", self.log_path,
                         "-w", "-t", "60", check=False)
        if r.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed ({r.returncode}): "
                               f"{r.stdout}{r.stderr}\n--- {self.log_path}:\n"
                               f"{self._log_tail()}")
        self._wait_ready(30)

    def stop(self):
        """Fast shutdown (active sessions are rolled back). Idempotent."""
        if not self.running():
            return
        r = self._run_pg("pg_ctl", "stop", "-D", self.datadir, "-m", "fast",
                         "-w", "-t", "60", check=False)
        if r.returncode != 0 and self.running():
            raise RuntimeError(f"pg_ctl stop failed: {r.stdout}{r.stderr}")

    def restart(self):
        self.stop()
        self.start()

    def kill(self):
        """Kills the postmaster and all its processes with SIGKILL, as a crash
        would; the next start() runs crash recovery."""
        pid = self.pid
        if pid is None:
            return
        # Freeze it first so it cannot fork a backend we would miss.
        try:
            os.kill(pid, signal.SIGSTOP)
        except ProcessLookupError:
            pass
        victims = [pid] + _children(pid)
        for p in victims:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while any(_proc_alive(p) for p in victims):
            if time.monotonic() > deadline:
                raise RuntimeError(f"postgres processes {victims} survived SIGKILL")
            time.sleep(0.02)
        self._remove_stale_locks()

    def cleanup(self):
        """Stops the server and removes its files (the data dir, and any
        directory this object created)."""
        try:
            self.stop()
        except Exception:
            self.kill()
        shutil.rmtree(self.datadir, ignore_errors=True)
        for d in self._own_dirs:
            shutil.rmtree(d, ignore_errors=True)
        self._own_dirs = []

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.cleanup()

    # -- state ---------------------------------------------------------------

    @property
    def pid(self):
        """The running postmaster's pid, or None."""
        try:
            pid = int(self._pidfile_lines()[0])
        except (IndexError, ValueError):
            return None
        return pid if _proc_alive(pid, "postgres") else None

    def _remove_stale_locks(self):
        """Removes the lock files of a dead postmaster. PostgreSQL clears
        them itself unless their pid still "exists": as a zombie nobody
        reaps (it was init's child), or reused by another program. The
        shared-memory interlock against orphaned backends does not depend
        on them."""
        if self.running():
            return
        for path in (os.path.join(self.datadir, "postmaster.pid"),
                     os.path.join(self.sockdir, f".s.PGSQL.{self.port}.lock")):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    def _pidfile_lines(self):
        # postmaster.pid: pid, datadir, start time, port, socket dir, ...
        try:
            with open(os.path.join(self.datadir, "postmaster.pid")) as f:
                return f.read().splitlines()
        except OSError:
            return []

    def running(self):
        return self.pid is not None

    # -- SQL -----------------------------------------------------------------

    def psql(self, sql, dbname="postgres"):
        """Runs sql (one or more statements) as the superuser and returns
        stdout, unaligned and tuples-only: "SELECT 1, 2" gives "1|2\\n".
        Stops at the first error and raises RuntimeError with its message."""
        r = subprocess.run(
            [os.path.join(self.bindir, "psql"), "-X", "-q", "-A", "-t",
             "-v", "ON_ERROR_STOP=1", "-h", self.sockdir, "-p", str(self.port),
             "-U", self.superuser, "-d", dbname, "-f", "-"],
            input=sql, capture_output=True, text=True, env=self._env(), timeout=300)
        if r.returncode != 0:
            raise RuntimeError(f"psql failed ({r.returncode}): {r.stderr.strip()}")
        return r.stdout

    def create_role(self, name, password=None, login=True):
        sql = f"CREATE ROLE {quote_ident(name)} {'LOGIN' if login else 'NOLOGIN'}"
        if password is not None:
            sql += f" PASSWORD {quote_literal(password)}"
        self.psql(sql + ";")

    def create_database(self, name, owner=None):
        sql = f"CREATE DATABASE {quote_ident(name)}"
        if owner:
            sql += f" OWNER {quote_ident(owner)}"
        self.psql(sql + ";")

    def conninfo(self, dbname, user=None, password=None):
        """A libpq key=value string. Without user: the superuser over the
        Unix socket (trust). With user: TCP to 127.0.0.1 (SCRAM password)."""
        if user is None:
            parts = {"host": self.sockdir, "port": self.port, "dbname": dbname,
                     "user": self.superuser}
        else:
            parts = {"host": self.host, "port": self.port, "dbname": dbname,
                     "user": user}
        if password is not None:
            parts["password"] = password
        return " ".join(f"{k}={_conn_value(v)}" for k, v in parts.items())

    # -- internals -----------------------------------------------------------

    def _mkdtemp(self, prefix):
        # Under /tmp, not the caller's tmp dir: the postgres user must reach it.
        d = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
        self._own_dirs.append(d)
        if self._as_root:
            os.chown(d, self._uid, self._gid)
        return d

    def _make_datadir(self):
        # initdb wants 0700 (or 0750) and ownership by the server's user.
        os.makedirs(self.datadir, mode=0o700, exist_ok=True)
        if self._as_root:
            st = os.stat(self.datadir)
            if st.st_uid != self._uid:
                for root, dirs, files in os.walk(self.datadir):
                    for n in [root] + [os.path.join(root, x) for x in dirs + files]:
                        os.lchown(n, self._uid, self._gid)

    def _postgres_can_use(self, path):
        r = subprocess.run(self._as_postgres(["test", "-w", path, "-a", "-x", path]),
                           env=self._env(), cwd="/")
        return r.returncode == 0

    def _as_postgres(self, argv):
        if not self._as_root:
            return argv
        return ["setpriv", f"--reuid={self._uid}", f"--regid={self._gid}",
                "--init-groups", "--"] + argv

    def _env(self):
        # A developer's PGHOST, PGPASSWORD etc. must not redirect us.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        if self._as_root:
            env.update(HOME=self._home, USER="postgres", LOGNAME="postgres")
        return env

    def _run_pg(self, prog, *args, check=True):
        """Runs a PostgreSQL binary as the server's user."""
        argv = self._as_postgres([os.path.join(self.bindir, prog)] + list(args))
        return subprocess.run(argv, capture_output=True, text=True, env=self._env(),
                              cwd=self.datadir, check=check, timeout=300)

    def _write_owned(self, path, text):
        with open(path, "w") as f:
            f.write(text)
        if self._as_root:
            os.chown(path, self._uid, self._gid)

    def _initdb(self):
        args = ["-D", self.datadir, "-U", self.superuser, "-E", "UTF8",
                "--locale=C.UTF-8", "--auth-local=trust",
                "--auth-host=scram-sha-256", "--no-instructions"]
        if self.fast:
            args.append("--no-sync")
        r = self._run_pg("initdb", *args, check=False)
        if r.returncode != 0:
            raise RuntimeError(f"initdb failed: {r.stdout}{r.stderr}")
        # Superuser only over the socket; roles over TCP need a password.
        self._write_owned(os.path.join(self.datadir, "pg_hba.conf"),
                          "# Written by tests/harness/pg.py\n"
                          "local all all trust\n"
                          "host  all all 127.0.0.1/32 scram-sha-256\n")
        with open(os.path.join(self.datadir, "postgresql.conf"), "a") as f:
            f.write("\ninclude 'harness.conf'\n")

    def _write_settings(self):
        # Rewritten at each start, so a new port or socket dir takes effect.
        lines = [
            "listen_addresses = '127.0.0.1'",
            f"port = {self.port}",
            f"unix_socket_directories = {quote_literal(self.sockdir)}",
            "unix_socket_permissions = 0700",
            "password_encryption = 'scram-sha-256'",
            "logging_collector = off",
            "log_line_prefix = '%m [%p] %q%u@%d '",
        ]
        if self.fast:
            # synchronous_commit stays on: with fsync off a commit costs only a
            # write(), and it keeps every acknowledged commit across kill().
            lines += ["fsync = off", "full_page_writes = off"]
        self._write_owned(os.path.join(self.datadir, "harness.conf"),
                          "# Written by tests/harness/pg.py at each start\n"
                          + "\n".join(lines) + "\n")

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            r = subprocess.run([os.path.join(self.bindir, "pg_isready"), "-q",
                                "-h", self.host, "-p", str(self.port), "-t", "2"],
                               env=self._env())
            if r.returncode == 0:
                return
            if not self.running():
                raise RuntimeError(f"postgres died at start:\n{self._log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"postgres not ready after {timeout}s:\n"
                                   f"{self._log_tail()}")
            time.sleep(0.1)

    def _log_tail(self, lines=30):
        return log_tail(self.log_path, lines)
