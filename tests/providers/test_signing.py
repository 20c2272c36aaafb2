"""Our HMAC-SHA256 signer against the official SDKs' ``SignerV4`` (BytePlus and Volcengine): byte for byte."""

from __future__ import annotations

import datetime as real_datetime
import json
import types

import httpx
import pytest
from byteplussdkcore import signv4 as byteplus_signv4
from volcenginesdkcore import signv4 as volcengine_signv4

from realavatar_nb._config import Secret
from realavatar_nb.providers.signing import AccessKey, canonical_query, parse_authorization, sign, signature

from .conftest import frozen

NOW = real_datetime.datetime(2026, 12, 3, 9, 5, 7, tzinfo=real_datetime.UTC)
AK, SK, STS = "AKLTZmFrZWFjY2Vzc2tleQ", "c2VjcmV0LWtleS1mb3ItdGVzdHM=", "STSeyJ0b2tlbiI6InRlbXAifQ=="

BODIES = [
    "",
    json.dumps({"GroupId": "group-20260318033332-7vw4m", "Name": "alice-01"}),
    json.dumps({"Name": "名前 ✓", "URL": "https://example.com/a b.jpg?x=1&y=~"}, ensure_ascii=False),
    json.dumps({"Filter": {"GroupIds": ["g1", "g2"]}, "PageSize": 100, "PageNumber": 2, "Blob": "x" * 70_000}),
]
QUERIES = [
    [("Action", "CreateVisualValidateSession"), ("Version", "2024-01-01")],
    [("Version", "2024-01-01"), ("Action", "ListAssets"), ("ProjectName", "default project/ü"), ("a~b", "c*d")],
]
HOSTS = [("https", "open.byteplusapi.com", "ap-southeast-1"), ("http", "127.0.0.1:8765", "cn-beijing"),
         ("https", "ark.cn-beijing.volcengineapi.com:443", "cn-beijing")]  # fmt: skip


def _sdk_signed(module: types.ModuleType, host: str, region: str, query: list[tuple[str, str]], body: str,
                token: str | None) -> dict[str, str]:  # fmt: skip
    headers = {"Host": host, "Content-Type": "application/json"}
    module.SignerV4.sign("/", "POST", headers, body, [], query, AK, SK, region, "ark", token)
    return headers


@pytest.mark.parametrize("module", [byteplus_signv4, volcengine_signv4], ids=["byteplus", "volcengine"])
@pytest.mark.parametrize("body", BODIES, ids=[f"body{n}" for n in range(len(BODIES))])
@pytest.mark.parametrize("query", QUERIES, ids=["action", "odd-query"])
@pytest.mark.parametrize("sts", [False, True], ids=["ak", "sts"])
@pytest.mark.parametrize(("scheme", "host", "region"), HOSTS, ids=["byteplus-host", "port", "port-443"])
def test_the_authorization_header_is_the_official_signers_byte_for_byte(
    monkeypatch: pytest.MonkeyPatch, module: types.ModuleType, body: str, query: list[tuple[str, str]], sts: bool,
    scheme: str, host: str, region: str,
) -> None:  # fmt: skip
    frozen(module, monkeypatch, NOW)
    sdk = _sdk_signed(module, host, region, query, body, STS if sts else None)
    request = httpx.Request("POST", httpx.URL(f"{scheme}://{host}/", params=query), content=body.encode(),
                            headers={"Content-Type": "application/json"})  # fmt: skip
    ours = sign(request, AccessKey(AK, Secret(SK), Secret(STS) if sts else None), region=region, service="ark", now=NOW)
    assert ours.headers["Authorization"] == sdk["Authorization"]
    assert ours.headers["X-Date"] == sdk["X-Date"] == "20261203T090507Z"
    assert ours.headers["X-Content-Sha256"] == sdk["X-Content-Sha256"]
    assert ours.headers.get("X-Security-Token") == sdk.get("X-Security-Token")


def test_the_sdks_own_signed_headers_verify_with_the_header_list_they_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the emulator does: take SignedHeaders from the header, whatever the client chose to sign."""
    frozen(byteplus_signv4, monkeypatch, NOW)
    headers = {"Host": "127.0.0.1:9000", "Content-Type": "application/json", "X-Sdk-Invocation-Id": "abc-123",
               "X-Sdk-Request": "attempt=1; max=3"}  # fmt: skip
    body = json.dumps({"GroupId": "g"})
    query = [("Action", "GetAsset"), ("Version", "2024-01-01")]
    byteplus_signv4.SignerV4.sign("/", "POST", headers, body, [], query, AK, SK, "ap-southeast-1", "ark", None)
    parsed = parse_authorization(headers["Authorization"])
    assert parsed is not None and "x-sdk-request" in parsed.signed_headers
    mine = signature("POST", "/", query, headers, parsed.signed_headers, secret=Secret(SK), stamp=headers["X-Date"],
                     region=parsed.region, service=parsed.service)  # fmt: skip
    assert mine == parsed.signature
    wrong = signature("POST", "/", query, headers, parsed.signed_headers, secret=Secret(SK + "x"),
                      stamp=headers["X-Date"], region=parsed.region, service=parsed.service)  # fmt: skip
    assert wrong != parsed.signature


def test_the_canonical_query_matches_the_sdks_for_characters_that_need_encoding() -> None:
    query = {"Action": "ListAssets", "Name": "a b+c/ü~*", "Empty": ""}
    assert canonical_query(query.items()) == byteplus_signv4.SignerV4.canonical_query(query)


def test_an_authorization_header_that_is_not_ours_is_not_parsed() -> None:
    assert parse_authorization("Bearer abc") is None
    assert (
        parse_authorization("HMAC-SHA256 Credential=AK/20261203/r/ark/aws4_request, SignedHeaders=h, Signature=s")
        is None
    )
    assert parse_authorization("HMAC-SHA256 Credential=AK/20261203/r/ark/request") is None


def test_a_key_never_shows_its_secret() -> None:
    key = AccessKey(AK, Secret(SK), Secret(STS))
    assert SK not in repr(key) and STS not in repr(key) and AK not in repr(key)
