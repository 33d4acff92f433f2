"""GET /api/v1/me's draft_key (migration 0011, issue 20): the key the web UI
encrypts its local copy of unsaved note text with. One random key per user,
the same at every login, another user's differs, and it is stored, not
derived from anything a user can see."""

import base64

import pytest

from tests.integration.test_auth import auth_settings, bearer, delete_session, me, start, token_of


@pytest.fixture
def d(slapd, db, stafetd, tmp_path):
    return start(stafetd, db, auth_settings(tmp_path, slapd.uri))


def key_of(d, username):
    token = token_of(d, username)
    r = me(d, bearer(token))
    assert r.status_code == 200, r.text
    key = r.json()["draft_key"]
    assert len(base64.b64decode(key, validate=True)) == 32
    assert delete_session(d, bearer(token)).status_code == 204
    return key


def test_one_key_per_user_kept_across_logins(d, db):
    first = key_of(d, "sbo")
    again = key_of(d, "sbo")
    other = key_of(d, "mha")
    assert first == again
    assert first != other
    assert db.psql("SELECT count(*) FROM draft_keys").split() == ["2"]
    stored = db.psql("SELECT encode(key, 'base64') FROM draft_keys ORDER BY 1").split()
    assert sorted([first, other]) == stored


def test_the_key_ends_with_the_session(d):
    token = token_of(d, "sbo")
    assert delete_session(d, bearer(token)).status_code == 204
    r = me(d, bearer(token))
    assert r.status_code == 401
    assert "draft_key" not in r.text
