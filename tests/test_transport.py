"""Reads retry on 429/5xx/dropped connections with backoff and Retry-After; creates never retry."""

from __future__ import annotations

import asyncio
import random

import httpx
import pytest

from realavatar_nb._transport import RetryTransport
from realavatar_nb.providers.base import RETRY


class Script(httpx.AsyncBaseTransport):
    """Answers from a script: an int is a status, an exception is raised; records what was sent."""

    def __init__(self, *answers: int | Exception, headers: dict[str, str] | None = None) -> None:
        self.answers = list(answers)
        self.sent = 0
        self.headers = headers or {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return httpx.Response(answer, json={"n": self.sent}, headers=self.headers, request=request)


def _run(transport: RetryTransport, *, retry: bool, method: str = "GET") -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://p.test") as client:
            request = client.build_request(method, "/x", json={"a": 1} if method == "POST" else None)
            request.extensions[RETRY] = retry
            return await client.send(request)

    return asyncio.run(go())


def _transport(script: Script, waits: list[float], **kwargs: object) -> RetryTransport:
    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    return RetryTransport(script, sleep=sleep, rng=random.Random(0), jitter=0.0, **kwargs)  # type: ignore[arg-type]


def test_a_read_retries_5xx_and_429_until_it_succeeds() -> None:
    waits: list[float] = []
    script = Script(503, 500, 429, 200)
    response = _run(_transport(script, waits), retry=True)
    assert response.status_code == 200 and script.sent == 4
    assert waits == [0.5, 1.0, 2.0]  # exponential backoff


def test_a_read_honours_retry_after() -> None:
    waits: list[float] = []
    script = Script(429, 200, headers={"retry-after": "7"})
    assert _run(_transport(script, waits), retry=True).status_code == 200
    assert waits == [7.0]


def test_a_dropped_connection_on_a_read_is_retried() -> None:
    waits: list[float] = []
    script = Script(httpx.RemoteProtocolError("peer closed"), httpx.ConnectError("refused"), 200)
    assert _run(_transport(script, waits), retry=True).status_code == 200 and script.sent == 3


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_a_create_is_never_retried_when_it_may_have_happened(method: str) -> None:
    waits: list[float] = []
    script = Script(503, 200)
    assert _run(_transport(script, waits), retry=False, method=method).status_code == 503
    assert script.sent == 1 and waits == []
    dropped = Script(httpx.RemoteProtocolError("peer closed"), 200)
    with pytest.raises(httpx.RemoteProtocolError):
        _run(_transport(dropped, waits), retry=False, method=method)
    assert dropped.sent == 1


def test_a_create_is_retried_when_nothing_can_have_happened() -> None:
    waits: list[float] = []
    limited = Script(429, 200, headers={"retry-after": "2"})
    assert _run(_transport(limited, waits), retry=False, method="POST").status_code == 200
    refused = Script(httpx.ConnectError("refused"), 200)
    assert _run(_transport(refused, waits), retry=False, method="POST").status_code == 200
    assert (limited.sent, refused.sent) == (2, 2) and waits[0] == 2.0


def test_retries_stop_after_the_last_attempt_and_return_the_last_answer() -> None:
    waits: list[float] = []
    script = Script(503, 503, 503)
    assert _run(_transport(script, waits, attempts=3), retry=True).status_code == 503
    assert script.sent == 3 and len(waits) == 2


def test_the_backoff_is_capped() -> None:
    waits: list[float] = []
    script = Script(*([500] * 8), 200)
    _run(_transport(script, waits, attempts=10, cap=3.0), retry=True)
    assert max(waits) == 3.0


def test_client_errors_are_not_retried() -> None:
    waits: list[float] = []
    script = Script(404, 200)
    assert _run(_transport(script, waits), retry=True).status_code == 404 and script.sent == 1


def test_the_rate_limiter_spaces_requests_of_a_kind_and_leaves_others_free() -> None:
    from realavatar_nb._transport import RateLimiter

    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    limiter = RateLimiter({"verification": 3.0}, clock=lambda: now[0], sleep=sleep)

    async def go() -> None:
        for _ in range(4):
            await limiter.wait("verification")
        await limiter.wait("read_asset")  # not limited here

    asyncio.run(go())
    assert slept == pytest.approx([1 / 3, 2 / 3, 1.0])
