"""Seedance 2.x generation inputs over real HTTP, in every dialect's wire shape: upstream's refusals, one rule set.

Each refusal carries upstream's code and names ``content[N]`` (text first, then the references),
relayed by each reseller inside its own error shape (``generation_wire.refusal``).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from realavatar_nb.samples import make_image, make_video
from realavatar_nb.simulator import Sandbox

from .conftest import FakeClock
from .generation_wire import DIALECTS, Ref, Wire, refusal

PRIVACY_IMAGE = "InputImageSensitiveContentDetected.PrivacyInformation"
PRIVACY_VIDEO = "InputVideoSensitiveContentDetected.PrivacyInformation"
RESELLERS = ("toapis", "apimart", "easyrouter", "anyfast")  # the ones with first/last frames beside references


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("generation-inputs")
    return {
        "face": make_image(d / "alice.png", width=600, height=800, person="alice"),
        "plain": make_image(d / "plain.png", width=600, height=800),
        "face_clip": make_video(d / "alice.mp4", width=640, height=720, duration=2.5, fps=24, person="alice"),
        "short_clip": make_video(d / "short.mp4", width=640, height=720, duration=1.0, fps=24),
        "small_clip": make_video(d / "small.mp4", width=320, height=400, duration=2.5, fps=24),
    }


@pytest.fixture(scope="module")
def wire(files: dict[str, Path]) -> Iterator[Wire]:
    with Sandbox(processing_seconds=0.0, job_seconds=8.0) as sb:
        sb.state.clock = FakeClock()  # no job here ever finishes: nothing renders for long
        w = Wire(sb)
        w.urls = {name: w.host(path.read_bytes(), path.name) for name, path in files.items()}  # type: ignore[attr-defined]
        try:
            yield w
        finally:
            w.close()


def url(wire: Wire, name: str) -> str:
    return str(wire.urls[name])  # type: ignore[attr-defined]


def refused(wire: Wire, dialect: str, refs: Sequence[Ref], **opts: Any) -> tuple[str, str]:
    status, code, message = refusal(dialect, wire.submit(dialect, refs, **opts))
    assert status == (422 if dialect == "crun" else 400), (code, message)
    return code, message


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_plain_image_of_a_real_person_is_refused_in_every_dialect(wire: Wire, dialect: str) -> None:
    code, message = refused(wire, dialect, [("image", url(wire, "face"), "reference_image")])
    assert (code, message) == (PRIVACY_IMAGE, "input image 'content[1]' may contain real person")


@pytest.mark.parametrize("dialect", ["byteplus", "toapis", "crun"])
def test_a_plain_video_of_a_real_person_is_refused_naming_its_place(wire: Wire, dialect: str) -> None:
    refs = [("image", url(wire, "plain"), "reference_image"), ("video", url(wire, "face_clip"), "reference_video")]
    code, message = refused(wire, dialect, refs)
    assert (code, message) == (PRIVACY_VIDEO, "input video 'content[2]' may contain real person")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_ten_images_are_one_too_many_for_the_2_0_family(wire: Wire, dialect: str) -> None:
    code, message = refused(wire, dialect, [("image", url(wire, "plain"), "reference_image")] * 10)
    assert code == "InvalidParameter" and "content[10]" in message and "at most 9" in message


@pytest.mark.parametrize("dialect", ["volcengine", "toapis", "crun"])
def test_four_audios_or_thirteen_references_are_too_many_for_the_2_0_family(wire: Wire, dialect: str) -> None:
    picture = ("image", url(wire, "plain"), "reference_image")
    voice = ("audio", "https://example.com/voice.wav", "reference_audio")  # counted before anything is fetched
    code, message = refused(wire, dialect, [picture, *[voice] * 4])
    assert code == "InvalidParameter" and "content[5]" in message and "at most 3 audio" in message
    clip = ("video", "https://example.com/clip.mp4", "reference_video")
    code, message = refused(wire, dialect, [*[picture] * 9, *[clip] * 3, voice])
    assert code == "InvalidParameter" and "content[13]" in message and "at most 12 references" in message


def test_reference_audios_longer_than_15_s_in_all_are_refused_naming_the_audio(wire: Wire) -> None:
    picture = ("image", url(wire, "plain"), "reference_image")
    voice = ("audio", wire.host(_wav(8), "eight.wav"), "reference_audio")
    code, message = refused(wire, "apimart", [picture, voice, voice])
    assert code == "InvalidParameter" and message.startswith("content[3]:") and "at most 15 s" in message


@pytest.mark.parametrize("dialect", ["byteplus", *RESELLERS])
def test_first_frames_mixed_with_references_are_refused(wire: Wire, dialect: str) -> None:
    refs = [("image", url(wire, "plain"), "first_frame"), ("image", url(wire, "plain"), "reference_image")]
    code, message = refused(wire, dialect, refs)
    assert code == "InvalidParameter" and message.startswith("content[2]: First/last-frame")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_an_asset_that_is_not_active_or_not_owned_is_refused_naming_its_place(wire: Wire, dialect: str) -> None:
    code, message = refused(wire, dialect, [("image", "asset://asset-20260101000000-nope0", "reference_image")])
    assert code == "InvalidParameter" and message.startswith("content[1]: asset ")
    assert "not found or not active" in message


def test_audio_alone_is_refused_on_2_0_and_taken_by_2_5(wire: Wire, files: dict[str, Path]) -> None:
    audio = wire.host(_wav(), "voice.wav")
    code, message = refused(wire, "byteplus", [("audio", audio, "reference_audio")])
    assert code == "InvalidParameter" and "image or a video" in message
    taken = wire.submit("byteplus", [("audio", audio, "reference_audio")], model="dreamina-seedance-2-5-260628")
    assert taken.status_code == 200, taken.text


def test_seedance_2_5_cannot_read_an_asset_reference(wire: Wire) -> None:
    refs = [("image", "asset://asset-20260101000000-abcde", "reference_image")]
    code, message = refused(wire, "byteplus", refs, model="dreamina-seedance-2-5-260628")
    assert code == "InvalidParameter" and message.startswith("content[1]:") and "asset://" in message


def test_reference_videos_outside_the_limits_are_refused_naming_the_video(wire: Wire) -> None:
    image = ("image", url(wire, "plain"), "reference_image")
    code, message = refused(wire, "byteplus", [image, ("video", url(wire, "short_clip"), "reference_video")])
    assert code == "InvalidParameter" and message.startswith("content[2]:") and "2 to 15 s" in message
    code, message = refused(wire, "easyrouter", [image, ("video", url(wire, "small_clip"), "reference_video")])
    assert code == "InvalidParameter" and message.startswith("content[2]:") and "pixels" in message


def test_base64_images_are_taken_by_ark_native_bodies_only(wire: Wire, files: dict[str, Path]) -> None:
    plain = "data:image/png;base64," + base64.b64encode(files["plain"].read_bytes()).decode()
    face = "data:image/png;base64," + base64.b64encode(files["face"].read_bytes()).decode()
    for dialect in ("byteplus", "anyfast"):
        assert wire.submit(dialect, [("image", plain, "first_frame")]).status_code == 200
        assert refused(wire, dialect, [("image", face, "first_frame")])[0] == PRIVACY_IMAGE
    code, message = refused(wire, "toapis", [("image", plain, "first_frame")])
    assert code == "InvalidParameter" and "content[1] must be an asset:// or http(s) URL" in message


@pytest.mark.parametrize(
    ("dialect", "model"),
    [("byteplus", "dreamina-seedance-2-0-mini-260615"), ("byteplus", "dreamina-seedance-2-5-260628"),
     ("volcengine", "doubao-seedance-2-0-mini-260615")],
)  # fmt: skip
def test_the_mini_and_2_5_models_are_served_with_their_own_resolutions(wire: Wire, dialect: str, model: str) -> None:
    refs = [("image", url(wire, "plain"), "reference_image")]
    assert wire.submit(dialect, refs, model=model, duration=-1, ratio="adaptive", seed=7).status_code == 200
    code, message = refused(wire, dialect, refs, model=model, resolution="4k")
    assert code == "InvalidParameter" and "resolution" in message


def test_a_fast_model_refuses_1080p_and_2_0_takes_4k(wire: Wire) -> None:
    refs = [("image", url(wire, "plain"), "reference_image")]
    assert refused(wire, "toapis", refs, model="doubao-seedance-2-0-fast", resolution="1080p")[0] == "invalid_parameter"
    created = wire.submit("byteplus", refs, resolution="4k", service_tier="flex", watermark=True, camera_fixed=True,
                          callback_url="https://example.com/hook", execution_expires_after=3600)  # fmt: skip
    assert created.status_code == 200, created.text


def _wav(seconds: int = 3) -> bytes:
    """Return a mono 16-bit WAV tone (no person tag: audio is not moderated for faces)."""
    import io
    import wave

    import numpy as np

    t = np.arange(seconds * 16000) / 16000
    pcm = (0.3 * np.sin(2 * np.pi * 300 * t) * 32767).astype("<i2").tobytes()
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(pcm)
    return out.getvalue()
