"""stafetd as a process: config checking, signals, sd_notify, migrations."""

import glob
import os
import signal
import socket
import subprocess
import time

import requests

from tests.harness.common import wait_peer_read
from tests.harness.stafetd import REPO, Stafetd, binary


def test_check_config_ok(tmp_path):
    d = Stafetd(tmp_path)
    r = d.run("--check-config")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "configuration ok"


def test_check_config_names_unknown_key_and_line(tmp_path):
    d = Stafetd(tmp_path)
    d.write_config(["# a comment", "colour = blue", "http_max_body = huge"])
    r = d.run("--check-config")
    assert r.returncode == 1
    lines = len(d.settings)
    assert f"stafetd.conf:{lines + 2}: unknown key 'colour'" in r.stderr
    assert f"stafetd.conf:{lines + 3}: http_max_body" in r.stderr
    assert "configuration ok" not in r.stdout


def test_secret_file_readable_by_others_is_refused(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("hemmeligt\n")
    os.chmod(secret, 0o644)
    d = Stafetd(tmp_path / "d", {"db_password_file": str(secret)})
    r = d.run("--check-config")
    assert r.returncode == 1
    assert "readable or writable by others" in r.stderr
    assert "hemmeligt" not in r.stderr
    os.chmod(secret, 0o600)
    assert d.run("--check-config").returncode == 0


def test_tls_proxy_without_public_url_is_refused(tmp_path):
    """Behind a TLS proxy the Origin check must not fall back to the Host
    header: --check-config and start-up refuse http_tls_proxy = yes without
    public_url, naming both keys."""
    d = Stafetd(tmp_path / "d", {"http_tls_proxy": "yes"})
    r = d.run("--check-config")
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "http_tls_proxy" in r.stderr and "public_url" in r.stderr, r.stderr
    assert "configuration ok" not in r.stdout
    d.start(wait=False)
    d.proc.wait(timeout=20)
    assert d.stop() == 1
    assert "http_tls_proxy = yes needs public_url" in d.log()
    d.settings["public_url"] = "https://stafet.kommune.example"
    d.write_config()
    r = d.run("--check-config")
    assert r.returncode == 0, r.stderr
    # plain HTTP without public_url stays allowed (the origin is http://Host)
    assert Stafetd(tmp_path / "plain").run("--check-config").returncode == 0


def test_usage_errors_exit_2(tmp_path):
    r = subprocess.run([binary(), "--no-such-option"], capture_output=True, text=True)
    assert r.returncode == 2
    assert "usage:" in r.stderr


def test_sigterm_exits_zero(db, stafetd):
    d = stafetd(db=db)
    assert requests.get(d.url + "/healthz").status_code == 200
    assert d.stop(signal.SIGTERM) == 0
    assert "stopped" in d.log()


def test_repeated_sigterm_still_exits_zero(db, stafetd):
    d = stafetd(db=db)
    for _ in range(20):
        if d.proc.poll() is not None:
            break
        d.proc.send_signal(signal.SIGTERM)
        # signals a few ms apart, as from an impatient operator: some come
        # while the first stop is under way (not one coalesced signal)
        time.sleep(0.002)
    assert d.proc.wait(timeout=20) == 0
    assert d.stop() == 0


def test_sigint_exits_zero(db, stafetd):
    d = stafetd(db=db)
    assert d.stop(signal.SIGINT) == 0


def test_sigterm_lets_a_request_in_flight_finish(db, stafetd):
    d = stafetd(db=db)
    s = socket.create_connection(("127.0.0.1", d.port))
    # Half a request: the connection is busy reading a head, not idle.
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    wait_peer_read(s, timeout=30)  # stafetd has read it: a request in flight
    d.signal(signal.SIGTERM)
    # the loop has taken the signal (a fixed sleep was too short under ASan
    # on a busy machine: the answer came before the stop began)
    assert d.wait_log("stopping on signal", timeout=30)
    s.sendall(b"\r\n")
    reply = s.recv(4096)
    assert reply.startswith(b"HTTP/1.1 200")
    assert b"Connection: close" in reply
    s.close()
    assert d.stop() == 0


def test_sighup_with_broken_config_keeps_serving(db, stafetd):
    d = stafetd(db=db)
    good = open(d.config_path).read()
    with open(d.config_path, "a") as f:
        f.write("this is not a config line\nhttp_max_body = 1K\n")
    d.signal(signal.SIGHUP)
    assert d.wait_log("reload failed; keeping the old configuration")
    assert "stafetd.conf:" in d.log()
    r = requests.get(d.url + "/healthz")
    assert r.status_code == 200
    # the old limits still hold: 1K was not applied
    r = requests.post(d.url + "/api/v1/session", json={"username": "x" * 2000, "password": "y"})
    assert r.status_code == 422
    # a good reload is applied
    with open(d.config_path, "w") as f:
        f.write(good + "http_max_body = 1K\n")
    d.signal(signal.SIGHUP)
    assert d.wait_log("config: reloaded")
    r = requests.post(d.url + "/api/v1/session", json={"username": "x" * 2000, "password": "y"})
    assert r.status_code == 413
    assert d.stop() == 0


def test_sd_notify(db, stafetd, tmp_path):
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(10)
    try:
        d = stafetd(db=db, start=False)
        d.env["NOTIFY_SOCKET"] = path
        d.start()
        assert sock.recv(256) == b"READY=1"
        d.signal(signal.SIGHUP)
        assert sock.recv(256).startswith(b"RELOADING=1")
        assert sock.recv(256) == b"READY=1"
        d.signal(signal.SIGTERM)
        assert sock.recv(256) == b"STOPPING=1"
        assert d.stop() == 0
    finally:
        sock.close()


def test_migrate_is_idempotent(db, stafetd):
    files = sorted(glob.glob(os.path.join(REPO, "schema", "sql", "[0-9]*_*.sql")))
    assert len(files) >= 3
    d = stafetd(db=db, migrate=False, start=False)
    r = d.migrate()
    latest = int(os.path.basename(files[-1])[:4])  # numbers may skip while branches merge
    assert f"schema at version {latest} ({len(files)} migrations applied)" in r.stdout
    r = d.migrate()
    assert "0 migrations applied" in r.stdout
    assert db.psql("SELECT count(*) FROM schema_migrations").strip() == str(len(files))
    # 0003 seeded the shipped routes, once: a second run adds none.
    seeds = sorted(os.path.basename(f)
                   for f in glob.glob(os.path.join(REPO, "schema", "routes", "*.json")))
    assert db.psql("SELECT count(*) FROM routes").strip() == str(len(seeds))


def test_refuses_to_start_against_newer_schema(db, stafetd):
    d = stafetd(db=db, start=False)
    db.psql("INSERT INTO schema_migrations (version, name, checksum) "
            "VALUES (9999, 'from_the_future', 'x')")
    d.start(wait=False)
    assert d.proc.wait(timeout=20) == 1
    assert "newer than this stafetd knows" in d.log()
    r = d.run("--migrate")
    assert r.returncode == 1
    assert "newer than this stafetd knows" in r.stderr


def test_unmigrated_database_is_not_ready(db, stafetd):
    d = stafetd(db=db, migrate=False)
    # first "connecting", then the reason once a connection has checked
    deadline = time.monotonic() + 20
    while True:
        r = requests.get(d.url + "/readyz")
        assert r.status_code == 503
        if "run stafetd --migrate" in r.json()["detail"] or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert "run stafetd --migrate" in r.json()["detail"]
    d.migrate()
    # the pool rechecks the schema on its own; no restart needed. It waits
    # 10 s (+25 % jitter) after a wrong version (db.c, BACKOFF_SCHEMA): a
    # test build's clock is moved past that, a plain build waits it out.
    d.hurry(12.5)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if requests.get(d.url + "/readyz").status_code == 200:
            break
        time.sleep(0.25)
    assert requests.get(d.url + "/readyz").status_code == 200


def test_failed_migration_reports_and_leaves_nothing(pg, tmp_path, stafetd):
    from tests.integration.conftest import Database

    db = Database(pg, tmp_path)
    # The role may connect but not create tables: 0001 must fail whole.
    pg.psql(f"ALTER DATABASE {db.name} OWNER TO postgres; "
            f"REVOKE CREATE ON SCHEMA public FROM PUBLIC;", )
    pg.psql(f"REVOKE CREATE ON SCHEMA public FROM PUBLIC; "
            f"GRANT CONNECT ON DATABASE {db.name} TO {db.user};", dbname=db.name)
    d = stafetd(db=db, migrate=False, start=False)
    r = d.run("--migrate")
    assert r.returncode == 1
    assert "0001_foundation" in r.stderr
    assert "permission denied" in r.stderr
    assert db.psql("SELECT to_regclass('schema_migrations') IS NULL").strip() == "t"


def test_unreadable_ledger_is_an_error(db, stafetd):
    d = stafetd(db=db, migrate=False, start=False)
    db.psql("CREATE TABLE schema_migrations (x int)")
    r = d.run("--migrate")
    assert r.returncode == 1
    assert "cannot read the schema version" in r.stderr
