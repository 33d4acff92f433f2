"""A note as a PDF: GET /api/v1/handovers/{id}/pdf (API.md "Version 1.1
additions", Exports; issue 21).

A BUR->UR note with every section filled (placed outside the home, so
own_room and support_after_18 too) goes the whole way: submitted, opened
and returned by UR with two flags, one flag answered by the sender,
resubmitted and accepted with a read-back. Its PDF is read back by
independent tools: `qpdf --check` (the file's structure), `pdffonts`
(every font embedded, IBM Plex Sans), `pdfinfo` (A4, the title has the
ref and no personal data) and `pdftotext` (every section's label and
text, the ref, the route's name, the dates in Danish, the flags and the
reply, the history, "Side 1 af N" and the SHA-256 of the version's
content, which the history gives as content_sha256 and PostgreSQL
recomputes from the stored version).

Need to know as for the note itself: the sending and receiving units see
the CPR number and the name whole; a lead above (tlo leads BUF) sees the
CPR number masked and the name as initials; anyone else gets the 404 a
note that does not exist gets. Each export leaves an audit row
handover.pdf. A note with every text at its size limit renders, and
/healthz answers while it does (rendering runs off the event loop).
Without the fonts under web_root the daemon starts, logs why, and answers
the PDF with 503 in Danish.

The PDF of the full note and a PNG of its first page are kept in
build/screenshots/ (notat.pdf, notat-side-1.png)."""

import datetime
import os
import re
import subprocess
import threading
import time

import pytest
import requests

from tests.harness.stafetd import Stafetd
from tests.integration.conftest import Database
from tests.integration.handover_helpers import Api, User, note_body, note_ok, ok, problem
from tests.integration.test_auth import auth_settings, ready
from tests.integration.test_directory import wait_until

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHOTS = os.path.join(REPO, "build", "screenshots")
LOGINS = ["sbo", "mha", "tlo", "ojo", "kfr", "lkj", "lbk"]
FLAGS = [{"section": "goals", "kind": "missing", "comment": "Målet for bolig mangler en tidsramme."},
         {"section": "assessment", "kind": "imprecise",
          "comment": "Vurderingen siger ikke, hvad der skal ske først."}]
REPLY = "Tidsrammen er tilføjet: senest 1. august, når uddannelsen starter."
READBACK = "Modtaget og læst. Vi indkalder til overdragelsesmøde i næste uge."
NOWHERE = "0b6f1f8e-2d4c-4e8a-9c3b-7a5d6e4f3c21"
MONTHS = ["januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september",
          "oktober", "november", "december"]
ISO_DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
SHA_RE = re.compile(r"SHA-256 af versionens indhold: ([0-9a-f]{64})")


class Env:
    def __init__(self, d, db, users):
        self.d, self.db, self.users = d, db, users
        self.api = Api(d)

    def __getattr__(self, name):
        users = self.__dict__.get("users", {})
        if name in users:
            return users[name]
        raise AttributeError(name)


# ASan's fast unwinder for this module's daemon: cairo, pango and fontconfig
# allocate at every glyph run, and the harness's slow unwinder
# (fast_unwind_on_malloc=0) made the largest note take minutes instead of
# seconds. Leaks are still found; tests/sanitizers/lsan.supp names
# fontconfig's false ones by library, which this unwinder still shows.
FAST_UNWIND = {"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=86:"
                               "fast_unwind_on_malloc=1:malloc_context_size=8"}


@pytest.fixture(scope="module")
def env(pg, slapd, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pdf")
    db = Database(pg, tmp)
    settings = auth_settings(tmp, slapd.uri, routes_reload_interval="0.5s")
    settings.update(db.settings())
    d = Stafetd(tmp / "stafetd", settings, env=FAST_UNWIND)
    d.migrate()
    d.start()
    try:
        wait_until(lambda: ready(d), what="stafetd ready (database and first snapshot)")
        users = {u: User(d, u) for u in LOGINS}
        e = Env(d, db, users)
        wait_until(lambda: e.api.template(users["sbo"]).status_code == 200,
                   what="the routes and templates loaded")
        yield e
    finally:
        d.stop()


def pdf(env, user, hid, **kw):
    return requests.get(f"{env.d.url}/api/v1/handovers/{hid}/pdf", headers=user.headers,
                        timeout=kw.pop("timeout", 300), **kw)


def run(args, data):
    """A poppler or qpdf tool on the PDF given on standard input (a file)."""
    path = os.path.join(SHOTS, ".tmp-%d.pdf" % threading.get_ident())
    os.makedirs(SHOTS, exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    try:
        r = subprocess.run([a if a != "FILE" else path for a in args], capture_output=True,
                           text=True, timeout=300)
    finally:
        os.unlink(path)
    return r


def text_of(data):
    r = run(["pdftotext", "-enc", "UTF-8", "FILE", "-"], data)
    assert r.returncode == 0, r.stderr
    return r.stdout


def flat(s):
    """Whitespace folded, so a text wrapped over lines and pages compares."""
    return " ".join(s.split())


def da_date(s):
    d = datetime.date.fromisoformat(s)
    return f"{d.day}. {MONTHS[d.month - 1]} {d.year}"


def full_note(env):
    """The whole way: filed, returned with FLAGS, a reply, resubmitted,
    accepted with a read-back. Returns the final Handover (as sbo sees it)."""
    h = note_ok(env.api.create(env.sbo, note_body(placed=True)), 201)
    hid = h["id"]
    note_ok(env.api.act(env.sbo, hid, "submit"))
    note_ok(env.api.get(env.mha, hid))
    h = note_ok(env.api.act(env.mha, hid, "return", {"flags": FLAGS}))
    r = requests.post(f"{env.d.url}/api/v1/handovers/{hid}/flags/0/reply",
                      headers={**env.sbo.headers, "If-Match": f'"{h["version"]}"'},
                      json={"text": REPLY}, timeout=30)
    assert r.status_code == 200, r.text
    note_ok(env.api.act(env.sbo, hid, "submit"))
    note_ok(env.api.get(env.mha, hid))
    note_ok(env.api.act(env.mha, hid, "accept", {"readback": READBACK}))
    return note_ok(env.api.get(env.sbo, hid))


def expected_texts(template, sections):
    """What pdftotext must find for each section: its label, and each of
    its texts as the PDF writes them (dates in Danish, codes as labels)."""
    out = []
    for sec in template["sections"]:
        out.append(sec["label"])
        v = sections.get(sec["key"])

        def walk(x, key=None):
            if isinstance(x, str):
                if key == "area":
                    out.append(next(a["label"] for a in sec["areas"] if a["key"] == x))
                elif key == "basis":
                    out.append({"consent": "Samtykke fra borgeren"}.get(x, x))
                elif ISO_DATE.match(x):
                    out.append(da_date(x))
                else:
                    out.append(x)
            elif isinstance(x, bool):
                out.append("Ja" if x else "Nej")
            elif isinstance(x, dict):
                for k, y in x.items():
                    walk(y, k)
            elif isinstance(x, list):
                for y in x:
                    walk(y)
        walk(v)
    return out


def history_hash(env, user, hid, version):
    hist = ok(env.api.history(user, hid))
    return next(v["content_sha256"] for v in hist["versions"] if v["version"] == version)


def db_hash(env, hid, version):
    return env.db.psql(
        "SELECT encode(sha256(convert_to(doc::text, 'UTF8')), 'hex') FROM handover_versions "
        f"WHERE handover_id = '{hid}' AND version = {version};").strip()


def audit_rows(env, hid):
    return env.db.query_json(
        "SELECT COALESCE(json_agg(json_build_object('actor', actor_id, 'action', action, "
        "'detail', detail) ORDER BY id), '[]') FROM audit_log "
        f"WHERE object_id = '{hid}' AND action = 'handover.pdf';")


# --- the full note -------------------------------------------------------------------------


def test_full_note_pdf(env):
    h = full_note(env)
    hid, ref, version = h["id"], h["ref"], h["version"]
    template = ok(env.api.template(env.sbo))
    route_name = next(r["name"] for r in ok(requests.get(
        env.d.url + "/api/v1/routes", headers=env.sbo.headers, timeout=10))["items"]
        if r["code"] == "BUR-UR")

    r = pdf(env, env.sbo, hid)
    assert r.status_code == 200, r.text[:500]
    assert r.headers["Content-Type"] == "application/pdf"
    assert r.headers["Content-Disposition"] == f'attachment; filename="{ref}-v{version}.pdf"'
    assert r.headers["Cache-Control"] == "no-store"
    data = r.content
    assert data.startswith(b"%PDF-")
    os.makedirs(SHOTS, exist_ok=True)
    with open(os.path.join(SHOTS, "notat.pdf"), "wb") as f:
        f.write(data)
    png = os.path.join(SHOTS, "notat-side-1")
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-singlefile", "-f", "1", "-l", "1",
                    os.path.join(SHOTS, "notat.pdf"), png], check=True, timeout=120)
    assert os.path.getsize(png + ".png") > 1000

    check = run(["qpdf", "--check", "FILE"], data)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No syntax or stream encoding errors found" in check.stdout, check.stdout

    fonts = run(["pdffonts", "FILE"], data)
    assert fonts.returncode == 0, fonts.stderr
    rows = fonts.stdout.splitlines()[2:]
    assert rows, fonts.stdout
    for row in rows:
        cols = row.split()
        # name type [encoding] emb sub uni object ID: emb is the 5th from the end
        assert cols[-5] == "yes", ("not embedded", row)
        assert "IBMPlexSans" in cols[0], ("not IBM Plex Sans", row)

    info = run(["pdfinfo", "FILE"], data)
    assert info.returncode == 0, info.stderr
    assert re.search(r"Page size:\s+595\.2\d* x 841\.8\d* pts \(A4\)", info.stdout), info.stdout
    title = re.search(r"^Title:\s+(.*)$", info.stdout, re.M).group(1)
    assert ref in title, info.stdout
    for personal in (h["citizen"]["cpr"], h["citizen"]["cpr"][:6], h["citizen"]["name"]):
        assert personal not in info.stdout, info.stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info.stdout, re.M).group(1))

    text = flat(text_of(data))
    for want in expected_texts(template, h["sections"]):
        assert flat(want) in text, ("missing from the PDF", want)
    for want in (ref, route_name, h["citizen"]["cpr"], h["citizen"]["name"],
                 da_date(h["planned_date"]), env.sbo.display_name, env.mha.display_name,
                 "Ungerådgivningen", "Børn- og Ungerådgivningen", "Godkendt",
                 FLAGS[0]["comment"], FLAGS[1]["comment"], REPLY, READBACK,
                 "Handleplanens mål – mangler", "Vurdering – upræcist",
                 "Oprettet af " + env.sbo.display_name, "Returneret af " + env.mha.display_name,
                 "Svar på markering af " + env.sbo.display_name,
                 "Godkendt af " + env.mha.display_name, "Side 1 af %d" % pages,
                 "Side %d af %d" % (pages, pages)):
        assert flat(want) in text, ("missing from the PDF", want)
    assert "None" not in text and "null" not in text
    sha = SHA_RE.findall(text)
    assert len(sha) == pages and len(set(sha)) == 1, sha
    assert sha[0] == history_hash(env, env.sbo, hid, version) == db_hash(env, hid, version)

    rows = audit_rows(env, hid)
    assert rows == [{"actor": env.sbo.id, "action": "handover.pdf",
                     "detail": f"{ref} v{version}"}], rows
    # Reading the PDF leaves the note as it was.
    assert note_ok(env.api.get(env.sbo, hid))["version"] == version


def test_pdf_of_a_submitted_note_does_not_receive_it(env):
    body = note_body()
    h = note_ok(env.api.create(env.sbo, body), 201)
    note_ok(env.api.act(env.sbo, h["id"], "submit"))
    r = pdf(env, env.mha, h["id"])
    assert r.status_code == 200, r.text[:300]
    text = flat(text_of(r.content))
    assert body["citizen"]["cpr"] in text and body["citizen"]["name"] in text
    assert "Sendt" in text
    status = env.db.psql(f"SELECT status FROM handovers WHERE id = '{h['id']}';").strip()
    assert status == "submitted"
    assert [a["actor"] for a in audit_rows(env, h["id"])] == [env.mha.id]


# --- need to know ---------------------------------------------------------------------------


def initials(name):
    return " ".join(w[0] + "." for w in name.split())


def test_lead_above_reads_it_masked(env):
    body = note_body()
    h = note_ok(env.api.create(env.sbo, body), 201)
    cpr, name = body["citizen"]["cpr"], body["citizen"]["name"]
    r = pdf(env, env.tlo, h["id"])
    assert r.status_code == 200, r.text[:300]
    raw = text_of(r.content)
    text = flat(raw)
    assert cpr[:6] + "-XXXX" in text
    assert cpr not in text and cpr.replace("-", "") not in text and cpr[7:] not in raw
    assert initials(name) in text
    assert name not in text and name.split()[0] not in text
    assert "maskeret" in text
    assert [a["actor"] for a in audit_rows(env, h["id"])] == [env.tlo.id]


def without_instance(r):
    body = r.json()
    body.pop("instance", None)
    return r.status_code, r.headers.get("Content-Type"), body


@pytest.mark.parametrize("who", ["kfr", "lkj", "lbk", "ojo"])
def test_others_get_the_404_of_a_missing_note(env, who):
    """A third unit, and a lead above the receiving unit while the note is
    a draft (the receiving side does not see drafts), get exactly the
    answer a note that does not exist gets."""
    h = note_ok(env.api.create(env.sbo, note_body()), 201)
    stranger = env.users[who]
    seen = pdf(env, stranger, h["id"])
    missing = pdf(env, stranger, NOWHERE)
    assert without_instance(seen) == without_instance(missing)
    problem(seen, 404)
    assert h["ref"] not in seen.text and h["citizen"]["cpr"][:6] not in seen.text
    assert audit_rows(env, h["id"]) == []


def test_hostile_ids_and_parameters(env):
    h = note_ok(env.api.create(env.sbo, note_body()), 201)
    hid = h["id"]
    for bad in ["nope", hid[:-1], hid + "0", hid.replace("-", ""), "g" + hid[1:],
                "00000000-0000-0000-0000-000000000000", hid[:8] + "_" + hid[9:],
                "%2e%2e", "..%2f" + hid, "'" + hid[1:], hid[:-1] + "%00"]:
        r = requests.get(f"{env.d.url}/api/v1/handovers/{bad}/pdf", headers=env.sbo.headers,
                         timeout=30)
        assert r.status_code in (400, 404), (bad, r.status_code, r.text)
        assert r.headers["Content-Type"].startswith("application/problem+json"), bad
    r = requests.get(f"{env.d.url}/api/v1/handovers/{hid}/pdf?page=1", headers=env.sbo.headers,
                     timeout=30)
    problem(r, 400)
    r = requests.get(f"{env.d.url}/api/v1/handovers/{hid}/pdf", timeout=30)
    problem(r, 401)
    r = requests.head(f"{env.d.url}/api/v1/handovers/{hid}/pdf", headers=env.sbo.headers,
                      timeout=30)
    assert r.status_code == 200 and r.content == b"", r.status_code
    assert r.headers["Content-Type"] == "application/pdf"
    assert int(r.headers["Content-Length"]) > 1000
    r = requests.post(f"{env.d.url}/api/v1/handovers/{hid}/pdf", headers=env.sbo.headers,
                      timeout=30)
    problem(r, 405)
    assert audit_rows(env, hid) == []  # HEAD renders it, but nothing left: no export


# --- the largest note ---------------------------------------------------------------------


def max_sections(body):
    """Every text of every section at the template's limit (20,000 bytes),
    as many goals and actions as stay within the 1 MiB body; one word
    longer than a line, and Danish letters, to wrap."""
    def text(seed, n=20000):
        unit = f"{seed}: æøå ÆØÅ en sætning der gentages for at fylde afsnittet ud. "
        word = "Overdragelsesnotatsafsnitsordet" * 40
        s = word + " " + unit * (n // len(unit.encode()) + 1)
        b = s.encode()[:n]
        return b.decode("utf-8", "ignore")
    s = body["sections"]
    for k in ("situation", "background", "assessment", "youth_voice", "own_room",
              "education_plan", "contingency"):
        s[k] = text(k)
    for g in s["goals"]:
        g["goal"], g["timeframe"] = text("mål " + g["area"]), text("tid " + g["area"], 5000)
    s["ungeplan"]["text"] = text("ungeplan")
    s["support_after_18"]["text"] = text("efterværn")
    s["consent"]["purpose"] = text("formål", 10000)
    s["consent"]["recipients"] = text("modtagere", 10000)
    due = s["actions"][0]["due"]
    s["actions"] = [{"action": text(f"handling {i}", 10000), "owner": text(f"ejer {i}", 2000),
                     "due": due} for i in range(12)]
    return body


def test_largest_note_renders_and_the_loop_answers(env):
    body = max_sections(note_body(placed=True))
    h = note_ok(env.api.create(env.sbo, body), 201)
    assert len(__import__("json").dumps(body).encode()) < 1024 * 1024
    got = {}

    def fetch():
        t0 = time.monotonic()
        got["r"] = pdf(env, env.sbo, h["id"])
        got["seconds"] = time.monotonic() - t0

    t = threading.Thread(target=fetch)
    t.start()
    answered_during = 0
    while t.is_alive():
        r = requests.get(env.d.url + "/healthz", timeout=10)
        assert r.status_code == 200
        if t.is_alive():
            answered_during += 1
        time.sleep(0.05)
    t.join()
    r = got["r"]
    assert r.status_code == 200, r.text[:500]
    assert answered_during >= 1, "the render finished before /healthz could be asked"
    assert run(["qpdf", "--check", "FILE"], r.content).returncode == 0
    text = flat(text_of(r.content))
    assert flat(body["sections"]["contingency"][-200:]) in text
    pages = int(re.search(r"^Pages:\s+(\d+)", run(["pdfinfo", "FILE"], r.content).stdout,
                          re.M).group(1))
    print(f"\nlargest note: {pages} pages, {len(r.content)} bytes, {got['seconds']:.2f} s "
          f"(healthz answered {answered_during} times meanwhile)")


# --- without the fonts -----------------------------------------------------------------------


def test_without_the_fonts_the_pdf_is_503_and_the_rest_runs(pg, slapd, tmp_path):
    """A web_root without dkfds's TTFs: the daemon starts and says why in
    its log; the note is served, its PDF is 503 in Danish (need to know
    still first: 404 for a stranger)."""
    web = tmp_path / "web"
    web.mkdir()
    (web / "index.html").write_text("<!doctype html><title>Stafet</title>\n")
    db = Database(pg, tmp_path)
    settings = auth_settings(tmp_path, slapd.uri, routes_reload_interval="0.5s")
    settings.update(db.settings())
    settings["web_root"] = str(web)
    d = Stafetd(tmp_path / "stafetd", settings, env=FAST_UNWIND)
    d.migrate()
    d.start()
    try:
        wait_until(lambda: ready(d), what="stafetd ready (database and first snapshot)")
        assert d.wait_log("pdf: the fonts are missing, PDF export is unavailable")
        assert "IBMPlexSans-Regular.ttf" in d.log()
        e = Env(d, db, {u: User(d, u) for u in ("sbo", "kfr")})
        wait_until(lambda: e.api.template(e.sbo).status_code == 200, what="the templates")
        h = note_ok(e.api.create(e.sbo, note_body()), 201)
        note_ok(e.api.get(e.sbo, h["id"]))
        body = problem(pdf(e, e.sbo, h["id"]), 503)
        assert "skrifttypen mangler" in body["detail"], body
        problem(pdf(e, e.kfr, h["id"]), 404)
        assert audit_rows(e, h["id"]) == []
    finally:
        d.stop()
