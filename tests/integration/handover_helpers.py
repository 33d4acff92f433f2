"""Helpers for tests/integration/test_handovers.py: the users of the demo
directory the suite acts as, requests against the handover API, and a
complete, valid BUR-UR note for a citizen of a chosen age at a chosen
planned date (dates relative to today, so the "planned date not in the
past" rule and the Barnets Lov deadlines hold whenever the suite runs)."""

import datetime
import json

import requests

from tests.integration.test_auth import assert_problem, bearer, token_of

API = "/api/v1"
PROBLEM = "application/problem+json"
HANDOVER_KEYS = {"id", "access", "ref", "route", "status", "version", "template", "citizen", "sender",
                 "receiver", "planned_date", "sections", "checks", "completeness", "flags",
                 "readback", "created_at", "updated_at", "submitted_at", "received_at",
                 "decided_at"}
CITIZEN_KEYS = {"cpr", "name", "birthdate", "age_at_handover"}
CHECK_KEYS = {"id", "severity", "section", "passed", "message"}
FLAG_KEYS = {"section", "kind", "comment", "by", "at", "resolved", "reply"}
# A version keeps the note's content and the checks that failed then.
VERSION_KEYS = {"version", "at", "by", "status", "action", "content_sha256", "citizen",
                "receiver", "planned_date", "sections", "checks", "completeness", "readback"}
EVENT_KEYS = {"at", "by", "action", "from", "to", "version", "detail"}
SECTION_KEYS = ["situation", "background", "assessment", "youth_voice", "placed", "goals",
                "own_room", "ungeplan", "support_after_18", "education_plan", "consent",
                "actions", "contingency"]
AREAS = ["uddannelse", "beskaeftigelse", "bolig", "oekonomi"]
MAIL = "@stafet.example"


# --- dates -------------------------------------------------------------------


def today():
    return datetime.date.today()


def iso(d):
    return d.isoformat()


def add_years(d, years):
    """d moved by whole years; 29 February becomes 1 March."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, month=3, day=1)


def add_months(d, months):
    """d moved by months, the day clamped to the month's end (as the daemon does)."""
    total = d.year * 12 + (d.month - 1) + months
    y, m = divmod(total, 12)
    m += 1
    for day in (d.day, 30, 29, 28):
        try:
            return datetime.date(y, m, day)
        except ValueError:
            continue
    raise AssertionError("no such month")


def age_on(born, on):
    a = on.year - born.year
    if (on.month, on.day) < (born.month, born.day):
        a -= 1
    return a


def planned(days=21):
    """A planned handover date `days` ahead, never a 29 February (so a
    birthday "exactly N years before" exists)."""
    d = today() + datetime.timedelta(days=days)
    if d.month == 2 and d.day == 29:
        d += datetime.timedelta(days=1)
    return d


def born_for_age(age, on, exact=False):
    """A birth date: exactly `age` years before `on` (the birthday is that
    day) when exact, else `age` years and 40 days before it."""
    b = add_years(on, -age)
    return b if exact else b - datetime.timedelta(days=40)


# --- CPR numbers ---------------------------------------------------------------

_WEIGHTS = (4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
_serial = [100]


def _century_digit(year):
    if 2000 <= year <= 2036:
        return 4
    if 1937 <= year <= 1999:
        return 0
    raise ValueError(year)


def cpr_for(born, mod11=True):
    """A fresh CPR number (DDMMYY-SSSS) for a birth date: the 7th digit
    gives the century; the check digit makes it pass modulus-11, or fail
    it when mod11 is False."""
    while True:
        _serial[0] = _serial[0] + 1 if _serial[0] < 998 else 100
        head = (born.strftime("%d%m%y") + str(_century_digit(born.year))
                + "%02d" % (_serial[0] % 100))
        for last in range(10):
            digits = [int(c) for c in head + str(last)]
            ok = sum(w * x for w, x in zip(_WEIGHTS, digits)) % 11 == 0
            if ok == mod11:
                s = head + str(last)
                return s[:6] + "-" + s[6:]


def cpr_passes_mod11(cpr):
    digits = [int(c) for c in cpr.replace("-", "")]
    return sum(w * x for w, x in zip(_WEIGHTS, digits)) % 11 == 0


# --- a complete, valid BUR-UR note -------------------------------------------

_names = [0]


def citizen_for(born, mod11=True, name=None):
    _names[0] += 1
    return {"cpr": cpr_for(born, mod11), "name": name or f"Testborger Nr{_names[0]} Hansen"}


def full_sections(born, on, placed=False):
    """Every BUR-UR section filled so that each check passes for a citizen
    born `born` with the handover planned `on`: goals for all four areas,
    the ungeplan decision within 3 months after the 16th birthday, the
    decision on support after 18 at least 6 months before the 18th."""
    n = _names[0]
    s = {
        "situation": f"Note {n}: den unge går i 10. klasse og starter snart på en uddannelse.",
        "background": f"Note {n}: sagen har været i BUR siden 2019 med forebyggende indsatser.",
        "assessment": f"Note {n}: gode ressourcer, men brug for støtte til struktur i hverdagen.",
        "youth_voice": f"Note {n}: den unge vil selv på teknisk skole og skrev med på planen.",
        "placed": placed,
        "goals": [{"area": a, "goal": f"Konkret mål for {a} (note {n})",
                   "timeframe": "inden for et år"} for a in AREAS],
        "ungeplan": {"date": iso(add_months(born, 16 * 12 + 2)),
                     "text": f"Afgørelse om ungeplan truffet (note {n})."},
        "education_plan": f"Note {n}: uddannelsesplanen følges op af UU-vejlederen.",
        "consent": {"basis": "consent", "date": iso(today() - datetime.timedelta(days=10)),
                    "purpose": "Overdragelse til Ungerådgivningen",
                    "recipients": "Ungerådgivningen"},
        "actions": [{"action": f"Overdragelsesmøde med UR (note {n})", "owner": "BUR-rådgiveren",
                     "due": iso(on + datetime.timedelta(days=14))}],
        "contingency": f"Note {n}: hvis den unge udebliver fra skolen, så kontakt forældrene.",
    }
    if placed:
        s["own_room"] = f"Note {n}: parat til eget værelse med bostøtte to gange om ugen."
        s["support_after_18"] = {"date": iso(add_months(born, 18 * 12 - 7)),
                                 "text": f"Afgørelse om efterværn truffet (note {n})."}
    return s


def note_body(age=17, on=None, placed=False, exact=False, born=None, mod11=True, **extra):
    """A POST /handovers body whose every check passes."""
    on = on or planned()
    born = born or born_for_age(age, on, exact)
    body = {"route": "BUR-UR", "citizen": citizen_for(born, mod11), "planned_date": iso(on)}
    body["sections"] = full_sections(born, on, placed)
    body.update(extra)
    return body


def section_texts(sections):
    """Every string inside a note's sections (for "never in the outbox")."""
    out = []

    def walk(v):
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
    walk(sections)
    return out


# --- users and requests --------------------------------------------------------


class User:
    """A logged-in demo person: username, Bearer headers, id, name, email."""

    def __init__(self, d, username):
        self.username = username
        self.headers = bearer(token_of(d, username))
        r = requests.get(d.url + API + "/me", headers=self.headers, timeout=10)
        assert r.status_code == 200, r.text
        me = r.json()
        self.id = me["id"]
        self.display_name = me["display_name"]
        self.email = me["email"]
        self.unit = me["unit"]["code"] if me["unit"] else None

    @property
    def ref(self):
        return {"id": self.id, "display_name": self.display_name}

    def __repr__(self):
        return f"User({self.username})"


class Api:
    """The handover calls of one daemon."""

    def __init__(self, d):
        self.d = d

    def url(self, path):
        return self.d.url + API + path

    def request(self, method, path, user, json_body=None, data=None, headers=None, **kw):
        h = dict(user.headers)
        if data is not None:
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        if json_body is not None:
            data = json.dumps(json_body).encode()
            h["Content-Type"] = "application/json"
        return requests.request(method, self.url(path), headers=h, data=data, timeout=30, **kw)

    def template(self, user, route="BUR-UR"):
        return self.request("GET", "/templates/" + route, user)

    def check(self, user, body):
        return self.request("POST", "/handovers/check", user, json_body=body)

    def create(self, user, body):
        return self.request("POST", "/handovers", user, json_body=body)

    def get(self, user, hid):
        return self.request("GET", "/handovers/" + hid, user)

    def patch(self, user, hid, body=None, if_match=None, data=None):
        headers = {} if if_match is None else {"If-Match": etag(if_match)}
        return self.request("PATCH", "/handovers/" + hid, user, json_body=body, data=data,
                            headers=headers)

    def act(self, user, hid, action, body=None, if_match=None, data=None):
        headers = {} if if_match is None else {"If-Match": etag(if_match)}
        return self.request("POST", f"/handovers/{hid}/{action}", user, json_body=body,
                            data=data, headers=headers)

    def history(self, user, hid):
        return self.request("GET", f"/handovers/{hid}/history", user)

    def list(self, user, **params):
        return requests.get(self.url("/handovers"), headers=user.headers, params=params,
                            timeout=30)


def etag(v):
    return v if isinstance(v, str) else f'"{v}"'


def ok(r, status=200):
    """The JSON answer of a successful call, its status and type checked."""
    assert r.status_code == status, (r.request.method, r.request.url, r.status_code, r.text[:3000])
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers
    return r.json()


def note_ok(r, status=200):
    """A Handover answer: the shape, and an ETag that is its version."""
    h = ok(r, status)
    assert set(h) == HANDOVER_KEYS, set(h) ^ HANDOVER_KEYS
    assert r.headers.get("ETag") == f'"{h["version"]}"', (r.headers.get("ETag"), h["version"])
    return h


def problem(r, status, field=None, code=None):
    """A problem answer with `status`; when field is given, its errors name
    it (and code, when given). Returns the body."""
    body = assert_problem(r, status)
    if field is not None:
        errors = body.get("errors")
        assert isinstance(errors, list) and errors, body
        for e in errors:
            assert {"field", "code", "message"} <= set(e), e
        hits = [e for e in errors if e["field"] == field]
        assert hits, (field, body)
        if code is not None:
            assert code in [e["code"] for e in hits], (field, code, body)
    return body


def failed_error_checks(checks):
    return {c["id"] for c in checks if not c["passed"] and c["severity"] == "error"}


def check_by_id(checks, cid):
    hits = [c for c in checks if c["id"] == cid]
    assert len(hits) <= 1, hits
    return hits[0] if hits else None
