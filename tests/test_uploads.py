"""The upload-once rule: every branch of ``decide``, claims in a real ledger, and uploads on the emulator
in every dialect with byte-identical pairs, concurrent clients on one ledger, and lost answers."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

import realavatar_nb as ra
from realavatar_nb import _uploads
from realavatar_nb._ledger import Ledger
from realavatar_nb._types import PROVIDERS
from realavatar_nb._uploads import SENDING, UNKNOWN, claim, decide, new_owner, owner_alive
from realavatar_nb.samples import make_image
from realavatar_nb.simulator import Sandbox

LISTING = ("easyrouter", "anyfast", "byteplus", "volcengine")  # whose asset list can settle a lost answer
NOT_LISTING = tuple(p for p in PROVIDERS if p not in LISTING)

# -- decide: every branch, no database ---------------------------------------------------------


def _row(**fields: Any) -> dict[str, Any]:
    row = {"key": 1, "id": None, "status": SENDING, "owner": "o", "lease_until": 100.0, "sends": 0,
           "error_code": None, "name": "a-1234"}  # fmt: skip
    row.update(fields)
    return row


def _alive(owner: str | None) -> bool:
    return owner == "alive"


@pytest.mark.parametrize(
    ("rows", "can_list", "expected"),
    [
        ([], True, "new"),
        ([_row(id="asset-1", status="active")], False, "uploaded"),
        ([_row(id="asset-1", status="processing")], False, "uploaded"),
        ([_row(owner="alive", lease_until=200.0, sends=1)], False, "in_flight"),
        ([_row(owner="alive", lease_until=50.0, sends=0)], False, "take"),  # lease ran out, nothing sent
        ([_row(owner="dead", lease_until=200.0, sends=0)], False, "take"),  # owner died before sending
        ([_row(owner="dead", lease_until=200.0, sends=1)], True, "take"),  # sent: look in the list first
        ([_row(owner="dead", lease_until=200.0, sends=1)], False, "unresolved"),  # sent, nobody can check
        ([_row(status=UNKNOWN, owner=None, sends=1)], True, "take"),
        ([_row(status=UNKNOWN, owner=None, sends=1)], False, "unresolved"),
        ([_row(id="asset-1", status="failed", error_code="FaceMismatch")], False, "refused"),
        ([_row(id="asset-1", status="failed", error_code="DownloadFailed")], False, "new"),  # transient
        ([_row(status="lost", sends=1)], False, "new"),  # declared never arrived by resolve_upload
        # An asset beats an older failure or loss of the same bytes; a transient failure newer than a
        # refusal means the refusal no longer stands (a new send was tried since).
        ([_row(key=2, id="asset-2", status="active"), _row(key=1, id="a1", status="failed",
                                                           error_code="FaceMismatch")], False, "uploaded"),
        ([_row(key=2, id="a2", status="failed", error_code="DownloadFailed"),
          _row(key=1, id="a1", status="failed", error_code="FaceMismatch")], False, "new"),
    ],
)  # fmt: skip
def test_decide_names_what_the_rows_say_to_do(rows: list[Mapping[str, Any]], can_list: bool, expected: str) -> None:
    step, row = decide(rows, now=100.0, can_list=can_list, alive=_alive)
    assert step == expected
    assert (row is None) == (expected == "new")


def test_an_owner_of_this_process_is_alive_and_a_finished_process_is_not() -> None:
    assert owner_alive(new_owner())
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(finished.stdout)
    host, _, start, nonce = new_owner().split("|")
    assert not owner_alive(f"{host}|{pid}|{start}|{nonce}")
    assert owner_alive(f"another-host|{pid}|1|x")  # another machine: only the lease can tell
    assert not owner_alive(f"{host}|{os.getpid()}|0|x")  # this pid, but started at another time: reused
    assert not owner_alive(None) and not owner_alive("")


# -- claim: the rule applied in a real ledger -------------------------------------------------------


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    led = Ledger(tmp_path / "ledger.sqlite3")
    led.record_group("easyrouter", "g1", person="alice")
    return led


def _claim(ledger: Ledger, owner: str, now: float, can_list: bool = True) -> _uploads.Decision:
    return claim(ledger, "easyrouter", "g1", sha256="f" * 64, source="a.jpg", asset_type="Image", name="a-ffff",
                 owner=owner, now=now, can_list=can_list)  # fmt: skip


def test_one_claim_per_file_and_the_second_asker_waits(ledger: Ledger) -> None:
    first = _claim(ledger, new_owner(), now=1000.0)
    second = _claim(ledger, new_owner(), now=1001.0)
    assert first.verdict == "claimed" and first.claim is not None and not first.claim.may_exist
    assert second.verdict == "in_flight" and second.claim is None
    assert len(ledger.upload_rows("easyrouter", "g1", "f" * 64)) == 1


def test_a_claim_whose_lease_ran_out_is_taken_over_and_may_exist_once_sent(ledger: Ledger) -> None:
    first = _claim(ledger, new_owner(), now=1000.0)
    assert first.claim is not None
    ledger.mark_sent(first.claim.key, owner=first.claim.owner)
    later = 1000.0 + _uploads.LEASE_SECONDS + 1
    taken = _claim(ledger, new_owner(), now=later)
    assert taken.verdict == "claimed" and taken.claim is not None
    assert taken.claim.key == first.claim.key and taken.claim.may_exist  # same row: never deleted, never doubled
    # The first owner wakes up and answers: its asset is remembered all the same.
    ledger.finish_upload(first.claim.key, ra.Asset(id="asset-1", group_id="g1", status="processing"),
                         owner=first.claim.owner)  # fmt: skip
    assert {r["id"] for r in ledger.upload_rows("easyrouter", "g1", "f" * 64)} >= {"asset-1"}


def test_a_sent_claim_at_a_provider_that_cannot_list_stays_unresolved(ledger: Ledger) -> None:
    first = _claim(ledger, new_owner(), now=1000.0, can_list=False)
    assert first.claim is not None
    ledger.mark_sent(first.claim.key, owner=first.claim.owner)
    ledger.release_claim(first.claim.key, owner=first.claim.owner)
    assert _claim(ledger, new_owner(), now=1001.0, can_list=False).verdict == "unresolved"
    ledger.settle_upload(first.claim.key, None)  # a person looked: it never arrived
    again = _claim(ledger, new_owner(), now=1002.0, can_list=False)
    assert again.verdict == "claimed" and again.claim is not None and again.claim.key != first.claim.key
    statuses = [r["status"] for r in ledger.upload_rows("easyrouter", "g1", "f" * 64)]
    assert statuses == [SENDING, "lost"]  # the lost send stays on record


def test_a_killed_owners_sent_claim_is_marked_unknown_for_resolve_though_its_lease_runs(ledger: Ledger) -> None:
    """A kernel killed after sending: its lease still runs, but nobody can be sending under it any more."""
    host = new_owner().split("|")[0]
    dead = f"{host}|{os.getpid()}|0|x"  # this pid, started at another time: that process is gone
    first = _claim(ledger, dead, now=1000.0, can_list=False)
    assert first.claim is not None
    ledger.mark_sent(first.claim.key, owner=dead)
    assert _claim(ledger, new_owner(), now=1001.0, can_list=False).verdict == "unresolved"
    (row,) = ledger.upload_rows("easyrouter", "g1", "f" * 64)
    assert (row["status"], row["owner"], row["sends"]) == (UNKNOWN, None, 1)


def test_only_an_unsent_claim_is_ever_deleted(ledger: Ledger) -> None:
    first = _claim(ledger, new_owner(), now=1000.0)
    assert first.claim is not None
    ledger.mark_sent(first.claim.key, owner=first.claim.owner)
    ledger.abandon_upload(first.claim.key, first.claim.owner)
    assert len(ledger.upload_rows("easyrouter", "g1", "f" * 64)) == 1  # sent: kept
    ledger.abandon_upload(first.claim.key, "someone-else")
    assert len(ledger.upload_rows("easyrouter", "g1", "f" * 64)) == 1  # not theirs: kept


# -- on the emulator, every dialect --------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(autopilot=0.0, processing_seconds=0.0, autopilot_person="alice") as sb:
        yield sb


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Ten distinct photos, each also saved as its byte-identical copy ``IMG_n (1).jpg``."""
    folder = tmp_path_factory.mktemp("pairs")
    paths = []
    for n in range(10):
        original = make_image(folder / f"IMG_{n}.jpg", width=600 + n, height=800, person="alice")
        copy = folder / f"IMG_{n} (1).jpg"
        shutil.copyfile(original, copy)
        paths += [original, copy]
    return paths


def _client(sb: Sandbox, dialect: str, ledger_path: Path, **kwargs: Any) -> ra.AsyncClient:
    return ra.AsyncClient("sandbox", sandbox=sb, dialect=dialect, ledger=ra.Ledger(ledger_path), poll_interval=0.05,
                          api_key=f"uploads-{dialect}-{ledger_path.parent.name}", **kwargs)  # fmt: skip


async def no_wait(seconds: float) -> None:
    """The client's sleep for the faulty emulator: its backoffs and polls yield without waiting real time."""
    await asyncio.sleep(0)


async def _group(client: ra.AsyncClient) -> str:
    session = await client.create_verification(person="alice", consent=ra.Consent("Alice", "upload-once test"))
    verification = await client.wait_verified(session, timeout=30)
    assert verification.group_id
    return verification.group_id


def _upstream(sb: Sandbox, group: str) -> list[Any]:
    return [a for a in list(sb.state.assets.values()) if a.group_id == group]


def _row_of(ledger: Ledger, provider: str, asset_id: str) -> int:
    row = ledger.asset_row(provider, asset_id)
    assert row is not None, asset_id
    return int(row["key"])


def _upstream_id(ledger: Ledger, provider: str, asset_id: str) -> str:
    """Return the emulator's id of an asset the ledger knows by id or by APIMart's review handle."""
    row = ledger.asset_row(provider, asset_id)
    return str(row["id"]) if row else asset_id


def _console_id(sb: Sandbox, dialect: str, asset: Any) -> str:
    """Return the id a person would copy from the provider's console for an asset."""
    if dialect != "apimart":
        return str(asset.id)
    for task in list(sb.state.tasks.values()):  # APIMart shows an upload as its review task's entry
        if asset.id in task.refs.get("assets", ()):
            return f"{task.id}#{list(task.refs['assets']).index(asset.id)}"
    raise AssertionError(f"no review task holds {asset.id}")


@pytest.mark.parametrize("dialect", PROVIDERS)
def test_byte_identical_pairs_in_one_batch_are_one_upload(
    sandbox: Sandbox, pairs: list[Path], tmp_path: Path, dialect: str
) -> None:
    async def run() -> tuple[str, list[Any], ra.Ledger]:
        async with _client(sandbox, dialect, tmp_path / "ledger.sqlite3") as client:
            group = await _group(client)
            return group, await client.upload_assets(group, pairs, person="alice"), client.ledger

    group, results, ledger = asyncio.run(run())
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert len(_upstream(sandbox, group)) == 10  # one create per distinct file
    provider = f"sandbox:{dialect}:{sandbox.url}"
    for original, copy in zip(results[::2], results[1::2], strict=True):
        # Both name the one asset holding their bytes (APIMart's first answer is its review handle).
        assert _row_of(ledger, provider, original.id) == _row_of(ledger, provider, copy.id)
    rows = ledger.frame("assets")
    assert len(rows) == 10 and rows["id"].notna().all() and set(rows["status"]) <= {"processing", "active"}
    upstream = {a.id for a in _upstream(sandbox, group)}
    assert {_upstream_id(ledger, provider, r) for r in rows["id"]} == upstream  # every upload is in the ledger


@pytest.mark.parametrize("dialect", PROVIDERS)
def test_two_clients_on_one_ledger_upload_each_file_once_and_erase_leaves_nothing_unknown(
    sandbox: Sandbox, pairs: list[Path], tmp_path: Path, dialect: str
) -> None:
    files = pairs[::2]
    ledger_path = tmp_path / "shared.sqlite3"

    async def run() -> tuple[str, list[Any], dict[str, Any]]:
        async with _client(sandbox, dialect, ledger_path) as one, _client(sandbox, dialect, ledger_path) as two:
            group = await _group(one)
            first, second = await asyncio.gather(
                one.upload_assets(group, files, person="alice"), two.upload_assets(group, files[::-1], person="alice")
            )
            upstream_before = {a.id for a in _upstream(sandbox, group)}
            assert len(upstream_before) == len(files)
            erased = await one.erase_person("alice")
            return group, [*first, *second], {"before": upstream_before, "erased": erased}

    group, results, seen = asyncio.run(run())
    assert not [r for r in results if isinstance(r, BaseException)], results
    erased = seen["erased"]
    if dialect in LISTING:  # they delete: nothing of alice is left upstream
        assert _upstream(sandbox, group) == []
    else:  # they cannot delete: every asset upstream is named for the person to delete in the console
        named = {what for what, _ in erased["not_deleted"]}
        assert seen["before"] <= named


@pytest.fixture(scope="module")
def faulty() -> Iterator[Sandbox]:
    # Every third answer lost after the emulator acted on it: creates included.
    with Sandbox(autopilot=0.0, processing_seconds=0.0, autopilot_person="alice", faults="drop=0.3", seed=11) as sb:
        yield sb


@pytest.mark.parametrize("dialect", LISTING)
def test_lost_answers_at_a_listing_provider_are_settled_by_name_without_a_second_create(
    faulty: Sandbox, pairs: list[Path], tmp_path: Path, dialect: str
) -> None:
    files = pairs[::2]

    async def run() -> tuple[str, list[Any]]:
        async with _client(faulty, dialect, tmp_path / "ledger.sqlite3", sleep=no_wait) as client:
            group = await _group(client)
            results = await client.upload_assets(group, files, person="alice")
            again = [await client.upload_asset(group, f, person="alice") for f in files]  # a rerun: all reused
            return group, [*results, *again]

    group, results = asyncio.run(run())
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert len(_upstream(faulty, group)) == len(files)
    assert faulty.stats()["duplicates"] == []


@pytest.mark.parametrize("dialect", NOT_LISTING)
def test_a_lost_answer_where_nothing_can_list_is_settled_by_resolve_upload(
    faulty: Sandbox, pairs: list[Path], tmp_path: Path, dialect: str
) -> None:
    files = pairs[::2]

    async def run() -> tuple[str, list[Any], list[Any]]:
        async with _client(faulty, dialect, tmp_path / "ledger.sqlite3", sleep=no_wait) as client:
            group = await _group(client)
            first = await client.upload_assets(group, files, person="alice")
            lost = [f for f, r in zip(files, first, strict=True) if isinstance(r, ra.OutcomeUnknownError)]
            assert lost, "the fault rate should lose some answers"
            for error in (r for r in first if isinstance(r, BaseException)):
                assert isinstance(error, ra.OutcomeUnknownError) and "resolve_upload" in str(error)
            rerun = await client.upload_assets(group, lost, person="alice")
            assert all(isinstance(r, ra.OutcomeUnknownError) for r in rerun)  # never sent again on a guess
            # A person looks in the console: each lost file is there or it is not.
            by_name = {a.name: _console_id(faulty, dialect, a) for a in _upstream(faulty, group)}
            for path in lost:
                row = next(r for r in client.ledger.unsettled_uploads(client.ledger_name, group)
                           if r["source"] == str(path))  # fmt: skip
                await client.resolve_upload(group, path, asset_id=by_name.get(row["name"]))
            final = await client.upload_assets(group, files, person="alice")
            return group, final, client.ledger.unsettled_uploads(client.ledger_name, group)

    group, final, unsettled = asyncio.run(run())
    assert not [r for r in final if isinstance(r, BaseException)], final
    assert unsettled == []
    names = [a.name for a in _upstream(faulty, group)]
    assert len(names) == len(set(names)) == len(files)  # each file once upstream, lost answers included


def test_an_unreadable_list_after_a_lost_answer_keeps_the_row_for_a_later_look(tmp_path: Path) -> None:
    """The create's answer is lost and the list answers a proxy's HTML page: nothing proves the create
    made nothing, so its row stays (outcome unknown) instead of being dropped as refused."""
    creates: list[httpx.Request] = []

    def provider(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/assets/list"):
            return httpx.Response(200, text="<html>502 Bad Gateway</html>")
        creates.append(request)
        raise httpx.ReadError("connection reset after the request was sent", request=request)

    async def run() -> BaseException:
        ledger = ra.Ledger(tmp_path / "ledger.sqlite3")
        ledger.record_group("easyrouter", "g1", person="alice")
        client = ra.AsyncClient("easyrouter", api_key="k", transport=httpx.MockTransport(provider), ledger=ledger,
                                sleep=no_wait)  # fmt: skip
        async with client:
            try:
                await client.upload_asset("g1", "https://cdn.test/alice/front.jpg", asset_type="Image")
            except ra.RealAvatarError as exc:
                return exc
        raise AssertionError("the upload should not have been settled")

    error = asyncio.run(run())
    assert isinstance(error, ra.OutcomeUnknownError)
    assert len(creates) == 1  # never sent again on a guess
    [row] = ra.Ledger(tmp_path / "ledger.sqlite3").unsettled_uploads("easyrouter")
    assert (row["status"], row["sends"]) == (UNKNOWN, 1)
