"""StatusTable against the emulator in-process (``httpx.ASGITransport``) with a clock the tests move.

The table's injected sleep moves the emulator's clock past the processing time instead of waiting,
so a refresh that would take seconds in a notebook takes milliseconds here, and every request the
client sends is counted on its way to the emulator.
"""

from __future__ import annotations

import asyncio
import io
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pandas as pd
import pytest

import realavatar_nb as ra
from realavatar_nb._polling import FAILED_LOOKS
from realavatar_nb._staging import SandboxStager
from realavatar_nb.samples import make_image
from realavatar_nb.simulator import SimConfig, create_app
from realavatar_nb.widgets.status import COLUMNS, SENDING_GRACE, StatusTable

ROOT = "http://sandbox.test"
KEY = "sk-status-table-secret"
PROCESSING = 3.0  # emulator seconds an asset spends processing; the table's interval (5 s) passes it


class FakeClock:
    """Epoch seconds that move only when a test (or the table's injected sleep) says so."""

    def __init__(self) -> None:
        self.now = 1_790_000_000.0

    def __call__(self) -> float:
        return self.now


class CountingTransport(httpx.AsyncBaseTransport):
    """Counts every request on its way to the emulator; answers 401 while ``refuse`` is set, and a
    proxy's HTML error page (a malformed answer, which no transport retries) to the next ``garble`` requests."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.sent: list[tuple[str, str]] = []
        self.refuse = False
        self.garble = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.method, request.url.path))
        if self.refuse:
            return httpx.Response(401, json={"code": 401, "msg": "invalid api key"})
        if self.garble > 0:
            self.garble -= 1
            return httpx.Response(200, html="<html><body>502 Bad Gateway</body></html>")
        return await self.inner.handle_async_request(request)

    def count(self, fragment: str) -> int:
        return sum(fragment in path for _, path in self.sent)


class Emulator:
    def __init__(self, tmp_path: Path) -> None:
        self.clock = FakeClock()
        config = SimConfig(autopilot=0.0, autopilot_person="alice", processing_seconds=PROCESSING, job_seconds=4.0)
        self.app = create_app(config, clock=self.clock, workdir=str(tmp_path / "sandbox"))
        self.transport = CountingTransport(httpx.ASGITransport(app=self.app))
        self.ledger = ra.Ledger(tmp_path / "ledger.sqlite3")
        self.sleeps: list[float] = []

    def client(self, dialect: str) -> ra.AsyncClient:
        return ra.AsyncClient(
            dialect, api_key=KEY, base_url=f"{ROOT}/{dialect}", transport=self.transport, ledger=self.ledger,
            stager=SandboxStager(ROOT, KEY), rates={}, poll_interval=0.05,
        )  # fmt: skip

    async def sleep(self, seconds: float) -> None:
        """The table's sleep: the emulator's time passes, its file checks finish, no real time is spent."""
        self.sleeps.append(seconds)
        self.clock.now += seconds
        await asyncio.to_thread(self.app.state.sim.settle)

    async def group(self, client: ra.AsyncClient, person: str = "alice") -> str:
        consent = ra.Consent(given_by=person.title(), purpose="status table test")
        session = await client.create_verification(
            callback_url=f"{ROOT}/_sandbox/callback", person=person, consent=consent
        )
        group = (await client.wait_verified(session, timeout=5)).group_id
        assert group
        return group


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    emulator = Emulator(tmp_path)
    yield emulator
    emulator.app.state.sim.close()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("status-media")
    return {
        "good": make_image(d / "alice.jpg", width=600, height=800, person="alice"),
        "good2": make_image(d / "alice2.jpg", width=640, height=800, person="alice"),
        "good3": make_image(d / "alice3.jpg", width=680, height=800, person="alice"),
        "bob": make_image(d / "bob.jpg", width=600, height=800, person="bob"),
        "small": make_image(d / "small.jpg", width=120, height=120, person="alice"),
    }


async def _until(condition: Callable[[], bool], what: str) -> None:
    """Let the loop run until ``condition()`` holds (a few hundred turns at most, never real seconds)."""
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError(f"never happened: {what}")


def test_the_table_refreshes_until_every_row_is_terminal_then_sends_nothing_more(
    emu: Emulator, files: dict[str, Path]
) -> None:
    async def flow() -> None:
        async with emu.client("crun") as client:  # Crun cannot list assets: one look per pending row
            group = await emu.group(client)
            for name in ("good", "bob"):
                await client.upload_asset(group, files[name])
            before = emu.transport.count("asset-info")
            table = StatusTable(client, sleep=emu.sleep, refresh=5.0)
            assert table.state == "refreshing"
            assert list(table.frame["status"]) == ["processing", "processing"]

            frame = await asyncio.wait_for(table.done(), 10)

            assert table.state == "done"
            assert sorted(frame["status"]) == ["active", "failed"]
            assert table.rounds == 2 and emu.sleeps == [5.0]  # processing, then (after 5 s) terminal
            assert emu.transport.count("asset-info") - before == 2 * 2  # two pending rows, two rounds
            sent = len(emu.transport.sent)
            await emu.sleep(60.0)
            await _until(lambda: not table._tasks, "the refresh task to end")
            for _ in range(50):
                await asyncio.sleep(0)
            assert len(emu.transport.sent) == sent and table.rounds == 2

    asyncio.run(flow())


@pytest.mark.parametrize(("dialect", "list_path"), [("easyrouter", "/assets/list"), ("anyfast", "ListAssets")])
def test_a_listing_provider_costs_one_list_per_group_per_round_not_one_look_per_row(
    emu: Emulator, files: dict[str, Path], dialect: str, list_path: str
) -> None:
    async def flow() -> None:
        async with emu.client(dialect) as client:
            first, second = await emu.group(client), await emu.group(client)
            for name in ("good", "good2", "bob"):
                await client.upload_asset(first, files[name])
            for name in ("good3", "small"):
                await client.upload_asset(second, files[name])
            sent = len(emu.transport.sent)
            table = StatusTable(client, sleep=emu.sleep)
            frame = await asyncio.wait_for(table.done(), 10)

            assert len(frame) == 5 and set(frame["status"]) == {"active", "failed"}
            assert table.rounds == 2
            requests = emu.transport.sent[sent:]
            assert len(requests) == 2 * 2  # two groups × two rounds, where one look per row would be 5 × 2
            assert all(list_path in path for _, path in requests)

    asyncio.run(flow())


def test_failure_codes_and_messages_show_in_the_frame_the_widget_and_its_fallbacks(
    emu: Emulator, files: dict[str, Path]
) -> None:
    async def flow() -> StatusTable:
        async with emu.client("crun") as client:
            group = await emu.group(client)
            for name in ("good", "bob", "small"):
                await client.upload_asset(group, files[name])
            table = StatusTable(client, sleep=emu.sleep)
            await asyncio.wait_for(table.done(), 10)
            return table

    table = asyncio.run(flow())
    frame = table.frame.set_index("source")
    mismatch, small = frame.loc[str(files["bob"])], frame.loc[str(files["small"])]
    assert (mismatch["status"], mismatch["error_code"]) == ("failed", "FaceMismatch")
    assert (small["status"], small["error_code"]) == ("failed", "WidthTooSmall")
    assert "120" in small["error_message"] and mismatch["error_message"]
    assert frame.loc[str(files["good"])]["error_code"] is None
    shown = table.children[1].value
    bundle = table._repr_mimebundle_()
    for view in (shown, table.fallback_html(), bundle["text/html"], table.fallback_text(), bundle["text/plain"]):
        assert "FaceMismatch" in view and "WidthTooSmall" in view
        assert KEY not in view
    assert "background:#ffebe9" in shown  # failed rows are tinted
    assert table.summary().startswith("3 assets, 0 jobs: 1 active, 2 failed")


def test_jobs_are_followed_until_they_finish_and_left_out_with_jobs_false(
    emu: Emulator, files: dict[str, Path]
) -> None:
    async def flow() -> None:
        async with emu.client("easyrouter") as client:
            group = await emu.group(client)
            uploaded = await client.upload_asset(group, files["good"])
            await emu.sleep(PROCESSING)
            (active,) = await client.refresh_assets([uploaded])
            job = await client.generate("a slow smile", [active], duration=4, resolution="480p")
            assert job.status == "queued"

            without = StatusTable(client, jobs=False, sleep=emu.sleep)
            assert list(without.frame["kind"]) == ["asset"] and without.state == "done"

            table = StatusTable(client, sleep=emu.sleep)
            frame = await asyncio.wait_for(table.done(), 20)
            jobs = frame[frame["kind"] == "job"]
            assert list(jobs["id"]) == [job.id] and list(jobs["status"]) == ["succeeded"]
            assert list(jobs["name"]) == ["a slow smile"]
            assert table.rounds == 2

    asyncio.run(flow())


def test_group_and_person_filters_keep_their_rows_and_the_jobs_that_use_them(
    emu: Emulator, files: dict[str, Path]
) -> None:
    async def setup() -> tuple[ra.AsyncClient, str, str, str]:
        client = emu.client("crun")
        alices, carols = await emu.group(client, "alice"), await emu.group(client, "carol")
        mine = await client.upload_asset(alices, files["good"])
        await client.upload_asset(carols, files["good2"])
        await client.upload_asset(carols, files["good3"])
        await emu.sleep(PROCESSING)
        (active,) = await client.refresh_assets([mine])
        job = await client.generate("wave", [active], duration=4, resolution="480p")
        await client.aclose()
        return client, alices, carols, job.id

    client, alices, carols, job_id = asyncio.run(setup())
    # Built without a running loop (plain Python): nothing refreshes until asked.
    by_group = StatusTable(client, group_id=alices)
    by_person = StatusTable(client, person="carol")
    everything = StatusTable(client)
    assert by_group.state == "idle" and by_group.rounds == 0
    assert list(by_group.frame["kind"]) == ["asset", "job"] and list(by_group.frame["id"])[1] == job_id
    assert set(by_person.frame["group_id"]) == {carols} and list(by_person.frame["kind"]) == ["asset", "asset"]
    assert set(by_person.frame["person"]) == {"carol"}
    assert len(everything.frame) == 4


def test_an_upload_left_sending_holds_the_table_only_for_a_grace_period(tmp_path: Path) -> None:
    ledger = ra.Ledger(tmp_path / "ledger.sqlite3")
    ledger.begin_upload("crun", "group-1", sha256="0" * 64, source="a.jpg", asset_type="Image", name="a")
    fresh = StatusTable(ledger)  # its answer may arrive any moment: worth waiting for
    later = StatusTable(ledger, clock=lambda: datetime.now(UTC) + SENDING_GRACE + timedelta(seconds=1))
    assert fresh.state == "idle"  # pending, and no running loop to refresh on
    assert later.state == "done"  # a kernel died mid-upload: the row is shown, never waited on for ever
    assert list(later.frame["status"]) == ["sending"]


def test_export_writes_csv_parquet_and_html_and_names_the_suffixes_it_takes(
    emu: Emulator, files: dict[str, Path], tmp_path: Path
) -> None:
    async def flow() -> StatusTable:
        async with emu.client("crun") as client:
            group = await emu.group(client)
            for name in ("good", "bob"):
                await client.upload_asset(group, files[name])
            table = StatusTable(client, sleep=emu.sleep)
            await asyncio.wait_for(table.done(), 10)
            return table

    table = asyncio.run(flow())
    frame = table.frame
    text = table.to_csv()
    assert isinstance(text, str)
    from_text = pd.read_csv(io.StringIO(text))
    assert list(from_text.columns) == list(COLUMNS)
    assert list(from_text["id"]) == list(frame["id"]) and "FaceMismatch" in set(from_text["error_code"])

    csv_path = table.to_csv(tmp_path / "out" / "status.csv")
    assert csv_path == tmp_path / "out" / "status.csv" and csv_path.read_text(encoding="utf-8") == text
    parquet = pd.read_parquet(table.export(tmp_path / "status.parquet"))
    assert list(parquet["status"]) == list(frame["status"]) and list(parquet.columns) == list(COLUMNS)
    page = table.export(tmp_path / "status.html").read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "FaceMismatch" in page and "<table" in page
    with pytest.raises(ra.MediaError, match=r"\.csv, \.parquet or \.html"):
        table.export(tmp_path / "status.xlsx")


def test_a_table_over_a_ledger_rereads_it_each_interval_and_sends_no_request(
    emu: Emulator, files: dict[str, Path]
) -> None:
    async def flow() -> None:
        async with emu.client("crun") as client:  # someone else's client, writing the shared ledger
            group = await emu.group(client)
            uploads = [await client.upload_asset(group, files["good"])]
            seen: list[list[tuple[str, str]]] = []
            by_others = 0

            async def elsewhere(seconds: float) -> None:
                # Between the table's rounds another cell uploads and looks; the table only reads.
                nonlocal by_others
                seen.append(list(zip(table.frame["source"], table.frame["status"], strict=True)))
                before = len(emu.transport.sent)
                await emu.sleep(seconds)
                if len(uploads) == 1:
                    uploads.append(await client.upload_asset(group, files["bob"]))
                await client.refresh_assets(uploads)
                by_others += len(emu.transport.sent) - before

            sent = len(emu.transport.sent)
            table = StatusTable(emu.ledger, sleep=elsewhere)
            await asyncio.wait_for(table.done(), 10)

            good, bob = str(files["good"]), str(files["bob"])
            assert seen == [[(good, "processing")], [(good, "active"), (bob, "processing")]]
            final = list(zip(table.frame["source"], table.frame["status"], strict=True))
            assert final == [(good, "active"), (bob, "failed")]
            assert table.rounds == 3 and table.state == "done"
            assert len(emu.transport.sent) - sent == by_others > 0  # every request was the other client's

    asyncio.run(flow())


def test_stop_ends_the_background_refresh_and_done_then_returns(emu: Emulator, files: dict[str, Path]) -> None:
    async def flow() -> None:
        async with emu.client("crun") as client:
            group = await emu.group(client)
            await client.upload_asset(group, files["good"])

            async def no_time_passes(seconds: float) -> None:
                await asyncio.sleep(0)  # the emulator's clock stands still: the asset stays processing

            table = StatusTable(client, sleep=no_time_passes)
            await _until(lambda: table.rounds >= 3, "three refresh rounds")
            table.stop()
            rounds, sent = table.rounds, len(emu.transport.sent)
            for _ in range(50):
                await asyncio.sleep(0)
            assert table.state == "stopped"
            assert table.rounds == rounds and len(emu.transport.sent) == sent
            frame = await asyncio.wait_for(table.done(), 1)  # never hangs on a stopped table
            assert list(frame["status"]) == ["processing"]
            assert "refresh stopped" in table.fallback_text()

            closing = StatusTable(client, sleep=no_time_passes)
            waiting = asyncio.ensure_future(closing.done())
            await _until(lambda: closing.rounds >= 2, "two refresh rounds")
            closing.close()  # cancels the refresh under a waiting done(), which must then return
            assert list((await asyncio.wait_for(waiting, 1))["status"]) == ["processing"]
            assert closing.state == "stopped"

    asyncio.run(flow())


def test_a_refresh_error_is_shown_as_a_sentence_and_keeps_the_table(emu: Emulator, files: dict[str, Path]) -> None:
    async def flow() -> None:
        async with emu.client("crun") as client:
            group = await emu.group(client)
            for name in ("good", "bob"):
                await client.upload_asset(group, files[name])
            emu.transport.refuse = True
            table = StatusTable(client, sleep=emu.sleep)
            with pytest.raises(ra.AuthenticationError, match="Check the key"):
                await asyncio.wait_for(table.done(), 5)

            assert table.state == "error" and len(table.frame) == 2
            assert "refused the API key" in table.children[0].children[0].value
            assert "refused the API key" in table.fallback_text() and "Traceback" not in table.fallback_text()
            sent = len(emu.transport.sent)
            with pytest.raises(ra.AuthenticationError):  # done() tries again, and says so again
                await asyncio.wait_for(table.done(), 5)
            assert len(emu.transport.sent) > sent and table.state == "error" and len(table.frame) == 2

            emu.transport.refuse = False  # the key works again: Refresh retries and the refresh resumes
            frame = await table.refresh_now()
            assert list(frame["status"]) == ["processing", "processing"] and table.state == "refreshing"
            final = await asyncio.wait_for(table.done(), 10)
            assert sorted(final["status"]) == ["active", "failed"] and table.state == "done"

    asyncio.run(flow())


def test_two_failed_rounds_are_waited_out_and_the_third_in_a_row_shows_the_error(
    emu: Emulator, files: dict[str, Path]
) -> None:
    async def flow() -> None:
        async with emu.client("crun") as client:  # one pending row: one look per round
            group = await emu.group(client)
            await client.upload_asset(group, files["good"])
            emu.transport.garble = FAILED_LOOKS - 1
            table = StatusTable(client, sleep=emu.sleep, refresh=5.0)
            await _until(lambda: emu.transport.garble == 0 and "trying again" in table.summary(), "a failed round")
            assert table.state == "refreshing" and "round 1 failed" in table.summary()

            frame = await asyncio.wait_for(table.done(), 10)

            assert table.state == "done" and list(frame["status"]) == ["active"]
            assert table.rounds == 1 and emu.sleeps == [5.0] * (FAILED_LOOKS - 1)  # on the clock, not real time
            assert "trying again" not in table.summary()

            await client.upload_asset(group, files["good2"])
            emu.transport.garble = FAILED_LOOKS
            again = StatusTable(client, sleep=emu.sleep, refresh=5.0)
            with pytest.raises(ra.MalformedResponseError):
                await asyncio.wait_for(again.done(), 10)
            assert again.state == "error" and again.rounds == 0 and len(again.frame) == 2
            assert "refresh failed" in again.summary()

    asyncio.run(flow())


def test_the_refresh_button_runs_one_round_and_done_starts_the_refresh(emu: Emulator, files: dict[str, Path]) -> None:
    async def setup() -> ra.AsyncClient:
        client = emu.client("crun")
        group = await emu.group(client)
        for name in ("good", "bob"):
            await client.upload_asset(group, files[name])
        return client

    client = asyncio.run(setup())
    table = StatusTable(client, sleep=emu.sleep)  # no running loop here: idle until asked

    async def flow() -> None:
        sent = Counter(path for _, path in emu.transport.sent)
        table.button.click()
        await _until(lambda: table.rounds == 1, "the button's round")
        await _until(lambda: not table._tasks, "the button's task to end")
        after = Counter(path for _, path in emu.transport.sent) - sent
        assert sum(after.values()) == 2  # one look at each pending asset, once
        assert table.state == "idle" and table.rounds == 1

        frame = await asyncio.wait_for(table.done(), 10)
        assert table.state == "done" and table.rounds == 3
        assert sorted(frame["status"]) == ["active", "failed"]

    asyncio.run(flow())


def test_hostile_asset_names_are_escaped_on_screen_and_neutralised_in_csv(
    emu: Emulator, files: dict[str, Path], tmp_path: Path
) -> None:
    formula, hidden = '=HYPERLINK("http://evil.example","x")', "\u202egpj.exe\x1b[2J\r"

    async def flow() -> StatusTable:
        async with emu.client("crun") as client:
            group = await emu.group(client)
            await client.upload_asset(group, files["good"], name=formula)
            await client.upload_asset(group, files["good2"], name=hidden)
            table = StatusTable(client, sleep=emu.sleep)
            await asyncio.wait_for(table.done(), 10)
            return table

    table = asyncio.run(flow())
    assert set(table.frame["name"]) == {formula, hidden}  # the frame keeps the data as it is
    shown = "\n".join([table.fallback_text(), table.fallback_html(), table._table.value])
    assert not any(ch in shown for ch in ("\u202e", "\x1b", "\r"))
    assert "\\u202egpj.exe\\x1b[2J\\r" in table.fallback_text() and "\\u202egpj.exe" in table._table.value
    for text in (table.to_csv(), table.to_csv(tmp_path / "status.csv").read_text(encoding="utf-8")):
        names = set(pd.read_csv(io.StringIO(text))["name"])
        assert names == {"'" + formula, "\\u202egpj.exe\\x1b[2J\\r"}
