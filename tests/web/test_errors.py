"""The one table from refusals (``core.errors``) and database faults to HTTP status and error body."""

from __future__ import annotations

import json
import sqlite3

import pytest
from aiohttp.test_utils import make_mocked_request

from core.errors import (
    Conflict,
    Forbidden,
    Invalid,
    Malformed,
    NotFound,
    Refused,
    Unavailable,
    UnsupportedEncoding,
)
from service.moderation import ModerationConflict, UnknownMessage
from service.playback import PlaybackConflict
from service.streamvoice import QueueMismatch
from web.errors import RETRY_AFTER_S, answer_for, error_body, error_response
from web.json_body import BodyError, UnknownCharset, parse_json
from web.payloads import PayloadError, refusal


@pytest.mark.parametrize(("exc", "status"), [
    (Refused("x"), 400), (Malformed("x"), 400), (Forbidden("x"), 403), (NotFound("x"), 404), (Conflict("x"), 409),
    (UnsupportedEncoding("x"), 415), (Invalid("x"), 422), (Unavailable("x"), 503),
])
def test_each_refusal_has_its_status(exc: Exception, status: int) -> None:
    answer = answer_for(exc)
    assert answer is not None
    assert (answer.status, answer.body, dict(answer.headers)) == (status, {"error": "x"}, {})


@pytest.mark.parametrize(("exc", "status"), [
    (UnknownMessage("no message with id 7"), 404), (ModerationConflict("played"), 409),
    (PlaybackConflict("already playing"), 409), (QueueMismatch("not active"), 409),
    (BodyError("the body is not valid JSON"), 400), (UnknownCharset("unknown charset 'x'"), 415),
    (PayloadError("'text' is required", "text"), 422),
])
def test_a_subclass_takes_its_nearest_listed_ancestors_status(exc: Exception, status: int) -> None:
    answer = answer_for(exc)
    assert answer is not None and answer.status == status
    assert answer.body["error"] == str(exc)


def test_the_field_at_fault_is_in_the_body_only_when_there_is_one() -> None:
    assert error_body("bad", "text") == {"error": "bad", "field": "text"}
    assert error_body("bad") == {"error": "bad"}
    answer = answer_for(PayloadError("'text' is required", "text"))
    assert answer is not None and answer.body == {"error": "'text' is required", "field": "text"}


def test_a_body_that_is_not_an_object_is_malformed_any_other_payload_problem_invalid() -> None:
    problem = PayloadError("the body must be a JSON object")
    assert isinstance(refusal(problem, []), Malformed)
    assert refusal(problem, {}) is problem
    with pytest.raises(BodyError) as caught:
        parse_json("[" * 100)
    answer = answer_for(caught.value)
    assert answer is not None and answer.status == 400


def test_database_faults_keep_their_statuses_and_retry_after() -> None:
    locked = answer_for(sqlite3.OperationalError("database is locked"))
    assert locked is not None and locked.fault is not None
    assert (locked.status, dict(locked.headers)) == (503, {"Retry-After": str(RETRY_AFTER_S)})
    assert "retry shortly" in locked.body["error"]
    full = answer_for(sqlite3.OperationalError("database or disk is full"))
    assert full is not None and (full.status, dict(full.headers)) == (507, {})
    broken = answer_for(sqlite3.OperationalError("disk I/O error"))
    assert broken is not None and (broken.status, dict(broken.headers)) == (503, {})


def test_anything_else_is_not_a_refusal() -> None:
    assert answer_for(RuntimeError("bug")) is None
    assert answer_for(ValueError("bug")) is None
    assert answer_for(KeyError("bug")) is None


def test_under_v1_the_same_error_takes_openais_shape() -> None:
    plain = error_response(make_mocked_request("POST", "/api/messages"), 422, "bad", "text", {"X-A": "1"})
    assert plain.status == 422 and plain.headers["X-A"] == "1"
    assert plain.body is not None and json.loads(bytes(plain.body)) == {"error": "bad", "field": "text"}
    openai = error_response(make_mocked_request("POST", "/v1/audio/speech"), 401, "no token")
    assert openai.body is not None and json.loads(bytes(openai.body)) == {"error": {
        "message": "no token", "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}}
