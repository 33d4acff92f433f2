"""No whole CPR number in what Stafet publishes: the README, the man pages,
the example configuration and /openapi.json show a CPR number only masked
(DDMMYY-XXXX). The served document is docs/openapi.json byte for byte
(test_openapi_check.py); this reads the files."""

import json
import os
import re

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# DDMMYY-SSSS with a day and month that could be a date; masked is -XXXX
CPR = re.compile(r"(?<![\d-])([0-3]\d)([01]\d)\d\d-?\d{4}(?![\d])")
DOCS = ["README.md", "docs/stafetd.8", "docs/stafetd.conf.5", "docs/stafetd.conf.example",
        "docs/openapi.json"]


def cpr_like(text):
    out = []
    for m in CPR.finditer(text):
        day, month = int(m.group(1)), int(m.group(2))
        if 1 <= day <= 31 and 1 <= month <= 12:
            out.append(m.group(0))
    return out


@pytest.mark.parametrize("path", DOCS)
def test_no_whole_cpr_number(path):
    with open(os.path.join(REPO, path), encoding="utf-8") as f:
        text = f.read()
    found = cpr_like(text)
    assert not found, f"{path} shows whole CPR numbers: {found[:5]}"


def test_every_cpr_example_of_the_api_is_masked():
    with open(os.path.join(REPO, "docs/openapi.json"), encoding="utf-8") as f:
        doc = json.load(f)
    examples = []

    def walk(node, key=None):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif key in ("cpr", "examples", "example") and isinstance(node, str) \
                and re.fullmatch(r"\d{6}-?[\dX]{4}", node):
            examples.append(node)
    walk(doc)
    assert examples, "no CPR example found: the walk is broken"
    assert all(e.endswith("XXXX") for e in examples), examples


def test_the_check_sees_a_whole_number():
    assert cpr_like("the citizen 140308-4321 was") == ["140308-4321"]
    assert cpr_like("masked 140308-XXXX") == []
    assert cpr_like("a date 2026-12-06 and 1774746000") == []
