"""
The test harness's own services work: PostgreSQL (tests/harness/pg.py) and
the SMTP sink (tests/harness/smtp.py), started for real.
"""

import os
import smtplib
import socket
import subprocess
import sys
from email.message import EmailMessage

import pytest

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from tests.harness.pg import Postgres  # noqa: E402
from tests.harness.smtp import SmtpSink  # noqa: E402


@pytest.fixture
def pg():
    server = Postgres()
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def sink(tmp_path):
    server = SmtpSink(tmp_path / "smtp")
    try:
        server.start()
        yield server
    finally:
        server.stop()


def refuses(host, port):
    try:
        socket.create_connection((host, port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def psql_as(pg, conninfo, sql):
    """Runs sql as a client would, over TCP with the role's password."""
    return subprocess.run([os.path.join(pg.bindir, "psql"), "-X", "-A", "-t",
                           "-c", sql, conninfo],
                          capture_output=True, text=True, timeout=60)


def test_postgres_role_and_database(pg):
    pg.create_role("stafet", password="s3cret 'quoted'")
    pg.create_database("stafet", owner="stafet")

    assert pg.psql("SELECT pg_get_userbyid(datdba) FROM pg_database "
                   "WHERE datname = 'stafet'") == "stafet\n"
    assert pg.psql("SELECT 1 + 1, 'æøå'") == "2|æøå\n"

    ok = psql_as(pg, pg.conninfo("stafet", "stafet", "s3cret 'quoted'"),
                 "SELECT current_user, inet_server_addr()")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == "stafet|127.0.0.1\n"

    wrong = psql_as(pg, pg.conninfo("stafet", "stafet", "wrong"), "SELECT 1")
    assert wrong.returncode != 0
    assert "password authentication failed" in wrong.stderr


def test_postgres_psql_error_raises(pg):
    with pytest.raises(RuntimeError, match="does_not_exist"):
        pg.psql("SELECT * FROM does_not_exist")


def test_postgres_restart_keeps_data(pg):
    pg.create_database("keep")
    pg.psql("CREATE TABLE t (x int); INSERT INTO t VALUES (42);", dbname="keep")
    old_pid = pg.pid
    pg.restart()
    assert pg.pid != old_pid
    assert pg.psql("SELECT x FROM t", dbname="keep") == "42\n"


def test_postgres_kill_keeps_committed_data(pg):
    pg.psql("CREATE TABLE t (x int); INSERT INTO t VALUES (7);")
    pg.kill()
    assert not pg.running()
    assert refuses(pg.host, pg.port)
    pg.start()  # crash recovery
    assert pg.psql("SELECT x FROM t") == "7\n"


def test_postgres_stop_refuses_port(pg):
    socket.create_connection((pg.host, pg.port), timeout=2).close()
    pg.stop()
    assert not pg.running()
    assert refuses(pg.host, pg.port)
    pg.stop()  # idempotent


def test_postgres_cleanup_removes_directory():
    server = Postgres()
    server.start()
    server.cleanup()
    assert not os.path.exists(server.workdir)
    assert refuses(server.host, server.port)


def send(sink, subject, body="Der er en ny overdragelse til jer."):
    msg = EmailMessage()
    msg["From"] = "stafet@odense.dk"
    msg["To"] = "ur@odense.dk"
    msg["Subject"] = subject
    msg.set_content(body)
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as smtp:
        smtp.send_message(msg)


def test_smtp_receives_utf8_subject(sink):
    send(sink, "Ny overdragelse fra Børn- og Ungerådgivningen")
    (msg,) = sink.messages()
    assert msg["Subject"] == "Ny overdragelse fra Børn- og Ungerådgivningen"
    assert msg["X-MailFrom"] == "stafet@odense.dk"
    assert msg["X-RcptTo"] == "ur@odense.dk"
    assert msg.get_content().strip() == "Der er en ny overdragelse til jer."


def test_smtp_keeps_mail_across_stop_and_start(sink):
    send(sink, "Første")
    port = sink.port
    sink.stop()
    assert not sink.running()
    assert refuses(sink.host, port)
    assert [m["Subject"] for m in sink.messages()] == ["Første"]

    sink.start()
    assert sink.port == port
    send(sink, "Anden")
    assert [m["Subject"] for m in sink.wait_for_messages(2)] == ["Første", "Anden"]

    sink.clear()
    assert sink.messages() == []


def test_smtp_many_messages_on_one_connection(sink):
    with smtplib.SMTP(sink.host, sink.port, timeout=10) as smtp:
        for i in range(100):
            msg = EmailMessage()
            msg["From"] = "stafet@odense.dk"
            msg["To"] = "ur@odense.dk"
            msg["Subject"] = f"Påmindelse {i}"
            msg.set_content("Påmindelse")
            smtp.send_message(msg)
    subjects = [m["Subject"] for m in sink.messages()]
    assert subjects == [f"Påmindelse {i}" for i in range(100)]
