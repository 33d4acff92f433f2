"""`make demo` as a user meets it: start prints a URL that answers, a second
start leaves the first set-up alone, stop stops everything."""

import os
import re
import shutil
import subprocess
import tempfile

import pytest
import requests

from tests.harness.common import free_port
from tests.harness.stafetd import REPO

DEMO = os.path.join(REPO, "scripts", "demo.py")


@pytest.fixture
def demo_env():
    # Under /tmp and open to traverse: PostgreSQL runs as its own user.
    d = tempfile.mkdtemp(prefix="stafet-demo-", dir="/tmp")
    os.chmod(d, 0o755)
    env = dict(os.environ, STAFET_DEMO_DIR=d, STAFET_DEMO_PORT=str(free_port()))
    yield env
    subprocess.run(["/usr/bin/python3", DEMO, "stop"], env=env, capture_output=True,
                   timeout=120)
    shutil.rmtree(d, ignore_errors=True)


def demo(env, cmd):
    return subprocess.run(["/usr/bin/python3", DEMO, cmd], env=env, capture_output=True,
                          text=True, timeout=180)


def test_demo_start_twice_and_stop(demo_env):
    r = demo(demo_env, "start")
    assert r.returncode == 0, r.stdout + r.stderr
    url = re.search(r"http://127\.0\.0\.1:\d+/", r.stdout).group(0)
    assert requests.get(url + "healthz").status_code == 200
    assert requests.get(url + "readyz").status_code == 200
    assert "mha" in r.stdout  # a demo login is named

    r = demo(demo_env, "start")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "already running" in r.stdout
    assert url in r.stdout
    assert requests.get(url + "healthz").status_code == 200

    assert demo(demo_env, "status").returncode == 0
    r = demo(demo_env, "stop")
    assert r.returncode == 0, r.stdout + r.stderr
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "healthz", timeout=2)
    assert demo(demo_env, "status").returncode == 3
