"""The ledger remembers everything at once, hands no group to the wrong person, stores no secret."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import realavatar_nb as ra
from realavatar_nb._ledger import Ledger

TOKEN = "20260331171630CA67F03F8F85ABCDEF1234"


def _session(sid: str = "tsk_1") -> ra.VerificationSession:
    now = datetime(2026, 11, 21, tzinfo=UTC)
    return ra.VerificationSession(
        id=sid,
        provider="crun",
        h5_link=ra.Secret(f"https://h5.test/?bytedToken={TOKEN}"),
        byted_token=ra.Secret(TOKEN),
        expires_at=now + timedelta(seconds=120),
        created_at=now,
    )


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(tmp_path / "ledger.sqlite3")


def test_a_verified_session_records_the_group_for_its_person(ledger: Ledger) -> None:
    ledger.record_session(_session(), person="alice", biz_id="study-12")
    ledger.record_verification("crun", "tsk_1", ra.Verification("verified", "group-1", "10000", "tsk_1"))
    assert ledger.group_for("crun", "alice") == "group-1"
    assert ledger.group_for("toapis", "alice") is None  # groups belong to one provider


def test_a_group_is_never_handed_to_another_person(ledger: Ledger) -> None:
    ledger.record_group("crun", "group-1", person="alice")
    with pytest.raises(ra.PersonMismatchError, match="alice"):
        ledger.record_group("crun", "group-1", person="bob")
    with pytest.raises(ra.PersonMismatchError):
        ledger.check_group("crun", "group-1", "bob")
    ledger.check_group("crun", "group-1", "alice")


def test_an_upload_intent_is_recorded_before_the_request_and_found_on_rerun(ledger: Ledger) -> None:
    ledger.record_group("crun", "group-1", person="alice")
    key = ledger.begin_upload("crun", "group-1", sha256="abc", source="faces/a.jpg", asset_type="Image", name="a")
    [pending] = ledger.upload_rows("crun", "group-1", "abc")
    assert pending["status"] == "sending" and pending["person"] == "alice" and pending["sends"] == 0
    ledger.finish_upload(key, ra.Asset(id="asset-1", group_id="group-1", status="processing"))
    [again] = ledger.upload_rows("crun", "group-1", "abc")
    assert again["id"] == "asset-1" and again["status"] == "processing"
    ledger.update_asset("crun", ra.Asset(id="asset-1", group_id="group-1", status="failed", error_code="FaceMismatch"))
    [failed] = ledger.upload_rows("crun", "group-1", "abc")
    assert (failed["status"], failed["error_code"]) == ("failed", "FaceMismatch")


def test_the_ledger_survives_a_new_process_on_the_same_file(tmp_path: Path) -> None:
    first = Ledger(tmp_path / "l.sqlite3")
    first.record_group("anyfast", "group-9", person="carol")
    first.close()
    assert Ledger(tmp_path / "l.sqlite3").group_for("anyfast", "carol") == "group-9"


def test_no_token_or_link_is_stored_in_clear(ledger: Ledger) -> None:
    ledger.record_session(_session(), person="alice", biz_id=None)
    ledger.close()
    files = [ledger.path, ledger.path.with_name(ledger.path.name + "-wal")]
    raw = b"".join(f.read_bytes() for f in files if f.exists())
    assert TOKEN.encode() not in raw and b"h5.test" not in raw


def test_frames_hold_every_table_and_hide_secrets(ledger: Ledger) -> None:
    ledger.record_session(_session(), person="alice", biz_id=None)
    sessions = ledger.frame("sessions")
    assert list(sessions["person"]) == ["alice"] and TOKEN not in sessions.to_string()
    with pytest.raises(ra.LedgerError, match="sessions"):
        ledger.frame("secrets")


def test_consent_and_erasure(ledger: Ledger) -> None:
    ledger.record_consent("alice", ra.Consent(given_by="Alice", purpose="study 12"))
    ledger.record_session(_session(), person="alice", biz_id=None)
    ledger.record_group("crun", "group-1", person="alice")
    ledger.record_face_reference("alice", [0.25] * 128, "alice/front.jpg")
    consent = ledger.consent("alice")
    assert consent is not None and (consent.given_by, consent.purpose) == ("Alice", "study 12")
    assert ledger.face_reference("alice") == ((0.25,) * 128, "alice/front.jpg")
    assert ledger.erase_person("alice") == {
        "perceptual_hashes": 0, "assets": 0, "groups": 1, "sessions": 1, "consents": 1, "face_references": 1
    }  # fmt: skip
    assert ledger.consent("alice") is None and ledger.group_for("crun", "alice") is None
    assert ledger.face_reference("alice") is None  # biometric data goes with the person


def test_erasure_takes_a_persons_perceptual_hashes_but_not_a_file_someone_else_also_uploaded(ledger: Ledger) -> None:
    ledger.record_group("crun", "group-a", person="alice")
    ledger.record_group("crun", "group-b", person="bob")
    for group, sha in (("group-a", "mine"), ("group-a", "shared"), ("group-b", "shared"), ("group-b", "his")):
        ledger.begin_upload("crun", group, sha256=sha, source=f"{sha}.jpg", asset_type="Image", name=None)
        ledger.record_hashes(sha, "image", ["ffff0000ffff0000"])
    assert ledger.erase_person("alice")["perceptual_hashes"] == 1
    with sqlite3.connect(ledger.path) as db:  # the file itself: the table has no frame of its own
        left = {row[0] for row in db.execute("SELECT sha256 FROM perceptual_hashes")}
    assert left == {"shared", "his"}


def test_many_threads_can_write_one_ledger_and_each_reads_back_its_own_row(ledger: Ledger) -> None:
    # One connection serves every thread. On Python 3.12 and 3.13 a SELECT read outside the lock came back
    # empty, all None or as IndexError while another thread ran the same SQL: the upload-once rule, which
    # reads these rows, would have sent the file again.
    ledger.record_group("crun", "group-1", person="alice")

    def upload(worker: int) -> int:
        for n in range(100):
            sha = f"h{worker}-{n}"
            key = ledger.begin_upload("crun", "group-1", sha256=sha, source=f"{n}.jpg", asset_type="Image", name=None)
            rows = ledger.upload_rows("crun", "group-1", sha)
            assert [(r["key"], r["person"]) for r in rows] == [(key, "alice")], rows
        return worker

    with ThreadPoolExecutor(8) as pool:
        assert sorted(pool.map(upload, range(8))) == list(range(8))  # map re-raises a thread's failure here
    assert len(ledger.frame("assets")) == 800


def test_an_unwritable_path_is_a_ledger_error_that_says_what_to_do(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ra.LedgerError, match="Ledger\\(path="):
        Ledger(blocker / "ledger.sqlite3")
