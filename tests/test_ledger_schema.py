"""The ledger's file says what it is: versioned and migrated forward, a newer one refused, a damaged one
named with how to recover it, a read-only one still readable, a full disk losing no upload."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import realavatar_nb as ra
from realavatar_nb._config import fingerprint
from realavatar_nb._ledger import Ledger
from realavatar_nb._ledger_schema import VERSION
from realavatar_nb.samples import make_image
from realavatar_nb.simulator import Sandbox

# The schema as the first release wrote it (no version, no claim columns), with a row still "sending".
VERSION_1 = """
CREATE TABLE consents (person TEXT PRIMARY KEY, given_by TEXT, purpose TEXT, confirmed_at TEXT);
CREATE TABLE sessions (id TEXT, provider TEXT, person TEXT, biz_id TEXT, token_fingerprint TEXT, callback_url TEXT,
    created_at TEXT, expires_at TEXT, status TEXT, result_code TEXT, group_id TEXT, updated_at TEXT,
    PRIMARY KEY (provider, id));
CREATE TABLE groups (id TEXT, provider TEXT, person TEXT NOT NULL, session_id TEXT, created_at TEXT,
    PRIMARY KEY (provider, id));
CREATE TABLE assets (key INTEGER PRIMARY KEY AUTOINCREMENT, provider TEXT, group_id TEXT, person TEXT, source TEXT,
    sha256 TEXT, asset_type TEXT, name TEXT, id TEXT, status TEXT, error_code TEXT, error_message TEXT,
    created_at TEXT, updated_at TEXT, handle TEXT);
CREATE TABLE face_references (person TEXT PRIMARY KEY, descriptor TEXT, source TEXT, created_at TEXT);
CREATE TABLE jobs (id TEXT, provider TEXT, model TEXT, prompt TEXT, refs TEXT, status TEXT, video_url TEXT,
    error_code TEXT, error_message TEXT, path TEXT, created_at TEXT, updated_at TEXT, PRIMARY KEY (provider, id));
"""
TOKEN = "20261203093110CA67F03F8F85ABCDEF1234"


def _version_1(path: Path) -> None:
    db = sqlite3.connect(path)
    db.executescript(VERSION_1)
    db.execute("INSERT INTO groups VALUES ('g1', 'easyrouter', 'alice', ?, '2026-11-01')", (TOKEN,))
    db.execute(
        "INSERT INTO sessions VALUES (?, 'easyrouter', 'alice', NULL, ?, NULL, '', '', 'verified', '10000', 'g1', '')",
        (TOKEN, fingerprint(TOKEN)),
    )
    db.execute("INSERT INTO assets (provider, group_id, person, source, sha256, asset_type, name, status)"
               " VALUES ('easyrouter', 'g1', 'alice', 'a.jpg', 'abc', 'Image', 'a-abc', 'sending')")  # fmt: skip
    db.commit()
    db.close()


def test_a_version_1_ledger_is_migrated_forward_keeping_everything(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    _version_1(path)
    ledger = Ledger(path)
    assert ledger.group_for("easyrouter", "alice") == "g1"
    [row] = ledger.upload_rows("easyrouter", "g1", "abc")
    assert (row["status"], row["sends"]) == ("unknown", 1)  # sent by the old release: outcome unknown
    sessions = ledger.frame("sessions")
    assert list(sessions["id"]) == [fingerprint(TOKEN)]  # the session id that was the token is gone
    ledger.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == VERSION
    assert TOKEN not in repr(db.execute("SELECT * FROM sessions").fetchall())


def test_a_ledger_from_a_newer_release_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    Ledger(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {VERSION + 1}")
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(ra.LedgerError, match=r"newer realavatar_nb.*pip install -U"):
        Ledger(path)
    assert path.read_bytes() == before


def test_a_ledger_missing_a_column_is_refused_at_open_not_at_the_first_paid_write(tmp_path: Path) -> None:
    path = tmp_path / "edited.sqlite3"
    Ledger(path).close()
    db = sqlite3.connect(path)
    db.execute("ALTER TABLE jobs DROP COLUMN error_message")  # edited by hand, version kept
    db.commit()
    db.close()
    with pytest.raises(ra.LedgerError, match=r"jobs table without error_message.*Nothing was written"):
        Ledger(path)


def test_an_extra_column_does_not_break_any_write(tmp_path: Path) -> None:
    path = tmp_path / "extra.sqlite3"
    Ledger(path).close()
    db = sqlite3.connect(path)
    for table in ("sessions", "groups", "assets", "jobs", "consents", "face_references"):
        db.execute(f"ALTER TABLE {table} ADD COLUMN note TEXT")
    db.commit()
    db.close()
    ledger = Ledger(path)
    ledger.record_consent("alice", ra.Consent("Alice", "study"))
    ledger.record_group("crun", "g1", person="alice")
    ledger.record_job("crun", ra.GenerationJob(id="job-1", status="queued"), prompt="smile")
    ledger.record_face_reference("alice", [0.1] * 128, "a.jpg")
    key = ledger.begin_upload("crun", "g1", sha256="abc", source="a.jpg", asset_type="Image", name="a")
    ledger.finish_upload(key, ra.Asset(id="asset-1", group_id="g1", status="active"))
    assert len(ledger.frame("jobs")) == 1 and ledger.asset_row("crun", "asset-1") is not None


def test_a_damaged_ledger_says_what_it_is_for_and_how_to_recover_it(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    path.write_bytes(b"this is not a database " * 100)
    with pytest.raises(ra.LedgerError) as caught:
        Ledger(path)
    message = str(caught.value)
    assert "uploaded (and paid for) twice" in message and ".recover" in message and "do not delete it" in message
    assert path.read_bytes() == b"this is not a database " * 100  # never replaced


AS_NOBODY = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")


def test_a_read_only_ledger_opens_for_reading_and_refuses_writes_clearly(tmp_path: Path) -> None:
    if shutil.which("setpriv") is None or os.getuid() != 0:
        pytest.skip("needs root and setpriv to read the ledger as another user")
    started = subprocess.run([*AS_NOBODY, sys.executable, "-c", "pass"], capture_output=True, text=True, timeout=60)
    if started.returncode != 0:  # e.g. a pyenv build whose libpython lies under /root, which only root may enter
        pytest.skip(f"this interpreter cannot start as an unprivileged user: {started.stderr.strip()[:200]}")
    folder = Path(tempfile.mkdtemp(prefix="ra-readonly-"))  # pytest's tmp folders are private to root
    try:
        _read_as_another_user(folder)
    finally:
        shutil.rmtree(folder)


def _read_as_another_user(folder: Path) -> None:
    path = folder / "ledger.sqlite3"
    ledger = Ledger(path)
    ledger.record_group("crun", "g1", person="alice")
    ledger.close()
    # Hand it over to root-only files, then read it as an unprivileged user (root ignores permissions).
    os.chmod(path, 0o644)
    for extra in folder.iterdir():
        if extra != path:
            extra.unlink()
    os.chmod(folder, 0o755)
    script = (
        "import realavatar_nb as ra\n"
        f"led = ra.Ledger({str(path)!r})\n"
        "print(led.read_only, led.group_for('crun', 'alice'))\n"
        "try:\n    led.record_group('crun', 'g2', person='bob')\n"
        "except ra.LedgerError as exc:\n    print('refused:', exc)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "HOME": str(folder)}
    done = subprocess.run(
        [*AS_NOBODY, sys.executable, "-c", script],
        capture_output=True, text=True, env=env, cwd=folder, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    first, refusal = done.stdout.splitlines()[:2]
    assert first == "True g1"
    assert refusal.startswith("refused:") and "read-only" in refusal and "copy" in refusal


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(autopilot=0.0, processing_seconds=0.0) as sb:
        yield sb


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 2 MB filesystem (tmpfs) to fill up; needs root, as CI and make test run."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(folder: Path) -> Path:
    """Fill the filesystem holding ``folder`` to the last byte; return the filler to delete later."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for block in (65536, 4096, 512, 1):
            while True:
                try:
                    os.write(fd, b"\0" * block)
                except OSError:
                    break
    finally:
        os.close(fd)
    return filler


def test_when_the_disk_fills_mid_batch_uploads_that_reached_the_provider_are_still_found(
    sandbox: Sandbox, tmp_path: Path, small_disk: Path
) -> None:
    paths = [make_image(tmp_path / "in" / f"{n}.jpg", width=400 + n, height=500) for n in range(6)]
    ledger_path = small_disk / "ledger.sqlite3"

    class FillsTheDiskOnTheThirdCreate(httpx.AsyncHTTPTransport):
        creates = 0

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await super().handle_async_request(request)
            if request.url.path.endswith("/asset-upload"):
                self.creates += 1
                if self.creates == 3:  # the asset exists upstream, and its answer has no room in the ledger
                    _fill(small_disk)
            return response

    async def run() -> tuple[list[object], list[object], int]:
        client = ra.AsyncClient("sandbox", sandbox=sandbox, dialect="crun", ledger=ra.Ledger(ledger_path),
                                poll_interval=0.05, api_key="disk-full",
                                transport=FillsTheDiskOnTheThirdCreate())  # fmt: skip
        async with client:
            session = await client.create_verification()
            group = str((await client.wait_verified(session, timeout=30)).group_id)
            first = [await client.upload_asset(group, p) for p in paths[:2]]
            filler = small_disk / "filler"
            full: list[object] = []
            for path in paths[2:]:
                try:
                    full.append(await client.upload_asset(group, path))
                except ra.LedgerError as exc:
                    full.append(exc)
            filler.unlink()  # space again: the same client goes on
            again = [await client.upload_asset(group, p) for p in paths]
            upstream = [a for a in list(sandbox.state.assets.values()) if a.group_id == group]
            return first + full, again, len(upstream)

    during, after, upstream = asyncio.run(run())
    failures = [str(r) for r in during if isinstance(r, ra.LedgerError)]
    assert len(failures) == 4, during  # the third upload and every one after it while the disk is full
    # The third reached the provider: its error names the asset and the call that records it; the
    # others were refused before anything was sent.
    assert "created asset" in failures[0] and "resolve_upload" in failures[0]
    assert all("could not be written" in f for f in failures[1:])
    assert all(isinstance(a, ra.Asset) for a in after), after
    assert upstream == len(paths)  # once each: nothing made during the full disk was made again
    rows = ra.Ledger(ledger_path).frame("assets")
    assert rows["id"].notna().all() and len(rows) == len(paths)
