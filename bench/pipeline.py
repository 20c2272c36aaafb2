"""How many HTTP requests and how much time ``upload_assets`` + ``wait_active`` cost, against a hand-written loop.

For each provider, 500 distinct images are uploaded into a verified group and waited to Active
against the emulator (``processing_seconds=1``), twice over in the same run: once through
``realavatar_nb.AsyncClient`` and once through a minimal hand-written ``httpx.AsyncClient`` loop
with the same concurrency and the same poll interval. The loop stages each file on the emulator's
file host (``POST /files``; Anyfast takes the file itself, multipart), creates the asset with the
dialect's raw JSON, then polls until nothing is Processing: the group's list, page by page, where
the provider has one (EasyRouter, Anyfast), else a GET per pending asset (Crun, toapis, APIMart's
review task), the pending ones read ``--concurrency`` at a time.

Requests are counted client-side, every send through the transport (a retry counts again), for
both methods the same way. Staging uploads are counted but kept out of requests/asset: both
methods stage each file once, identically. The measured phase is upload + wait; the group's
verification before it (through the client, for the loop's account too) is neither timed nor
counted. Every run uses its own API key, so its own emulator account; ``/_sandbox/stats`` must
show 500 assets, one group and no duplicate file for each. The client is built as for a real
provider (dialect, ``base_url``, ``SandboxStager``), with a fresh ledger file per run in a temporary
folder on disk, and ``rates={}``: the emulator, like the client's own sandbox mode, has no rate
limit, and the published 5 creates/s would bound any method to 100 s per 500 assets.

Two goals per provider, each PASS or MISS:

* client requests per asset (staging excluded) <= 1.5 where the provider lists assets, <= 2.5 elsewhere;
* client wall time <= 1.3x the hand-written loop's (median of ``--repeat`` runs each).

Then one run at a provider's limit (``_at_limit.py``): an emulator that allows ``--limit-qpm`` creates a
minute (429 ``QuotaWriteQPMExceeded`` past it), a client told the same, ``--limit-assets`` uploads; the
goal: within 5 % of the minimum time that limit allows, and no refusal provoked.

The emulator runs in its own process (``python -m realavatar_nb sandbox``), so client and server
do not share a GIL. Exits 0 either way (non-zero only on a crash). Loopback only; every wait is bounded.

    python bench/pipeline.py [--assets 500] [--concurrency 8] [--poll 0.5] [--repeat 3]
                             [--providers easyrouter,crun,...] [--media DIR] [--json OUT]
                             [--limit-qpm 60] [--limit-assets 31]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from _at_limit import at_limit  # bench/ is on sys.path when a script runs
from _machine import machine_facts

RECIPE_VERSION = 2  # 2: images tagged faces=1, so the emulator judges the tag and never scans a face
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MEDIA = ROOT / "build" / "bench" / "pipeline-media"
PROCESSING_SECONDS = 1.0
GOAL_LISTING = 1.5  # client requests per asset, at most, where the provider lists assets
GOAL_OTHER = 2.5  # ... where it does not
GOAL_WALL = 1.3  # client wall seconds ÷ hand-written loop wall seconds, at most
START_TIMEOUT = 30.0  # seconds for the emulator to report and answer
ACTIVE_TIMEOUT = 120.0  # seconds for one run's assets to leave Processing
WARM_ASSETS = 20
PROVIDERS = ("easyrouter", "anyfast", "crun", "toapis", "apimart")


# --- the emulator (a subprocess) ------------------------------------------------------------------


@dataclass
class Emulator:
    url: str
    pid: int

    def cpu_seconds(self) -> float | None:
        """User + system CPU the emulator process has used so far, or None off Linux."""
        try:
            with open(f"/proc/{self.pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stats(self) -> dict[str, Any]:
        answer: dict[str, Any] = httpx.get(f"{self.url}/_sandbox/stats", timeout=30).json()
        return answer


@contextmanager
def emulator(processing: float) -> Iterator[Emulator]:
    """Serve the emulator from the CLI on a free loopback port; yield it once it answers; stop it after."""
    command = [
        sys.executable,
        "-m",
        "realavatar_nb",
        "sandbox",
        "--port",
        "0",
        "--autopilot",
        "0",
        "--processing",
        f"{processing:g}",
    ]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], START_TIMEOUT)
        found = re.search(r"serving (http://\S+)", proc.stdout.readline() if ready else "")
        if found is None:
            raise RuntimeError(f"The emulator did not print its URL within {START_TIMEOUT:g} s.")
        server = Emulator(found.group(1), proc.pid)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                if httpx.get(f"{server.url}/_sandbox/stats", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"The emulator at {server.url} did not answer in {START_TIMEOUT:g} s.")
            time.sleep(0.05)
        yield server
    finally:
        # SIGINT, not SIGTERM: the CLI stops on KeyboardInterrupt and then removes its work folder.
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


# --- the media ------------------------------------------------------------------------------------


def media(root: Path, count: int) -> tuple[list[Path], str]:
    """Return ``count`` distinct small JPEGs and where they came from (generated once, then cached)."""
    marker, folder, scratch = root / "recipe.json", root / "files", root / "files.partial"
    want = {"version": RECIPE_VERSION, "count": count}
    if marker.exists() and folder.is_dir():
        have = json.loads(marker.read_text())
        paths = sorted(folder.glob("*.jpg"))
        if have.get("version") == RECIPE_VERSION and have.get("count", 0) >= count and len(paths) == have["count"]:
            return paths[:count], f"cached in {folder}"
    from realavatar_nb.samples import make_image

    shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(scratch, ignore_errors=True)
    marker.unlink(missing_ok=True)
    scratch.mkdir(parents=True)
    started = time.perf_counter()

    # A distinct size per file, so distinct bytes: the emulator counts a file uploaded twice into a group.
    # The faces=1 tag keeps the emulator's face scan (~70 ms a photo) out of what is measured here.
    def one(n: int) -> Path:
        return make_image(scratch / f"img-{n:04d}.jpg", width=300 + n % 50, height=400 + n // 50, quality=50, faces=1)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        list(pool.map(one, range(count)))
    scratch.rename(folder)
    marker.write_text(json.dumps(want) + "\n")
    return sorted(folder.glob("*.jpg")), f"generated in {time.perf_counter() - started:.1f} s into {folder}"


# --- counting -------------------------------------------------------------------------------------

# (method, path pattern, operation): how a request is named in the per-operation counts.
_OPERATIONS = [
    (method, re.compile(pattern), op)
    for method, pattern, op in (
        ("POST", r"^/files$", "stage"),
        ("POST", r"^/easyrouter/.*/assets$", "create"),
        ("POST", r"^/easyrouter/.*/assets/list$", "list"),
        ("GET", r"^/easyrouter/.*/assets/[^/]+$", "get"),
        ("POST", r"^/anyfast/volc/asset/CreateAsset$", "create"),
        ("POST", r"^/anyfast/volc/asset/ListAssets$", "list"),
        ("POST", r"^/anyfast/volc/asset/GetAsset$", "get"),
        ("POST", r"^/crun/.*/asset-upload$", "create"),
        ("GET", r"^/crun/.*/asset-info$", "get"),
        ("POST", r"^/toapis/.*/real-avatar/assets$", "create"),
        ("GET", r"^/toapis/.*/real-avatar/assets/[^/]+$", "get"),
        ("POST", r"^/apimart/v1/seedance2/real-avatar$", "create"),  # in the measured phase, only submits
        ("GET", r"^/apimart/v1/tasks/[^/]+$", "get task"),
    )
]


def operation(request: httpx.Request) -> str:
    path = request.url.path
    for method, pattern, op in _OPERATIONS:
        if request.method == method and pattern.search(path):
            return op
    return f"{request.method} {path}"  # unexpected: shown as is


class CountingTransport(httpx.AsyncBaseTransport):
    """Sends through a plain ``httpx.AsyncHTTPTransport``, counting every request by operation."""

    def __init__(self) -> None:
        self._wrapped = httpx.AsyncHTTPTransport()
        self.counts: Counter[str] = Counter()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.counts[operation(request)] += 1
        return await self._wrapped.handle_async_request(request)

    async def aclose(self) -> None:
        await self._wrapped.aclose()


# --- the hand-written loop ------------------------------------------------------------------------

Kwargs = dict[str, Any]


@dataclass(frozen=True)
class HandFlow:
    """One provider's raw calls, as a person would write them from its docs."""

    dialect: str
    lists: bool  # has a list endpoint (the tighter requests goal)
    auth: Callable[[str], dict[str, str]]
    create: Callable[[str, str, str, str], Kwargs]  # (base, group, url or local path, name) -> request
    created: Callable[[Any], str]  # create's JSON -> the id to poll
    stages: bool = True  # False: the create sends the file itself
    get: Callable[[str, str], Kwargs] | None = None  # (base, id) -> request
    status: Callable[[Any], str] | None = None  # get's JSON -> processing | active | failed
    list_page: Callable[[str, str, int], Kwargs] | None = None  # (base, group, page) -> request
    listed: Callable[[Any], tuple[dict[str, str], int]] | None = None  # list's JSON -> ({id: status}, total)


def _bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


_ER = "/api/resource-channel/byteplus/visual-validate"
_CRUN = "/api/v1/client/job"
_TOAPIS = "/v1/videos/doubao-seedance-2-0/real-avatar"
_PAGE = 100  # the largest page both list endpoints allow


def _apimart_status(body: Any) -> str:
    status = body["data"]["status"]
    if status in ("submitted", "pending", "processing"):
        return "processing"
    return "active" if status == "completed" else "failed"  # a failed task: its one asset failed review


FLOWS = {
    "easyrouter": HandFlow(
        "easyrouter",
        lists=True,
        auth=_bearer,
        create=lambda base, group, url, name: {
            "method": "POST",
            "url": f"{base}{_ER}/assets",
            "json": {"group_id": group, "url": url, "asset_type": "Image", "name": name},
        },
        created=lambda body: body["data"]["id"],
        list_page=lambda base, group, page: {
            "method": "POST",
            "url": f"{base}{_ER}/assets/list",
            "json": {"group_ids": [group], "page_number": page, "page_size": _PAGE},
        },
        listed=lambda body: (
            {i["id"]: i["status"].lower() for i in body["data"]["items"]},
            body["data"]["total_count"],
        ),
    ),
    "anyfast": HandFlow(
        "anyfast",
        lists=True,
        auth=_bearer,
        stages=False,
        create=lambda base, group, path, name: {
            "method": "POST",
            "url": f"{base}/volc/asset/CreateAsset",
            "data": {"model": "volc-asset", "GroupId": group, "Name": name},
            "files": {"file": (os.path.basename(path), Path(path).read_bytes())},
        },
        created=lambda body: body["Id"],
        list_page=lambda base, group, page: {
            "method": "POST",
            "url": f"{base}/volc/asset/ListAssets",
            "json": {"model": "volc-asset", "PageNumber": page, "PageSize": _PAGE, "Filter": {"GroupIds": [group]}},
        },
        listed=lambda body: ({i["Id"]: i["Status"].lower() for i in body["Items"]}, body["TotalCount"]),
    ),
    "crun": HandFlow(
        "crun",
        lists=False,
        auth=lambda key: {"x-api-key": key},
        create=lambda base, group, url, name: {
            "method": "POST",
            "url": f"{base}{_CRUN}/asset-upload",
            "json": {"name": name, "asset_type": "Image", "asset_url": url, "group_id": group},
        },
        created=lambda body: body["data"]["AssetId"],
        get=lambda base, asset: {"method": "GET", "url": f"{base}{_CRUN}/asset-info", "params": {"asset_id": asset}},
        status=lambda body: body["data"]["Status"].lower(),
    ),
    "toapis": HandFlow(
        "toapis",
        lists=False,
        auth=_bearer,
        create=lambda base, group, url, name: {
            "method": "POST",
            "url": f"{base}{_TOAPIS}/assets",
            "json": {"group_id": group, "asset_type": "image", "source_url": url, "name": name},
        },
        created=lambda body: body["data"]["asset_id"],
        get=lambda base, asset: {"method": "GET", "url": f"{base}{_TOAPIS}/assets/{asset}"},
        status=lambda body: body["data"]["status"].lower(),
    ),
    "apimart": HandFlow(
        "apimart",
        lists=False,
        auth=_bearer,
        # One review task per file, as the client sends it; the task is what is polled.
        create=lambda base, group, url, name: {
            "method": "POST",
            "url": f"{base}/v1/seedance2/real-avatar",
            "json": {
                "group_id": group,
                "project_name": "default",
                "asset_type": "Image",
                "assets": [{"url": url, "name": name}],
            },
        },
        created=lambda body: body["data"]["id"],
        get=lambda base, task: {"method": "GET", "url": f"{base}/v1/tasks/{task}"},
        status=_apimart_status,
    ),
}


async def _json(http: httpx.AsyncClient, kwargs: Kwargs) -> Any:
    response = await http.request(**kwargs)
    response.raise_for_status()
    return response.json()


async def hand_loop(
    flow: HandFlow, root: str, key: str, group: str, paths: list[Path], concurrency: int, interval: float
) -> tuple[Counter[str], dict[str, str], float, float]:
    """Upload ``paths``, poll until none is Processing; return (request counts, statuses, upload s, wall s)."""
    base = f"{root}/{flow.dialect}"
    counter = CountingTransport()
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(transport=counter, headers=flow.auth(key), timeout=30) as http:
        started = time.perf_counter()

        async def upload(path: Path) -> str:
            async with gate:
                source = str(path)
                if flow.stages:
                    with open(path, "rb") as fh:
                        staged = await http.post(f"{root}/files", files={"file": (path.name, fh)})
                    staged.raise_for_status()
                    source = staged.json()["url"]
                return flow.created(await _json(http, flow.create(base, group, source, path.stem)))

        async def read(asset: str) -> tuple[str, str]:
            assert flow.get is not None and flow.status is not None
            async with gate:
                return asset, flow.status(await _json(http, flow.get(base, asset)))

        async def read_group() -> dict[str, str]:
            assert flow.list_page is not None and flow.listed is not None
            found: dict[str, str] = {}
            for page in range(1, len(paths) // _PAGE + 2):  # bounded: one page more than the group can fill
                items, total = flow.listed(await _json(http, flow.list_page(base, group, page)))
                found |= items
                if not items or page * _PAGE >= total:
                    break
            return found

        ids = await asyncio.gather(*(upload(p) for p in paths))
        uploaded = time.perf_counter() - started
        statuses = dict.fromkeys(ids, "processing")
        deadline = time.monotonic() + ACTIVE_TIMEOUT
        while True:
            pending = [i for i, s in statuses.items() if s == "processing"]
            if flow.lists:
                listed = await read_group()
                statuses |= {i: listed[i] for i in pending if i in listed}
            else:
                statuses |= dict(await asyncio.gather(*(read(i) for i in pending)))
            if all(s != "processing" for s in statuses.values()):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{flow.dialect}: assets still Processing after {ACTIVE_TIMEOUT:g} s (hand loop).")
            await asyncio.sleep(interval)
        return counter.counts, statuses, uploaded, time.perf_counter() - started


# --- the client -----------------------------------------------------------------------------------


def _client(dialect: str, root: str, key: str, ledger: Path, interval: float, transport: Any = None) -> Any:
    import realavatar_nb as ra
    from realavatar_nb._staging import SandboxStager

    # A real provider's client spaces its requests to upstream's published rates (5 creates/s);
    # the emulator has no limit unless told, so, as in the client's own sandbox mode, none here.
    options: dict[str, Any] = {"rates": {}} if client_takes_rates() else {}
    return ra.AsyncClient(
        dialect,
        api_key=key,
        base_url=f"{root}/{dialect}",
        ledger=ra.Ledger(ledger),
        stager=SandboxStager(root, key),
        poll_interval=interval,
        transport=transport,
        **options,
    )


def client_takes_rates() -> bool:
    import inspect

    import realavatar_nb as ra

    return "rates" in inspect.signature(ra.AsyncClient).parameters


async def verified_group(client: Any, root: str) -> str:
    """Return a verified group's id: a session the emulator's autopilot passes at once."""
    session = await client.create_verification(callback_url=f"{root}/_sandbox/callback")
    verification = await client.wait_verified(session, timeout=30)
    return str(verification.group_id)


async def client_flow(
    dialect: str, root: str, key: str, paths: list[Path], concurrency: int, interval: float, ledger: Path
) -> tuple[Counter[str], dict[str, str], float, float]:
    """Verify a group, then upload ``paths`` and wait them out; return (counts, statuses, upload s, wall s)."""
    import realavatar_nb as ra

    counter = CountingTransport()
    client = _client(dialect, root, key, ledger, interval, counter)
    try:
        group = await verified_group(client, root)
        counter.counts.clear()  # the verification is setup, not the flow measured
        started = time.perf_counter()
        results = await client.upload_assets(group, [str(p) for p in paths], concurrency=concurrency)
        uploaded = time.perf_counter() - started
        done = await client.wait_active([a for a in results if isinstance(a, ra.Asset)], timeout=ACTIVE_TIMEOUT)
        seconds = time.perf_counter() - started
    finally:
        await client.aclose()
        client.ledger.close()
    statuses = {a.id: a.status for a in done}
    statuses |= {f"error-{i}": f"error: {r!r}"[:120] for i, r in enumerate(results) if not isinstance(r, ra.Asset)}
    return counter.counts, statuses, uploaded, seconds


async def loop_flow(
    flow: HandFlow, root: str, key: str, paths: list[Path], concurrency: int, interval: float, ledger: Path
) -> tuple[Counter[str], dict[str, str], float, float]:
    """Verify the loop's group through the client (setup, uncounted), then run the hand-written loop."""
    client = _client(flow.dialect, root, key, ledger, interval)
    try:
        group = await verified_group(client, root)
    finally:
        await client.aclose()
        client.ledger.close()
    return await hand_loop(flow, root, key, group, paths, concurrency, interval)


# --- the runs -------------------------------------------------------------------------------------

CLIENT, LOOP = "realavatar_nb AsyncClient", "hand-written httpx loop"


@dataclass
class Run:
    dialect: str
    method: str
    key: str
    counts: Counter[str]
    statuses: dict[str, str]
    uploaded: float  # seconds until every create was answered
    seconds: float  # ... until nothing was Processing (the wall time)
    client_cpu: float
    server_cpu: float | None
    created: dict[str, Any] = field(default_factory=dict)  # this account's /_sandbox/stats

    @property
    def requests(self) -> int:
        """Requests sent in the measured phase, staging uploads left out."""
        return sum(n for op, n in self.counts.items() if op != "stage")

    @property
    def active(self) -> int:
        return sum(s == "active" for s in self.statuses.values())


def measure(server: Emulator, flow: HandFlow, method: str, key: str, paths: list[Path], args: Any, tmp: Path) -> Run:
    ledger = tmp / f"{key}.sqlite3"
    cpu, before = time.process_time(), server.cpu_seconds()
    if method == CLIENT:
        job = client_flow(flow.dialect, server.url, key, paths, args.concurrency, args.poll, ledger)
    else:
        job = loop_flow(flow, server.url, key, paths, args.concurrency, args.poll, ledger)
    counts, statuses, uploaded, seconds = asyncio.run(job)
    after = server.cpu_seconds()
    server_cpu = after - before if before is not None and after is not None else None
    # CPU includes the (uncounted) verification before the flow: a few requests, milliseconds.
    return Run(flow.dialect, method, key, counts, statuses, uploaded, seconds, time.process_time() - cpu, server_cpu)


def check_stats(runs: list[Run], stats: dict[str, Any], expected: int) -> list[str]:
    """Attach each run's creation counts; return a line per run that created other than expected."""
    from realavatar_nb.simulator.state import account_label, account_of

    problems = []
    for run in runs:
        label = account_label(account_of(run.key, run.dialect))
        run.created = dict(stats["accounts"].get(label, {}))
        run.created["duplicates"] = sum(d["count"] - 1 for d in stats["duplicates"] if d["account"] == label)
        if run.created.get("assets") != expected or run.created.get("groups") != 1 or run.created["duplicates"]:
            problems.append(
                f"{run.dialect} {run.method} ({run.key}): created {run.created}, expected {expected} assets"
            )
    return problems


def _median(runs: list[Run], value: Callable[[Run], float]) -> float:
    return statistics.median(value(r) for r in runs)


def machine() -> dict[str, Any]:
    import starlette
    import uvicorn

    return machine_facts(
        **{
            "httpx": httpx.__version__,
            "uvicorn": uvicorn.__version__,
            "starlette": starlette.__version__,
        }
    )


def goal(provider: str, name: str, value: float, limit: float, unit: str = "") -> dict[str, Any]:
    return {"provider": provider, "goal": name, "value": value, "target": f"<= {limit:g}{unit}", "unit": unit,
            "result": "PASS" if value <= limit else "MISS"}  # fmt: skip


def goal_line(g: dict[str, Any], *, provider: bool) -> str:
    who = f"{g['provider']:<10} " if provider else ""
    shown = f"{g['value']:.3f}{g['unit']}"
    return f"{g['result']:<5} {who}{g['goal']:<44} {shown:>7}  (goal {g['target']})"


def report(flow: HandFlow, runs: list[Run], assets: int) -> list[dict[str, Any]]:
    """Print one provider's table, its per-operation counts and its goals; return the goals."""
    by_method = {m: [r for r in runs if r.method == m] for m in (CLIENT, LOOP)}
    kind = "list endpoint" if flow.lists else "no list endpoint: a read per asset"
    print(f"\n{flow.dialect} ({kind})")
    print(
        f"  {'method':<27} {'assets':>6} {'active':>6} {'requests':>8} {'req/asset':>9} {'wall s':>7} "
        f"{'upload s':>8} {'staging':>7} {'client CPU s':>12} {'server CPU s':>12}"
    )
    for method, mine in by_method.items():
        server = [r.server_cpu for r in mine if r.server_cpu is not None]
        requests = _median(mine, lambda r: r.requests)
        cells = [
            f"{min(r.active for r in mine):>6}",
            f"{requests:>8.0f}",
            f"{requests / assets:>9.2f}",
            f"{_median(mine, lambda r: r.seconds):>7.2f}",
            f"{_median(mine, lambda r: r.uploaded):>8.2f}",
            f"{_median(mine, lambda r: r.counts['stage']):>7.0f}",
            f"{_median(mine, lambda r: r.client_cpu):>12.2f}",
            f"{statistics.median(server) if server else float('nan'):>12.2f}",
        ]
        print(f"  {method:<27} {assets:>6} {' '.join(cells)}")
    for method, mine in by_method.items():
        ops: Counter[str] = Counter()
        for r in mine:
            ops.update(r.counts)
        each = ", ".join(f"{op} {n / len(mine):g}" for op, n in sorted(ops.items()))
        walls = ", ".join(f"{r.seconds:.2f}" for r in mine)
        print(f"  per operation, {method} (mean of {len(mine)}): {each}; wall s per run: {walls}")
    client, loop = by_method[CLIENT], by_method[LOOP]
    goals = [
        goal(flow.dialect, "client requests per asset", _median(client, lambda r: r.requests) / assets,
             GOAL_LISTING if flow.lists else GOAL_OTHER),
        goal(flow.dialect, "client wall s ÷ hand-written loop wall s",
             _median(client, lambda r: r.seconds) / _median(loop, lambda r: r.seconds), GOAL_WALL, "x"),
    ]  # fmt: skip
    for g in goals:
        print("  " + goal_line(g, provider=False))
    return goals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=500, help="assets per run (default 500)")
    parser.add_argument("--concurrency", type=int, default=8, help="uploads in flight, both methods (default 8)")
    parser.add_argument("--poll", type=float, default=0.5, help="poll interval in seconds, both methods (default 0.5)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per method and provider; the median is reported")
    parser.add_argument(
        "--providers", default=",".join(PROVIDERS), help=f"comma-separated (default {','.join(PROVIDERS)})"
    )
    parser.add_argument("--media", type=Path, default=DEFAULT_MEDIA, help=f"image cache (default {DEFAULT_MEDIA})")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--limit-qpm", type=int, default=60, help="the at-the-limit run's writes a minute (0: skip it)")
    parser.add_argument("--limit-assets", type=int, default=31, help="uploads in the at-the-limit run (default 31)")
    args = parser.parse_args(argv)
    chosen = [p.strip() for p in args.providers.split(",") if p.strip()]
    if unknown := [p for p in chosen if p not in FLOWS]:
        parser.error(f"unknown provider(s) {', '.join(unknown)}; choose from {', '.join(PROVIDERS)}")
    if min(args.assets, args.concurrency, args.repeat) < 1 or args.poll <= 0:
        parser.error("--assets, --concurrency and --repeat must be at least 1, --poll above 0")

    started = time.perf_counter()
    facts = machine()
    print(f"machine: {facts['cores']} cores ({facts['cpu']}), {facts['platform']}, python {facts['python']}")
    print(f"         httpx {facts['httpx']}, uvicorn {facts['uvicorn']}, starlette {facts['starlette']}")
    paths, origin = media(args.media, max(args.assets, WARM_ASSETS))
    paths = paths[: args.assets]
    size = sum(p.stat().st_size for p in paths)
    print(f"media:   {len(paths)} distinct JPEGs (300-349 x 400+), {size / 1e6:.1f} MB, {origin}")
    print(
        f"flow:    {args.assets} assets per run, concurrency {args.concurrency}, poll every {args.poll:g} s, "
        f"processing {PROCESSING_SECONDS:g} s, {args.repeat} run(s) per method and provider"
    )
    if client_takes_rates():
        print("client:  rates={} (no client-side rate limit, as the emulator has none; the published 5 creates/s")
        print("         alone would make 500 uploads take >= 100 s, with or without this client)")
    flows = [FLOWS[p] for p in chosen]
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as scratch, emulator(PROCESSING_SECONDS) as server:
        tmp = Path(scratch)
        print(f"emulator: {server.url} (pid {server.pid}, its own process)")
        # Warm-up, untimed: imports (PyAV/Pillow for the client's type check), connections, sqlite.
        for method in (CLIENT, LOOP):
            measure(server, flows[0], method, f"bench-warm-{method[:4]}", paths[:WARM_ASSETS], args, tmp)
        for r in range(args.repeat):
            for i, flow in enumerate(flows):
                # Alternate which method goes first, so drift in the machine's speed hits both alike.
                for method in (CLIENT, LOOP) if (r + i) % 2 == 0 else (LOOP, CLIENT):
                    key = f"bench-{'client' if method == CLIENT else 'loop'}-{flow.dialect}-{r}"
                    run = measure(server, flow, method, key, paths, args, tmp)
                    runs.append(run)
                    print(
                        f"  run {r + 1}/{args.repeat} {flow.dialect:<10} {method:<27} {run.seconds:6.2f} s "
                        f"{run.requests:5d} requests, {run.active} active",
                        flush=True,
                    )
        problems = check_stats(runs, server.stats(), args.assets)

    goals = []
    for flow in flows:
        goals += report(flow, [r for r in runs if r.dialect == flow.dialect], args.assets)
    print("\n(requests: every send in the upload + wait phase, retries included, staging POST /files left out")
    print(" and shown as 'staging'; medians of the runs; 'active': the fewest Active in any run; upload s:")
    print(" until every create was answered, the rest of wall s is the wait; CPU: whole processes during a")
    print(" run, the client's including its untimed group verification)")
    print(f"\nemulator /_sandbox/stats: {len(runs)} runs, each its own account; ", end="")
    if problems:
        print("NOT as expected:")
        for line in problems:
            print(f"  {line}")
    else:
        print(f"every one created {args.assets} assets in 1 group, no file twice")
    print()
    for g in goals:
        print(goal_line(g, provider=True))
    limit = at_limit(paths[: args.limit_assets], args.limit_qpm) if args.limit_qpm > 0 else None
    print(f"total {time.perf_counter() - started:.1f} s")

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        figures = {
            "machine": facts,
            "at_limit": limit,
            "assets": args.assets,
            "concurrency": args.concurrency,
            "poll_seconds": args.poll,
            "processing_seconds": PROCESSING_SECONDS,
            "repeat": args.repeat,
            "runs": [
                {
                    "provider": r.dialect,
                    "method": r.method,
                    "requests": r.requests,
                    "by_operation": dict(r.counts),
                    "requests_per_asset": r.requests / args.assets,
                    "wall_s": r.seconds,
                    "upload_s": r.uploaded,
                    "active": r.active,
                    "client_cpu_s": r.client_cpu,
                    "server_cpu_s": r.server_cpu,
                    "emulator_created": r.created,
                }
                for r in runs
            ],
            "stats_problems": problems,
            "goals": goals,
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
