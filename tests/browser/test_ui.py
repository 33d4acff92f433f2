"""Stafet's web UI in a real browser: Debian's Chromium (headless), driven
by playwright-core, against a stafetd with real slapd (the demo
directory), PostgreSQL and an SMTP sink.

One stafetd serves the module. Each *.spec.mjs here plays a story on it
(ui.spec.mjs the whole first one: log in, search, find the counterpart,
file and submit a BUR->UR note, return it, fix it, accept it, read the
quality figures), with the helpers of lib.mjs; it writes each step's
outcome to a JSON file and saves a screenshot of every page under
build/screenshots/. Each test below asserts one step of one spec; the
steps are read from the specs' sources. playwright-core is installed into
tests/browser/node_modules from package-lock.json (npm ci) when it is
missing; browsers are never downloaded."""

import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from tests.harness.stafetd import REPO, Stafetd
from tests.integration.conftest import Database
from tests.integration.test_auth import auth_settings, ready
from tests.integration.test_directory import wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
SHOTS = os.path.join(REPO, "build", "screenshots")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Every *.spec.mjs here, ui.spec.mjs first (it clears the screenshots), the
# others in name order; each plays its own story against the same daemon.
SPECS = sorted((f for f in os.listdir(HERE) if f.endswith(".spec.mjs")),
               key=lambda f: (f != "ui.spec.mjs", f))


def spec_steps(spec):
    """The steps a spec plays, in order, read from its source: each is an
    `await step('name', ...)` at the start of a line."""
    with open(os.path.join(HERE, spec), encoding="utf-8") as f:
        return re.findall(r"^await step\('([A-Za-z0-9_]+)'", f.read(), re.M)


CASES = [(spec, name) for spec in SPECS for name in spec_steps(spec)]


def ensure_playwright():
    """playwright-core and @axe-core/playwright from the npm registry, as
    package-lock.json pins them."""
    marker = os.path.join(HERE, "node_modules", "@axe-core", "playwright", "package.json")
    if os.path.exists(marker) and os.path.exists(os.path.join(HERE, "node_modules", "playwright-core", "package.json")):
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
        runs = {}
        def play(spec):
            results = tmp / (spec + ".json")
            t0 = time.monotonic()
            proc = subprocess.run(["node", os.path.join(HERE, spec), d.url, SHOTS, smtp.maildir, str(results)],
                                  cwd=HERE, capture_output=True, text=True, timeout=600,
                                  env=dict(os.environ, CHROMIUM=CHROMIUM))
            steps = {}
            if results.exists():
                for r in json.loads(results.read_text())["results"]:
                    steps[r["name"]] = r
            return spec, {"rc": proc.returncode, "steps": steps, "seconds": time.monotonic() - t0,
                          "output": proc.stdout + proc.stderr}

        # The specs are separate stories (their own users' contexts, their
        # own citizens), so BROWSER_JOBS of them (default 2) play at once
        # against the one daemon; the longest first.
        order = sorted(SPECS, key=lambda sp: -len(spec_steps(sp)))
        with concurrent.futures.ThreadPoolExecutor(int(os.environ.get("BROWSER_JOBS", "2"))) as ex:
            for spec, run in ex.map(play, order):
                runs[spec] = run
        for spec in SPECS:
            sys.stdout.write(f"--- {spec} ({runs[spec]['seconds']:.0f} s, exit {runs[spec]['rc']})\n")
            sys.stdout.write(runs[spec]["output"])
        yield runs
    finally:
        d.stop()


@pytest.mark.parametrize("spec,name", CASES, ids=[f"{s[:-9]}:{n}" for s, n in CASES])
def test_ui(story, spec, name):
    run = story[spec]
    step = run["steps"].get(name)
    assert step is not None, f"{spec} did not run {name} (exit {run['rc']}):\n{run['output'][-4000:]}"
    assert step["ok"], step["error"]


def test_every_spec_ran_to_its_end(story):
    """A spec that dies between steps (an exception outside a step) would
    leave its later steps unrun: each must have written its results."""
    for spec, run in story.items():
        assert run["steps"], f"{spec} wrote no results (exit {run['rc']}):\n{run['output'][-4000:]}"


def test_screenshots(story):
    """A screenshot of each page the story visits."""
    names = sorted(os.listdir(SHOTS))
    for want in ("01-log-ind.png", "03-sog-kollega.png", "06-find-modtager.png",
                 "08-notat-udfyldt.png", "10-indbakke.png", "16-kvalitet.png"):
        assert want in names, names
    for n in names:
        assert os.path.getsize(os.path.join(SHOTS, n)) > 1000, n
