"""The check that holds every answer the tests receive to docs/openapi.json
(tests/harness/openapi_check.py, wired in conftest.py) must itself work:
a wrong body, an undocumented status or Content-Type fails it; paths find
their operation; and a real answer of a running stafetd goes through it.
Else the suite could pass while checking nothing."""

import copy
import json

import pytest
import requests

from tests.harness.openapi_check import DOC_PATH, OpenApi

ME = {"id": "3f1b6a52-5d0e-4c1a-9a57-2f0e8f5c7b11", "username": "mha"}


@pytest.fixture(scope="module")
def api():
    return OpenApi.load()


def check(api, method, path, status, ctype, body):
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    problems, _ = api.check(method, "http://127.0.0.1:1" + path, status, ctype, body)
    return problems


def test_a_documented_answer_passes(api):
    problems, validated = api.check("GET", "http://127.0.0.1:1/healthz", 200,
                                    "application/json", b'{"status":"ok"}')
    assert problems == [] and validated
    assert check(api, "GET", "/api/v1/nothing", 401, "application/problem+json",
                 {"type": "about:blank", "title": "Unauthorized", "status": 401}) == []


def test_a_wrong_body_fails(api):
    problems = check(api, "GET", "/api/v1/me", 200, "application/json", ME)
    assert problems, "a Person without most of its fields passed"
    assert problems[0].startswith("GET /api/v1/me answered 200"), problems
    assert "is a required property" in " ".join(problems)
    # a field of the wrong type, deep inside, is named by its path
    problems = check(api, "GET", "/healthz", 200, "application/json", {"status": "fine"})
    assert problems and "at /status:" in problems[0], problems
    problems = check(api, "GET", "/api/v1/handovers/00000000-0000-0000-0000-000000000000",
                     404, "application/problem+json", {"title": "Not Found", "status": 404})
    assert problems and "'type' is a required property" in problems[0], problems


def test_formats_are_checked(api):
    body = {"status": "ready", "checks": {"database": "ok"}}
    assert check(api, "GET", "/readyz", 200, "application/json", body) == []
    # the directory's schema: ok, or the mapped attributes it lacks
    body["checks"]["directory_schema"] = "missing: extensionAttribute2 (map_allocation)"
    assert check(api, "GET", "/readyz", 200, "application/json", body) == []
    body["checks"]["directory_schema"] = "extensionAttribute2"
    problems = check(api, "GET", "/readyz", 200, "application/json", body)
    assert problems and "at /checks/directory_schema:" in problems[0], problems
    # date-time is checked as RFC 3339 (jsonschema alone would skip it)
    entry = {"id": 1, "at": "yesterday", "actor": {"id": None, "username": None},
             "address": "127.0.0.1", "action": "login", "object": None, "detail": None}
    problems = check(api, "GET", "/api/v1/audit", 200, "application/json",
                     {"items": [entry], "next_cursor": None})
    assert any("'yesterday' is not a 'date-time'" in p for p in problems), problems


def test_an_undocumented_status_or_type_fails(api):
    problems = check(api, "GET", "/healthz", 418, "application/problem+json",
                     {"type": "about:blank", "title": "I'm a teapot", "status": 418})
    assert problems and "status 418 is not documented" in problems[0], problems
    problems = check(api, "GET", "/healthz", 200, "text/html", b"<p>ok</p>")
    assert problems and "Content-Type text/html is not documented" in problems[0], problems
    # a problem where JSON is documented, and JSON that does not parse
    problems = check(api, "GET", "/healthz", 200, "application/json", b"{nope")
    assert problems and "not JSON" in problems[0], problems
    # an unknown path may be 404, not 200
    problems = check(api, "GET", "/api/v1/nothing", 200, "application/json", {})
    assert problems and "(no operation)" in problems[0], problems


def test_paths_find_their_operation(api):
    def op(method, path):
        template, operation = api.operation(method, path)
        return template, operation and operation.get("operationId")

    # a concrete path before a templated one, but a method decides
    assert op("POST", "/api/v1/handovers/check")[0] == "/api/v1/handovers/check"
    assert op("GET", "/api/v1/handovers/check")[0] == "/api/v1/handovers/{id}"
    assert op("GET", "/api/v1/handovers/x/history")[0] == "/api/v1/handovers/{id}/history"
    assert op("POST", "/api/v1/handovers/x/submit")[0] == "/api/v1/handovers/{id}/submit"
    assert op("HEAD", "/api/v1/me") == op("GET", "/api/v1/me")
    assert op("DELETE", "/api/v1/me") == (None, None)
    assert op("GET", "/api/v1/handovers/x/y/z") == (None, None)
    # the web UI answers every path outside /api/ that names nothing else
    assert op("GET", "/js/api.js")[0] == "/"
    assert op("GET", "/")[0] == "/"
    assert op("GET", "/api/nothing") == (None, None)
    assert op("POST", "/js/api.js") == (None, None)


def test_every_response_example_validates(api):
    """The document's own examples of answers are answers too."""
    bad = []
    for path, item in api.doc["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status, resp in operation["responses"].items():
                resp = api.deref(resp)
                for mt, content in (resp.get("content") or {}).items():
                    for name, ex in (content.get("examples") or {}).items():
                        value = api.deref(ex)["value"]
                        body = value.encode() if isinstance(value, str) else \
                            json.dumps(value).encode()
                        got = check(api, method, path.replace("{", "").replace("}", ""),
                                    int(status), mt, body)
                        bad += [f"example {name}: {p}" for p in got]
    assert not bad, "\n".join(bad)


def test_real_answers_are_checked(db, stafetd, openapi_responses):
    """Through requests, an answer of stafetd is counted, and one the
    document does not describe raises at once, naming what is wrong."""
    guard = openapi_responses
    d = stafetd(db=db)
    before = guard.checked
    assert requests.get(d.url + "/healthz", timeout=10).status_code == 200
    assert requests.head(d.url + "/api/v1/me", timeout=10).status_code == 401
    assert guard.checked == before + 2
    # what the answers are held to is what the daemon serves (make embeds it)
    with open(DOC_PATH, "rb") as f:
        assert requests.get(d.url + "/openapi.json", timeout=10).content == f.read(), \
            "build/stafetd serves another /openapi.json than docs/openapi.json: make"

    # The same answer against a document that wants another body.
    strict = copy.deepcopy(guard.doc.doc)
    schema = strict["paths"]["/healthz"]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"]
    schema["required"] = ["uptime"]
    real, guard.doc = guard.doc, OpenApi(strict)
    violations = guard.violations
    try:
        with pytest.raises(AssertionError) as e:
            requests.get(d.url + "/healthz", timeout=10)
    finally:
        guard.doc = real
        # deliberate: neither this test's failure nor the run's count
        guard.current = []
        guard.violations = violations
    msg = str(e.value)
    assert "GET /healthz answered 200" in msg and "'uptime' is a required property" in msg, msg
