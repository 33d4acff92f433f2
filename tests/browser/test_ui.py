"""Stafet's web UI in a real browser: Debian's Chromium (headless), driven
by playwright-core from ui.spec.mjs, against a stafetd with real slapd (the
demo directory), PostgreSQL and an SMTP sink.

One stafetd serves the module. ui.spec.mjs plays the whole story once (log
in, search, find the counterpart, file and submit a BUR→UR note, return it,
fix it, accept it, read the quality figures), writes each step's outcome
to a JSON file and saves a screenshot of every page under
build/screenshots/; each test below asserts one step. playwright-core is
installed into tests/browser/node_modules from package-lock.json (npm ci)
when it is missing; browsers are never downloaded."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.harness.stafetd import REPO, Stafetd
from tests.integration.conftest import Database
from tests.integration.test_auth import auth_settings, ready
from tests.integration.test_directory import wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = os.path.join(HERE, "ui.spec.mjs")
SHOTS = os.path.join(REPO, "build", "screenshots")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# The steps of ui.spec.mjs, in order.
STEPS = [
    "login_keyboard",
    "search_folded",
    "counterpart_keyboard",
    "note_checks_and_submit",
    "inbox_and_mail_link",
    "return_with_flag",
    "sender_fixes_and_resubmits",
    "receiver_accepts",
    "lead_above_reads_masked",
    "forward_to_other_unit",
    "quality_page",
    "settings_digest",
    "counterpart_implausible_age",
    "zoom_200_percent",
    "logout",
    "no_console_errors_or_csp_violations",
]


def ensure_playwright():
    """playwright-core from the npm registry, as package-lock.json pins it."""
    marker = os.path.join(HERE, "node_modules", "playwright-core", "package.json")
    if os.path.exists(marker):
        return
    if shutil.which("npm") is None:
        raise RuntimeError("npm is not installed: it is needed to install playwright-core")
    r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE,
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0 or not os.path.exists(marker):
        raise RuntimeError(f"npm ci failed ({r.returncode}):\n{r.stdout}{r.stderr}")


@pytest.fixture(scope="module")
def story(pg, slapd, smtp, tmp_path_factory):
    if not os.access(CHROMIUM, os.X_OK):
        raise RuntimeError(f"{CHROMIUM} is missing: install Debian's chromium (scripts/setup-deps.sh)")
    if shutil.which("node") is None:
        raise RuntimeError("node is not installed")
    ensure_playwright()
    tmp = tmp_path_factory.mktemp("browser")
    db = Database(pg, tmp)
    settings = auth_settings(tmp, slapd.uri)
    settings.update(db.settings())
    settings.update({
        "smtp_url": f"smtp://{smtp.host}:{smtp.port}",
        "smtp_starttls": "no",
        "smtp_from": "stafet@test.example",
    })
    d = Stafetd(tmp / "stafetd", settings)
    # The links in the alert mails point at this daemon.
    d.settings["public_url"] = d.url
    d.write_config()
    d.migrate()
    d.start()
    try:
        wait_until(lambda: ready(d), timeout=30, what="stafetd ready (database and first snapshot)")
        shutil.rmtree(SHOTS, ignore_errors=True)
        os.makedirs(SHOTS, exist_ok=True)
        results = tmp / "results.json"
        proc = subprocess.run(["node", SPEC, d.url, SHOTS, smtp.maildir, str(results)], cwd=HERE,
                              capture_output=True, text=True, timeout=300,
                              env=dict(os.environ, CHROMIUM=CHROMIUM))
        sys.stdout.write(proc.stdout)
        sys.stderr.write(proc.stderr)
        steps = {}
        if results.exists():
            for r in json.loads(results.read_text())["results"]:
                steps[r["name"]] = r
        yield {"rc": proc.returncode, "steps": steps, "output": proc.stdout + proc.stderr}
    finally:
        d.stop()


@pytest.mark.parametrize("name", STEPS)
def test_ui(story, name):
    step = story["steps"].get(name)
    assert step is not None, f"ui.spec.mjs did not run {name} (exit {story['rc']}):\n{story['output'][-4000:]}"
    assert step["ok"], step["error"]


def test_screenshots(story):
    """A screenshot of each page the story visits."""
    names = sorted(os.listdir(SHOTS))
    for want in ("01-log-ind.png", "03-sog-kollega.png", "06-find-modtager.png",
                 "08-notat-udfyldt.png", "10-indbakke.png", "16-kvalitet.png"):
        assert want in names, names
    for n in names:
        assert os.path.getsize(os.path.join(SHOTS, n)) > 1000, n
