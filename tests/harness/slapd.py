"""A real OpenLDAP slapd in a temporary directory, for integration tests.

Builds a private cn=config (schemas core, cosine, nis, inetorgperson and
Stafet's own; an mdb database for dc=stafet,dc=example with syncprov and
ppolicy, the latter without a default policy: it only supplies the
operational attributes such as pwdAccountLockedTime, which the admin may set
to lock an account),
bulk-loads an LDIF with slapadd and runs /usr/sbin/slapd as a child on a
loopback port.  Nothing outside workdir is touched and no system slapd is
needed, so it runs as root or as an ordinary user.

    with Slapd(tmp_path) as ldap:
        ldap.ldapsearch("-b", ldap.base_dn, "(uid=mha)")

Extra cn=config schema files load after those, e.g. the Active Directory
stand-in (tests/fixtures/ad/ad-test.ldif, data in tests/fixtures/ad/ad.ldif):

    Slapd(tmp_path, ldif=AD_LDIF, schemas=[AD_SCHEMA_LDIF])

The database survives stop()/start(), so tests can restart the server
(e.g. to see stafetd ride out an LDAP outage) without losing changes.
"""

import atexit
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

from .common import free_port, wait_for_port

# Paths come from this file, not the cwd, so tests run from anywhere.
REPO = Path(__file__).resolve().parents[2]
DEMO_LDIF = REPO / "tests" / "fixtures" / "demo.ldif"
STAFET_SCHEMA_LDIF = REPO / "schema" / "ldap" / "stafet.ldif"
AD_SCHEMA_LDIF = REPO / "tests" / "fixtures" / "ad" / "ad-test.ldif"
AD_LDIF = REPO / "tests" / "fixtures" / "ad" / "ad.ldif"

SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"
SYSTEM_SCHEMA_DIR = Path("/etc/ldap/schema")
SYSTEM_SCHEMAS = ["core", "cosine", "nis", "inetorgperson"]
MODULE_DIR = "/usr/lib/ldap"  # where Debian keeps back_mdb.so, syncprov.so

BASE_DN = "dc=stafet,dc=example"
ADMIN_DN = "cn=admin," + BASE_DN
ADMIN_PASSWORD = "stafet-admin"
CONFIG_ADMIN_DN = "cn=admin,cn=config"

# Client tools must not pick up /etc/ldap/ldap.conf or ~/.ldaprc (TLS
# settings, a default BASE) from the machine they happen to run on.
CLIENT_ENV = dict(os.environ, LDAPNOINIT="1")


def tls_client_env(ca_file, reqcert="demand"):
    """Environment for OpenLDAP clients that must verify a server against
    ca_file.  LDAPNOINIT would also drop the LDAPTLS_* variables, so: no
    LDAP* variables from outside, no ~/.ldaprc, and the CA and reqcert
    (TLS_REQCERT: "demand" checks chain and name, "allow" neither) given
    in variables, which win over /etc/ldap/ldap.conf."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LDAP")}
    env.update(LDAPRC="stafet-tests-no-ldaprc", LDAPTLS_CACERT=str(ca_file),
               LDAPTLS_REQCERT=reqcert)
    return env


# Servers still running when the interpreter exits (a test run aborted
# outside any fixture, a forgotten stop()) are stopped rather than left
# behind.  A strong set: an unreferenced Slapd must not escape this.  A
# launcher that wants slapd to outlive it leaves with os._exit().
_running = set()


@atexit.register
def _stop_all():
    for server in list(_running):
        server.stop()


class SlapdError(RuntimeError):
    pass


class Slapd:
    """One slapd serving ldap://127.0.0.1:port with the given LDIF loaded.

    workdir: directory for config, data, pid file and slapd.log (created).
             A workdir set up by an earlier run is reused as it is.
    ldif: LDIF to bulk-load on first start; None for an empty database.
    port: TCP port; a free one is picked when None, and kept on restart.
    debug: slapd's -d level.  "none" logs only errors (quiet, and fast
           enough for benchmarks); "stats" logs every operation.
    tls: optional (cert, key, ca) paths, e.g. tls.make_server_cert().  Then
         slapd also listens on ldaps://127.0.0.1:tls_port (see ldaps_uri)
         and offers StartTLS on ldap://; plain ldap:// keeps working.  Like
         the LDIF, it is written into cn=config on first setup only.
    tls_port: the ldaps:// port; a free one is picked when None.
    schemas: extra cn=config schema LDIF files (one olcSchemaConfig entry
           each, e.g. AD_SCHEMA_LDIF), loaded after the standard ones and
           stafet.ldif.  Like the LDIF, used on first setup only.
    """

    def __init__(self, workdir, ldif=DEMO_LDIF, port=None, debug="none",
                 tls=None, tls_port=None, schemas=()):
        self.workdir = Path(workdir).resolve()
        self.schemas = [Path(s).resolve() for s in schemas]
        self.ldif = Path(ldif).resolve() if ldif is not None else None
        self.port = port if port is not None else free_port()
        self.debug = str(debug)
        self.config_dir = self.workdir / "slapd.d"
        self.data_dir = self.workdir / "data"
        self.log_path = self.workdir / "slapd.log"
        self._loaded_marker = self.workdir / ".loaded"
        self.proc = None
        self.tls = (tuple(str(Path(p).resolve()) for p in tls)
                    if tls is not None else None)
        if self.tls is not None and len(self.tls) != 3:
            raise ValueError("tls must be (cert, key, ca) paths")
        self.tls_port = None
        if self.tls is not None:
            self.tls_port = tls_port if tls_port is not None else free_port()

    # --- Properties ------------------------------------------------------

    @property
    def uri(self):
        return "ldap://127.0.0.1:%d" % self.port

    @property
    def ldaps_uri(self):
        """ldaps://127.0.0.1:tls_port, or None without tls."""
        if self.tls is None:
            return None
        return "ldaps://127.0.0.1:%d" % self.tls_port

    @property
    def ca_file(self):
        """The CA certificate clients should trust, or None without tls."""
        return self.tls[2] if self.tls is not None else None

    @property
    def base_dn(self):
        return BASE_DN

    @property
    def admin_dn(self):
        return ADMIN_DN

    @property
    def admin_password(self):
        return ADMIN_PASSWORD

    @property
    def config_admin_dn(self):
        """Root of cn=config (same password), for tests that change
        server settings over the wire."""
        return CONFIG_ADMIN_DN

    @property
    def pid(self):
        return self.proc.pid if self.running else None

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    # --- Lifecycle -------------------------------------------------------

    def start(self, timeout=20.0):
        """Set up on first use, then run slapd until it answers a bind."""
        if self.running:
            return
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not self._loaded_marker.exists():
            self._setup()
        cmd = [SLAPD, "-h", self._listen_urls(), "-F", str(self.config_dir),
               "-d", self.debug]
        # Append: a restart keeps the earlier run's log for post-mortems.
        with open(self.log_path, "ab") as log:
            log.write(("--- %s\n" % " ".join(cmd)).encode())
            log.flush()
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT,
                                         cwd=self.workdir)
        _running.add(self)
        try:
            self._wait_ready(timeout)
            if self.tls is not None:
                self._wait_tls_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout=10.0):
        """SIGTERM, wait, SIGKILL if slapd hangs.  Safe to call twice."""
        proc, self.proc = self.proc, None
        _running.discard(self)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        proc.send_signal(signal.SIGCONT)  # in case it was paused
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def kill(self):
        """SIGKILL without warning, to simulate a crashed server."""
        proc, self.proc = self.proc, None
        _running.discard(self)
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

    def pause(self):
        """SIGSTOP: the port still accepts connections but nothing answers,
        like a hung server; for testing client timeouts."""
        if self.running:
            self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        if self.running:
            self.proc.send_signal(signal.SIGCONT)

    def restart(self, timeout=20.0):
        self.stop()
        self.start(timeout)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    # --- Client helpers --------------------------------------------------

    def ldapsearch(self, *args, bind_dn=None, password=None, check=True):
        """Run ldapsearch -LLL against this server as admin (or bind_dn).

        args are passed through, e.g. ("-b", base, "(uid=mha)", "cn").
        Returns the CompletedProcess with text output."""
        return self._client("ldapsearch", ["-LLL", *args], bind_dn, password,
                            check)

    def ldapmodify(self, ldif_text, *args, bind_dn=None, password=None,
                   check=True):
        """Apply LDIF change records (changetype: add/modify/delete...)."""
        return self._client("ldapmodify", list(args), bind_dn, password,
                            check, stdin=ldif_text)

    def ldapwhoami(self, bind_dn=None, password=None, check=True):
        return self._client("ldapwhoami", [], bind_dn, password, check)

    def tls_client(self, tool, *args, starttls=False, ca=None, bind_dn=None,
                   password=None, check=True, stdin=None, timeout=60,
                   reqcert="demand"):
        """Run an OpenLDAP client tool (ldapsearch, ldapwhoami...) over TLS
        as admin (or bind_dn): ldaps_uri, or uri with StartTLS (-ZZ, which
        fails rather than going on in the clear) when starttls is true.
        The server certificate is verified against ca (default: ca_file),
        name included; reqcert="allow" skips both checks (TLS_REQCERT).
        args are passed through, e.g. ("-LLL", "-b", base).
        Returns the CompletedProcess with text output."""
        if self.tls is None:
            raise SlapdError("tls_client: this slapd was started without tls")
        if bind_dn is None:
            bind_dn, password = self.admin_dn, self.admin_password
        uri = self.uri if starttls else self.ldaps_uri
        cmd = [tool, "-x", "-H", uri, *(["-ZZ"] if starttls else []),
               "-o", "nettimeout=5", "-D", bind_dn, "-w", password, *args]
        env = tls_client_env(ca or self.ca_file, reqcert)
        result = subprocess.run(cmd, input=stdin, capture_output=True,
                                text=True, env=env, timeout=timeout)
        if check and result.returncode != 0:
            raise SlapdError("%s over TLS failed (%d): %s" % (
                tool, result.returncode, result.stderr.strip()))
        return result

    def _client(self, tool, args, bind_dn, password, check, stdin=None,
                timeout=60):
        if bind_dn is None:
            bind_dn, password = self.admin_dn, self.admin_password
        # nettimeout bounds the connect, timeout the whole run, so a server
        # that never answers fails the test instead of hanging it.
        cmd = [tool, "-x", "-H", self.uri, "-o", "nettimeout=5",
               "-D", bind_dn, "-w", password, *args]
        result = subprocess.run(cmd, input=stdin, capture_output=True,
                                text=True, env=CLIENT_ENV, timeout=timeout)
        if check and result.returncode != 0:
            raise SlapdError("%s failed (%d): %s" % (
                tool, result.returncode, result.stderr.strip()))
        return result

    # --- Setup -------------------------------------------------------------

    def _setup(self):
        # Start clean: a previous setup may have died half way.
        for d in (self.config_dir, self.data_dir):
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir(mode=0o700)
        config_ldif = self.workdir / "config.ldif"
        config_ldif.write_text(self._config_ldif(), encoding="utf-8")
        self._run([SLAPADD, "-n0", "-F", str(self.config_dir),
                   "-l", str(config_ldif)])
        if self.ldif is not None:
            # -q skips consistency checks: the fast path for bulk loads.
            self._run([SLAPADD, "-n1", "-q", "-F", str(self.config_dir),
                       "-l", str(self.ldif)])
        self._loaded_marker.touch()

    def _run(self, cmd):
        result = subprocess.run(cmd, capture_output=True, text=True,
                                stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise SlapdError("%s failed (%d):\n%s%s" % (
                " ".join(cmd), result.returncode, result.stdout,
                result.stderr))

    def _config_ldif(self):
        schemas = [SYSTEM_SCHEMA_DIR / ("%s.ldif" % s) for s in SYSTEM_SCHEMAS]
        schemas.append(STAFET_SCHEMA_LDIF)
        schemas += self.schemas
        schema_text = "\n".join(p.read_text(encoding="utf-8").strip() + "\n"
                                for p in schemas)
        indexes = [
            "objectClass eq",
            "entryUUID eq", "entryCSN eq",  # syncrepl
            "modifyTimestamp eq",           # incremental sync by time
            "uid eq,sub", "mail eq,sub", "cn eq,sub", "sn eq,sub",
            "givenName eq,sub", "displayName eq,sub", "ou eq",
            "member eq", "manager eq",
            "stafetUnitCode eq", "stafetDepartment eq",
            "stafetTargetGroup eq", "stafetDeputy eq",
        ]
        # Indexes for attributes an extra schema may define (slapd refuses
        # to start with an index on an undefined attribute).
        defined = _attribute_names(schema_text)
        indexes += [i for i in OPTIONAL_INDEXES
                    if i.split()[0].lower() in defined]
        w = self.workdir
        return "\n".join([
            CONFIG_TEMPLATE.format(
                pid=w / "slapd.pid", args=w / "slapd.args",
                modules=MODULE_DIR, tls=self._tls_config()),
            schema_text,
            DATABASE_TEMPLATE.format(
                admin_pw=ADMIN_PASSWORD, config_admin=CONFIG_ADMIN_DN,
                data=self.data_dir, base=BASE_DN, admin=ADMIN_DN,
                indexes="\n".join("olcDbIndex: " + i for i in indexes)),
        ])

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        if not wait_for_port("127.0.0.1", self.port, timeout, self.proc):
            raise SlapdError("slapd did not listen on %s%s" % (
                self.uri, self._log_tail()))
        # Listening comes before the database is fully open on some
        # versions; a successful bind is the real readiness signal.
        while True:
            if not self.running:
                raise SlapdError("slapd exited with status %s%s" % (
                    self.proc.returncode, self._log_tail()))
            # Short client timeout: if something else holds the port,
            # slapd exits and the next round reports that.
            try:
                result = self._client("ldapwhoami", [], None, None, False,
                                      timeout=2)
                if result.returncode == 0:
                    return
                error = result.stderr.strip()
            except subprocess.TimeoutExpired:
                error = "no answer"
            if time.monotonic() >= deadline:
                raise SlapdError("slapd on %s does not answer binds: %s%s" % (
                    self.uri, error, self._log_tail()))
            time.sleep(0.1)

    def _listen_urls(self):
        urls = [self.uri + "/"]
        if self.tls is not None:
            urls.append(self.ldaps_uri + "/")
        return " ".join(urls)

    def _tls_config(self):
        """cn=config attribute lines for tls, "" without ("\n"-ended)."""
        if self.tls is None:
            return ""
        cert, key, ca = self.tls
        return ("olcTLSCACertificateFile: %s\n"
                "olcTLSCertificateFile: %s\n"
                "olcTLSCertificateKeyFile: %s\n"
                "olcTLSVerifyClient: never\n" % (ca, cert, key))

    def _wait_tls_ready(self, timeout):
        """After _wait_ready: the ldaps:// port answers a bind.  The
        certificate is not checked here (reqcert "allow"): a test may serve
        a wrong one on purpose; a broken key or file stops slapd anyway."""
        config = self.config_dir / "cn=config.ldif"
        try:
            # Unfold LDIF continuation lines: long paths are wrapped.
            text = config.read_text(encoding="utf-8").replace("\n ", "")
            configured = self.tls[0] in text
        except OSError:
            configured = False
        if not configured:
            raise SlapdError("%s was set up without these TLS files; use a "
                             "fresh workdir" % self.workdir)
        deadline = time.monotonic() + timeout
        if not wait_for_port("127.0.0.1", self.tls_port, timeout, self.proc):
            raise SlapdError("slapd did not listen on %s%s" % (
                self.ldaps_uri, self._log_tail()))
        while True:
            if not self.running:
                raise SlapdError("slapd exited with status %s%s" % (
                    self.proc.returncode, self._log_tail()))
            try:
                result = self.tls_client("ldapwhoami", check=False, timeout=2,
                                         reqcert="allow")
                if result.returncode == 0:
                    return
                error = result.stderr.strip()
            except subprocess.TimeoutExpired:
                error = "no answer"
            if time.monotonic() >= deadline:
                raise SlapdError("slapd on %s does not answer binds: %s%s" % (
                    self.ldaps_uri, error, self._log_tail()))
            time.sleep(0.1)

    def _log_tail(self, lines=30):
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n--- tail of %s:\n%s" % (
            self.log_path, "\n".join(text.splitlines()[-lines:]))


# Indexed when some loaded schema defines the attribute (the AD stand-in
# does): lookups by logon name and id, incremental sync by uSNChanged
# (mdb's integer equality index also serves >= and <=), memberships.
OPTIONAL_INDEXES = [
    "sAMAccountName eq,sub", "userPrincipalName eq", "objectGUID eq",
    "uSNChanged eq", "memberOf eq", "objectCategory eq",
]


def _attribute_names(schema_text):
    """Lower-cased names (aliases too) of the attribute types defined in
    cn=config schema LDIF text."""
    text = re.sub(r"\n[ \t]", "", schema_text)  # unfold LDIF lines
    names = set()
    for m in re.finditer(r"^olcAttributeTypes:\s*(?:\{\d+\})?\s*\((.*)$",
                         text, re.M | re.I):
        n = re.search(r"\bNAME\s+(\([^)]*\)|'[^']*')", m.group(1))
        if n:
            names.update(x.lower()
                         for x in re.findall(r"'([^']*)'", n.group(1)))
    return names


CONFIG_TEMPLATE = """\
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {pid}
olcArgsFile: {args}
{tls}
dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: {modules}
olcModuleLoad: back_mdb
olcModuleLoad: syncprov
olcModuleLoad: ppolicy

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema
"""

# Limits: the benchmark directory has 50,000 people plus units and groups,
# so one plain search must return that many; paged searches may return any
# total (prtotal).  The rootdn is never limited.  olcDbMaxSize is the mdb
# map size (sparse): the default 10 MiB is far too small for 50,000 people.
# olcDbNoSync trades durability on power loss, which tests never need, for
# speed.
DATABASE_TEMPLATE = """\
dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcRootDN: {config_admin}
olcRootPW: {admin_pw}

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcDbDirectory: {data}
olcSuffix: {base}
olcRootDN: {admin}
olcRootPW: {admin_pw}
olcDbMaxSize: 4294967296
olcDbNoSync: TRUE
{indexes}
olcSizeLimit: size.soft=200000 size.hard=200000 size.prtotal=unlimited
olcLimits: dn.exact="{admin}" size=unlimited time=unlimited
olcAccess: {{0}}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {{1}}to * by users read by * none

dn: olcOverlay={{0}}syncprov,olcDatabase={{1}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcSyncProvConfig
olcOverlay: {{0}}syncprov
olcSpCheckpoint: 100 10
olcSpSessionlog: 10000

dn: olcOverlay={{1}}ppolicy,olcDatabase={{1}}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: {{1}}ppolicy
"""
