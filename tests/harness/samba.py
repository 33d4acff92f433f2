"""A real Active Directory for integration tests: Samba's AD DC, provisioned
in a temporary directory and run with only its LDAP service.

    dc = SambaDC(tmp_path / "dc", tls=make_server_cert(pki, make_ca(pki)))
    dc.provision()                  # samba-tool domain provision, ~4 s
    dc.load(*municipality_ldif())   # ldbadd/ldbmodify on sam.ldb, ~10 s
    dc.start()                      # samba -i -M single, until ldaps binds
    dc.ldapsearch("-b", dc.base_dn, "(sAMAccountName=mha)")
    dc.stop()

Samba has no setting for its LDAP ports: it always listens on 389 (ldap,
StartTLS), 636 (ldaps) and, as a global catalog, 3268/3269, on the
addresses of `interfaces` (here 127.0.0.1 only, `bind interfaces only`).
So binding needs root, and one machine runs one such DC at a time on
127.0.0.1: shared_dc() lets the pytest-xdist workers of one run share a
single DC under a file lock (the first provisions and starts it, the last
stops it), and a test that changes the directory uses entries of its own.

Samba refuses a simple bind in the clear ("ldap server require strong auth"
is left at its default, yes): clients use ldaps:// or StartTLS, with the
CA given.  A simple bind takes a DN, a userPrincipalName or DOMAIN\\user,
not a bare sAMAccountName.  extensionAttribute1-15 are Exchange's, not in
Samba's schema (see MISSING_AD_ATTRIBUTES).

Nothing outside workdir is touched (no /etc/samba, /var/lib/samba or
/var/log/samba); samba's own log is workdir/samba.log.
"""

import atexit
import base64
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from .common import wait_for_port

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"

SAMBA = "/usr/sbin/samba"
SAMBA_TOOL = "/usr/bin/samba-tool"
LDBADD = "/usr/bin/ldbadd"
LDBMODIFY = "/usr/bin/ldbmodify"

REALM = "STAFET.EXAMPLE"
DOMAIN = "STAFET"            # NetBIOS name: STAFET\mha
BASE_DN = "DC=stafet,DC=example"   # the same suffix as the slapd fixtures
ADMIN_PASSWORD = "Stafet-Adm1n!"
ADDRESS = "127.0.0.1"
LDAP_PORT = 389    # fixed by Samba (source4/ldap_server/ldap_server.c)
LDAPS_PORT = 636

# Attributes stafetd's ad layout reads by default that Samba's schema lacks
# (Exchange's extensionAttribute1-15): allocation, deputy, absence and the
# units' KLE numbers stay empty unless mapped to attributes Samba has
# (stafetd warns of each at start: test_samba_ad.py).
MISSING_AD_ATTRIBUTES = {
    "map_allocation": "extensionAttribute2",
    "map_deputy": "extensionAttribute3",
    "map_absent_from": "extensionAttribute4",
    "map_absent_until": "extensionAttribute5",
    "map_kle_responsible": "extensionAttribute1",
    "map_kle_performing": "extensionAttribute2",
    "map_kle_insight": "extensionAttribute3",
}


class SambaError(RuntimeError):
    pass


def unavailable():
    """Why a Samba DC cannot run here, or None when it can."""
    if os.geteuid() != 0:
        return "Samba's AD DC needs root: its LDAP ports 389/636 are fixed"
    for tool in (SAMBA, SAMBA_TOOL, LDBADD, LDBMODIFY):
        if not os.access(tool, os.X_OK):
            return "%s missing (scripts/setup-deps.sh installs samba-ad-dc, ldb-tools)" % tool
    return None


def _port_busy(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((ADDRESS, port))
        except OSError:
            return True
    return False


def _pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


_running = set()


@atexit.register
def _stop_all():
    for dc in list(_running):
        dc.stop()


class SambaDC:
    """One Samba AD DC serving ldap://127.0.0.1 (389, StartTLS) and
    ldaps://127.0.0.1 (636).

    workdir: provisioned domain, smb.conf, samba.log (created).
    tls: (cert, key, ca) paths, e.g. tls.make_server_cert(); the cert must
         name 127.0.0.1.  Samba wants the key 0600 and owned by its user.
    """

    def __init__(self, workdir, tls, realm=REALM, domain=DOMAIN,
                 admin_password=ADMIN_PASSWORD):
        self.workdir = Path(workdir).resolve()
        self.tls = tuple(str(Path(p).resolve()) for p in tls)
        self.realm, self.domain = realm, domain
        self.admin_password = admin_password
        self.conf = self.workdir / "etc" / "stafet-smb.conf"
        self.sam = self.workdir / "private" / "sam.ldb"
        self.log_path = self.workdir / "samba.log"
        self.proc = None
        self.pid = None  # also set when attached to a DC another process started

    # --- Properties ------------------------------------------------------

    uri = "ldap://%s" % ADDRESS
    ldaps_uri = "ldaps://%s" % ADDRESS
    base_dn = BASE_DN

    @property
    def ca_file(self):
        return self.tls[2]

    @property
    def admin_dn(self):
        return "CN=Administrator,CN=Users," + BASE_DN

    @property
    def admin_upn(self):
        return "Administrator@" + self.realm

    @property
    def running(self):
        if self.proc is not None:
            return self.proc.poll() is None
        return self.pid is not None and _pid_alive(self.pid)

    # --- Setup -----------------------------------------------------------

    def provision(self):
        """samba-tool domain provision into workdir (emptied first), then a
        password policy that takes the fixtures' short passwords, and our
        own smb.conf running only the LDAP service."""
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.workdir.mkdir(parents=True)
        self._run([SAMBA_TOOL, "domain", "provision",
                   "--targetdir=%s" % self.workdir, "--realm=%s" % self.realm,
                   "--domain=%s" % self.domain, "--server-role=dc",
                   "--dns-backend=NONE", "--use-rfc2307", "--host-name=dc1",
                   "--adminpass=%s" % self.admin_password,
                   "--option=interfaces=%s" % ADDRESS,
                   "--option=bind interfaces only=yes"])
        self._run([SAMBA_TOOL, "domain", "passwordsettings", "set",
                   "-H", str(self.sam), "--complexity=off",
                   "--min-pwd-length=0", "--history-length=0",
                   "--min-pwd-age=0", "--max-pwd-age=0"])
        self.write_conf()

    def write_conf(self):
        w = self.workdir
        cert, key, ca = self.tls
        self.conf.write_text("""\
[global]
\tnetbios name = DC1
\trealm = {realm}
\tworkgroup = {domain}
\tserver role = active directory domain controller
\tserver services = ldap
\tinterfaces = {addr}
\tbind interfaces only = yes
\tprivate dir = {w}/private
\tlock directory = {w}
\tstate directory = {w}/state
\tcache directory = {w}/cache
\tbinddns dir = {w}/bind-dns
\tpid directory = {w}
\tncalrpc dir = {w}/ncalrpc
\twinbindd socket directory = {w}/winbindd
\tlog file = {w}/log.%m
\tlogging = file
\tidmap_ldb:use rfc2307 = yes
\ttls enabled = yes
\ttls certfile = {cert}
\ttls keyfile = {key}
\ttls cafile = {ca}
""".format(realm=self.realm, domain=self.domain, addr=ADDRESS, w=w,
           cert=cert, key=key, ca=ca))

    def load(self, add_ldif, modify_ldif=None):
        """Adds entries straight into sam.ldb (ldbadd, as the system, so
        unicodePwd needs no TLS), then applies change records (ldbmodify);
        only while the DC is stopped."""
        if self.running:
            raise SambaError("load() needs the DC stopped")
        for tool, text, name in ((LDBADD, add_ldif, "load-add.ldif"),
                                 (LDBMODIFY, modify_ldif, "load-modify.ldif")):
            if not text:
                continue
            path = self.workdir / name
            path.write_text(text, encoding="utf-8")
            self._run([tool, "-H", str(self.sam), str(path)])

    # --- Lifecycle -------------------------------------------------------

    def start(self, timeout=60.0, port_wait=180.0):
        """Runs samba until ldaps:// answers.  Another test run's DC may
        hold the fixed ports: it is waited for, port_wait seconds at most."""
        if self.running:
            return
        deadline = time.monotonic() + port_wait
        for port in (LDAP_PORT, LDAPS_PORT):
            while _port_busy(port):
                if time.monotonic() >= deadline:
                    raise SambaError("%s:%d is taken (another test run's DC, or a "
                                     "slapd or samba of the machine?)" % (ADDRESS, port))
                time.sleep(1)
        cmd = [SAMBA, "-i", "-M", "single", "-s", str(self.conf)]
        with open(self.log_path, "ab") as log:
            log.write(("--- %s\n" % " ".join(cmd)).encode())
            log.flush()
            # A session of its own: stop() signals its process group.
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, cwd=self.workdir,
                                         start_new_session=True)
        self.pid = self.proc.pid
        _running.add(self)
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout=15.0):
        """SIGTERM to samba's process group, SIGKILL if it hangs."""
        _running.discard(self)
        proc, pid = self.proc, self.pid
        self.proc = self.pid = None
        if pid is None:
            return
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc is not None:
                if proc.poll() is not None:
                    break
            elif not _pid_alive(pid):
                break
            time.sleep(0.05)
        else:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if proc is not None:
            proc.wait()

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        if not wait_for_port(ADDRESS, LDAPS_PORT, timeout, self.proc):
            raise SambaError("samba did not listen on %s%s" % (self.ldaps_uri, self._log_tail()))
        while True:
            if not self.running:
                raise SambaError("samba exited%s" % self._log_tail())
            r = self.ldapsearch("-b", "", "-s", "base", "dsServiceName", check=False, timeout=5)
            if r.returncode == 0:
                return
            if time.monotonic() >= deadline:
                raise SambaError("samba does not answer on %s: %s%s" % (
                    self.ldaps_uri, r.stderr.strip(), self._log_tail()))
            time.sleep(0.2)

    # --- Clients -----------------------------------------------------------

    def client_env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("LDAP")}
        env.update(LDAPRC="stafet-tests-no-ldaprc", LDAPTLS_CACERT=self.ca_file,
                   LDAPTLS_REQCERT="demand")
        return env

    def client(self, tool, *args, bind_dn=None, password=None, starttls=False,
               check=True, stdin=None, timeout=60):
        """An OpenLDAP client tool over TLS (ldaps://, or StartTLS) as the
        Administrator (or bind_dn: a DN, UPN or DOMAIN\\user)."""
        if bind_dn is None:
            bind_dn, password = self.admin_upn, self.admin_password
        uri = self.uri if starttls else self.ldaps_uri
        cmd = [tool, "-x", "-H", uri, *(["-ZZ"] if starttls else []),
               "-o", "nettimeout=5", "-D", bind_dn, "-w", password, *args]
        try:
            r = subprocess.run(cmd, input=stdin, capture_output=True, text=True,
                               env=self.client_env(), timeout=timeout)
        except subprocess.TimeoutExpired:
            r = subprocess.CompletedProcess(cmd, 124, "", "timed out")
        if check and r.returncode != 0:
            raise SambaError("%s failed (%d): %s" % (tool, r.returncode, r.stderr.strip()))
        return r

    def ldapsearch(self, *args, **kw):
        return self.client("ldapsearch", "-LLL", *args, **kw)

    def ldapmodify(self, ldif_text, *args, **kw):
        return self.client("ldapmodify", *args, stdin=ldif_text, **kw)

    def bind_ok(self, bind_dn, password, starttls=False):
        """Whether a simple bind as bind_dn succeeds (a base search of the
        rootDSE: Samba has no Who am I? operation)."""
        r = self.ldapsearch("-b", "", "-s", "base", "dsServiceName", bind_dn=bind_dn,
                            password=password, starttls=starttls, check=False, timeout=10)
        return r.returncode == 0

    # --- Plumbing ----------------------------------------------------------

    def _run(self, cmd):
        r = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                           cwd=self.workdir)
        if r.returncode != 0 or "ERR:" in r.stdout + r.stderr:
            raise SambaError("%s failed (%d):\n%s%s" % (
                " ".join(cmd), r.returncode, r.stdout[-3000:], r.stderr[-3000:]))
        return r

    def _log_tail(self, lines=30):
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n--- tail of %s:\n%s" % (self.log_path, "\n".join(text.splitlines()[-lines:]))


# --- One DC shared by the workers of a run ---------------------------------------


class shared_dc:
    """Context manager: a started SambaDC in root/samba-dc, shared by every
    process of a test run that uses the same root (pytest-xdist's workers:
    their basetemp's parent).  Under root/samba-dc.lock the first comer
    provisions, loads and starts it (setup(dc) loads the data); later ones
    attach; the last one out stops it.  A DC whose process died (a crashed
    run) is started again from its directory.  `seconds` tells how long
    the setup took (0 when attached)."""

    def __init__(self, root, setup):
        self.root = Path(root)
        self.setup = setup
        self.state = self.root / "samba-dc.json"
        self.lock = self.root / "samba-dc.lock"
        self.dc = None
        self.seconds = 0.0

    def _locked(self):
        f = open(self.lock, "a+")
        fcntl.flock(f, fcntl.LOCK_EX)
        return f

    def _read(self):
        try:
            return json.loads(self.state.read_text())
        except (OSError, ValueError):
            return None

    def __enter__(self):
        from . import tls
        self.root.mkdir(parents=True, exist_ok=True)
        with self._locked():
            st = self._read()
            if st and st.get("pid") and _pid_alive(st["pid"]):
                dc = SambaDC(st["workdir"], st["tls"])
                dc.pid = st["pid"]
            else:
                t0 = time.monotonic()
                if st and Path(st["workdir"], ".loaded").exists():
                    dc = SambaDC(st["workdir"], st["tls"])
                else:
                    pki = self.root / "samba-pki"
                    ca = tls.make_ca(pki, name="Stafet Samba Test CA")
                    cert = tls.make_server_cert(pki, ca, hostnames=(ADDRESS, "localhost"))
                    dc = SambaDC(self.root / "samba-dc", cert)
                    dc.provision()
                    self.setup(dc)
                    (dc.workdir / ".loaded").touch()
                dc.start()
                self.seconds = time.monotonic() - t0
                st = {"workdir": str(dc.workdir), "tls": list(dc.tls), "users": [],
                      "setup_seconds": self.seconds}
            st["pid"] = dc.pid
            st["users"] = [u for u in st.get("users", []) if _pid_alive(u)] + [os.getpid()]
            self.state.write_text(json.dumps(st))
        self.dc = dc
        return dc

    def __exit__(self, *exc):
        with self._locked():
            st = self._read() or {}
            users = [u for u in st.get("users", []) if u != os.getpid() and _pid_alive(u)]
            st["users"] = users
            if not users:
                self.dc.stop()
                st["pid"] = None
            else:
                _running.discard(self.dc)  # the next one out stops it
            self.state.write_text(json.dumps(st))


# --- The municipality ------------------------------------------------------------

# One user whose logon name itself is not ASCII (besides the many
# non-ASCII display names of the demo people).
NON_ASCII_USER = ("bjørn", "Bjørn", "Ærøskøbing", "UR", "Rådgiver")
BIG_UNIT = "VIK"          # stafet-unit-VIK: the 1,600 extra users, a unit
BIG_COUNT = 1600


def _ldif_line(name, value):
    if isinstance(value, bytes) or not value.isascii() or value[:1] in (" ", ":", "<") \
            or value.endswith(" "):
        raw = value if isinstance(value, bytes) else value.encode("utf-8")
        return "%s:: %s" % (name, base64.b64encode(raw).decode())
    return "%s: %s" % (name, value)


def unicode_pwd(password):
    """unicodePwd's value: the password in double quotes, UTF-16LE."""
    return ('"%s"' % password).encode("utf-16-le")


def municipality_ldif(big=BIG_COUNT):
    """(add LDIF, modify LDIF) for SambaDC.load(): the AD fixture's
    municipality (tests/fixtures/gen_ad_ldif.py: the 200 demo people, six
    disabled or expired accounts, unit groups stafet-unit-CODE nested by
    department, target groups stafet-tg-NAME with nested team groups and
    a cycle, stafet-quality, stafet-admin, the service account
    cn=stafetd,ou=Tjenester) made fit for a real AD: no objectGUID, uSN*,
    when*, memberOf or objectCategory (the DC sets them), no
    extensionAttributes (not in Samba's schema), unicodePwd instead of
    userPassword; plus `big` extra users (xb00001...) without passwords in
    stafet-tg-stor and in the unit stafet-unit-VIK, and the user "bjørn".
    Groups are added empty and filled by the modify LDIF (a member must
    exist first; unit groups hold their child units' groups)."""
    if str(FIXTURES) not in sys.path:
        sys.path.insert(0, str(FIXTURES))
    import gen_ad_ldif as ad
    b = ad.Builder(big=big)
    entries = b.build()
    if big:
        entries.append(_entry(ad, ad.group_dn(ad.UNIT_GROUP_PREFIX + BIG_UNIT), [
            ("objectClass", "top"), ("objectClass", "group"),
            ("cn", ad.UNIT_GROUP_PREFIX + BIG_UNIT),
            ("sAMAccountName", ad.UNIT_GROUP_PREFIX + BIG_UNIT),
            ("description", "Vikarkorpset"), ("mail", "vikar@" + ad.MAIL_DOMAIN)] +
            [("member", u.dn) for u in b.big_users]))
    sam, given, sn, unit, title = NON_ASCII_USER
    cn = "%s %s" % (given, sn)
    entries.append(_entry(ad, ad.user_dn(cn), [
        ("objectClass", "top"), ("objectClass", "person"),
        ("objectClass", "organizationalPerson"), ("objectClass", "user"),
        ("cn", cn), ("sn", sn), ("givenName", given), ("displayName", cn),
        ("sAMAccountName", sam), ("userPrincipalName", "%s@%s" % (sam, ad.MAIL_DOMAIN)),
        ("userAccountControl", "512"), ("title", title),
        ("mail", "bjorn@" + ad.MAIL_DOMAIN), ("userPassword", "x")]))
    unit_group = ad.group_dn(ad.UNIT_GROUP_PREFIX + unit)
    keep_oc = {"top", "person", "organizationalPerson", "user", "group",
               "organizationalUnit"}
    drop = {"objectguid", "objectcategory", "memberof", "usncreated",
            "usnchanged", "whencreated", "whenchanged", "userpassword"}
    big_dns = {u.dn for u in getattr(b, "big_users", [])}
    big_entries = [e for e in entries if e.dn in big_dns]  # no password: fast
    adds, mods = [], []
    for e in entries:
        if e.dn.lower() == ad.BASE_DN.lower():
            continue  # the domain itself exists
        lines = [_ldif_line("dn", e.dn)]
        members = []
        for n, v in e.attrs:
            ln = n.lower()
            if ln == "member":
                members.append(v)
            elif ln in drop or ln.startswith("extensionattribute"):
                continue
            elif ln == "objectclass" and v not in keep_oc:
                continue
            else:
                lines.append(_ldif_line(n, v))
        if e.dn == unit_group:
            members.append(ad.user_dn(cn))
        if e.get("userPassword") and e not in big_entries:
            pw = ad.SERVICE_PASSWORD if e.dn == ad.SERVICE_DN else ad.DEMO_PASSWORD
            lines.append(_ldif_line("unicodePwd", unicode_pwd(pw)))
        adds.append("\n".join(lines))
        if members:
            mods.append("\n".join([_ldif_line("dn", e.dn), "changetype: modify",
                                   "add: member"] +
                                  [_ldif_line("member", m) for m in members] + ["-"]))
    return "\n\n".join(adds) + "\n", "\n\n".join(mods) + "\n"


def _entry(ad, dn, attrs):
    import gen_demo_ldif as demo
    return demo.Entry(dn, attrs)


def run_root(tmp_path_factory):
    """Where the DC of this test run lives: the basetemp shared by the
    pytest-xdist workers of the run (its parent), or the run's own."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def load_municipality(dc):
    dc.load(*municipality_ldif())
