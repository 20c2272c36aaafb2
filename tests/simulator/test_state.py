"""The emulator's state machine on its own: timed transitions under an injected clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from realavatar_nb.simulator import SimConfig, SimError, State
from realavatar_nb.simulator.records import Job

from .conftest import FakeClock


def _fetch(url: str) -> tuple[str, str]:
    return url, "sha-" + url  # the url stands for its file; its "hash" is derived from it


def _check(path: str, asset_type: str, person: str, profile: str) -> tuple[str | None, str | None]:
    owner = path.rsplit("/", 1)[-1].split(".")[0]
    return (None, None) if owner == person else ("FaceMismatch", "Face consistency verification failed.")


@pytest.fixture
def state(clock: FakeClock) -> Iterator[State]:
    s = State(SimConfig(processing_seconds=3, job_seconds=4, link_ttl=120), clock=clock, fetch=_fetch, check=_check)
    yield s
    s.close()


def _group(state: State, person: str = "alice") -> str:
    session = state.create_session("acct")
    state.complete(session.token, passed=True, person=person)
    return str(state.result("acct", session.token).group_id)


def test_autopilot_passes_a_session_after_n_seconds_as_the_named_person(clock: FakeClock) -> None:
    state = State(SimConfig(autopilot=5, autopilot_person="robot"), clock=clock)
    session = state.create_session("acct")
    clock.advance(4.9)
    assert state.result("acct", session.token).state == "pending"
    clock.advance(0.1)
    done = state.result("acct", session.token)
    assert done.state == "verified" and done.person == "robot"
    assert state.groups[str(done.group_id)].person == "robot"


def test_autopilot_later_than_the_link_never_passes_it(clock: FakeClock) -> None:
    state = State(SimConfig(autopilot=200, link_ttl=120), clock=clock)
    session = state.create_session("acct")
    clock.advance(300)
    assert state.result("acct", session.token).state == "expired"
    assert state.groups == {}


def test_an_expired_link_can_never_yield_a_group(state: State, clock: FakeClock) -> None:
    session = state.create_session("acct")
    clock.advance(120)
    with pytest.raises(SimError) as refused:
        state.complete(session.token, passed=True, person="alice")
    assert refused.value.kind == "expired"
    assert state.result("acct", session.token).group_id is None


def test_a_session_is_used_once(state: State) -> None:
    session = state.create_session("acct")
    state.complete(session.token, passed=False, person="alice")
    with pytest.raises(SimError) as refused:
        state.complete(session.token, passed=True, person="alice")
    assert refused.value.kind == "conflict"
    assert state.result("acct", session.token).state == "failed"


def test_the_token_stops_answering_after_its_ttl(state: State, clock: FakeClock) -> None:
    session = state.create_session("acct")
    state.complete(session.token, passed=True, person="alice")
    clock.advance(state.config.token_ttl + 1)
    with pytest.raises(SimError) as refused:
        state.result("acct", session.token)
    assert refused.value.kind == "expired"


def test_assets_stay_processing_for_the_configured_time(state: State, clock: FakeClock) -> None:
    group = _group(state)
    good = state.create_asset("acct", group_id=group, url="files/alice.jpg", asset_type="Image")
    other = state.create_asset("acct", group_id=group, url="files/bob.jpg", asset_type="image")
    state.settle()
    clock.advance(2.9)
    assert state.asset("acct", good.id).status == "Processing"
    clock.advance(0.1)
    assert state.asset("acct", good.id).status == "Active"
    failed = state.asset("acct", other.id)
    assert (failed.status, failed.error_code) == ("Failed", "FaceMismatch")


def test_another_account_cannot_see_or_use_a_group(state: State) -> None:
    group = _group(state)
    with pytest.raises(SimError) as refused:
        state.create_asset("intruder", group_id=group, url="files/alice.jpg", asset_type="Image")
    assert refused.value.kind == "not_found"


def test_stats_count_creations_and_show_a_file_uploaded_twice(state: State) -> None:
    group = _group(state)
    for _ in range(2):
        state.create_asset("acct", group_id=group, url="files/alice.jpg", asset_type="Image")
    state.settle()
    stats = state.stats()
    assert list(stats["accounts"].values()) == [{"sessions": 1, "groups": 1, "assets": 2}]
    assert [d["count"] for d in stats["duplicates"]] == [2]
    assert "acct" not in str(stats)  # accounts are labelled, never shown by key
    state.reset()
    assert state.stats() == {"accounts": {}, "duplicates": []}


def test_a_job_goes_queued_running_succeeded_on_the_clock(state: State, clock: FakeClock) -> None:
    group = _group(state)
    asset = state.create_asset("acct", group_id=group, url="files/alice.jpg", asset_type="Audio")
    state.settle()
    clock.advance(3)
    job = state.create_job("acct", model="m", prompt="p", references=[f"asset://{asset.id}"], duration=2)
    assert state.job("acct", job.id).status == "queued"
    clock.advance(1)
    assert state.job("acct", job.id).status == "running"
    clock.advance(3)
    assert state.job("acct", job.id).status == "succeeded"


def test_a_moderate_marker_fails_the_job_as_output_moderation_does(clock: FakeClock) -> None:
    rendered: list[str] = []

    def render(job: Job, paths: list[str]) -> str:
        rendered.append(job.prompt)
        return f"{job.id}.mp4"

    state = State(SimConfig(job_seconds=4), clock=clock, render=render)
    try:
        job = state.create_job("acct", model="m", prompt="a wave [moderate] and a smile", references=[], duration=2)
        plain = state.create_job("acct", model="m", prompt="a wave [moderated elsewhere]", references=[], duration=2)
        state.settle()
        clock.advance(1)
        assert state.job("acct", job.id).status == "running"
        clock.advance(3)
        failed = state.job("acct", job.id)
        assert (failed.status, failed.error_code) == ("failed", "OutputVideoSensitiveContentDetected")
        assert failed.error_message == "The output video may contain sensitive content."
        assert failed.video_path is None
        assert state.job("acct", plain.id).status == "succeeded"  # only the exact marker fails a job
        assert rendered == ["a wave [moderated elsewhere]"]  # a withheld video is never rendered
    finally:
        state.close()


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"duration": 0}, "duration"), ({"resolution": "4k"}, "resolution"), ({"ratio": "2:1"}, "ratio")],
)
def test_a_job_with_values_the_model_cannot_make_is_refused(
    state: State, changes: dict[str, object], field: str
) -> None:
    with pytest.raises(SimError) as refused:
        state.create_job("acct", model="m", prompt="p", references=[], **changes)  # type: ignore[arg-type]
    assert refused.value.field == field


def test_smart_duration_becomes_five_seconds(state: State) -> None:
    assert state.create_job("acct", model="m", prompt="p", references=[], duration=-1).duration == 5
