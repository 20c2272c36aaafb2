"""Tokens and keys stay secret where they used to leak: session ids that are tokens, httpx's log lines,
the request an exception's cause carries."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import realavatar_nb as ra
from realavatar_nb._redact import MASK, redact, register_secret, scrubbed
from realavatar_nb.simulator import Sandbox

KEY = "sk-crun-secret-key-0123456789"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(autopilot=0.0, processing_seconds=0.0) as sb:
        yield sb


@pytest.mark.parametrize("dialect", ["easyrouter", "anyfast", "toapis", "crun", "apimart"])
def test_no_token_in_reprs_log_lines_or_the_ledger(
    sandbox: Sandbox, tmp_path: Path, dialect: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def run() -> ra.VerificationSession:
        client = ra.AsyncClient("sandbox", sandbox=sandbox, dialect=dialect, ledger=ra.Ledger(tmp_path / "l.sqlite3"),
                                poll_interval=0.05, api_key=f"redact-{dialect}")  # fmt: skip
        async with client:
            session = await client.create_verification()
            await client.wait_verified(session, timeout=30)
            return session

    with caplog.at_level(logging.INFO, logger="httpx"):
        session = asyncio.run(run())
    token = session.byted_token.reveal()
    assert token not in repr(session) and token not in session.id  # Anyfast's and EasyRouter's id was the token
    assert any("HTTP Request" in r.getMessage() for r in caplog.records)  # the log was on, and is clean:
    assert not [r.getMessage() for r in caplog.records if token in r.getMessage()]
    ledger = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert token.encode() not in ledger


def test_token_shaped_path_segments_and_query_values_are_masked() -> None:
    line = 'HTTP Request: GET http://h/api/sessions/20261203AB12CD34EF56?x=1&byted_token=tok123456 "HTTP/1.1 200 OK"'
    masked = redact(line)
    assert "20261203AB12CD34EF56" not in masked and "tok123456" not in masked and masked.count(MASK) == 2
    register_secret("a-registered-secret-value")
    assert "a-registered-secret-value" not in redact("found a-registered-secret-value/in a path")


def test_the_x_api_key_of_a_failed_request_is_masked_in_the_exception_chain(tmp_path: Path) -> None:
    def drop(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("connection reset", request=request)

    async def no_wait(seconds: float) -> None:
        await asyncio.sleep(0)

    async def run() -> BaseException:
        client = ra.AsyncClient("crun", api_key=KEY, transport=httpx.MockTransport(drop),
                                ledger=ra.Ledger(tmp_path / "l.sqlite3"), sleep=no_wait)  # fmt: skip
        async with client:
            try:
                await client.create_verification()
            except ra.RealAvatarError as exc:
                return exc
        raise AssertionError("the request should have failed")

    error = asyncio.run(run())
    chain = []
    cause: BaseException | None = error
    while cause is not None:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    for link in chain:
        assert KEY not in str(link) and KEY not in repr(link)
        request = getattr(link, "_request", None)
        if request is not None:
            assert KEY not in repr(request.headers) and request.headers.get("x-api-key") == MASK


def test_scrubbed_keeps_the_error_type_and_message() -> None:
    request = httpx.Request("POST", "https://api.test/v1/x", headers={"x-api-key": KEY, "authorization": "Bearer k"})
    clean = scrubbed(httpx.ReadTimeout("timed out", request=request))
    assert isinstance(clean, httpx.ReadTimeout) and str(clean) == "timed out"
    assert clean.request.headers["x-api-key"] == MASK and clean.request.headers["authorization"] == MASK
