"""The client on Anyfast as a client verified against the live API saw it: real-person assets read
through the group's list, creates that never resolve reported failed, and local files sent by URL."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import realavatar_nb as ra
from realavatar_nb._assets import NEVER_RESOLVED
from realavatar_nb.samples import make_image
from realavatar_nb.simulator import Sandbox
from tests.client_flow import verified_group


class Recording(httpx.AsyncBaseTransport):
    """Sends through to the emulator, keeping each request's path and content type."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.sent: list[tuple[str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.url.path, request.headers.get("content-type", "")))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def paths(self, action: str) -> list[str]:
        return [kind for path, kind in self.sent if path.endswith(action)]


class Clock:
    """Seconds that move only when the test says so, or by ``tick`` at each reading."""

    def __init__(self, tick: float = 0.0) -> None:
        self.now = 1_790_000_000.0
        self.tick = tick

    def __call__(self) -> float:
        self.now += self.tick
        return self.now


def _creates(sb: Sandbox) -> int:
    return int(next(iter(sb.stats()["accounts"].values()))["assets"])


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    # Anyfast's face mismatches and multipart uploads never resolve here, as the live API was seen to behave.
    options = {"anyfast": {"never_resolve": ["face_mismatch", "multipart"]}}
    with Sandbox(autopilot=0.0, processing_seconds=0.0, autopilot_person="alice", dialect_options=options) as sb:
        yield sb


@pytest.fixture(scope="module")
def faces(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("faces")
    return {
        "alice": make_image(d / "alice.jpg", width=600, height=800, person="alice"),
        "bob": make_image(d / "bob.jpg", width=600, height=800, person="bob"),
    }


def _client(sb: Sandbox, tmp_path: Path, **kwargs: object) -> ra.AsyncClient:
    return ra.AsyncClient(
        "sandbox", sandbox=sb, dialect="anyfast", ledger=ra.Ledger(tmp_path / "l.sqlite3"), poll_interval=0.05,
        **kwargs,
    )  # type: ignore[arg-type]  # fmt: skip


# -- 2. real-person assets are read through the group's list ------------------------------------


def test_get_asset_wait_active_and_refresh_read_the_list_never_get_asset(
    sandbox: Sandbox, tmp_path: Path, faces: dict[str, Path]
) -> None:
    wire = Recording()

    async def flow() -> tuple[ra.Asset, list[ra.Asset], ra.Asset]:
        async with _client(sandbox, tmp_path, transport=wire) as client:
            group = await verified_group(client)
            asset = await client.upload_asset(group, faces["alice"])
            sandbox.state.settle()
            [active] = await client.wait_active([asset], timeout=60)
            assert active.status == "active"
            refreshed = await client.refresh_assets([asset])
            looked = await client.get_asset(asset.id)  # the ledger knows its group
            client.ledger.forget_asset(client.ledger_name, asset.id)  # for one it does not, the caller names it
            return looked, refreshed, await client.get_asset(asset.id, group_id=group)

    looked, refreshed, named = asyncio.run(flow())
    assert looked.status == refreshed[0].status == named.status == "active"
    assert wire.paths("/ListAssets") and not wire.paths("/GetAsset")


def test_an_asset_the_ledger_and_caller_cannot_place_is_read_with_get_asset(sandbox: Sandbox, tmp_path: Path) -> None:
    wire = Recording()

    async def flow() -> None:
        async with _client(sandbox, tmp_path, transport=wire) as client:
            with pytest.raises(ra.NotFoundError, match=r"NotFound\.asset_id"):
                await client.get_asset("asset-20260702223855-bdv2r")

    asyncio.run(flow())
    assert wire.paths("/GetAsset") and not wire.paths("/ListAssets")


# -- 3. a create that answers an Id and never resolves ------------------------------------------


def test_a_create_that_never_resolves_ends_failed_after_the_grace_period(
    sandbox: Sandbox, tmp_path: Path, faces: dict[str, Path]
) -> None:
    clock = Clock()

    async def flow() -> tuple[list[str], ra.Asset, ra.Asset, int]:
        async with _client(sandbox, tmp_path, clock=clock) as client:
            group = await verified_group(client)
            before = _creates(sandbox)
            asset = await client.upload_asset(group, faces["bob"])
            sandbox.state.settle()  # judged FaceMismatch: from now on no read finds it
            seen = []
            for step in (0.0, 10.0, 9.9, 0.2):
                clock.now += step
                seen.append((await client.get_asset(asset.id)).status)
            [waited] = await client.wait_active([await client.upload_asset(group, faces["bob"])], timeout=60)
            return seen, await client.get_asset(asset.id), waited, _creates(sandbox) - before

    seen, failed, again, creates = asyncio.run(flow())
    assert seen == ["processing", "processing", "processing", "failed"]
    assert (failed.status, failed.error_code) == ("failed", NEVER_RESOLVED)
    assert failed.error_message and "face" in failed.error_message.lower() and "Name" in failed.error_message
    assert (again.id, again.error_code) == (failed.id, NEVER_RESOLVED) and creates == 1  # never sent twice


def test_wait_active_ends_on_a_never_resolved_create_instead_of_waiting_forever(
    sandbox: Sandbox, tmp_path: Path, faces: dict[str, Path]
) -> None:
    clock = Clock(tick=5.0)  # each reading of the clock is 5 s on: the grace passes in a few looks

    async def flow() -> list[ra.Asset]:
        async with _client(sandbox, tmp_path, clock=clock) as client:
            group = await verified_group(client)
            assets = [await client.upload_asset(group, faces[who]) for who in ("bob", "alice")]
            sandbox.state.settle()
            return await client.wait_active(assets, timeout=120)

    stranger, alice = asyncio.run(flow())
    assert (stranger.status, stranger.error_code, alice.status) == ("failed", NEVER_RESOLVED, "active")


# -- 5. local files go by URL; multipart only when chosen ---------------------------------------


def test_a_local_file_is_staged_and_sent_by_url(sandbox: Sandbox, tmp_path: Path, faces: dict[str, Path]) -> None:
    wire = Recording()

    async def flow() -> None:
        async with _client(sandbox, tmp_path, transport=wire) as client:
            await client.upload_asset(await verified_group(client), faces["alice"])

    asyncio.run(flow())
    assert wire.paths("/files") and wire.paths("/CreateAsset") == ["application/json"]


def test_multipart_is_an_explicit_choice_that_warns(
    sandbox: Sandbox, tmp_path: Path, faces: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    wire, clock = Recording(), Clock(tick=5.0)

    async def flow() -> ra.Asset:
        async with _client(sandbox, tmp_path, transport=wire, upload="multipart", clock=clock) as client:
            asset = await client.upload_asset(await verified_group(client), faces["alice"])
            sandbox.state.settle()
            [done] = await client.wait_active([asset], timeout=60)
            return done

    with caplog.at_level(logging.WARNING, logger="realavatar_nb"):
        asset = asyncio.run(flow())
    assert (asset.status, asset.error_code) == ("failed", NEVER_RESOLVED)  # as the live API was seen to do
    assert not wire.paths("/files")
    assert [kind.split(";")[0] for kind in wire.paths("/CreateAsset")] == ["multipart/form-data"]
    assert any("multipart" in r.getMessage() and "never" in r.getMessage() for r in caplog.records)


def test_real_anyfast_without_a_stager_says_to_stage_or_choose_multipart(
    sandbox: Sandbox, tmp_path: Path, faces: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REALAVATAR_PROVIDER", raising=False)
    wire = Recording()

    async def flow() -> None:
        client = ra.AsyncClient("anyfast", api_key="af-key", base_url=sandbox.base_url("anyfast"), transport=wire,
                                ledger=ra.Ledger(tmp_path / "l.sqlite3"))  # fmt: skip
        async with client:
            with pytest.raises(ra.ConfigurationError, match="stage=") as caught:
                await client.upload_asset("group-20260702221642-5czvq", faces["alice"])
            assert "upload='multipart'" in str(caught.value)

    asyncio.run(flow())
    assert not wire.paths("/CreateAsset")


def test_an_unknown_upload_choice_is_refused(sandbox: Sandbox, tmp_path: Path) -> None:
    with pytest.raises(ra.InvalidArgumentError, match="upload="):
        _client(sandbox, tmp_path, upload="form")
