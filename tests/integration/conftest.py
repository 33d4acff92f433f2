"""Fixtures that start real servers in temporary directories on loopback.

Session-wide: one PostgreSQL cluster, one slapd with the demo directory and
one SMTP sink. Per test: a fresh database with its own login role, and
stafetd processes started through the `stafetd` factory. Everything is
stopped and removed afterwards, also when a test fails.

Every answer of a stafetd that a test receives through `requests` is held
to docs/openapi.json (tests/harness/openapi_check.py): its status code must
be documented for the operation, its Content-Type too, and a JSON body must
validate against the documented schema. A violation fails the test that
received it; the run ends with a line counting the answers checked."""

import json
import os
import secrets
import subprocess
import sys
import threading
import urllib.parse

import pytest
import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.harness.pg import Postgres  # noqa: E402
from tests.harness.slapd import Slapd  # noqa: E402
from tests.harness.smtp import SmtpSink  # noqa: E402
from tests.harness.stafetd import Stafetd  # noqa: E402
from tests.harness.openapi_check import OpenApi, Violation  # noqa: E402


# --- every answer against /openapi.json ----------------------------------------

# Tests whose answers are not held to the document, each with why. Keep it
# short: an answer the document does not describe is better documented.
OPENAPI_EXEMPT = {
}


class OpenApiGuard:
    """Counts and checks the answers; the violations of the running test."""

    def __init__(self):
        self.doc = OpenApi.load()
        self.lock = threading.Lock()
        self.checked = 0      # answers of a stafetd held to the document
        self.bodies = 0       # of which a JSON body validated against a schema
        self.exempt = 0       # answers of exempt tests, not checked
        self.violations = 0
        self.current = []     # violations of the running test
        self.exempt_reason = None
        self.ports = set()    # of the Stafetd instances started

    def is_stafetd(self, response):
        """Every answer of stafetd but one carries X-Request-Id
        (http_respond_buffer), also of a stafetd the harness did not start
        (test_install, test_demo); the 503 to a connection over its
        address's limit does not, so the ports of Stafetd instances count
        too. The fake servers some tests run are neither."""
        if response.headers.get("X-Request-Id") is not None:
            return True
        split = urllib.parse.urlsplit(response.request.url)
        return split.hostname in ("127.0.0.1", "localhost", "::1") and split.port in self.ports

    def check(self, response):
        if not self.is_stafetd(response):
            return
        if self.exempt_reason is not None:
            with self.lock:
                self.exempt += 1
            return
        req = response.request
        ctype = response.headers.get("Content-Type")
        body = response.content
        problems, validated = self.doc.check(req.method, req.url, response.status_code, ctype,
                                             body)
        with self.lock:
            self.checked += 1
            self.bodies += validated
            if problems:
                self.violations += 1
                self.current.extend(problems)
        if problems:
            snippet = body[:600].decode("utf-8", "replace")
            raise Violation(
                "the answer does not match docs/openapi.json:\n  " + "\n  ".join(problems) +
                f"\n  body: {snippet}")


_guard = None  # the session's OpenApiGuard, once openapi_responses ran


@pytest.fixture(scope="session", autouse=True)
def openapi_responses():
    """Wraps HTTPAdapter.send, which every requests.get/post/Session call
    goes through (one call per redirect hop), to check each answer."""
    global _guard
    _guard = OpenApiGuard()
    original = requests.adapters.HTTPAdapter.send
    original_init = Stafetd.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        _guard.ports.add(self.port)

    def send(self, request, *args, **kwargs):
        response = original(self, request, *args, **kwargs)
        _guard.check(response)
        return response

    requests.adapters.HTTPAdapter.send = send
    Stafetd.__init__ = init
    try:
        yield _guard
    finally:
        requests.adapters.HTTPAdapter.send = original
        Stafetd.__init__ = original_init


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "openapi_rep_" + report.when, report)


@pytest.fixture(autouse=True)
def openapi_per_test(request, openapi_responses):
    """Exempts the tests of OPENAPI_EXEMPT; fails a test that passed
    although a violation was raised in it (caught by the test or raised in
    a thread whose error nobody read)."""
    guard = openapi_responses
    guard.current = []
    guard.exempt_reason = OPENAPI_EXEMPT.get(request.node.nodeid.split("[", 1)[0])
    yield
    guard.exempt_reason = None
    found, guard.current = guard.current, []
    rep = getattr(request.node, "openapi_rep_call", None)
    if found and rep is not None and rep.passed:
        pytest.fail("answers that do not match docs/openapi.json:\n  " + "\n  ".join(found),
                    pytrace=False)


def _openapi_summary(config):
    counts = getattr(config, "openapi_counts", None)
    if counts is None and _guard is not None:
        counts = {"checked": _guard.checked, "bodies": _guard.bodies,
                  "exempt": _guard.exempt, "violations": _guard.violations}
    return counts


def pytest_sessionfinish(session):
    counts = _openapi_summary(session.config)
    if counts is not None and hasattr(session.config, "workeroutput"):
        session.config.workeroutput["openapi_counts"] = counts  # pytest-xdist worker


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """pytest-xdist's controller: add up the workers' counts."""
    got = getattr(node, "workeroutput", {}).get("openapi_counts")
    if got:
        config = node.config
        total = getattr(config, "openapi_counts", None) or dict.fromkeys(got, 0)
        for k, v in got.items():
            total[k] = total.get(k, 0) + v
        config.openapi_counts = total


def pytest_terminal_summary(terminalreporter, config):
    counts = _openapi_summary(config)
    if counts is None:
        return
    terminalreporter.write_line(
        f"openapi: {counts['checked']} stafetd answers checked against docs/openapi.json "
        f"({counts['bodies']} JSON bodies validated), {counts['violations']} violations, "
        f"{counts['exempt']} answers of exempt tests unchecked")


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
def samba_dc(tmp_path_factory):
    """Samba's AD DC with the AD fixture's municipality (tests/harness/samba.py),
    one per run, shared by the xdist workers; skipped where it cannot run."""
    from tests.harness import samba
    why = samba.unavailable()
    if why:
        pytest.skip(why)
    with samba.shared_dc(samba.run_root(tmp_path_factory), samba.load_municipality) as dc:
        yield dc


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
