"""Bad arguments to the client get one line naming the argument and what it takes, before anything is sent."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

import realavatar_nb as ra


@pytest.fixture
def sent() -> list[httpx.Request]:
    return []


@pytest.fixture
def client(tmp_path: Path, sent: list[httpx.Request]) -> Iterator[ra.AsyncClient]:
    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(500)

    yield ra.AsyncClient("crun", api_key="k", transport=httpx.MockTransport(record),
                         ledger=ra.Ledger(tmp_path / "l.sqlite3"))  # fmt: skip


def _refusal(call: Any) -> str:
    with pytest.raises(ra.InvalidArgumentError) as caught:
        asyncio.run(call)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_folder_string_is_not_uploaded_character_by_character(client: ra.AsyncClient, sent: list[Any]) -> None:
    message = _refusal(client.upload_assets("group-1", "some/folder"))
    assert "sources='some/folder'" in message and "validate_folder" in message
    assert sent == []


def test_a_report_without_its_ok_column_is_named(client: ra.AsyncClient, sent: list[Any]) -> None:
    message = _refusal(client.upload_assets("group-1", pd.DataFrame({"path": ["a.jpg"]})))
    assert "no ok column" in message
    assert sent == []


@pytest.mark.parametrize("person", ["", "   ", 42])
def test_an_empty_or_odd_person_cannot_skip_the_consent_gate(
    client: ra.AsyncClient, sent: list[Any], person: Any
) -> None:
    assert "person=" in _refusal(client.create_verification(person=person))
    assert sent == []


def test_a_consent_without_who_or_what_for_is_no_consent() -> None:
    with pytest.raises(ra.InvalidArgumentError, match="given_by"):
        ra.Consent(None, None)  # type: ignore[arg-type]


def test_a_consent_that_is_not_a_consent_is_refused(client: ra.AsyncClient, sent: list[Any]) -> None:
    assert "consent=" in _refusal(client.create_verification(person="alice", consent="yes"))  # type: ignore[arg-type]
    assert sent == []


@pytest.mark.parametrize("asset_id", ["", "asset://", None, 7])
def test_an_empty_asset_id_is_refused_before_any_request(
    client: ra.AsyncClient, sent: list[Any], asset_id: Any
) -> None:
    assert "asset_id=" in _refusal(client.get_asset(asset_id))
    assert "asset_id=" in _refusal(client.delete_asset(asset_id))
    assert sent == []


@pytest.mark.parametrize("source", [None, 12, b"a.jpg", "no/such/file.jpg", "a\0b.jpg"])
def test_an_upload_source_that_is_not_a_file_or_url_is_named(
    client: ra.AsyncClient, sent: list[Any], source: Any
) -> None:
    assert "source=" in _refusal(client.upload_asset("group-1", source))
    assert sent == []


@pytest.mark.parametrize("interval", [0, -1, float("nan"), "3"])
def test_a_poll_interval_must_be_positive_seconds(tmp_path: Path, interval: Any) -> None:
    with pytest.raises(ra.InvalidArgumentError, match="poll_interval="):
        ra.AsyncClient("crun", api_key="k", ledger=ra.Ledger(tmp_path / "l.sqlite3"), poll_interval=interval)


def test_resolving_an_upload_that_is_not_unknown_says_there_is_nothing_to_settle(
    client: ra.AsyncClient, tmp_path: Path, sent: list[Any]
) -> None:
    photo = tmp_path / "a.jpg"
    ra.samples.make_image(photo, width=400, height=500)
    assert "nothing to settle" in _refusal(client.resolve_upload("group-1", photo, asset_id=None))
    assert sent == []
