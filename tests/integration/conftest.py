"""Fixtures that start real servers in temporary directories on loopback.

Session-wide: one PostgreSQL cluster, one slapd with the demo directory and
one SMTP sink. Per test: a fresh database with its own login role, and
stafetd processes started through the `stafetd` factory. Everything is
stopped and removed afterwards, also when a test fails."""

import json
import os
import secrets
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.harness.pg import Postgres  # noqa: E402
from tests.harness.slapd import Slapd  # noqa: E402
from tests.harness.smtp import SmtpSink  # noqa: E402
from tests.harness.stafetd import Stafetd  # noqa: E402


@pytest.fixture(scope="session")
def pg():
    with Postgres() as server:
        yield server


@pytest.fixture(scope="session")
def slapd(tmp_path_factory):
    server = Slapd(str(tmp_path_factory.mktemp("slapd")))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def smtp(tmp_path_factory):
    sink = SmtpSink(str(tmp_path_factory.mktemp("smtp")))
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


class Database:
    """A database and login role of its own, with the password in a 0600 file."""

    def __init__(self, server, tmp_path):
        self.server = server
        self.name = "stafet_" + secrets.token_hex(4)
        self.user = self.name
        self.password = secrets.token_urlsafe(16)
        server.create_role(self.user, password=self.password)
        server.create_database(self.name, owner=self.user)
        self.password_file = os.path.join(str(tmp_path), "db.password")
        with open(self.password_file, "w") as f:
            f.write(self.password + "\n")
        os.chmod(self.password_file, 0o600)

    def settings(self):
        return {
            "db_conninfo": f"\"{self.server.conninfo(self.name, user=self.user)}\"",
            "db_password_file": self.password_file,
        }

    def psql(self, sql):
        return self.server.psql(sql, dbname=self.name)

    def psql_as_owner(self, sql, check=True):
        """Runs sql as this database's own login role (the role stafetd
        uses), over TCP with its password from the password file, not as
        the superuser. Returns the CompletedProcess (stdout unaligned,
        tuples only); with check, a failure raises RuntimeError naming
        psql's error. With check=False the caller inspects returncode."""
        with open(self.password_file) as f:
            password = f.read().strip()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["PGPASSWORD"] = password
        r = subprocess.run(
            [os.path.join(self.server.bindir, "psql"), "-X", "-q", "-A", "-t",
             "-v", "ON_ERROR_STOP=1", "-h", self.server.host,
             "-p", str(self.server.port), "-U", self.user, "-d", self.name,
             "-f", "-"],
            input=sql, capture_output=True, text=True, env=env, timeout=60)
        if check and r.returncode != 0:
            raise RuntimeError(f"psql as {self.user} failed ({r.returncode}): "
                               f"{r.stderr.strip()}")
        return r

    def query_json(self, sql):
        """The superuser's view: runs a query whose single row, single
        column is JSON (e.g. json_agg) and returns it parsed."""
        out = self.psql(sql).strip()
        return json.loads(out) if out else None


@pytest.fixture
def db(pg, tmp_path):
    return Database(pg, tmp_path)


@pytest.fixture
def stafetd(tmp_path):
    """Factory: stafetd(settings=None, name="a", migrate=True, start=True, db=None)."""
    running = []

    def make(settings=None, name="a", migrate=True, start=True, db=None):
        merged = dict(db.settings()) if db else {}
        merged.update(settings or {})
        d = Stafetd(tmp_path / name, merged)
        running.append(d)
        if migrate:
            d.migrate()
        if start:
            d.start()
        return d

    yield make
    errors = []
    for d in running:
        try:
            d.stop()
        except Exception as e:  # report every instance, not just the first
            errors.append(e)
    if errors:
        raise errors[0]
