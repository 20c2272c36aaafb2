"""The ``realavatar-nb`` command: ``validate``, ``fix`` and ``demo``.

Exit codes: 0 when every file passes, 1 when some file fails (one line per bad file says
why), 2 when the command itself cannot run (a missing folder, an unknown profile).

File names reach the terminal only through ``printable``: a name holding ESC, CR or a bidi
override would otherwise clear the screen, overwrite the summary line or show ``exe.jpg``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from ._display import printable
from ._exceptions import RealAvatarError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["main"]


def _summarise(report: pd.DataFrame, out: TextIO, label: str = "") -> int:
    """Print one line per failing file and a summary; return how many files fail."""
    bad = report[~report["ok"]]
    for name, message, fixable in zip(bad["name"], bad["message"], bad["fixable"], strict=True):
        fix_hint = " [fixable]" if fixable else ""
        out.write(f"{printable(str(name))}: {printable(str(message))}{fix_hint}\n")
    fixable = int(bad["fixable"].sum())
    out.write(
        f"{label}{len(report)} files: {len(report) - len(bad)} ok, {len(bad)} with problems ({fixable} fixable)\n"
    )
    return len(bad)


def _write_exports(report: pd.DataFrame, args: argparse.Namespace, out: TextIO) -> None:
    from .media.report import write_report

    for fmt in ("csv", "parquet", "html"):
        target = getattr(args, fmt, None)
        if target:
            out.write(f"wrote {printable(write_report(report, target, format=fmt))}\n")


def _cmd_validate(args: argparse.Namespace, out: TextIO) -> int:
    from .media.validate import validate_folder

    report = validate_folder(args.folder, args.profile, workers=args.workers, progress=not args.quiet)
    failing = _summarise(report, out)
    _write_exports(report, args, out)
    if args.fix:
        return _cmd_fix_report(report, args.fix, args, out)
    return 1 if failing else 0


def _cmd_fix_report(report: pd.DataFrame, out_dir: str, args: argparse.Namespace, out: TextIO) -> int:
    from .media.fix import fix

    fixed = fix(report, out_dir, args.profile, workers=args.workers, progress=not args.quiet)
    done = fixed[fixed["fixed"]]
    for name, action in zip(done["name"], done["action"], strict=True):
        out.write(f"fixed {printable(str(name))}: {printable(str(action))}\n")
    failing = _summarise(fixed, out, label="after fixing: ")
    out.write(f"conforming copies in {printable(out_dir)}\n")
    return 1 if failing else 0


def _cmd_fix(args: argparse.Namespace, out: TextIO) -> int:
    from .media.validate import validate_folder

    report = validate_folder(args.folder, args.profile, workers=args.workers, progress=not args.quiet)
    return _cmd_fix_report(report, args.out_dir, args, out)


def _cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    from .demo import run_demo

    out.write(f"Running the three notebooks on the emulator into {printable(args.out)} (a minute or two)\n")
    result = run_demo(args.out, notebooks=args.notebooks, log=None if args.quiet else out)
    out.write(result.describe() + "\n")
    return 0


def _cmd_sandbox(args: argparse.Namespace, out: TextIO) -> int:
    import time

    from ._types import PROVIDERS
    from .simulator import Sandbox
    from .simulator.faults import Faults

    try:
        faults = Faults.coerce(args.faults) if args.faults else None
    except ValueError as exc:
        sys.stderr.write(f"realavatar-nb: --faults: {exc}\n")
        return 2
    given = args.admin_token or os.environ.get("REALAVATAR_SANDBOX_ADMIN_TOKEN") or None
    sandbox = Sandbox(
        autopilot=args.autopilot,
        processing_seconds=args.processing,
        link_ttl=args.link_ttl,
        faults=faults,
        seed=args.seed,
        host=args.host,
        port=args.port,
        admin_token=given,
        fetch_hosts=tuple(args.fetch_host or ()),
        asset_slots=args.asset_slots,
        write_qpm=args.write_qpm,
        list_qps=args.list_qps,
    )
    sandbox.start()
    out.write(f"realavatar-nb sandbox serving {sandbox.url}\n")
    for provider in PROVIDERS:
        out.write(f"  {provider:<10} {sandbox.base_url(provider)}\n")
    # Upstream's two are also served at the root, where the official SDKs (host + scheme only) call.
    out.write(f"  upstream   {sandbox.url}/ (byteplus, volcengine; keys: POST /_sandbox/access-keys)\n")
    out.write(f"  stats      {sandbox.url}/_sandbox/stats\n")
    # The person who started the server needs the token it drew; one they chose is not echoed back.
    token = "(the one you gave)" if given else sandbox.admin_token
    out.write(f"  reset      POST {sandbox.url}/_sandbox/reset with header X-Sandbox-Admin: {token}\n")
    out.write("any non-empty API key is an account; Ctrl-C stops\n")
    out.flush()
    try:
        while sandbox.running:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.close()
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="realavatar-nb",
        description="Seedance 2.0 real-person assets: validate and fix media, run the demo.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--profile",
            default=None,
            help="limit profile: seedance-2.0 (default), byteplus-2026-09 or a JSON file",
        )
        p.add_argument("--workers", type=int, default=None, help="probe threads (default: the machine's cores)")
        p.add_argument("--quiet", action="store_true", help="no progress line")

    v = sub.add_parser("validate", help="validate a folder of portrait media")
    v.add_argument("folder")
    common(v)
    export = v.add_mutually_exclusive_group()
    export.add_argument("--csv", metavar="OUT", help="write the report as CSV")
    export.add_argument("--parquet", metavar="OUT", help="write the report as Parquet")
    export.add_argument("--html", metavar="OUT", help="write the report as a standalone HTML page")
    v.add_argument("--fix", metavar="OUT_DIR", help="also write conforming copies of what can be fixed")
    v.set_defaults(run=_cmd_validate)

    f = sub.add_parser("fix", help="write conforming copies of a folder's media")
    f.add_argument("folder")
    f.add_argument("out_dir")
    common(f)
    f.set_defaults(run=_cmd_fix)

    s = sub.add_parser("sandbox", help="serve the emulator of the five providers on loopback")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    s.add_argument("--autopilot", type=float, default=None, metavar="SECONDS", help="pass each session by itself")
    s.add_argument("--processing", type=float, default=3.0, metavar="SECONDS", help="an asset's time in Processing")
    s.add_argument("--link-ttl", type=float, default=120.0, metavar="SECONDS", help="the H5 link's life")
    s.add_argument("--faults", default=None, help="e.g. 429=0.1,5xx=0.2,drop=0.05,latency=0.01")
    s.add_argument("--seed", type=int, default=0, help="seed for ids and fault injection")
    s.add_argument(
        "--admin-token", default=None,
        help="what POST /_sandbox/reset needs (default: $REALAVATAR_SANDBOX_ADMIN_TOKEN, else a random one, printed)",
    )  # fmt: skip
    s.add_argument(
        "--fetch-host", action="append", metavar="HOST[:PORT]",
        help="a local server asset URLs may be downloaded from (public addresses always can); repeatable",
    )  # fmt: skip
    # An account's limits (reported at upstream's entry tier: 50 slots, 3 CreateAsset a minute); off unless given.
    s.add_argument("--asset-slots", type=int, default=None, metavar="N", help="assets an account may hold")
    s.add_argument("--write-qpm", type=int, default=None, metavar="N", help="CreateAsset calls per account a minute")
    s.add_argument("--list-qps", type=int, default=None, metavar="N", help="list calls per account a second")
    s.set_defaults(run=_cmd_sandbox)

    d = sub.add_parser("demo", help="run the tutorial, batch and generation notebooks on the emulator")
    d.add_argument("--out", default="build/demo", help="where to write everything (default build/demo)")
    d.add_argument("--notebooks", default="notebooks", help="the folder holding the notebooks (default notebooks)")
    d.add_argument("--quiet", action="store_true", help="no progress line")
    d.set_defaults(run=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; return the exit code."""
    args = _parser().parse_args(argv)
    stream = out if out is not None else sys.stdout
    try:
        return int(args.run(args, stream))
    except RealAvatarError as exc:
        # Line by line: a message may span lines, and may quote a path that holds a control character.
        sys.stderr.write("realavatar-nb: " + "\n".join(printable(line) for line in str(exc).split("\n")) + "\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("realavatar-nb: interrupted\n")
        return 130
