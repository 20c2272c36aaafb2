"""How many requests per second the emulator serves on loopback, against a bare Starlette ``/ping``.

Both servers run the same way: uvicorn on 127.0.0.1 (a free port), each in its own subprocess,
so the client and the servers do not share a GIL. The client is one process running
``httpx.AsyncClient``s with 50 requests in flight (spread over pools of ``--per-pool``
connections: one pool of 50 spends more CPU finding a free connection than the servers spend
answering).

The emulator is seeded first. Crun is seeded over HTTP, the way a client would: a session passed
on the H5 page, ~50 images put on the file host and uploaded with ``asset-upload``, then polled
until Active. The other dialects keep their own accounts (one per provider) and their upload
flows differ, so their accounts are seeded inside the server process through ``State`` with the
same images. The load is a mix of get-asset calls, every seeded asset through every dialect whose
get-asset route exists and answers 200 for it (Crun ``asset-info``, Toapis and EasyRouter
``GET …/assets/{id}``, Anyfast ``POST /volc/asset/GetAsset``); the same client hammers ``/ping``.

The signed dialect is measured on its own row, not in the mix: upstream's own ``GetAsset``
(``byteplus``), ``POST /?Action=GetAsset&Version=2024-01-01`` at the emulator's root, every request
signed (HMAC-SHA256) and checked by the emulator against the key it minted. The server process
mints a BytePlus access key as ``Sandbox.access_key`` does and seeds that key's account like the
others; the client builds each request with ``providers.ark.BytePlus.build_get_asset``. The
requests are pre-signed, one per seeded asset, before each timed run and replayed through it (X-Date
holds 15 minutes; a single run longer than that would count RequestExpired answers as errors):
signing costs the client about 0.17 ms of CPU a request, and the client's CPU is already the
bottleneck on 2 cores, so signing at send time would measure the client's signer, not the emulator.
Runs alternate between the loads; each figure is the median of ``--repeat`` runs.

Two ratios are printed for the mix and two for the signed dialect, each with PASS or MISS against
the goal (≥ 0.5×):

* throughput: emulator req/s ÷ /ping req/s, as the client sees it;
* server cost: /ping server CPU per request ÷ emulator server CPU per request (read from
  ``/proc/<pid>/stat``; Linux only). When the client's CPU is saturated, the throughput ratio
  says more about the client than about the emulator; this one does not.

Exits 0 either way (non-zero only on a crash). Loopback only; every loop is bounded.

    python bench/emulator.py [--requests 3000] [--concurrency 50] [--per-pool 5] [--assets 50]
                             [--repeat 3] [--json OUT]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from _machine import machine_facts  # bench/ is on sys.path when a script runs

GOAL = 0.5  # emulator ÷ /ping, at least
HOST = "127.0.0.1"
KEY = "bench-key"
PERSON = "bench"
PROCESSING_SECONDS = 0.2
START_TIMEOUT = 30.0  # seconds for a server subprocess to report and answer
ACTIVE_TIMEOUT = 30.0  # seconds for the seeded assets to become Active
CRUN = "/crun/api/v1/client/job"
SIGNED = "byteplus"  # the signed dialect, measured on its own row


# --- the servers (subprocesses: ``--serve emulator|ping``) ----------------------------------------


def ping_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    async def ping(request: Request) -> Response:
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/ping", ping, methods=["GET"])])


def seed_in_process(app: Any, images: list[Path], *, keys: dict[str, Any], skip: str = "crun") -> dict[str, list[str]]:
    """Give every dialect's account but ``skip``'s a passed session, its group and an asset per image.

    An upstream dialect's account is the one its minted key in ``keys`` signs for; the others are
    ``KEY``'s. Returns the ids of the assets that are Active, by dialect.
    """
    from realavatar_nb.simulator.dialects import DIALECTS

    state, files = app.state.sim, app.state.files
    urls = [f"http://{HOST}{files.store(path.read_bytes(), path.name)[1]}" for path in images]
    created: dict[str, list[tuple[str, str]]] = {}
    for name in DIALECTS:
        if name == skip:
            continue
        if name in keys:
            account = state.keys.by_access_key(keys[name].access_key_id).account
        else:
            account = state.account(KEY, name)
        session = state.complete(state.create_session(account).token, passed=True, person=PERSON)
        assets = [state.create_asset(account, group_id=session.group_id, url=u, asset_type="Image") for u in urls]
        created[name] = [(account, asset.id) for asset in assets]
    state.settle()
    time.sleep(PROCESSING_SECONDS)
    return {
        name: [asset_id for account, asset_id in pairs if state.asset(account, asset_id).status == "Active"]
        for name, pairs in created.items()
    }


def serve(kind: str, images: Path | None) -> None:
    """Serve ``kind`` on a free loopback port until stopped; first print one JSON line: port, seeded ids."""
    import uvicorn

    # uvicorn shuts down on SIGTERM, restores this handler and raises the signal again: exiting
    # through SystemExit lets the work folder below be removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with tempfile.TemporaryDirectory(prefix="bench-sandbox-") as workdir:
        seeded: dict[str, list[str]] = {}
        minted: dict[str, list[str]] = {}
        if kind == "ping":
            app = ping_app()
        else:
            from realavatar_nb.simulator import SimConfig, create_app
            from realavatar_nb.simulator.upstream_keys import CLOUDS

            app = create_app(SimConfig(processing_seconds=PROCESSING_SECONDS, job_seconds=1.0), workdir=workdir)
            # What Sandbox.access_key does: an access key pair per cloud, each its own account.
            keys = {cloud: app.state.sim.keys.mint(cloud) for cloud in CLOUDS}
            minted = {cloud: [key.access_key_id, key.secret_access_key] for cloud, key in keys.items()}
            if images is not None:
                seeded = seed_in_process(app, sorted(images.glob("*.jpg")), keys=keys)
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and the
        # accepted connections inherit it. Without it every keep-alive answer waits ~40 ms (Nagle
        # against delayed ACK) and both servers measure ~20 req/s per connection.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, 0))
        print(json.dumps({"port": sock.getsockname()[1], "seeded": seeded, "keys": minted}), flush=True)
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
        uvicorn.Server(config).run(sockets=[sock])


@dataclass
class Server:
    kind: str
    url: str
    pid: int
    seeded: dict[str, list[str]]
    keys: dict[str, list[str]]  # cloud -> [access key id, secret], minted in the server process

    def cpu_seconds(self) -> float | None:
        """User + system CPU the server process has used so far (all its threads), or None off Linux."""
        try:
            with open(f"/proc/{self.pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def server(kind: str, probe: str, images: Path | None = None) -> Iterator[Server]:
    """Start ``--serve kind`` in a subprocess; yield it once ``probe`` answers; stop it afterwards."""
    command = [sys.executable, __file__, "--serve", kind] + (["--images", str(images)] if images else [])
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], START_TIMEOUT)
        line = proc.stdout.readline() if ready else ""
        if not line.startswith("{"):
            raise RuntimeError(f"The {kind} server did not report its port within {START_TIMEOUT:g} s.")
        facts = json.loads(line)
        found = Server(kind, f"http://{HOST}:{facts['port']}", proc.pid, facts["seeded"], facts["keys"])
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                if httpx.get(found.url + probe, timeout=2).status_code < 500:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"The {kind} server at {found.url} did not answer {probe} in {START_TIMEOUT:g} s.")
            time.sleep(0.05)
        yield found
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


# --- seeding Crun over HTTP -----------------------------------------------------------------------


def make_images(folder: Path, count: int) -> list[Path]:
    from realavatar_nb.samples import make_image

    # Distinct heights, so distinct bytes: the emulator counts a file uploaded twice into a group.
    return [
        make_image(folder / f"bench-{i:03d}.jpg", width=600, height=800 + i, person=PERSON, faces=1)
        for i in range(count)
    ]


def seed_crun(url: str, images: list[Path]) -> list[str]:
    """Verify a group through Crun and the H5 page, upload ``images``; return the ids that became Active."""
    headers = {"x-api-key": KEY}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        r = client.post(f"{CRUN}/visual-validate-session", json={"callback_url": "https://bench.invalid/cb"})
        r.raise_for_status()
        token = r.json()["data"]["BytedToken"]
        page = client.post(f"/h5/{token}", data={"outcome": "pass", "person": PERSON}, follow_redirects=False)
        if page.status_code not in (200, 303):
            raise RuntimeError(f"The H5 page answered {page.status_code}: {page.text[:200]}")
        group_id = client.get(f"{CRUN}/visual-validate-result", params={"byted_token": token}).json()["data"]["GroupId"]
        if not group_id:
            raise RuntimeError("No group after passing the H5 page.")
        ids = []
        for image in images:
            with open(image, "rb") as fh:
                hosted = client.post("/files", files={"file": (image.name, fh)})
            hosted.raise_for_status()
            body = {"name": image.stem, "asset_type": "Image", "asset_url": hosted.json()["url"], "group_id": group_id}
            r = client.post(f"{CRUN}/asset-upload", json=body)
            r.raise_for_status()
            ids.append(r.json()["data"]["AssetId"])
        pending, deadline = set(ids), time.monotonic() + ACTIVE_TIMEOUT
        while pending and time.monotonic() < deadline:
            time.sleep(PROCESSING_SECONDS)
            for asset_id in sorted(pending):
                info = client.get(f"{CRUN}/asset-info", params={"asset_id": asset_id}).json()["data"]
                if info["Status"] != "Processing":
                    pending.discard(asset_id)
                    if info["Status"] != "Active":
                        print(f"  crun asset {asset_id} is {info['Status']}: {info.get('Error')}")
                        ids.remove(asset_id)
        if pending:
            print(f"  {len(pending)} crun assets still Processing after {ACTIVE_TIMEOUT:g} s; left out")
        return [i for i in ids if i not in pending]


# --- the get-asset calls --------------------------------------------------------------------------


@dataclass(frozen=True)
class GetAsset:
    """One dialect's get-asset call: its route, and how the key and the asset id go in."""

    dialect: str
    method: str
    template: str
    build: Callable[[str], dict[str, Any]]  # asset id -> httpx request kwargs


def _bearer(**kwargs: Any) -> dict[str, Any]:
    return {"headers": {"authorization": f"Bearer {KEY}"}, **kwargs}


_TOAPIS = "/toapis/v1/videos/doubao-seedance-2-0/real-avatar/assets"
_EASYROUTER = "/easyrouter/api/resource-channel/byteplus/visual-validate/assets"
CANDIDATES = (
    GetAsset(
        "crun",
        "GET",
        f"{CRUN}/asset-info",
        lambda a: {"url": f"{CRUN}/asset-info", "params": {"asset_id": a}, "headers": {"x-api-key": KEY}},
    ),
    GetAsset("toapis", "GET", _TOAPIS + "/{asset_id}", lambda a: _bearer(url=f"{_TOAPIS}/{a}")),
    GetAsset("easyrouter", "GET", _EASYROUTER + "/{asset_id}", lambda a: _bearer(url=f"{_EASYROUTER}/{a}")),
    GetAsset(
        "anyfast",
        "POST",
        "/anyfast/volc/asset/GetAsset",
        lambda a: _bearer(url="/anyfast/volc/asset/GetAsset", json={"Id": a}),
    ),
)


def served_routes() -> set[tuple[str, str]]:
    """Return (method, path template) for every route of the emulator's app, mounts walked."""
    from starlette.routing import BaseRoute, Mount, Route

    from realavatar_nb.simulator import create_app

    def walk(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
        for route in routes:
            if isinstance(route, Mount):
                yield from walk(list(route.routes), prefix + route.path)
            elif isinstance(route, Route):
                yield from ((method, prefix + route.path) for method in route.methods or ())

    with tempfile.TemporaryDirectory(prefix="bench-routes-") as root:
        app = create_app(workdir=root)
        app.state.sim.close()
        return set(walk(list(app.routes)))


def choose_mix(url: str, assets: dict[str, list[str]]) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """Return the request list (every asset through its dialect's call), the dialects in it, and notes."""
    routes, calls, used, notes = served_routes(), [], [], []
    with httpx.Client(base_url=url, timeout=10) as client:
        for call in CANDIDATES:
            ids = assets.get(call.dialect, [])
            if (call.method, call.template) not in routes:
                notes.append(f"{call.dialect}: no {call.method} {call.template} route")
            elif not ids:
                notes.append(f"{call.dialect}: no Active asset was seeded")
            elif (r := client.request(call.method, **call.build(ids[0]))).status_code != 200 or ids[0] not in r.text:
                notes.append(f"{call.dialect}: answered {r.status_code} for a seeded asset: {r.text[:100]!r}")
            else:
                used.append(call.dialect)
                calls.append([{"method": call.method, **call.build(i)} for i in ids])
    # Interleave the dialects, so every stretch of the run is the same mix.
    shortest = min((len(c) for c in calls), default=0)
    mixed = [c[i] for i in range(shortest) for c in calls]
    return mixed, used, notes


def signed_calls(url: str, key: list[str], ids: list[str]) -> list[dict[str, Any]]:
    """Return a ``GetAsset`` per asset id, signed now by the client's adapter, as request kwargs.

    Each is signed once and sent again and again until re-signed: upstream (and the emulator)
    take a signature for 15 minutes from its ``X-Date``, replays included.
    """
    from realavatar_nb._config import Secret
    from realavatar_nb.providers.ark import BytePlus
    from realavatar_nb.providers.signing import AccessKey

    adapter = BytePlus(url, None, access_key=AccessKey(key[0], Secret(key[1])))
    calls = []
    for asset_id in ids:
        request = adapter.build_get_asset(asset_id)
        # The client sets Host and Content-Length itself, to the values that were signed.
        headers = {k: v for k, v in request.headers.items() if k not in ("host", "content-length")}
        calls.append({"method": "POST", "url": str(request.url), "content": request.content, "headers": headers})
    return calls


def choose_signed(server: Server, assets: list[str]) -> tuple[Callable[[], list[dict[str, Any]]] | None, str]:
    """Return how to sign the ``SIGNED`` dialect's load (None if it cannot be measured) and a note why not."""
    key = server.keys.get(SIGNED)
    if ("POST", "/") not in served_routes():
        return None, f"{SIGNED}: no POST / route"
    if key is None or not assets:
        return None, f"{SIGNED}: no key was minted or no Active asset was seeded"

    def sign() -> list[dict[str, Any]]:
        return signed_calls(server.url, key, assets)

    with httpx.Client(base_url=server.url, timeout=10) as client:
        first = sign()[0]
        r = client.request(first.pop("method"), **first)
    if r.status_code != 200 or assets[0] not in r.text:
        return None, f"{SIGNED}: answered {r.status_code} for a seeded asset: {r.text[:100]!r}"
    return sign, ""


# --- the load -------------------------------------------------------------------------------------


@dataclass
class Load:
    label: str
    server: Server
    calls: list[dict[str, Any]]
    requests: int
    runs: list[dict[str, float]] = field(default_factory=list)
    sign: Callable[[], list[dict[str, Any]]] | None = None  # signs ``calls`` afresh before each run

    def _median(self, key: str) -> float:
        return statistics.median(run[key] for run in self.runs)

    @property
    def seconds(self) -> float:
        return self._median("seconds")

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def errors(self) -> int:
        return int(max(run["errors"] for run in self.runs))

    @property
    def server_ms(self) -> float | None:
        """Median server CPU milliseconds per request, or None where it cannot be read."""
        if any(run["server_cpu"] < 0 for run in self.runs):
            return None
        return self._median("server_cpu") * 1000 / self.requests

    @property
    def client_share(self) -> float:
        return self._median("client_cpu") / self.seconds


async def hammer(
    url: str, calls: list[dict[str, Any]], total: int, concurrency: int, per_pool: int
) -> tuple[float, int]:
    """Send ``total`` requests cycling through ``calls``, ``concurrency`` in flight; return (seconds, errors)."""
    pools = math.ceil(concurrency / per_pool)
    limits = httpx.Limits(max_connections=per_pool, max_keepalive_connections=per_pool)
    clients = [httpx.AsyncClient(base_url=url, limits=limits, timeout=30) for _ in range(pools)]
    errors = 0

    async def worker(first: int) -> None:
        nonlocal errors
        client = clients[first % pools]
        for i in range(first, total, concurrency):
            kwargs = dict(calls[i % len(calls)])
            try:
                response = await client.request(kwargs.pop("method"), **kwargs)
                errors += response.status_code != 200
            except httpx.HTTPError:
                errors += 1

    try:
        started = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(concurrency)))
        return time.perf_counter() - started, errors
    finally:
        for client in clients:
            await client.aclose()


def measure(load: Load, concurrency: int, per_pool: int) -> None:
    if load.sign is not None:  # untimed: a fresh X-Date for every run, however long the runs before it
        load.calls = load.sign()
    before, cpu = load.server.cpu_seconds(), time.process_time()
    seconds, errors = asyncio.run(hammer(load.server.url, load.calls, load.requests, concurrency, per_pool))
    after = load.server.cpu_seconds()
    server_cpu = after - before if before is not None and after is not None else -1.0
    load.runs.append(
        {"seconds": seconds, "errors": errors, "server_cpu": server_cpu, "client_cpu": time.process_time() - cpu}
    )


def machine() -> dict[str, Any]:
    import starlette
    import uvicorn

    extras = [name for name in ("uvloop", "httptools") if _importable(name)]
    return machine_facts(
        **{
            "uvicorn": f"{uvicorn.__version__} ({'+'.join(extras) or 'no uvloop/httptools'})",
            "starlette": starlette.__version__,
            "httpx": httpx.__version__,
        }
    )


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def _ratio_line(label: str, ratio: float | None) -> dict[str, Any]:
    result = "n/a" if ratio is None else "PASS" if ratio >= GOAL else "MISS"
    shown = "n/a" if ratio is None else f"{ratio:.2f}x"
    print(f"{result:<5} {label:<68} {shown:>7}  (goal >= {GOAL:g}x)")
    return {"ratio": label, "value": ratio, "goal": GOAL, "result": result}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per timed run (default 3000)")
    parser.add_argument("--concurrency", type=int, default=50, help="requests in flight (default 50)")
    parser.add_argument("--per-pool", type=int, default=5, help="connections per httpx.AsyncClient (default 5)")
    parser.add_argument("--assets", type=int, default=50, help="assets seeded per dialect (default 50)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per server; the median is reported")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--serve", choices=["emulator", "ping"], help=argparse.SUPPRESS)
    parser.add_argument("--images", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.images)
        return 0
    if min(args.requests, args.concurrency, args.per_pool, args.assets, args.repeat) < 1:
        parser.error("--requests, --concurrency, --per-pool, --assets and --repeat must be at least 1")

    facts = machine()
    print(f"machine: {facts['cores']} cores ({facts['cpu']}), {facts['platform']}, python {facts['python']}")
    print(f"         uvicorn {facts['uvicorn']}, starlette {facts['starlette']}, httpx {facts['httpx']}")
    started = time.perf_counter()
    loads, assets, used, notes = run(args, started)
    ratios = report(loads, args)
    print(f"total {time.perf_counter() - started:.1f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        figures = {
            "machine": facts,
            "concurrency": args.concurrency,
            "per_pool": args.per_pool,
            "repeat": args.repeat,
            "assets": {d: len(assets.get(d, [])) for d in used},
            "left_out": notes,
            "loads": [
                {
                    "server": load.label,
                    "requests": load.requests,
                    "seconds": load.seconds,
                    "req_per_s": load.per_second,
                    "errors": load.errors,
                    "server_cpu_ms_per_request": load.server_ms,
                    "client_cpu_share": load.client_share,
                    "runs": load.runs,
                }
                for load in loads
            ],
            "ratios": ratios,
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"figures written to {args.json}")
    return 0


def run(args: argparse.Namespace, started: float) -> tuple[list[Load], dict[str, list[str]], list[str], list[str]]:
    """Seed, then time every load; return the loads (``/ping`` last), the seeded ids, the mix's dialects, notes."""
    with tempfile.TemporaryDirectory(prefix="bench-emulator-") as tmp:
        images = make_images(Path(tmp), args.assets)
        with server("emulator", "/_sandbox/stats", Path(tmp)) as emulator, server("ping", "/ping") as ping:
            assets = {"crun": seed_crun(emulator.url, images), **emulator.seeded}
            calls, used, notes = choose_mix(emulator.url, assets)
            sign, why = choose_signed(emulator, assets.get(SIGNED, []))
            notes += [why] if why else []
            counts = ", ".join(f"{d} {len(assets.get(d, []))}" for d in used)
            print(f"seeded:  {time.perf_counter() - started:.1f} s; Active assets in the mix: {counts}")
            if sign is not None:
                print(f"         signed {SIGNED} GetAsset, on its own: {len(assets[SIGNED])} Active assets")
            for note in notes:
                print(f"         left out: {note}")
            if not calls:
                raise RuntimeError("No get-asset call answered for a seeded asset; nothing to measure.")
            loads = [Load(f"emulator get-asset, {len(used)} dialects", emulator, calls, args.requests)]
            if sign is not None:
                loads.append(Load(f"emulator signed GetAsset, {SIGNED}", emulator, sign(), args.requests, sign=sign))
            loads.append(Load("bare Starlette /ping", ping, [{"method": "GET", "url": "/ping"}], args.requests))
            for load in loads:  # warm-up, untimed: connections, imports, caches
                asyncio.run(hammer(load.server.url, load.calls, min(args.requests, 500), args.concurrency, 5))
            for r in range(args.repeat):
                for load in loads:  # alternate, so drift in the machine's speed hits all alike
                    measure(load, args.concurrency, args.per_pool)
                print(f"  run {r + 1}/{args.repeat} done", flush=True)
    return loads, assets, used, notes


def report(loads: list[Load], args: argparse.Namespace) -> list[dict[str, Any]]:
    """Print the table and a throughput and a server-cost ratio per emulator load; return the ratios."""
    print(
        f"\n{'server':<34} {'requests':>8} {'seconds':>8} {'req/s':>8} {'errors':>6} {'srv ms/req':>10} {'client':>6}"
    )
    for load in loads:
        ms = "n/a" if load.server_ms is None else f"{load.server_ms:.3f}"
        print(
            f"{load.label:<34} {load.requests:>8} {load.seconds:>8.3f} {load.per_second:>8.1f} {load.errors:>6} "
            f"{ms:>10} {load.client_share:>6.0%}"
        )
    pools = f"{args.concurrency} in flight over pools of {args.per_pool}"
    print(f"(median of {args.repeat}; {pools}; errors: the most in one run; srv ms/req: the server")
    print(" process's CPU per request; client: the client process's CPU share of the run, all its threads)")
    print()
    *emulated, ping_load = loads
    ratios = []
    for load in emulated:
        name = "emulator" if load.sign is None else f"signed {SIGNED}"
        ratios.append(_ratio_line(f"throughput: {name} req/s ÷ /ping req/s", load.per_second / ping_load.per_second))
        cost = None if load.server_ms is None or ping_load.server_ms is None else ping_load.server_ms / load.server_ms
        ratios.append(_ratio_line(f"server cost: /ping CPU per request ÷ {name} CPU per request", cost))
    if all(load.client_share > 0.9 for load in loads):
        print("note: the client's CPU was saturated in all; the server-cost ratios are the emulator's own figures")
    return ratios


if __name__ == "__main__":
    sys.exit(main())
