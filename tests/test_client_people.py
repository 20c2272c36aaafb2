"""The client keeps each person apart and out of sight: erasure, masked secrets, one group per person."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

import realavatar_nb as ra
from realavatar_nb.samples import make_image
from realavatar_nb.simulator import Sandbox
from tests import client_flow
from tests.client_flow import client_on as _client
from tests.client_flow import verified_group as _verified

sandbox = client_flow.sandbox  # the emulator fixture, shared with the other flow tests

KEY = "rk-RECOGNISABLE-KEY-0123456789abcdef"


@pytest.mark.parametrize("dialect", ["easyrouter", "crun"])
def test_erase_person_deletes_upstream_where_allowed_and_purges_the_ledger(
    sandbox: Sandbox, tmp_path: Path, dialect: str
) -> None:
    image = make_image(tmp_path / "a.jpg", width=400, height=500)

    async def flow() -> dict[str, object]:
        async with _client(sandbox, dialect, tmp_path / "l.sqlite3") as client:
            group = await _verified(client)
            await client.wait_active([await client.upload_asset(group, image)])
            report = await client.erase_person("alice")
            assert client.ledger.group_for(client.ledger_name, "alice") is None
            assert client.ledger.consent("alice") is None
            report["group"] = group
            return report

    report = asyncio.run(flow())
    if dialect == "easyrouter":
        assert (report["deleted_groups"], report["not_deleted"]) == (1, [])
        assert report["group"] not in sandbox.state.groups
    else:
        kept = dict(report["not_deleted"])  # type: ignore[arg-type]
        assert report["group"] in kept and "console" in kept[report["group"]]  # type: ignore[index]
        assert report["deleted_assets"] == 0


def test_a_recognisable_key_and_the_tokens_show_nowhere(
    sandbox: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    image = make_image(tmp_path / "a.jpg", width=400, height=500)
    shown: list[str] = []

    async def flow() -> None:
        async with _client(sandbox, "crun", tmp_path / "l.sqlite3", api_key=KEY) as client:
            session = await client.create_verification(person="alice", consent=ra.Consent("Alice", "tests"))
            token = session.byted_token.reveal()
            group = (await client.wait_verified(session, timeout=30)).group_id
            assert group
            asset = (await client.wait_active([await client.upload_asset(group, image)]))[0]
            shown.extend([repr(client), repr(session), str(session), repr(asset), session._repr_html_(), token])
            for kind in ("sessions", "groups", "assets", "jobs", "consents"):
                shown.append(client.ledger.frame(kind).to_string())
            try:
                await client.get_asset("asset-does-not-exist")
            except ra.NotFoundError as exc:
                shown.append(str(exc) + repr(exc))

    with caplog.at_level(logging.DEBUG):
        asyncio.run(flow())
    token = shown.pop(5)
    ledger_bytes = b"".join(p.read_bytes() for p in tmp_path.glob("l.sqlite3*"))
    for text in [*shown, caplog.text]:
        assert KEY not in text and token not in text
    assert KEY.encode() not in ledger_bytes and token.encode() not in ledger_bytes
    assert "byted_token=**********" in caplog.text  # the log line is there, masked


def test_a_group_verified_for_one_person_is_refused_for_another(sandbox: Sandbox, tmp_path: Path) -> None:
    image = make_image(tmp_path / "b.jpg", width=400, height=500)

    async def flow() -> None:
        async with _client(sandbox, "toapis", tmp_path / "l.sqlite3") as client:
            group = await _verified(client)  # alice's
            with pytest.raises(ra.PersonMismatchError, match="alice"):
                await client.upload_asset(group, image, person="bob")
            assert (await client.upload_asset(group, image, person="alice")).status == "processing"

    asyncio.run(flow())
