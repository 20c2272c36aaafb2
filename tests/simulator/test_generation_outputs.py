"""What a Seedance 2.x job gives back, over real HTTP in each dialect: sound, last frame, usage, expiry, cancel.

Time is the sandbox state's injected clock: a job finishes, or expires, when the test moves it.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from realavatar_nb.media.probe import probe
from realavatar_nb.samples import make_audio, make_image, make_video
from realavatar_nb.simulator import Sandbox

from .conftest import FakeClock
from .generation_wire import ARK_TASKS, DIALECTS, Wire

JOB_SECONDS = 8.0
FAILED = {"toapis": "failed", "apimart": "failed", "crun": "failed", "easyrouter": "failed", "anyfast": "FAILURE"}
SUCCEEDED = {"byteplus": "succeeded", "volcengine": "succeeded", "toapis": "completed", "apimart": "completed",
             "crun": "success", "easyrouter": "completed", "anyfast": "SUCCESS"}  # fmt: skip
SHORT = {"toapis", "apimart", "crun"}  # the dialects that take 1 s clips; the others start at 4 s


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("generation-outputs")
    return {
        "plain": make_image(d / "plain.png", width=600, height=800),
        "clip": make_video(d / "clip.mp4", width=640, height=720, duration=2.5, fps=24),
        "voice": make_audio(d / "voice.wav", duration=3.0),
    }


@pytest.fixture(scope="module")
def sandbox() -> Iterator[tuple[Sandbox, FakeClock]]:
    with Sandbox(processing_seconds=0.0, job_seconds=JOB_SECONDS) as sb:
        clock = FakeClock()
        sb.state.clock = clock
        yield sb, clock


@pytest.fixture(scope="module")
def hosted(sandbox: tuple[Sandbox, FakeClock], files: dict[str, Path]) -> Iterator[Wire]:
    w = Wire(sandbox[0])
    w.urls = {name: w.host(path.read_bytes(), path.name) for name, path in files.items()}  # type: ignore[attr-defined]
    yield w
    w.close()


@pytest.fixture
def wire(hosted: Wire, sandbox: tuple[Sandbox, FakeClock]) -> Iterator[Wire]:
    yield hosted
    sandbox[0].state.config.job_seconds = JOB_SECONDS


def finish(sandbox: tuple[Sandbox, FakeClock]) -> None:
    sandbox[1].advance(JOB_SECONDS)
    sandbox[0].state.settle()


def image(wire: Wire) -> tuple[str, str, str]:
    return ("image", wire.urls["plain"], "reference_image")  # type: ignore[attr-defined]


def streams(wire: Wire, video_url: str) -> list[str]:
    r = wire.http.get(video_url)
    assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
    with av.open(io.BytesIO(r.content)) as container:
        return [s.type for s in container.streams]


def pitch(data: bytes | str) -> float:
    """Return the dominant frequency (Hz) of a file's first audio stream."""
    with av.open(io.BytesIO(data) if isinstance(data, bytes) else data, mode="r") as container:
        stream = container.streams.audio[0]
        pcm = np.concatenate([f.to_ndarray().mean(axis=0) for f in container.decode(stream)])
        rate = stream.rate
    spectrum = np.abs(np.fft.rfft(pcm))
    return float(np.argmax(spectrum) * rate / pcm.size)


def test_generate_audio_gives_the_mp4_an_aac_track_and_false_gives_none(
    wire: Wire, sandbox: tuple[Sandbox, FakeClock]
) -> None:
    sounding = wire.task_id("toapis", wire.submit("toapis", [image(wire)], ratio="1:1"))  # audio by default
    silent = wire.task_id("toapis", wire.submit("toapis", [image(wire)], generate_audio=False, ratio="1:1"))
    finish(sandbox)
    with_sound = wire.outcome("toapis", sounding)
    assert with_sound.status == "completed" and with_sound.video_url
    assert streams(wire, with_sound.video_url) == ["video", "audio"]
    without = wire.outcome("toapis", silent)
    assert without.video_url and streams(wire, without.video_url) == ["video"]


def test_the_audio_track_is_made_from_the_first_reference_audio(
    wire: Wire, sandbox: tuple[Sandbox, FakeClock], files: dict[str, Path]
) -> None:
    voice = ("audio", wire.urls["voice"], "reference_audio")  # type: ignore[attr-defined]
    voiced = wire.task_id("toapis", wire.submit("toapis", [image(wire), voice], ratio="1:1"))
    toned = wire.task_id("toapis", wire.submit("toapis", [image(wire)], ratio="1:1"))
    finish(sandbox)
    voiced_url, toned_url = wire.outcome("toapis", voiced).video_url, wire.outcome("toapis", toned).video_url
    assert voiced_url and toned_url
    expected = pitch(str(files["voice"]))
    assert abs(pitch(wire.http.get(voiced_url).content) - expected) < 3
    assert abs(pitch(wire.http.get(toned_url).content) - expected) > 10  # no reference audio: a tone of its own


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_finished_job_serves_its_last_frame_and_counts_its_usage(
    wire: Wire, sandbox: tuple[Sandbox, FakeClock], dialect: str
) -> None:
    seconds = 1 if dialect in SHORT else 4
    body: dict[str, Any] = {"duration": seconds, "return_last_frame": True, "ratio": "1:1"}
    task = wire.task_id(dialect, wire.submit(dialect, [image(wire)], **body))
    finish(sandbox)
    done = wire.outcome(dialect, task)
    assert done.status == SUCCEEDED[dialect] and done.last_frame_url and done.video_url, done
    assert streams(wire, done.video_url) == ["video", "audio"]
    frame = wire.http.get(done.last_frame_url)
    assert frame.status_code == 200 and frame.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(frame.content)).size == (480, 480)
    tokens = seconds * 480 * 480 * 24 // 1024  # (input video s + output s) x W x H x 24 / 1024
    assert done.usage == {"completion_tokens": tokens, "total_tokens": tokens}


def test_no_last_frame_unless_asked(wire: Wire, sandbox: tuple[Sandbox, FakeClock]) -> None:
    task = wire.task_id("crun", wire.submit("crun", [image(wire)], generate_audio=False))
    finish(sandbox)
    done = wire.outcome("crun", task)
    assert done.status == "success" and done.video_url and done.last_frame_url is None


def test_usage_counts_the_reference_videos_seconds(
    wire: Wire, sandbox: tuple[Sandbox, FakeClock], files: dict[str, Path]
) -> None:
    clip = ("video", wire.urls["clip"], "reference_video")  # type: ignore[attr-defined]
    task = wire.task_id("apimart", wire.submit("apimart", [image(wire), clip], generate_audio=False))
    finish(sandbox)
    seconds = probe(str(files["clip"])).duration_s or 0.0
    assert seconds > 2
    tokens = int((seconds + 1) * 854 * 480 * 24 // 1024)  # the 2.5 s clip in, 1 s out, 854x480
    assert wire.outcome("apimart", task).usage == {"completion_tokens": tokens, "total_tokens": tokens}


def test_an_ark_task_past_execution_expires_after_is_expired(wire: Wire, sandbox: tuple[Sandbox, FakeClock]) -> None:
    sb, clock = sandbox
    sb.state.config.job_seconds = 10_000  # a long queue: the task cannot finish within its hour
    body: dict[str, Any] = {"execution_expires_after": 3600, "generate_audio": False, "ratio": "1:1"}
    task = wire.task_id("byteplus", wire.submit("byteplus", [image(wire)], **body))
    clock.advance(3599)
    assert wire.outcome("byteplus", task).status == "running"
    clock.advance(2)
    assert wire.outcome("byteplus", task).status == "expired"
    listed = wire.http.get(f"{sb.base_url('byteplus')}{ARK_TASKS}", params={"filter.status": "expired"},
                           headers=wire.headers("byteplus")).json()  # fmt: skip
    assert task in [item["id"] for item in listed["items"]]


@pytest.mark.parametrize("dialect", sorted(FAILED))
def test_a_reseller_task_past_the_default_expiry_fails_with_execution_expired(
    wire: Wire, sandbox: tuple[Sandbox, FakeClock], dialect: str
) -> None:
    sb, clock = sandbox
    sb.state.config.job_seconds = 200_000  # longer than upstream's default 172800 s
    task = wire.task_id(dialect, wire.submit(dialect, [image(wire)], generate_audio=False, ratio="1:1"))
    clock.advance(172_799)
    assert wire.outcome(dialect, task).status != FAILED[dialect]
    clock.advance(2)
    expired = wire.outcome(dialect, task)
    assert (expired.status, expired.error_code) == (FAILED[dialect], "ExecutionExpired")


def test_cancel_of_a_queued_byteplus_task_reads_cancelled_and_lists_by_status_and_tier(
    wire: Wire, sandbox: tuple[Sandbox, FakeClock]
) -> None:
    sb, clock = sandbox
    tasks, h = f"{sb.base_url('byteplus')}{ARK_TASKS}", wire.headers("byteplus")
    queued = wire.task_id("byteplus", wire.submit("byteplus", [image(wire)], service_tier="flex", ratio="1:1"))
    cancelled = wire.http.delete(f"{tasks}/{queued}", headers=h)
    assert cancelled.status_code == 200 and cancelled.json() == {}
    assert wire.outcome("byteplus", queued).status == "cancelled"
    listed = wire.http.get(tasks, params={"filter.status": "cancelled", "filter.service_tier": "flex"}, headers=h)
    assert [item["id"] for item in listed.json()["items"]] == [queued]
    assert listed.json()["items"][0]["service_tier"] == "flex"
    running = wire.task_id("byteplus", wire.submit("byteplus", [image(wire)], generate_audio=False, ratio="1:1"))
    clock.advance(JOB_SECONDS / 2)
    refused = wire.http.delete(f"{tasks}/{running}", headers=h)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "InvalidParameter.TaskStatus"
    by_id = wire.http.get(tasks, params={"filter.task_ids": [queued, running]}, headers=h).json()
    assert sorted(item["id"] for item in by_id["items"]) == sorted([queued, running]) and by_id["total"] == 2
