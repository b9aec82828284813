"""pigeon.client without a server: retries, idempotency keys, error mapping and the shape of
each gateway request, over `httpx.MockTransport`; and that it imports nothing of the server."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pigeon.client import (
    APIError,
    AsyncClient,
    Client,
    Conflict,
    ConnectionFailed,
    Forbidden,
    NewMessage,
    NotFound,
    Received,
    Release,
    Report,
    RetryPolicy,
    Unauthorized,
    Unavailable,
    ValidationFailed,
)
from pigeon.client._transport import Call, retry_after

NOW = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
FAST = RetryPolicy(retries=3, backoff=0.001, max_backoff=0.002, max_retry_after=0.2)
MESSAGE: dict[str, Any] = {"id": "m1", "status": "queued"}
Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport handler answering from a script, one answer (or error) per request."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.times: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.times.append(time.monotonic())
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) if r.content else None for r in self.requests]


def problem(status: int, detail: str = "nope", **extra: Any) -> httpx.Response:
    body = {"type": "about:blank", "title": "T", "status": status, "detail": detail, **extra}
    headers = {"Retry-After": "1"} if status == 503 else {}
    return httpx.Response(status, json=body, headers=headers)


def client(handler: Handler, retries: RetryPolicy | int = FAST, **options: Any) -> Client:
    transport = httpx.MockTransport(handler)
    return Client("http://pigeon.test", "secret", retries=retries, transport=transport, **options)


# Retries ----------------------------------------------------------------------------------


def test_a_503_is_retried_after_its_retry_after_then_succeeds() -> None:
    answers = Recorder(problem(503), httpx.Response(201, json=MESSAGE))
    with client(answers) as pigeon:
        assert pigeon.messages.create("+14155550100", "hi") == MESSAGE
    assert len(answers.requests) == 2
    # Retry-After: 1, capped by the policy at 0.2 s (the backoff alone would be ~0.001 s).
    assert answers.times[1] - answers.times[0] >= 0.19
    keys = {r.headers["Idempotency-Key"] for r in answers.requests}
    assert len(keys) == 1  # one call, one key, on every try


def test_a_503_that_persists_raises_unavailable_once_retries_run_out() -> None:
    answers = Recorder(problem(503, "the database is unavailable"))
    no_wait = RetryPolicy(retries=2, backoff=0.001, max_retry_after=0)
    with client(answers, retries=no_wait) as pigeon, pytest.raises(Unavailable) as refused:
        pigeon.messages.list()
    assert len(answers.requests) == 3  # the first try and two retries
    assert refused.value.retry_after == 1.0
    assert "the database is unavailable" in str(refused.value)


def test_retries_zero_tries_once() -> None:
    answers = Recorder(problem(503))
    with client(answers, retries=0) as pigeon, pytest.raises(Unavailable):
        pigeon.stats.get()
    assert len(answers.requests) == 1


@pytest.mark.parametrize("status", [502, 504])
def test_a_proxy_error_is_retried_only_when_the_request_is_safe_to_repeat(status: int) -> None:
    answers = Recorder(httpx.Response(status, text="<html>bad gateway</html>"))
    with client(answers) as pigeon:
        with pytest.raises(APIError) as refused:
            pigeon.messages.cancel("m1")  # a POST without a key: pigeon may have done it
        assert len(answers.requests) == 1
        assert refused.value.status == status and "bad gateway" in refused.value.detail
        with pytest.raises(APIError):
            pigeon.messages.get("m1")
        assert len(answers.requests) == 1 + 4


def test_a_failure_to_connect_is_retried_whatever_the_request() -> None:
    answers = Recorder(httpx.ConnectError("refused"), httpx.Response(200, json=MESSAGE))
    with client(answers) as pigeon:
        assert pigeon.messages.cancel("m1") == MESSAGE
    assert len(answers.requests) == 2


def test_a_lost_answer_to_an_unsafe_request_is_not_retried() -> None:
    answers = Recorder(httpx.ReadTimeout("slow"))
    with client(answers) as pigeon, pytest.raises(ConnectionFailed) as failed:
        pigeon.batches.start("b1")
    assert len(answers.requests) == 1
    assert "may have been carried out" in str(failed.value)
    assert isinstance(failed.value.__cause__, httpx.ReadTimeout)


@pytest.mark.parametrize(
    "call",
    [
        lambda p: p.messages.get("m1"),  # GET
        lambda p: p.messages.create("+14155550100", "hi"),  # a POST with an Idempotency-Key
        lambda p: p.gateway.report([Report("m1", "t1", "sent")]),  # idempotent by design
        lambda p: p.throttle.put(paused=True),  # PUT
        lambda p: p.extract("call Ann tomorrow"),  # a POST that writes nothing
    ],
)
def test_a_lost_answer_to_a_safe_request_is_retried(call: Callable[[Client], Any]) -> None:
    answers = Recorder(httpx.RemoteProtocolError("dropped"))
    with client(answers) as pigeon, pytest.raises(ConnectionFailed) as failed:
        call(pigeon)
    assert len(answers.requests) == 4
    assert failed.value.attempts == 4


def test_a_client_error_is_never_retried() -> None:
    answers = Recorder(problem(409, "the message can no longer be canceled"))
    with client(answers) as pigeon, pytest.raises(Conflict):
        pigeon.messages.get("m1")
    assert len(answers.requests) == 1


def test_retry_after_reads_seconds_and_dates() -> None:
    assert retry_after("3", NOW) == 3.0
    assert retry_after("Mon, 07 Jan 2030 09:00:05 GMT", NOW) == 5.0
    assert retry_after("Mon, 07 Jan 2030 08:00:00 GMT", NOW) == 0.0  # in the past: now
    assert retry_after("soon", NOW) is None
    assert retry_after(None, NOW) is None


def test_a_long_retry_after_is_capped() -> None:
    policy = RetryPolicy(max_retry_after=30)
    call: Call[Any] = Call("GET", "/v1/stats")
    asked = httpx.Response(503, headers={"Retry-After": "3600"})
    assert policy.after_response(call, asked, 0, NOW) == 30


@given(
    attempt=st.integers(min_value=0, max_value=10_000),
    backoff=st.floats(min_value=0.001, max_value=10),
    cap=st.floats(min_value=0.001, max_value=60),
)
def test_backoff_grows_within_its_cap_and_is_never_zero(
    attempt: int, backoff: float, cap: float
) -> None:
    policy = RetryPolicy(backoff=backoff, max_backoff=cap)
    ceiling = min(cap, backoff * 2.0 ** min(attempt, 62))
    delay = policy.backoff_delay(attempt)
    assert ceiling / 2 <= delay <= ceiling
    assert delay <= cap


# Idempotency keys -------------------------------------------------------------------------


def test_each_create_gets_its_own_key_unless_the_caller_gives_one() -> None:
    answers = Recorder(httpx.Response(201, json=MESSAGE))
    with client(answers) as pigeon:
        pigeon.messages.create("+14155550100", "a")
        pigeon.messages.create("+14155550100", "b")
        pigeon.messages.create("+14155550100", "c", idempotency_key="order-1")
        pigeon.contacts.create(name="Ann")
        pigeon.messages.list()
    keys = [r.headers.get("Idempotency-Key") for r in answers.requests]
    assert keys[0] and keys[1] and keys[0] != keys[1]
    assert keys[2] == "order-1"
    assert keys[3] and keys[3] not in keys[:3]
    assert keys[4] is None  # a GET needs none


def test_a_batch_carries_a_key_per_item_and_none_in_its_headers() -> None:
    answers = Recorder(httpx.ReadError("dropped"), httpx.Response(201, json={"items": []}))
    with client(answers) as pigeon:
        pigeon.messages.create_many(
            [NewMessage("+14155550100", "a"), NewMessage("+14155550101", "b", idempotency_key="k")]
        )
    assert all("Idempotency-Key" not in r.headers for r in answers.requests)  # pigeon: 422
    first, retried = ([i["idempotency_key"] for i in b["items"]] for b in answers.bodies())
    assert first == retried  # the retry repeats the same items
    assert first[1] == "k" and first[0] and first[0] != "k"


# Errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, ValidationFailed),
        (422, ValidationFailed),
        (401, Unauthorized),
        (403, Forbidden),
        (404, NotFound),
        (409, Conflict),
        (429, Unavailable),
        (500, APIError),
        (413, APIError),
    ],
)
def test_each_status_raises_its_error(status: int, kind: type[APIError]) -> None:
    answers = Recorder(problem(status))
    with client(answers, retries=0) as pigeon, pytest.raises(kind) as raised:
        pigeon.messages.get("m1")
    assert type(raised.value) is kind and raised.value.status == status


def test_a_validation_error_shows_its_detail_and_fields() -> None:
    errors = [
        {"field": "items[2].recipient", "detail": "is not a phone number"},
        {"field": "cursor", "detail": "must be an id (a UUID)"},
    ]
    detail = "items[2].recipient: is not a phone number"  # pigeon's detail may list fewer
    answers = Recorder(problem(422, detail, errors=errors))
    with client(answers) as pigeon, pytest.raises(ValidationFailed) as refused:
        pigeon.messages.list()
    error = refused.value
    assert error.fields == ["items[2].recipient", "cursor"]
    assert error.detail == detail and error.body["status"] == 422
    assert str(error) == f"{detail} (422 T)\n  cursor: must be an id (a UUID)"


def test_a_time_pigeon_must_ask_about_carries_the_question() -> None:
    errors = [{"field": "scheduled_for_text", "detail": "the time is too vague to schedule"}]
    asked = problem(
        422,
        "scheduled_for_text: the time is too vague to schedule",
        errors=errors,
        question="When should it be sent?",
        reason="vague_time",
    )
    answers = Recorder(asked, problem(422, "cursor: must be an id", errors=[]))
    with client(answers, retries=0) as pigeon:
        with pytest.raises(ValidationFailed) as refused:
            pigeon.messages.create("+14155550100", "hi", scheduled_for_text="later")
        with pytest.raises(ValidationFailed) as other:
            pigeon.messages.list(cursor="x")
    error = refused.value
    assert (error.question, error.reason) == ("When should it be sent?", "vague_time")
    assert error.fields == ["scheduled_for_text"]
    assert str(error).endswith("\n  ask: When should it be sent?")
    assert (other.value.question, other.value.reason) == (None, None)


def test_times_in_words_and_extractions_send_only_what_is_given() -> None:
    answers = Recorder(httpx.Response(201, json=MESSAGE))
    with client(answers) as pigeon:
        pigeon.messages.create(
            "+14155550100", "hi", scheduled_for_text="tomorrow 3pm", timezone="Europe/London"
        )
        pigeon.extract("call Ann tomorrow", reference=NOW, locale="en_GB")
        pigeon.extract("call Ann tomorrow")
        with pytest.raises(ValueError, match="reference"):
            pigeon.extract("call Ann tomorrow", reference=datetime(2030, 1, 7, 9, 0))
    assert [r.url.path for r in answers.requests] == ["/v1/messages", "/v1/extract", "/v1/extract"]
    assert answers.bodies() == [
        {
            "recipient": "+14155550100",
            "body": "hi",
            "scheduled_for_text": "tomorrow 3pm",
            "timezone": "Europe/London",
        },
        {"text": "call Ann tomorrow", "reference": "2030-01-07T09:00:00+00:00", "locale": "en_GB"},
        {"text": "call Ann tomorrow"},
    ]
    assert "Idempotency-Key" not in answers.requests[1].headers  # it writes nothing


def test_the_async_client_extracts_too() -> None:
    async def run() -> Any:
        answers = Recorder(httpx.Response(200, json={"extraction": {"due": None}}))
        transport = httpx.MockTransport(answers)
        async with AsyncClient("http://pigeon.test", "t", transport=transport) as c:
            found = await c.extract("hi", zone="UTC")
        return found, answers.bodies()

    assert asyncio.run(run()) == ({"extraction": {"due": None}}, [{"text": "hi", "zone": "UTC"}])


def test_an_answer_that_is_not_json_is_an_error_not_a_crash() -> None:
    answers = Recorder(httpx.Response(200, text="<html>captive portal</html>"))
    with client(answers) as pigeon, pytest.raises(Exception, match="not JSON"):
        pigeon.messages.get("m1")


# Requests ---------------------------------------------------------------------------------


def test_requests_carry_the_token_and_the_client_name() -> None:
    answers = Recorder(httpx.Response(200, json={}))
    transport = httpx.MockTransport(answers)
    with Client("http://pigeon.test/base", "tok", transport=transport, headers={"X-A": "1"}) as c:
        c.workspaces.current()
    [request] = answers.requests
    assert request.url == "http://pigeon.test/base/v1/workspace"
    assert request.headers["Authorization"] == "Bearer tok"
    assert request.headers["User-Agent"].startswith("pigeon-client/")
    assert request.headers["X-A"] == "1"


def test_ids_are_one_path_segment() -> None:
    answers = Recorder(httpx.Response(200, json=MESSAGE))
    with client(answers) as pigeon:
        pigeon.messages.get("../keys")
        with pytest.raises(ValueError, match="empty"):
            pigeon.messages.get("")  # would read /v1/messages/, the list
    assert answers.requests[0].url.raw_path == b"/v1/messages/..%2Fkeys"
    assert len(answers.requests) == 1


def test_filters_become_query_parameters() -> None:
    answers = Recorder(httpx.Response(200, json={"items": [], "next_cursor": None}))
    since = datetime(2030, 1, 7, 10, 0, tzinfo=UTC)
    with client(answers) as pigeon:
        pigeon.messages.list(status=["failed", "unknown"], scheduled_from=since, limit=5)
        pigeon.messages.list(status="sent")
    first, second = (r.url.params for r in answers.requests)
    assert first.get_list("status") == ["failed", "unknown"]
    assert first["scheduled_from"] == "2030-01-07T10:00:00+00:00"
    assert first["limit"] == "5" and "cursor" not in first
    assert second.get_list("status") == ["sent"]


def test_a_patch_sends_only_the_fields_given_and_none_clears() -> None:
    answers = Recorder(httpx.Response(200, json={}))
    with client(answers) as pigeon:
        pigeon.contacts.update("c1", name=None, tags=["vip"])
    assert answers.bodies() == [{"name": None, "tags": ["vip"]}]


def test_naive_times_are_refused_before_anything_is_sent() -> None:
    answers = Recorder(httpx.Response(201, json=MESSAGE))
    naive = datetime(2030, 1, 7, 9, 0)  # no tzinfo: the point of the test
    with client(answers) as pigeon:
        with pytest.raises(ValueError, match="scheduled_for"):
            pigeon.messages.create("+14155550100", "hi", scheduled_for=naive)
        with pytest.raises(ValueError, match="received_at"):
            Received("g", "+14155550100", "hi", naive)
        with pytest.raises(ValueError, match="scheduled_for"):
            NewMessage("+14155550100", "hi", scheduled_for=naive)
    assert answers.requests == []


def paged(items_by_cursor: dict[str | None, tuple[list[str], str | None]]) -> Handler:
    def answer(request: httpx.Request) -> httpx.Response:
        ids, following = items_by_cursor[request.url.params.get("cursor")]
        return httpx.Response(
            200, json={"items": [{"id": i} for i in ids], "next_cursor": following}
        )

    return answer


def test_paginate_follows_the_cursors_to_the_end() -> None:
    pages = {None: (["a", "b"], "b"), "b": (["c", "d"], "d"), "d": (["e"], None)}
    with client(paged(pages)) as pigeon:
        every = pigeon.paginate(pigeon.contacts.list, tag="vip", limit=2)
        assert [c["id"] for c in every] == ["a", "b", "c", "d", "e"]


# The gateway requests ---------------------------------------------------------------------


def test_a_waiting_claim_reads_longer_than_it_waits() -> None:
    answers = Recorder(httpx.Response(200, json={"lease_expires_at": None, "messages": []}))
    with client(answers, timeout=5.0) as pigeon:
        pigeon.gateway.claim(limit=10, wait=25)
        pigeon.gateway.claim()
    waiting, plain = answers.requests
    assert answers.bodies() == [{"limit": 10, "wait": 25}, {}]
    assert waiting.extensions["timeout"]["read"] == 35.0
    assert waiting.extensions["timeout"]["connect"] == 5.0
    assert plain.extensions["timeout"]["read"] == 5.0


def test_a_claim_answered_204_is_empty() -> None:
    with client(Recorder(httpx.Response(204))) as pigeon:
        assert pigeon.gateway.claim(wait=1) == {"lease_expires_at": None, "messages": []}


def test_reports_and_releases_are_sent_as_lists_and_answered_per_item() -> None:
    stale = {"type": "about:blank", "title": "Conflict", "status": 409, "detail": "stale token"}
    results = {
        "results": [{"message_id": "m1", "status": "sent"}, {"message_id": "m2", "error": stale}]
    }
    answers = Recorder(httpx.Response(200, json=results))
    with client(answers) as pigeon:
        reported = pigeon.gateway.report(
            [Report("m1", "t1", "sent"), Report("m2", "t2", "rejected", error="blocked")]
        )
        released = pigeon.gateway.release([Release("m3", "t3")])
    assert answers.bodies()[:2] == [
        {
            "reports": [
                {"message_id": "m1", "claim_token": "t1", "status": "sent"},
                {"message_id": "m2", "claim_token": "t2", "status": "rejected", "error": "blocked"},
            ]
        },
        {"releases": [{"message_id": "m3", "claim_token": "t3"}]},
    ]
    assert [r.path for r in (q.url for q in answers.requests)] == [
        "/v1/gateway/report",
        "/v1/gateway/release",
    ]
    ok, refused = reported
    assert (ok.message_id, ok.status, ok.ok) == ("m1", "sent", True)
    assert isinstance(refused.error, Conflict) and not refused.ok
    assert refused.error.detail == "stale token" and refused.status is None
    assert len(released) == 2  # the scripted answer, parsed the same way


def test_inbound_messages_are_sent_in_the_wire_format() -> None:
    answers = Recorder(httpx.Response(200, json={"accepted": 2, "duplicates": 0}))
    at = datetime(2030, 1, 7, 10, 0, tzinfo=UTC) + timedelta(microseconds=0)
    with client(answers) as pigeon:
        pigeon.gateway.inbound(
            [Received("g1", "+14155550100", "hi", at, "SMS"), Received("g2", "a@b.org", "", at)]
        )
    assert answers.bodies() == [
        {
            "messages": [
                {
                    "guid": "g1",
                    "from": "+14155550100",
                    "text": "hi",
                    "received_at": "2030-01-07T10:00:00+00:00",
                    "service": "SMS",
                },
                {
                    "guid": "g2",
                    "from": "a@b.org",
                    "text": "",
                    "received_at": "2030-01-07T10:00:00+00:00",
                },
            ]
        }
    ]


# The async client -------------------------------------------------------------------------


def test_the_async_client_retries_and_maps_errors_alike() -> None:
    answers = Recorder(
        problem(503),
        httpx.Response(201, json=MESSAGE),
        httpx.ReadTimeout("slow"),
        problem(404),
    )

    async def run() -> None:
        transport = httpx.MockTransport(answers)
        async with AsyncClient("http://pigeon.test", "t", retries=FAST, transport=transport) as c:
            assert await c.messages.create("+14155550100", "hi") == MESSAGE
            with pytest.raises(ConnectionFailed):
                await c.batches.start("b1")  # not safe to repeat: one try
            with pytest.raises(NotFound):
                await c.messages.get("m1")

    asyncio.run(run())
    assert [r.url.path for r in answers.requests] == [
        "/v1/messages",
        "/v1/messages",
        "/v1/batches/b1/start",
        "/v1/messages/m1",
    ]


def test_the_async_paginate_follows_the_cursors() -> None:
    pages = {None: (["a"], "a"), "a": (["b"], None)}

    async def run() -> list[str]:
        transport = httpx.MockTransport(paged(pages))
        async with AsyncClient("http://pigeon.test", "t", transport=transport) as c:
            return [m["id"] async for m in c.paginate(c.messages.list, limit=1)]

    assert asyncio.run(run()) == ["a", "b"]


# What the client imports ------------------------------------------------------------------

SERVER_ONLY = ("sqlalchemy", "fastapi", "pydantic", "psycopg", "redis", "anthropic", "starlette")
SERVER_MODULES = (
    "pigeon.config",
    "pigeon.api",
    "pigeon.store",
    "pigeon.services",
    "pigeon.domain",
    "pigeon.errors",
)


def test_the_client_imports_nothing_of_the_server() -> None:
    """The gateway agent installs on a Mac without the server's dependencies: importing and
    using the client must not need them. A meta-path hook refuses them, and the client is
    imported and used (a request, a retry, an error) under it."""
    code = textwrap.dedent(
        f"""
        import sys

        REFUSED = {SERVER_ONLY!r}
        MODULES = {SERVER_MODULES!r}

        class Refuse:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in REFUSED or name.startswith(MODULES):
                    raise ImportError(f"the client must not import {{name}}")
                return None

        sys.meta_path.insert(0, Refuse())

        import httpx
        from pigeon.client import Client, NotFound, Report, RetryPolicy

        answers = iter([httpx.Response(503), httpx.Response(404, json={{"status": 404}})])
        transport = httpx.MockTransport(lambda request: next(answers))
        policy = RetryPolicy(retries=1, backoff=0.001)
        with Client("http://pigeon.test", "t", retries=policy, transport=transport) as c:
            try:
                c.gateway.report([Report("m", "t", "sent")])
            except NotFound:
                pass
        loaded = sorted(
            name for name in sys.modules
            if name.split(".")[0] in REFUSED or name.startswith(MODULES)
        )
        print(loaded)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
