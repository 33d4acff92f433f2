"""Readiness follows PostgreSQL: down means 503 with a reason, fast; back
means 200 again without restarting stafetd. The reason never says where the
database is (host, port, role, database name): /readyz answers anyone, and
the log has the details."""

import os
import time

import pytest
import requests

from tests.harness.common import free_port
from tests.harness.pg import Postgres


@pytest.fixture
def own_pg():
    # Its own cluster: stopping it must not disturb the other tests.
    with Postgres() as server:
        yield server


def wait_status(url, status, timeout):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = requests.get(url, timeout=5)
        if last.status_code == status:
            return last
        time.sleep(0.1)
    raise AssertionError(f"{url} stayed {last.status_code}: {last.text}")


def test_readyz_follows_postgres(own_pg, tmp_path, stafetd):
    from tests.integration.conftest import Database

    db = Database(own_pg, tmp_path)
    d = stafetd(db=db)
    pid = d.proc.pid
    r = wait_status(d.url + "/readyz", 200, 10)
    assert r.json()["status"] == "ready"

    own_pg.stop()
    r = wait_status(d.url + "/readyz", 503, 10)
    assert r.headers["Content-Type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == 503
    assert "database" in body["detail"]
    for secret in (str(own_pg.port), db.user, db.name, own_pg.sockdir):
        assert secret not in r.text, (secret, r.text)
    # while down, answers come at once: no request hangs on the pool
    t0 = time.monotonic()
    for _ in range(20):
        assert requests.get(d.url + "/readyz", timeout=5).status_code == 503
    assert time.monotonic() - t0 < 5
    assert requests.get(d.url + "/healthz").status_code == 200

    own_pg.start()
    d.hurry(2.5)  # the pool's reconnect backoff (2 s at most, +25 %): at once on the test clock
    wait_status(d.url + "/readyz", 200, 15)
    assert d.proc.pid == pid and d.proc.poll() is None
    m = requests.get(d.url + "/metrics").text
    assert "stafet_db_connect_failures_total" in m
    assert d.stop() == 0


def test_readyz_when_postgres_was_never_there(tmp_path, stafetd):
    d = stafetd(settings={"db_conninfo": "\"host=127.0.0.1 port=1 dbname=x user=x\""},
                migrate=False)
    r = requests.get(d.url + "/readyz")
    assert r.status_code == 503
    assert "database unavailable" in r.json()["detail"]
    assert d.stop() == 0


HIDDEN_ROLE = "stafet_hidden_role"
HIDDEN_DB = "stafet_hidden_db"


def pool_failure_logged(d, detail):
    """Waits until the pool has logged its connection's failure with the
    detail (the start-up check logs one before the pool tries)."""
    failed = "db: connection 0: database unavailable: "
    assert d.wait_log(failed), d.log()
    line = [x for x in d.log().splitlines() if failed in x][0]
    assert detail in line, line


def assert_reason_hides(d, *secrets):
    """/readyz is 503 "database unavailable", naming none of secrets, while
    the log names them; the log says it once, not per request."""
    r = requests.get(d.url + "/readyz", timeout=5)
    assert r.status_code == 503, r.text
    body = r.json()
    assert body["detail"] == "database unavailable", body
    assert body["checks"] == {"database": "database unavailable"}, body
    for secret in secrets:
        assert secret not in r.text, (secret, r.text)
    logged = [line for line in d.log().splitlines() if "db: connection" in line]
    assert logged, d.log()
    for _ in range(20):
        assert requests.get(d.url + "/readyz", timeout=5).status_code == 503
    again = [line for line in d.log().splitlines() if "db: connection" in line]
    assert len(again) == len(logged), again


def test_readyz_reason_hides_host_and_port(tmp_path, stafetd):
    port = free_port()
    d = stafetd(settings={"db_conninfo": f'"host=127.0.0.1 port={port} dbname={HIDDEN_DB} '
                                         f'user={HIDDEN_ROLE}"',
                          "db_pool_size": "1"}, migrate=False)
    pool_failure_logged(d, f'"127.0.0.1", port {port} failed')
    assert_reason_hides(d, "127.0.0.1", str(port), HIDDEN_ROLE, HIDDEN_DB)
    assert d.stop() == 0


def test_readyz_reason_hides_the_role(pg, tmp_path, stafetd):
    """A server that refuses the role: libpq's text names it, /readyz does not."""
    password_file = tmp_path / "pw"
    password_file.write_text("not-the-password\n")
    os.chmod(password_file, 0o600)
    d = stafetd(settings={"db_conninfo": f'"host=127.0.0.1 port={pg.port} dbname={HIDDEN_DB} '
                                         f'user={HIDDEN_ROLE}"',
                          "db_password_file": str(password_file), "db_pool_size": "1"},
                migrate=False)
    pool_failure_logged(d, f'user "{HIDDEN_ROLE}"')
    assert_reason_hides(d, "127.0.0.1", str(pg.port), HIDDEN_ROLE, HIDDEN_DB)
    assert "not-the-password" not in d.log()
    assert d.stop() == 0
