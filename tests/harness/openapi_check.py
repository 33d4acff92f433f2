"""Checks stafetd's answers against docs/openapi.json, the document the
daemon serves at /openapi.json (the same bytes, embedded at build time).

An answer is held to the operation its method and path name (a path
template such as /api/v1/handovers/{id}/history; a concrete path before a
templated one, as OpenAPI says; HEAD to the GET operation, as the router
pairs them). Its status code must be documented there (or as `default`),
else among the document's `x-stafet-responses`: `any` for every request
(framing errors found before a route is looked at: 400, 408, 413, 431 ...)
and `unrouted` for a request no operation names (401 under /api/v1 before
the 404 or 405). The path item `/` marks with `x-stafet-prefix` that it
answers every path outside /api/ no other path names (the web UI's files).
Its Content-Type must be a documented media type of that response, and a
JSON body (application/json, application/problem+json or any +json) must
validate against the documented schema, by jsonschema's Draft 2020-12
validator with `$ref`s resolved in the document and the formats checked
(date, uuid, email, and date-time as RFC 3339).

check() returns the violations as sentences naming the operation, the
status and, for a schema error, the path in the body and in the schema;
tests/integration/conftest.py runs it on every answer the tests receive
through requests."""

import json
import os
import re
import threading
import urllib.parse

import jsonschema

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC_PATH = os.path.join(REPO, "docs", "openapi.json")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# RFC 3339 section 5.6: full-date "T" full-time, the offset required.
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _format_checker():
    checker = jsonschema.FormatChecker(
        jsonschema.Draft202012Validator.FORMAT_CHECKER.checkers.keys())
    # jsonschema checks date-time only with rfc3339-validator installed.

    @checker.checks("date-time")
    def _date_time(value):
        if not isinstance(value, str):
            return True
        if not RFC3339.match(value):
            return False
        import datetime
        try:
            datetime.datetime.fromisoformat(value[:19])
        except ValueError:
            return False
        return True

    return checker


def media_type(content_type):
    """The essence of a Content-Type: "application/json" of
    "application/json; charset=utf-8", lower case; None for none."""
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def is_json_type(mt):
    return mt is not None and (mt == "application/json" or mt.endswith("+json"))


def _range_matches(documented, actual):
    """A documented media type (or range: text/*, */*) matches actual."""
    documented = documented.split(";", 1)[0].strip().lower()
    if documented == actual or documented == "*/*":
        return True
    if documented.endswith("/*"):
        return actual.split("/", 1)[0] == documented[:-2]
    return False


class Violation(AssertionError):
    """An answer the document does not describe."""


class OpenApi:
    """The document, its path templates compiled and its validators cached."""

    def __init__(self, doc):
        self.doc = doc
        self.resolver = jsonschema.RefResolver.from_schema(doc)
        self.format_checker = _format_checker()
        self._validators = {}
        self._lock = threading.Lock()
        self.paths = []
        self.prefix_paths = []
        for template, item in doc.get("paths", {}).items():
            regex = "^" + "/".join(
                "[^/]+" if re.fullmatch(r"\{[^}/]+\}", seg) else re.escape(seg)
                for seg in template.split("/")) + "$"
            concreteness = sum(1 for seg in template.split("/") if "{" not in seg)
            self.paths.append((re.compile(regex), template, item, concreteness))
            if item.get("x-stafet-prefix"):
                self.prefix_paths.append((template, item))
        # concrete paths first (OpenAPI, "Path Templating Matching")
        self.paths.sort(key=lambda p: -p[3])
        extra = doc.get("x-stafet-responses", {})
        self.any_responses = extra.get("any", {}).get("responses", {})
        self.unrouted_responses = extra.get("unrouted", {}).get("responses", {})

    @classmethod
    def load(cls, path=DOC_PATH):
        with open(path, encoding="utf-8") as f:
            return cls(json.load(f))

    def deref(self, obj):
        """obj with a top-level $ref followed (also a chain of them)."""
        seen = 0
        while isinstance(obj, dict) and "$ref" in obj:
            _, obj = self.resolver.resolve(obj["$ref"])
            seen += 1
            if seen > 20:
                raise ValueError("a $ref loop")
        return obj

    def operation(self, method, path):
        """(template, operation) for a request, or (None, None) when no
        operation names it. method is upper or lower case; HEAD falls back
        to GET. path is the decoded path without the query."""
        m = method.lower()
        candidates = [m] + (["get"] if m == "head" else [])
        matched_path = False
        for regex, template, item, _ in self.paths:
            if not regex.match(path):
                continue
            matched_path = True
            for c in candidates:
                if c in item:
                    return template, item[c]
        if not matched_path and not path.startswith("/api/") and path != "/api":
            for template, item in self.prefix_paths:
                if path.startswith(template):
                    for c in candidates:
                        if c in item:
                            return template, item[c]
        return None, None

    def validator(self, key, schema):
        with self._lock:
            v = self._validators.get(key)
            if v is None:
                v = jsonschema.Draft202012Validator(
                    schema, resolver=self.resolver, format_checker=self.format_checker)
                self._validators[key] = v
            return v

    def response_for(self, op, status):
        """The documented response of op for status: (source, response) or
        (None, None). source says where it was found."""
        s = str(status)
        responses = op.get("responses", {}) if op is not None else {}
        if op is not None:
            if s in responses:
                return "operation", self.deref(responses[s])
            wildcard = s[0] + "XX"
            if wildcard in responses:
                return "operation", self.deref(responses[wildcard])
            if "default" in responses:
                return "operation default", self.deref(responses["default"])
        if s in self.any_responses:
            return "x-stafet-responses.any", self.deref(self.any_responses[s])
        if op is None and s in self.unrouted_responses:
            return "x-stafet-responses.unrouted", self.deref(self.unrouted_responses[s])
        return None, None

    def check(self, method, url, status, content_type, body):
        """The violations of one answer, as a list of sentences (empty when
        the document describes it), and whether a body was validated
        against a schema. url: the request's URL (its path is decoded
        here); body: the answer's bytes."""
        split = urllib.parse.urlsplit(url)
        path = urllib.parse.unquote(split.path) or "/"
        method = method.upper()
        template, op = self.operation(method, path)
        where = f"{method} {template}" if template else f"{method} {path} (no operation)"
        head = f"{where} answered {status}"
        source, resp = self.response_for(op, status)
        if resp is None:
            documented = sorted(op.get("responses", {})) if op else sorted(self.unrouted_responses)
            return [f"{head}: status {status} is not documented "
                    f"(documented: {', '.join(documented)}; "
                    f"any request: {', '.join(sorted(self.any_responses))})"], False
        content = resp.get("content") or {}
        mt = media_type(content_type)
        if method == "HEAD" or status in (204, 304) or not body:
            # no body to check (HEAD: the headers of the GET, without it)
            if body and status in (204, 304):
                return [f"{head}: a {status} with a body of {len(body)} bytes"], False
            return [], False
        if not content:
            return [f"{head}: a body ({mt}, {len(body)} bytes) where the document ({source}) "
                    f"gives none"], False
        if mt is None:
            return [f"{head}: a body of {len(body)} bytes without a Content-Type"], False
        key = next((k for k in content if k.split(";", 1)[0].strip().lower() == mt), None)
        if key is None:
            key = next((k for k in content if _range_matches(k, mt)), None)
        if key is None:
            return [f"{head}: Content-Type {content_type} is not documented ({source} has "
                    f"{', '.join(sorted(content))})"], False
        if not is_json_type(mt):
            return [], False
        try:
            value = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            return [f"{head}: the {mt} body is not JSON: {e}"], False
        schema = content[key].get("schema")
        if schema is None:
            return [], False
        v = self.validator((template, method, str(status), source, key), schema)
        problems = []
        for err in sorted(v.iter_errors(value), key=lambda e: list(e.absolute_path))[:5]:
            at = "/" + "/".join(str(p) for p in err.absolute_path)
            in_schema = "/".join(str(p) for p in err.absolute_schema_path)
            problems.append(f"{head} ({source}, {key}): at {at}: {err.message[:400]} "
                            f"[schema: {in_schema}]")
        return problems, True
