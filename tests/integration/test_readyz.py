"""Readiness follows PostgreSQL: down means 503 with a reason, fast; back
means 200 again without restarting stafetd."""

import time

import pytest
import requests

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
    # while down, answers come at once: no request hangs on the pool
    t0 = time.monotonic()
    for _ in range(20):
        assert requests.get(d.url + "/readyz", timeout=5).status_code == 503
    assert time.monotonic() - t0 < 5
    assert requests.get(d.url + "/healthz").status_code == 200

    own_pg.start()
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
