"""The emulator judges real faces with the local pre-check's detector; tags still decide for synthetic media.

Real photos from installed packages (matplotlib's Grace Hopper, scikit-image's astronaut Eileen
Collins), uploaded in Crun's dialect to the in-process app under a FakeClock.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from realavatar_nb.media.faces import detect
from realavatar_nb.samples import make_image
from realavatar_nb.simulator import SimConfig, State
from realavatar_nb.simulator.checks import check_file

from .conftest import FakeClock, host, press

needs_faces = pytest.mark.skipif(not detect.available(), reason=detect.unavailable_reason() or "")

P = "/crun/api/v1/client/job"
KEY = {"x-api-key": "crun-key-1"}


# -- media ---------------------------------------------------------------------------------------


def _portrait(img: Any, width: int, height: int) -> Any:
    """Return ``img`` scaled to ``width`` wide and centred on a grey ``width``×``height`` canvas."""
    from PIL import Image

    scaled = img.resize((width, round(img.height * width / img.width)), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (width, max(height, scaled.height)), (128, 128, 128))
    canvas.paste(scaled, (0, (canvas.height - scaled.height) // 2))
    return canvas


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real faces at portrait size (the profile wants sides ≥ 300 px), and synthetic media beside them."""
    import matplotlib.cbook
    from PIL import Image, ImageOps
    from skimage import data

    d = tmp_path_factory.mktemp("faces")
    hopper = Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)).convert("RGB")
    collins = Image.fromarray(data.astronaut()).convert("RGB")
    two = Image.new("RGB", (hopper.width + collins.width, hopper.height), (128, 128, 128))
    two.paste(hopper, (0, 0))
    two.paste(collins, (hopper.width, (hopper.height - collins.height) // 2))
    out = {
        "hopper": (_portrait(hopper, 600, 800), d / "hopper.jpg"),
        "hopper_flipped": (_portrait(ImageOps.mirror(hopper), 750, 1000), d / "hopper-flipped.jpg"),
        "collins": (_portrait(collins, 600, 800), d / "collins.jpg"),
        "two": (two, d / "two.jpg"),
    }
    for img, path in out.values():
        img.save(path, "JPEG", quality=92)
    files = {name: path for name, (_, path) in out.items()}
    files["bob"] = make_image(d / "bob.jpg", width=600, height=800, person="bob")
    files["alice"] = make_image(d / "alice.jpg", width=600, height=800, person="alice")
    files["plain"] = make_image(d / "plain.jpg", width=600, height=800)
    return files


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files the face scanner was asked to read."""
    seen: list[str] = []
    real = detect.scan

    def spy(path: Any, kind: str | None = None) -> detect.FaceScan:
        seen.append(Path(path).name)
        return real(path, kind)

    monkeypatch.setattr(detect, "scan", spy)
    return seen


# -- the emulator, in Crun's dialect -------------------------------------------------------------


def _group(http: TestClient, person: str = "alice") -> str:
    r = http.post(f"{P}/visual-validate-session", json={"callback_url": "https://app.example/cb"}, headers=KEY)
    token = r.json()["data"]["BytedToken"]
    press(http, token, person=person)
    r = http.get(f"{P}/visual-validate-result", params={"byted_token": token}, headers=KEY)
    return str(r.json()["data"]["GroupId"])


def _upload(http: TestClient, group: str, path: Path) -> str:
    body = {"name": path.stem, "asset_type": "Image", "asset_url": host(http, path), "group_id": group}
    r = http.post(f"{P}/asset-upload", json=body, headers=KEY)
    assert r.status_code == 200, r.text
    return str(r.json()["data"]["AssetId"])


def _outcome(http: TestClient, app: Starlette, clock: FakeClock, asset: str) -> tuple[str, str | None]:
    app.state.sim.settle()
    clock.advance(3)
    info = http.get(f"{P}/asset-info", params={"asset_id": asset}, headers=KEY).json()["data"]
    return info["Status"], (info.get("Error") or {}).get("Code")


def _uploaded(
    http: TestClient, app: Starlette, clock: FakeClock, group: str
) -> Callable[[Path], tuple[str, str | None]]:
    return lambda path: _outcome(http, app, clock, _upload(http, group, path))


# -- tests ---------------------------------------------------------------------------------------


@needs_faces
def test_real_faces_in_one_group_match_the_first_real_face(
    http: TestClient, app: Starlette, clock: FakeClock, photos: dict[str, Path], scans: list[str]
) -> None:
    group = _group(http)
    upload = _uploaded(http, app, clock, group)
    assert upload(photos["hopper"]) == ("Active", None)
    reference = app.state.sim.groups[group].face
    assert reference is not None and len(reference) == 128  # Hopper, the first real face, is the reference
    assert upload(photos["hopper_flipped"]) == ("Active", None)
    assert upload(photos["collins"]) == ("Failed", "FaceMismatch")
    assert upload(photos["two"]) == ("Failed", "MultipleFaces")
    assert app.state.sim.groups[group].face == reference  # later faces never replace it
    assert scans == ["hopper.jpg", "hopper-flipped.jpg", "collins.jpg", "two.jpg"]


@needs_faces
def test_a_tagged_synthetic_file_is_judged_by_its_tag_not_scanned(
    http: TestClient, app: Starlette, clock: FakeClock, photos: dict[str, Path], scans: list[str]
) -> None:
    group = _group(http, person="alice")
    upload = _uploaded(http, app, clock, group)
    assert upload(photos["bob"]) == ("Failed", "FaceMismatch")
    assert upload(photos["hopper"]) == ("Active", None)
    # With a real reference face (Hopper) in the group, alice's tag still lets her drawing pass.
    assert upload(photos["alice"]) == ("Active", None)
    assert scans == ["hopper.jpg"]


@needs_faces
def test_an_untagged_synthetic_image_without_a_face_still_passes(
    http: TestClient, app: Starlette, clock: FakeClock, photos: dict[str, Path], scans: list[str]
) -> None:
    group = _group(http)
    assert _uploaded(http, app, clock, group)(photos["plain"]) == ("Active", None)
    assert scans == ["plain.jpg"]  # it was scanned, found faceless, and passed
    assert app.state.sim.groups[group].face is None  # a faceless file sets no reference


def test_without_the_faces_extra_a_real_face_passes_unchecked_as_before(
    http: TestClient,
    app: Starlette,
    clock: FakeClock,
    photos: dict[str, Path],
    scans: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(detect, "available", lambda: False)
    group = _group(http)
    upload = _uploaded(http, app, clock, group)
    assert upload(photos["hopper"]) == ("Active", None)
    assert upload(photos["collins"]) == ("Active", None)
    assert scans == [] and app.state.sim.groups[group].face is None


@needs_faces
def test_two_first_faces_checked_at_once_cannot_both_become_the_reference(
    http: TestClient, app: Starlette, clock: FakeClock, photos: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both scans finish together before either claims the group's face: the worst case for a race.
    together = threading.Barrier(2, timeout=30)
    real = detect.scan

    def in_step(path: Any, kind: str | None = None) -> detect.FaceScan:
        found = real(path, kind)
        together.wait()
        return found

    monkeypatch.setattr(detect, "scan", in_step)
    group = _group(http)
    both = [_upload(http, group, photos["hopper"]), _upload(http, group, photos["collins"])]
    outcomes = sorted(_outcome(http, app, clock, asset) for asset in both)
    assert outcomes == [("Active", None), ("Failed", "FaceMismatch")]  # one became the reference, the other met it


@needs_faces
def test_the_group_face_survives_a_restart(tmp_path: Path, clock: FakeClock, photos: dict[str, Path]) -> None:
    def fetch(url: str) -> tuple[str, str]:
        return url, hashlib.sha256(Path(url).read_bytes()).hexdigest()

    def started() -> State:
        config = SimConfig(processing_seconds=3, persist=str(tmp_path / "sandbox.sqlite3"))
        return State(config, clock=clock, fetch=fetch, check=check_file)

    def outcome(state: State, group: str, path: Path) -> tuple[str, str | None]:
        asset = state.create_asset("acct", group_id=group, url=str(path), asset_type="Image")
        state.settle()
        clock.advance(3)
        done = state.asset("acct", asset.id)
        return done.status, done.error_code

    first = started()
    session = first.create_session("acct")
    first.complete(session.token, passed=True, person="alice")
    group = str(first.result("acct", session.token).group_id)
    assert outcome(first, group, photos["hopper"]) == ("Active", None)
    reference = first.groups[group].face
    first.close()

    second = started()
    try:
        assert second.groups[group].face == reference and isinstance(reference, tuple)
        assert outcome(second, group, photos["collins"]) == ("Failed", "FaceMismatch")
    finally:
        second.close()


@needs_faces
def test_check_file_called_as_before_counts_real_faces_but_compares_none(photos: dict[str, Path]) -> None:
    # Callers that pass no group face (the four-argument call) still get the multiple-faces rule.
    assert check_file(str(photos["collins"]), "Image", "alice", "seedance-2.0") == (None, None)
    assert check_file(str(photos["two"]), "Image", "alice", "seedance-2.0")[0] == "MultipleFaces"
