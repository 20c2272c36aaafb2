"""The emulator refuses what the default profile refuses, with the same code: over real HTTP, on a loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from realavatar_nb.media.validate import validate
from realavatar_nb.samples import make_video
from realavatar_nb.simulator import Sandbox

P = "/crun/api/v1/client/job"
KEY = {"x-api-key": "crun-limits"}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(processing_seconds=0.0) as sb:
        yield sb


@pytest.fixture(scope="module")
def group(sandbox: Sandbox) -> str:
    with httpx.Client(base_url=sandbox.url, timeout=30) as http:
        body = {"callback_url": "https://app.example/cb"}
        session = http.post(f"{P}/visual-validate-session", json=body, headers=KEY)
        token = session.json()["data"]["BytedToken"]
        pressed = http.post(f"/h5/{token}", data={"outcome": "pass", "person": "alice"}, follow_redirects=False)
        assert pressed.status_code in (200, 303), pressed.text
        result = http.get(f"{P}/visual-validate-result", params={"byted_token": token}, headers=KEY)
        return str(result.json()["data"]["GroupId"])


def _judged(sandbox: Sandbox, group: str, clip: Path) -> dict[str, object]:
    """Host ``clip`` on the emulator, upload it as a Video asset by URL; return Crun's asset info once judged."""
    with httpx.Client(base_url=sandbox.url, timeout=30) as http:
        with open(clip, "rb") as fh:
            hosted = http.post("/files", files={"file": (clip.name, fh)}, headers=KEY)
        assert hosted.status_code == 201, hosted.text
        body = {"name": clip.stem, "asset_type": "Video", "asset_url": hosted.json()["url"], "group_id": group}
        created = http.post(f"{P}/asset-upload", json=body, headers=KEY)
        assert created.status_code == 200, created.text
        sandbox.app.state.sim.settle()
        info = http.get(f"{P}/asset-info", params={"asset_id": created.json()["data"]["AssetId"]}, headers=KEY)
        return info.json()["data"]


@pytest.mark.parametrize(
    ("width", "height", "code", "needs"),
    [(480, 640, "PixelCountTooSmall", "≥ 407,696 px"), (200, 360, "WidthTooSmall", "≥ 300 px"), (576, 720, None, "")],
    ids=["480x640", "200x360", "576x720"],
)
def test_a_clip_under_upstreams_frame_limits_fails_upstream_with_the_local_code(
    sandbox: Sandbox, group: str, tmp_path: Path, width: int, height: int, code: str | None, needs: str
) -> None:
    clip = make_video(tmp_path / f"clip-{width}x{height}.mp4", width=width, height=height, duration=2.5, person="alice")
    local = validate(clip)
    assert (local.problems[0] if local.problems else None) == code  # the emulator answers the first problem
    info = _judged(sandbox, group, clip)
    if code is None:
        assert info["Status"] == "Active" and "Error" not in info
    else:
        error = info["Error"]
        assert isinstance(error, dict)
        assert info["Status"] == "Failed" and error["Code"] == code
        assert needs in str(error["Message"])
