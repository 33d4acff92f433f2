"""The browser tests share the integration tests' servers: one PostgreSQL
cluster, one slapd with the demo directory and one SMTP sink, started in
temporary directories on loopback and stopped at the end."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from tests.integration.conftest import pg, slapd, smtp  # noqa: E402,F401 -- fixtures
