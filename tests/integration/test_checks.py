"""The quality checks as the API gives them (issue 20): a passed check states
a fact and a failed one says what to do; a missing section is one problem,
listed once; and the same sentence pasted into every section draws one
warning naming them all, which does not block a submit.

One daemon (its own database, login on) against the shared slapd with the
demo directory; POST /handovers/check stores nothing."""

import pytest
import requests

from tests.integration.handover_helpers import (
    API, User, born_for_age, citizen_for, iso, note_body, ok, planned)
from tests.integration.test_counterparts import start_module_daemon
from tests.integration.test_directory import wait_until

SAME = ("Borgeren har brug for hjælp og støtte i hverdagen, og støtten skal "
        "fortsætte efter overdragelsen.")
ORDERS = (" skal ", " må ", " bør ")


@pytest.fixture(scope="module")
def env(pg, slapd, tmp_path_factory):
    d, _db = start_module_daemon(pg, slapd, tmp_path_factory.mktemp("checks"))
    try:
        sbo = User(d, "sbo")

        def template():
            r = requests.get(d.url + API + "/templates/BURH-AEHF", headers=sbo.headers,
                             timeout=10)
            return r.json() if r.status_code == 200 else None
        tmpl = wait_until(template, what="the routes and templates read")
        yield d, sbo, tmpl
    finally:
        d.stop()


def check(d, user, body):
    r = requests.post(d.url + API + "/handovers/check", headers=user.headers, json=body,
                      timeout=10)
    return ok(r)


def outside_labels(msg):
    """The message without its »quoted« labels."""
    out, depth = [], 0
    for ch in msg:
        if ch == "»":
            depth += 1
        elif ch == "«" and depth:
            depth -= 1
        elif not depth:
            out.append(ch)
    return " " + "".join(out) + " "


def burh_body(tmpl, text):
    """A BURH-AEHF note whose every text section (and 16-årsmødet's decision)
    holds `text`."""
    on = planned()
    born = born_for_age(17, on)
    sections = {}
    for s in tmpl["sections"]:
        if s["kind"] == "text":
            sections[s["key"]] = text
        elif s["kind"] == "decision":
            sections[s["key"]] = {"date": iso(on), "text": text}
    return {"route": "BURH-AEHF", "citizen": citizen_for(born), "planned_date": iso(on),
            "sections": sections}


def test_passed_checks_state_facts(env):
    d, sbo, _ = env
    ans = check(d, sbo, note_body(age=17, placed=True))
    assert ans["failed_errors"] == 0
    for c in ans["checks"]:
        assert c["passed"] is True, c
        text = outside_labels(c["message"])
        assert not any(w in text for w in ORDERS), c
    by_id = {c["id"]: c for c in ans["checks"]}
    assert by_id["BUR-UR.citizen.required"]["message"] == \
        "Borgerens CPR-nummer og navn er udfyldt."
    assert by_id["BUR-UR.situation.required"]["message"] == "Afsnittet »Situation« er udfyldt."


def test_failed_checks_say_what_to_do_once(env):
    d, sbo, _ = env
    body = note_body(age=17, placed=True)
    del body["sections"]["consent"], body["sections"]["actions"]
    body["citizen"]["name"] = "-"  # a placeholder, not a name
    ans = check(d, sbo, body)
    failed = [c for c in ans["checks"] if not c["passed"]]
    by_section = {}
    for c in failed:
        by_section.setdefault(c["section"], []).append(c["id"])
    # Samtykke and Handlinger: one entry each, their required checks
    assert by_section == {"citizen": ["BUR-UR.citizen.required"],
                          "consent": ["BUR-UR.consent.required"],
                          "actions": ["BUR-UR.actions.required"]}, by_section
    msgs = {c["id"]: c["message"] for c in failed}
    assert msgs["BUR-UR.citizen.required"] == "Udfyld borgerens CPR-nummer og navn."
    assert "skal" in msgs["BUR-UR.consent.required"]
    assert ans["failed_errors"] == 3


def test_identical_sections_warned(env):
    d, sbo, tmpl = env
    body = burh_body(tmpl, SAME)
    keys = [s["key"] for s in tmpl["sections"] if s["kind"] in ("text", "decision")]
    assert len(keys) == 16  # 15 texts and 16-årsmødet's decision
    ans = check(d, sbo, body)
    similar = [c for c in ans["checks"] if c["id"].endswith(".similar")]
    assert len(similar) == 1, similar
    w = similar[0]
    assert w["id"] == "BURH.situation.similar"
    assert w["severity"] == "warning" and w["passed"] is False
    assert w["section"] == "situation"
    assert w["sections"] == keys
    labels = {s["key"]: s["label"] for s in tmpl["sections"]}
    assert w["message"].startswith("Afsnittene »Situation«, »Baggrund«, ")
    assert w["message"].endswith(" har næsten samme tekst. Skriv hvert afsnit for sig.")
    for k in keys:
        assert f"»{labels[k]}«" in w["message"]
    assert SAME not in w["message"] and body["citizen"]["name"] not in w["message"]
    # the length checks pass, so the warning is what tells
    required = {c["section"]: c["passed"] for c in ans["checks"]
                if c["id"].endswith(".required") and c["section"] in keys}
    assert required and all(required.values()), required

    # a warning does not block: the same note with distinct texts has as many errors
    distinct = burh_body(tmpl, SAME)
    for i, k in enumerate(keys):
        text = f"Afsnit nummer {i}: {k} beskrevet for sig med egne ord og egne forhold {i * 7}."
        if isinstance(distinct["sections"][k], dict):
            distinct["sections"][k]["text"] = text
        else:
            distinct["sections"][k] = text
    ans2 = check(d, sbo, distinct)
    assert not [c for c in ans2["checks"] if c["id"].endswith(".similar")]
    assert ans2["failed_errors"] == ans["failed_errors"]
    assert ans2["completeness"] > ans["completeness"]
