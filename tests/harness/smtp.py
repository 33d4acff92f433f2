"""
An SMTP sink for integration tests and the demo: a real SMTP server in its own
process (smtp_sink.py, on aiosmtpd) that keeps every message it receives as a
file under workdir/mail. stop() then start() on the same port simulates a
relay outage; the messages received so far stay.
"""

import email
import email.policy
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time

from .common import free_port, log_tail

_SINK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "smtp_sink.py")


def _python():
    # The sink needs aiosmtpd; Debian's python3 has it, a pyenv one may not.
    if importlib.util.find_spec("aiosmtpd") is not None:
        return sys.executable
    return "/usr/bin/python3"


def _proc_alive(pid):
    """True if pid runs; a zombie (dead, not yet reaped) counts as gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _is_sink(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"smtp_sink.py" in f.read()
    except OSError:
        return False


class SmtpSink:
    """
    workdir: holds mail/ (the messages), smtp.log and smtp.pid; created if
    missing. A new SmtpSink on the same workdir sees the old messages and can
    stop() a sink started by another process (through smtp.pid).
    port: None picks a free port, kept across stop()/start().
    detach: run the server in its own session, so it outlives this process
    and the terminal (the demo); tests leave it False.
    """

    host = "127.0.0.1"

    def __init__(self, workdir, port=None, detach=False):
        self.workdir = os.path.abspath(workdir)
        self.maildir = os.path.join(self.workdir, "mail")
        self.log_path = os.path.join(self.workdir, "smtp.log")
        self.pid_path = os.path.join(self.workdir, "smtp.pid")
        self.port = int(port) if port else free_port()
        self.detach = detach
        self._proc = None
        os.makedirs(os.path.join(self.maildir, "new"), exist_ok=True)

    def start(self, timeout=10):
        """Starts the server; returns once it greets with 220. No-op if running."""
        if self.running():
            return
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                [_python(), _SINK, "--host", self.host, "--port", str(self.port),
                 self.maildir],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=self.detach, cwd=self.workdir)
        with open(self.pid_path, "w") as f:
            f.write(f"{self._proc.pid}\n")
        deadline = time.monotonic() + timeout
        while not self._greets():
            rc = self._proc.poll()
            if rc is not None:
                self._forget()
                raise RuntimeError(f"SMTP sink exited ({rc}) at start:\n"
                                   f"{self._log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"SMTP sink not ready on port {self.port} "
                                   f"after {timeout}s:\n{self._log_tail()}")
            time.sleep(0.05)

    def stop(self, timeout=10):
        """Stops the server (SIGTERM, then SIGKILL). Idempotent; keeps the mail."""
        pid = self.pid
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while _proc_alive(pid):
                if time.monotonic() > deadline:
                    os.kill(pid, signal.SIGKILL)
                    deadline = time.monotonic() + timeout
                time.sleep(0.02)
        if self._proc is not None:
            self._proc.wait()
        self._forget()

    @property
    def pid(self):
        """The running server's pid (ours or one from smtp.pid), or None."""
        if self._proc is not None:
            return self._proc.pid if self._proc.poll() is None else None
        try:
            with open(self.pid_path) as f:
                pid = int(f.read())
        except (OSError, ValueError):
            return None
        return pid if _proc_alive(pid) and _is_sink(pid) else None

    def running(self):
        return self.pid is not None

    def messages(self):
        """Every message received so far, oldest first, as EmailMessage
        objects (with the X-MailFrom and X-RcptTo envelope headers)."""
        out = []
        for path in self._files():
            with open(path, "rb") as f:
                out.append(email.message_from_bytes(f.read(), policy=email.policy.default))
        return out

    def wait_for_messages(self, count, timeout=10):
        """Waits until at least count messages arrived; returns them all."""
        deadline = time.monotonic() + timeout
        while len(self._files()) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self._files())} of {count} messages "
                                   f"after {timeout}s")
            time.sleep(0.05)
        return self.messages()

    def clear(self):
        for path in self._files():
            os.unlink(path)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def _files(self):
        new = os.path.join(self.maildir, "new")
        return [os.path.join(new, n) for n in sorted(os.listdir(new))
                if n.endswith(".eml")]

    def _greets(self):
        try:
            with socket.create_connection((self.host, self.port), timeout=1) as s:
                return s.recv(4).startswith(b"220")
        except OSError:
            return False

    def _forget(self):
        self._proc = None
        try:
            os.unlink(self.pid_path)
        except FileNotFoundError:
            pass

    def _log_tail(self, lines=30):
        return log_tail(self.log_path, lines)
