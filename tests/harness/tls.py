"""Throw-away X.509 certificates for TLS integration tests, made with the
openssl command line tool.

    ca = make_ca(tmp_path / "pki")
    server = make_server_cert(tmp_path / "pki", ca)
    Slapd(workdir, tls=server)          # server is (cert, key, ca)

Keys are EC P-256 (fast to make; GnuTLS, which Debian's slapd and libldap
use, and OpenSSL both speak it) or RSA 2048 on request, written 0600 and
owned by whoever runs the tests, which is also the user slapd runs as.
Certificates are valid from now for a couple of days (short-lived, but a
test never sees one expire); they are used on the machine that made them,
so clock skew does not matter.  Nothing outside the
given directory is touched; the openssl config comes from here, not from
/etc/ssl/openssl.cnf.
"""

import ipaddress
import os
import secrets
import subprocess
from collections import namedtuple
from pathlib import Path

OPENSSL = "openssl"
DEFAULT_DAYS = 2

# A CA: its certificate (give this to clients as their CA file) and key.
CA = namedtuple("CA", "cert key")

# A server's certificate and key, and the CA certificate that signed it.
# The order is what Slapd(tls=...) takes.
ServerCert = namedtuple("ServerCert", "cert key ca")


class TlsError(RuntimeError):
    pass


def _run(cmd, cwd):
    # OPENSSL_CONF: never read the machine's openssl.cnf (it may set
    # providers, security levels or defaults that change the output).
    env = dict(os.environ, OPENSSL_CONF=os.devnull)
    result = subprocess.run([OPENSSL, *cmd], cwd=cwd, capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, env=env, timeout=60)
    if result.returncode != 0:
        raise TlsError("openssl %s failed (%d):\n%s%s" % (
            " ".join(cmd), result.returncode, result.stdout, result.stderr))
    return result


def _new_key(path, key_type):
    # umask first: the key is never readable by others, not even briefly.
    old = os.umask(0o077)
    try:
        if key_type == "ec":
            algo = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
        elif key_type == "rsa":
            algo = ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]
        else:
            raise ValueError("key_type must be 'ec' or 'rsa', not %r" % (key_type,))
        _run(["genpkey", *algo, "-out", str(path)], path.parent)
    finally:
        os.umask(old)
    os.chmod(path, 0o600)


def _serial():
    # Positive and 120 bits: no two test certificates share a serial.
    return "0x%x" % (secrets.randbits(119) | 1 << 119)


def _san(hostnames):
    parts = []
    for name in hostnames:
        try:
            ipaddress.ip_address(name)
            parts.append("IP:" + name)
        except ValueError:
            parts.append("DNS:" + name)
    return ",".join(parts)


def make_ca(directory, name="Stafet Test CA", key_type="ec", days=DEFAULT_DAYS):
    """A self-signed CA in `directory` (created).  Returns CA(cert, key)
    as absolute paths; several CAs can share a directory if their names
    differ."""
    d = Path(directory).resolve()
    d.mkdir(parents=True, exist_ok=True)
    stem = _stem(name)
    key, cert = d / (stem + ".key"), d / (stem + ".crt")
    ext = d / (stem + ".ext")
    ext.write_text(
        "[req]\n"
        "distinguished_name = dn\n"
        "prompt = no\n"
        "[dn]\n"
        "CN = %s\n"
        "[v3_ca]\n"
        "basicConstraints = critical, CA:TRUE\n"
        "keyUsage = critical, keyCertSign, cRLSign\n"
        "subjectKeyIdentifier = hash\n" % name)
    _new_key(key, key_type)
    _run(["req", "-new", "-x509", "-config", str(ext), "-extensions", "v3_ca",
          "-key", str(key), "-out", str(cert), "-set_serial", _serial(), "-sha256",
          "-days", str(int(days))], d)
    return CA(str(cert), str(key))


def make_server_cert(directory, ca, hostnames=("127.0.0.1", "localhost"), name=None,
                     key_type="ec", days=DEFAULT_DAYS):
    """A server certificate signed by `ca` (from make_ca) for `hostnames`:
    IP addresses become IP: subjectAltNames, anything else DNS:, and the
    first one is also the subject CN.  Returns ServerCert(cert, key, ca)
    as absolute paths, ready for Slapd(tls=...)."""
    hostnames = list(hostnames)
    if not hostnames:
        raise ValueError("a server certificate needs at least one hostname")
    d = Path(directory).resolve()
    d.mkdir(parents=True, exist_ok=True)
    stem = _stem(name or "server-" + hostnames[0])
    key, csr, cert = d / (stem + ".key"), d / (stem + ".csr"), d / (stem + ".crt")
    ext = d / (stem + ".ext")
    usage = "digitalSignature" if key_type == "ec" else "digitalSignature, keyEncipherment"
    ext.write_text(
        "[req]\n"
        "distinguished_name = dn\n"
        "prompt = no\n"
        "[dn]\n"
        "CN = %s\n"
        "[v3_server]\n"
        "basicConstraints = critical, CA:FALSE\n"
        "keyUsage = critical, %s\n"
        "extendedKeyUsage = serverAuth\n"
        "subjectKeyIdentifier = hash\n"
        "authorityKeyIdentifier = keyid\n"
        "subjectAltName = %s\n" % (hostnames[0], usage, _san(hostnames)))
    _new_key(key, key_type)
    _run(["req", "-new", "-config", str(ext), "-key", str(key), "-out", str(csr)], d)
    _run(["x509", "-req", "-in", str(csr), "-CA", ca.cert, "-CAkey", ca.key,
          "-set_serial", _serial(), "-sha256", "-extfile", str(ext),
          "-extensions", "v3_server", "-out", str(cert), "-days", str(int(days))], d)
    csr.unlink()
    return ServerCert(str(cert), str(key), str(Path(ca.cert).resolve()))


def describe(cert):
    """openssl's text dump of a certificate, for assertion messages."""
    return _run(["x509", "-noout", "-subject", "-issuer", "-dates", "-ext",
                 "subjectAltName", "-in", str(cert)], None).stdout


def _stem(name):
    return "".join(c if c.isalnum() or c in "-." else "-" for c in name).strip("-.") or "cert"
