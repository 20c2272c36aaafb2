"""The client's whole flow against upstream's documented payloads on a MockTransport, the signature judged by the SDK.

The fake upstream below answers with the shapes of reference/upstream.md (the official samples' envelopes,
Ark's task body) and behaves as the live reports say a LivenessFace group does: GetAsset does not find
its assets, ListAssets filtered by the group does. Every signed request is checked by re-signing it
with the official BytePlus ``SignerV4`` at the request's own ``X-Date``; generation must carry the Ark
key as a Bearer token and never the access key.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from byteplussdkcore import signv4

import realavatar_nb as ra
from realavatar_nb._config import Secret, Settings
from realavatar_nb.samples import make_video

from .providers.conftest import frozen

AK, SK, ARK_KEY = "AKAPdocumentedexample", "c2VjcmV0", "ark-4f1c-example"
TOKEN = "20260331171630CA67F03F8F85ABCDEF1234"
GROUP, ASSET, TASK = "group-20260318033332-7vw4m", "asset-20260318035710-kctzf", "cgt-20260401120000-abcde"
VIDEO_URL = "https://ark-content-ap-southeast-1.example/videos/cgt.mp4?X-Tos-Expires=86400"
META = {"RequestId": "20260521162915DFB89755D1A21AAE8036", "Version": "2024-01-01", "Service": "ark",
        "Region": "ap-southeast-1"}  # fmt: skip


class DocumentedUpstream:
    """BytePlus as its documents and the live reports describe it, for one account."""

    def __init__(self, video: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
        self.video = video
        self.monkeypatch = monkeypatch
        self.actions: list[str] = []
        self.deleted: list[str] = []
        self.polls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "open.byteplusapi.com":
            return self.control(request)
        if request.url.host == "ark.ap-southeast.bytepluses.com":
            assert request.headers["authorization"] == f"Bearer {ARK_KEY}", "generation takes the Ark key"
            return self.tasks(request)
        assert str(request.url) == VIDEO_URL and "authorization" not in request.headers
        return httpx.Response(200, content=self.video, headers={"content-type": "video/mp4"})

    def signed_by_the_sdk(self, request: httpx.Request) -> None:
        stamp = request.headers["x-date"]
        frozen(signv4, self.monkeypatch, datetime.strptime(stamp, "%Y%m%dT%H%M%SZ"))
        headers = {"Host": request.headers["host"], "Content-Type": request.headers["content-type"]}
        signv4.SignerV4.sign("/", "POST", headers, request.content.decode(), [], list(request.url.params.multi_items()),
                             AK, SK, "ap-southeast-1", "ark", None)  # fmt: skip
        assert request.headers["authorization"] == headers["Authorization"]

    def control(self, request: httpx.Request) -> httpx.Response:
        self.signed_by_the_sdk(request)
        action, body = request.url.params["Action"], json.loads(request.content)
        self.actions.append(action)
        result: dict[str, Any]
        if action == "CreateVisualValidateSession":
            assert body["CallbackURL"].startswith("https://")
            link = f"https://h5-v2.kych5.com?accessKeyId=AKTP1\u0026configId=c1\u0026bytedToken={TOKEN}\u0026lng=zh"
            result = {"BytedToken": TOKEN, "H5Link": link, "CallbackURL": body["CallbackURL"]}
        elif action == "GetVisualValidateResult":
            self.polls += 1
            result = {"GroupId": GROUP if self.polls > 1 else ""}  # the person finishes on the second look
        elif action == "CreateAsset":
            assert body["GroupId"] == GROUP and body["AssetType"] == "Image"
            result = {"Id": ASSET}
        elif action == "GetAsset":  # reported: a LivenessFace group's assets are not found this way
            return self.refused(404, "NotFound.asset_id", f"The specified asset {body['Id']} is not found.")
        elif action == "ListAssets":
            assert body["Filter"]["GroupIds"] == [GROUP]
            items = [] if GROUP in self.deleted else [self.asset()]
            result = {"Items": items, "TotalCount": len(items), "PageNumber": 1, "PageSize": 100}
        elif action in ("DeleteAsset", "DeleteAssetGroup"):
            self.deleted.append(body["Id"])
            result = {}
        else:
            return self.refused(404, "InvalidAction", f"unknown action {action}")
        return httpx.Response(200, json={"ResponseMetadata": {**META, "Action": action}, "Result": result})

    def asset(self) -> dict[str, Any]:
        return {"Id": ASSET, "Name": "alice", "URL": "https://ark-media-asset.example/a.jpg?X-Tos-Expires=43200",
                "AssetType": "Image", "GroupId": GROUP, "Status": "Active", "ProjectName": "default",
                "CreateTime": "2026-03-18T03:57:10Z", "UpdateTime": "2026-03-18T03:57:14Z"}  # fmt: skip

    def refused(self, status: int, code: str, message: str) -> httpx.Response:
        return httpx.Response(status, json={"ResponseMetadata": {**META, "Error": {"Code": code, "Message": message}}})

    def tasks(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            body = json.loads(request.content)
            assert body["content"][1] == {"type": "image_url", "image_url": {"url": f"asset://{ASSET}"},
                                          "role": "reference_image"}  # fmt: skip
            return httpx.Response(200, json={"id": TASK})
        return httpx.Response(200, json={
            "id": TASK, "model": "dreamina-seedance-2-0-260128", "status": "succeeded", "error": None,
            "created_at": 1775000000, "updated_at": 1775000060, "content": {"video_url": VIDEO_URL},
            "usage": {"completion_tokens": 108872, "total_tokens": 108872}, "seed": 7, "resolution": "480p",
            "ratio": "9:16", "duration": 4, "framespersecond": 24,
        })  # fmt: skip


def test_verify_upload_generate_download_and_erase_against_documented_upstream_payloads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    video = make_video(tmp_path / "clip.mp4", width=320, height=400, duration=1.0, fps=24, person="alice")
    upstream = DocumentedUpstream(video.read_bytes(), monkeypatch)
    settings = Settings(provider="byteplus", access_key_id=AK, secret_key=Secret(SK), api_key=Secret(ARK_KEY))

    async def flow() -> dict[str, Any]:
        client = ra.AsyncClient(settings=settings, transport=httpx.MockTransport(upstream),
                                ledger=ra.Ledger(tmp_path / "ledger.sqlite3"), poll_interval=0.01)  # fmt: skip
        async with client:
            session = await client.create_verification(person="alice", consent=ra.Consent("Alice", "documented"))
            assert (await client.wait_verified(session, timeout=10)).group_id == GROUP
            asset = await client.upload_asset(GROUP, "https://files.example/alice.jpg", person="alice")
            (active,) = await client.wait_active([asset], timeout=10)
            assert active.status == "active"
            job = await client.wait_job(await client.generate("Image 1 smiles", [active], duration=4,
                                                              ratio="9:16", resolution="480p"), timeout=10)  # fmt: skip
            saved = await client.download(job, tmp_path / "out" / "alice.mp4")
            assert saved.read_bytes() == upstream.video
            return await client.erase_person("alice")

    erased = asyncio.run(flow())
    # Deleting the group deletes its assets upstream (reference/upstream.md §3.7): one call erases the person.
    assert upstream.deleted == [GROUP] and erased["not_deleted"] == []
    # The asset went Active though GetAsset never finds it: it was read through the group's list.
    assert "ListAssets" in upstream.actions
