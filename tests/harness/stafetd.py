"""Runs a real stafetd for the integration tests.

The binary is build/stafetd, or $STAFETD (the sanitizer build in `make
check`). Each instance gets its own config file, log file and free port.
Under a sanitizer build, any sanitizer report in the log fails stop()."""

import os
import re
import resource
import shlex
import signal as _signal
import subprocess
import time

import requests

from .common import free_port

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VALGRIND_LINE = re.compile(r"^==\d+== ?(.*)$")
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "UndefinedBehaviorSanitizer")


def binary():
    return os.environ.get("STAFETD") or os.path.join(REPO, "build", "stafetd")


_TEST_CLOCK = {}


def has_test_clock():
    """Whether the binary under test is a test build whose clock a test may
    move (daemon/clock.c: build/asan/stafetd; never build/stafetd)."""
    b = binary()
    if b not in _TEST_CLOCK:
        r = subprocess.run([b, "-V"], capture_output=True, text=True, timeout=30)
        _TEST_CLOCK[b] = "test clock" in r.stdout
    return _TEST_CLOCK[b]


def copenhagen_noon(date):
    """The epoch second of 12:00 in Copenhagen on date (YYYY-MM-DD): 10:00
    or 11:00 UTC; noon is on that date under either offset."""
    import datetime
    d = datetime.date.fromisoformat(date)
    utc = datetime.datetime(d.year, d.month, d.day, 10, 30, tzinfo=datetime.timezone.utc)
    return utc.timestamp()


SUPPRESSIONS = os.path.join(REPO, "tests", "sanitizers")


def command(*args):
    """The argv to run stafetd: $STAFETD_WRAPPER (e.g. valgrind) goes first,
    with tests/sanitizers/valgrind.supp (known leaks in libraries) added."""
    wrapper = shlex.split(os.environ.get("STAFETD_WRAPPER", ""))
    if wrapper and os.path.basename(wrapper[0]) == "valgrind":
        wrapper.insert(1, "--suppressions=" + os.path.join(SUPPRESSIONS, "valgrind.supp"))
    return wrapper + [binary(), *args]


def sanitizer_env(env):
    """ASan/LSan/UBSan options for a sanitizer build (harmless otherwise).
    The slow unwinder walks through liblber/libldap, which have no frame
    pointers: without it a leak inside them shows no stafetd frame at all,
    and lsan.supp could not tell libldap's own leak from one of ours.
    It runs at every malloc, so its depth is kept to 8 frames (ASan's
    default is 30): the daemon runs about twice as fast (test_faults'
    SIGKILL test: 22 s -> 12 s), and libldap's leak still shows the frame
    lsan.supp names (test_notice_of_disconnection fails at 5, passes at 6)."""
    env.setdefault("ASAN_OPTIONS",
                   "detect_leaks=1:abort_on_error=0:exitcode=86:fast_unwind_on_malloc=0:"
                   "malloc_context_size=8")
    env.setdefault("LSAN_OPTIONS",
                   "suppressions=" + os.path.join(SUPPRESSIONS, "lsan.supp") +
                   ":print_suppressions=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    return env


class Stafetd:
    """One stafetd process.

    workdir: folder for stafetd.conf and stafetd.log.
    settings: config keys (dict); `listen`, `web_root` and `log_timestamps`
    get defaults here. Values are written verbatim, so the test decides quoting.
    """

    def __init__(self, workdir, settings=None, env=None, nofile=None):
        self.workdir = str(workdir)
        # nofile: RLIMIT_NOFILE (soft and hard) for the daemon, e.g. to run it
        # out of descriptors; None inherits the test process's limit.
        self.nofile = nofile
        os.makedirs(self.workdir, exist_ok=True)
        self.port = free_port()
        self.settings = {
            "listen": f"127.0.0.1:{self.port}",
            "web_root": os.path.join(REPO, "web"),
            "log_timestamps": "no",
            # valgrind makes libpq's SCRAM (4096 PBKDF2 rounds) take seconds, and
            # ASan on two busy workers more than 2 s now and then
            "db_connect_timeout": "10s" if os.environ.get("STAFETD_WRAPPER")
            else "5s" if "asan" in binary() else "2s",
        }
        self.settings.update(settings or {})
        self.config_path = os.path.join(self.workdir, "stafetd.conf")
        self.log_path = os.path.join(self.workdir, "stafetd.log")
        self.env = dict(os.environ)
        self.env.update(env or {})
        sanitizer_env(self.env)
        # The test clock (a test build only; others ignore the variable):
        # "WALL MONO" offsets in seconds, read at start and on SIGUSR2.
        self.clock_path = os.path.join(self.workdir, "clock")
        self.clock_offsets = [0.0, 0.0]
        self.env["STAFET_TEST_CLOCK"] = self.clock_path
        self.proc = None
        self._log = None
        self.write_config()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def write_config(self, extra_lines=()):
        with open(self.config_path, "w") as f:
            for k, v in self.settings.items():
                f.write(f"{k} = {v}\n")
            for line in extra_lines:
                f.write(line + "\n")
        os.chmod(self.config_path, 0o600)

    def run(self, *args, timeout=60):
        """Runs the binary with this config and args; returns CompletedProcess."""
        return subprocess.run(command("-c", self.config_path, *args), capture_output=True,
                              text=True, env=self.env, timeout=timeout)

    def migrate(self):
        """--migrate; a connect that timed out (a busy machine: the tests'
        db_connect_timeout is short) is tried again, twice at most."""
        for attempt in range(3):
            r = self.run("--migrate")
            if r.returncode == 0 or "cannot connect" not in r.stderr or attempt == 2:
                break
            time.sleep(1)
        assert r.returncode == 0, r.stderr
        return r

    def start(self, wait=True):
        self._log = open(self.log_path, "a")
        self.proc = subprocess.Popen(command("-c", self.config_path), stdout=self._log,
                                     stderr=subprocess.STDOUT, env=self.env,
                                     preexec_fn=self._limits if self.nofile else None)
        if wait:
            self.wait_healthy()
        return self

    def _limits(self):
        resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile, self.nofile))

    def wait_healthy(self, timeout=None):
        # under valgrind on a busy machine a start took more than 20 s
        if timeout is None:
            timeout = 60 if os.environ.get("STAFETD_WRAPPER") else 20
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"stafetd exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"stafetd did not answer /healthz:\n{self.log()}")

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=_signal.SIGTERM, timeout=30):
        """Stops the process; returns its exit code. Raises on sanitizer reports."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError(f"stafetd ignored signal {sig}:\n{self.log()}")
        rc = self.proc.returncode
        self.proc = None
        if self._log:
            self._log.close()
            self._log = None
        self.check_sanitizers()
        return rc

    def check_sanitizers(self):
        text = self.log()
        for mark in SANITIZER_MARKS:
            if mark in text:
                raise AssertionError(f"sanitizer report in stafetd log:\n{text[-6000:]}")
        # valgrind (STAFETD_WRAPPER, run with -q): it prints only errors, leaks
        # included, each line "==pid== ..."; anything but a warning fails.
        said = [line for line in text.splitlines()
                if (m := VALGRIND_LINE.match(line)) and m.group(1).strip()
                and not m.group(1).startswith("Warning: ")]
        if said or re.search(r"ERROR SUMMARY: [1-9]", text):
            raise AssertionError("valgrind report in stafetd log:\n" + "\n".join(said[:200]))

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_log(self, needle, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.log():
                return True
            time.sleep(0.05)
        return False

    # --- the test clock (daemon/clock.c) -------------------------------------------

    def _write_clock(self):
        tmp = self.clock_path + ".tmp"
        with open(tmp, "w") as f:
            f.write("%.6f %.6f\n" % tuple(self.clock_offsets))
        os.replace(tmp, self.clock_path)

    def _move_clock(self, timeout=30):
        """Writes the offsets and, if running, tells the daemon (SIGUSR2),
        then waits until it says it moved: every timer the step reached
        has been made due by then."""
        if not has_test_clock():
            import pytest
            pytest.skip("needs a test build's clock (make check runs build/asan/stafetd)")
        self._write_clock()
        if self.proc is None or self.proc.poll() is not None:
            return
        before = self.log().count("test clock: wall")
        self.proc.send_signal(_signal.SIGUSR2)
        deadline = time.monotonic() + timeout
        while self.log().count("test clock: wall") <= before:
            if time.monotonic() > deadline:
                raise RuntimeError("stafetd did not move its clock:\n" + self.log()[-3000:])
            time.sleep(0.01)

    def advance(self, seconds):
        """Moves the daemon's wall and monotonic clocks `seconds` ahead."""
        assert seconds >= 0
        self.clock_offsets[0] += seconds
        self.clock_offsets[1] += seconds
        self._move_clock()

    def mono(self):
        """The daemon's monotonic clock as the test sees it: the real one
        plus what advance() and set_date() added. For measuring, on any
        build, how long the daemon took by its own clock."""
        return time.monotonic() + self.clock_offsets[1]

    def let_pass(self, seconds):
        """Lets `seconds` pass for the daemon: a test build's clock moves
        (advance), so its timers due by then fire at once; a build whose
        clock cannot move (build/stafetd) is given the time for real. For a
        test of what the daemon does, or must not do yet, after a time of
        its own (a header timeout, a reload interval) on either build."""
        if has_test_clock():
            self.advance(seconds)
        else:
            time.sleep(seconds)

    def hurry(self, seconds):
        """Makes what the daemon would do in `seconds` of its own time (a
        backoff, a retry, a timeout) happen now on a test build (advance);
        does nothing on a build whose clock cannot move. For a test that
        then waits for it on a condition, which holds on either build."""
        if has_test_clock():
            self.advance(seconds)

    def set_date(self, date):
        """Sets the daemon's wall clock to noon in Copenhagen on date
        (YYYY-MM-DD); the monotonic clock moves on by as much when that is
        ahead (so timers due in between fire), else stays."""
        wall = copenhagen_noon(date) - time.time()
        step = wall - self.clock_offsets[0]
        self.clock_offsets[0] = wall
        if step > 0:
            self.clock_offsets[1] += step
        self._move_clock()

