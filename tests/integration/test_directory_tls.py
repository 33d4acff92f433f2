"""The directory mirror over TLS against a real slapd: ldaps:// and StartTLS
load the directory when ldap_ca_file holds the CA that signed the server's
certificate; a certificate from another CA, a certificate for another name
and plain ldap:// without ldap_allow_plaintext are refused: the directory
never loads (readyz and the people endpoint answer 503) and the log names
the server and the step that failed.  slapd logs every operation ("stats")
so the tests can see that stafetd's bind went over TLS, or never happened.

The log says when it was the certificate, and ldap_uri spellings such as
LDAP:// that libldap would take are refused by --check-config."""

import re
import time
from types import SimpleNamespace

import pytest
import requests

from tests.harness.slapd import Slapd
from tests.harness.tls import make_ca, make_server_cert
from tests.integration.test_directory import (SERVICE_DN, directory_settings, loaded, names,
                                              people, wait_until)

# How long a refused server must keep the directory unloaded: this many
# rounds of the sync, each one refused (stafet_directory_ldap_errors_total).
NEVER_LOADS_ROUNDS = 3


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    ca = make_ca(d, "Stafet Test CA")
    return SimpleNamespace(
        ca=ca,
        other_ca=make_ca(d, "Some Other CA"),
        # 127.0.0.1 and localhost.  (libldap checks "localhost" against the
        # reverse name of the address it reached, so tests use 127.0.0.1.)
        server=make_server_cert(d, ca),
        misnamed=make_server_cert(d, ca, hostnames=("elsewhere.example",)),
    )


def tls_slapd_fixture(tmp_path_factory, name, cert):
    s = Slapd(str(tmp_path_factory.mktemp(name)), tls=cert, debug="stats")
    s.start()  # stops slapd itself if it fails
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def tls_slapd(tmp_path_factory, pki):
    """Demo directory on ldap:// (StartTLS offered) and ldaps://."""
    yield from tls_slapd_fixture(tmp_path_factory, "slapd-tls", pki.server)


@pytest.fixture(scope="module")
def misnamed_slapd(tmp_path_factory, pki):
    """Like tls_slapd, but its certificate (from the right CA) names only
    elsewhere.example, in the SAN and the CN."""
    yield from tls_slapd_fixture(tmp_path_factory, "slapd-misnamed", pki.misnamed)


class SlapdLog:
    """What slapd logged since this was made (the servers are per module)."""

    def __init__(self, server):
        self.path = server.log_path
        self.offset = self.path.stat().st_size

    def text(self):
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            return f.read().decode("utf-8", "replace")

    def service_binds(self):
        """(conn, ssf) of each bind stafetd made."""
        return [(m.group(1), int(m.group(2))) for m in re.finditer(
            r'conn=(\d+) op=\d+ BIND dn="%s" mech=SIMPLE \S+ ssf=(\d+)' % re.escape(SERVICE_DN),
            self.text())]


def tls_settings(tmp_path, uri, ca, **extra):
    """directory_settings, but the way production runs: TLS required. A
    failed round is tried again within directory_refresh_interval, here a
    quarter of a second: the refusals come quickly."""
    s = {"ldap_starttls": "yes", "ldap_allow_plaintext": "no", "ldap_ca_file": f'"{ca}"',
         "directory_refresh_interval": "0.25s"}
    s.update(extra)
    return directory_settings(tmp_path, uri, **s)


def server_metric(d):
    m = re.search(r'stafet_directory_server\{uri="([^"]*)"\}', requests.get(d.url + "/metrics",
                                                                             timeout=10).text)
    return m and m.group(1)


def assert_loads(d):
    wait_until(lambda: loaded(d), what="first snapshot over TLS")
    assert "Søren Bøgh" in names(people(d, q="soren"))
    # The snapshot may come before the database and the routes: ready
    # follows within moments.
    wait_until(lambda: requests.get(d.url + "/readyz", timeout=10).status_code == 200,
               what="readyz 200 once the database and the routes are in too")


def ldap_errors(d):
    m = re.search(r"^stafet_directory_ldap_errors_total (\d+)$",
                  requests.get(d.url + "/metrics", timeout=10).text, re.MULTILINE)
    assert m, "no stafet_directory_ldap_errors_total in /metrics"
    return int(m.group(1))


def assert_never_loads(d, rounds=NEVER_LOADS_ROUNDS):
    """readyz 503 (because of the directory) and people 503, all along
    `rounds` failed rounds of the sync."""
    deadline = time.monotonic() + 30
    while True:
        failed = ldap_errors(d)  # the answers below come after these rounds
        r = requests.get(d.url + "/readyz", timeout=10)
        assert r.status_code == 503, (r.status_code, r.text, d.log())
        assert "directory" in r.json()["detail"], r.text
        r = requests.get(d.url + "/api/v1/people", params={"q": "soren"}, timeout=10)
        assert r.status_code == 503, (r.status_code, r.text, d.log())
        if failed >= rounds:
            break
        assert time.monotonic() < deadline, f"only {failed} rounds of the sync in 30 s"
        time.sleep(0.1)


def wait_log_line(d, pattern, timeout=10):
    """The first log line of the directory matching the regex, waiting for it."""
    rx = re.compile(pattern, re.IGNORECASE)
    found = wait_until(lambda: [line for line in d.log().splitlines() if rx.search(line)],
                       timeout=timeout, what=f"a log line matching {pattern!r}")
    return found[0]


# --- TLS that should work ----------------------------------------------------


def test_ldaps_with_the_ca_loads(tls_slapd, pki, tmp_path, db, stafetd):
    log = SlapdLog(tls_slapd)
    d = stafetd(settings=tls_settings(tmp_path, tls_slapd.ldaps_uri, pki.ca.cert), db=db)
    assert_loads(d)
    assert server_metric(d) == tls_slapd.ldaps_uri
    binds = log.service_binds()
    assert binds and all(ssf > 0 for _, ssf in binds), binds
    assert "TLS established" in log.text()
    assert "STARTTLS" not in log.text()


def test_starttls_with_the_ca_loads(tls_slapd, pki, tmp_path, db, stafetd):
    log = SlapdLog(tls_slapd)
    d = stafetd(settings=tls_settings(tmp_path, tls_slapd.uri, pki.ca.cert), db=db)
    assert_loads(d)
    assert server_metric(d) == tls_slapd.uri
    # The bind (and its password) only after StartTLS, on the same connection.
    binds = log.service_binds()
    assert binds and all(ssf > 0 for _, ssf in binds), binds
    text = log.text()
    for conn, _ in binds:
        assert re.search(rf"conn={conn} op=\d+ STARTTLS", text), (conn, text[-3000:])


# --- TLS that must be refused ------------------------------------------------


@pytest.mark.parametrize("scheme", ["ldaps", "starttls"])
def test_certificate_from_another_ca_is_refused(tls_slapd, pki, tmp_path, db, stafetd, scheme):
    uri = tls_slapd.ldaps_uri if scheme == "ldaps" else tls_slapd.uri
    log = SlapdLog(tls_slapd)
    d = stafetd(settings=tls_settings(tmp_path, uri, pki.other_ca.cert), db=db)
    assert_never_loads(d)
    assert_refusal_logged(d, uri, scheme)
    # stafetd reached the server (so the refusal is TLS's) but never bound.
    assert "ACCEPT from IP=127.0.0.1" in log.text()
    assert log.service_binds() == []


@pytest.mark.parametrize("scheme", ["ldaps", "starttls"])
def test_certificate_for_another_name_is_refused(misnamed_slapd, pki, tmp_path, db, stafetd,
                                                 scheme):
    # The server is fine apart from the name: a client that skips the
    # checks gets in, one that checks (like stafetd) does not.
    starttls = scheme == "starttls"
    r = misnamed_slapd.tls_client("ldapwhoami", starttls=starttls, reqcert="allow", check=False)
    assert r.returncode == 0, r.stderr
    r = misnamed_slapd.tls_client("ldapwhoami", starttls=starttls, check=False)
    assert r.returncode != 0, r.stdout

    uri = misnamed_slapd.uri if starttls else misnamed_slapd.ldaps_uri
    log = SlapdLog(misnamed_slapd)
    d = stafetd(settings=tls_settings(tmp_path, uri, pki.ca.cert), db=db)
    assert_never_loads(d)
    assert_refusal_logged(d, uri, scheme)
    assert "ACCEPT from IP=127.0.0.1" in log.text()
    assert log.service_binds() == []


def assert_refusal_logged(d, uri, scheme):
    """A directory warning names the server and the step that failed."""
    line = wait_log_line(d, r"warning: directory: " + re.escape(uri) + ": ")
    if scheme == "starttls":
        assert "StartTLS" in line, line
    return line


# libldap with GnuTLS (Debian's) reports a failed certificate check only as
# "Can't contact LDAP server: (unknown error code)"; stafetd notes that the
# TLS handshake had begun and says the certificate was refused.
@pytest.mark.parametrize("case", ["other-ca-ldaps", "other-ca-starttls", "misnamed-ldaps",
                                  "misnamed-starttls"])
def test_refusal_log_says_why(request, pki, tmp_path, db, stafetd, case):
    server = request.getfixturevalue("misnamed_slapd" if case.startswith("misnamed")
                                     else "tls_slapd")
    ca = pki.other_ca if case.startswith("other-ca") else pki.ca
    uri = server.ldaps_uri if case.endswith("ldaps") else server.uri
    d = stafetd(settings=tls_settings(tmp_path, uri, ca.cert), db=db)
    line = assert_refusal_logged(d, uri, case.rsplit("-", 1)[1])
    assert re.search(r"certificat|trust|host ?name", line, re.IGNORECASE), line


def test_plain_ldap_is_refused(tls_slapd, pki, tmp_path, db, stafetd):
    log = SlapdLog(tls_slapd)
    d = stafetd(settings=tls_settings(tmp_path, tls_slapd.uri, pki.ca.cert,
                                      ldap_starttls="no", ldap_allow_plaintext="no"), db=db)
    assert_never_loads(d)
    line = wait_log_line(d, r"plain ldap:// refused")
    assert tls_slapd.uri in line
    # Refused before connecting: the password never went anywhere.
    assert log.service_binds() == []
    assert "ACCEPT from" not in log.text()


# ldap_url_parse() takes the scheme in any case and "URL:" or "<...>" around
# it; stafetd decides on TLS from the scheme as written, so it accepts only
# the plain forms, and --check-config names the key.
@pytest.mark.parametrize("prefix,starttls", [("LDAP://", "yes"), ("LDAP://", "no"),
                                             ("URL:ldap://", "yes"), ("<ldap://", "yes")],
                         ids=["LDAP-starttls", "LDAP-no-starttls", "URL-prefix-starttls",
                              "angle-brackets"])
def test_no_clear_text_bind_however_the_uri_is_spelled(tls_slapd, pki, tmp_path, db, stafetd,
                                                       prefix, starttls):
    uri = prefix + tls_slapd.uri[len("ldap://"):] + (">" if prefix == "<ldap://" else "")
    log = SlapdLog(tls_slapd)
    d = stafetd(settings=tls_settings(tmp_path, uri, pki.ca.cert, ldap_starttls=starttls,
                                      ldap_allow_plaintext="no"), db=db, migrate=False,
                start=False)
    r = d.run("--check-config")
    assert r.returncode == 1
    assert "ldap_uri" in r.stderr and "ldap://host" in r.stderr
    # and so the service password never went anywhere
    assert log.service_binds() == []