"""``make demo``: the three notebooks run end to end on the emulator, and a list of what they made.

The notebooks run in real kernels (papermill, so their ``parameters`` cells take the demo's
values), one after another against one emulator served from this process: the batch reuses the
tutorial's verified person from the ledger and verifies only the new one, as a user's second
notebook would. Verification is unattended: the stand-in phone presses Pass as each person.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ._exceptions import ConfigurationError, RealAvatarError

if TYPE_CHECKING:
    from .simulator import Sandbox

__all__ = ["NOTEBOOKS", "DemoError", "DemoResult", "run_demo"]

NOTEBOOKS = ("01_tutorial", "02_batch", "03_generate")
_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


class DemoError(RealAvatarError):
    """A demo notebook stopped with an error (the executed notebook shows where)."""


@dataclass
class DemoResult:
    """What the demo wrote, by kind, and how long each notebook took."""

    out: Path
    notebooks: list[Path] = field(default_factory=list)
    html: list[Path] = field(default_factory=list)
    reports: list[Path] = field(default_factory=list)
    videos: list[Path] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        """Return the closing summary: what was produced, where, and how to open it."""

        def rel(path: Path) -> str:
            return str(path.relative_to(self.out))

        lines = [f"Demo finished in {sum(self.seconds.values()):.0f} s. Under {self.out}:"]
        for notebook, html in zip(self.notebooks, self.html, strict=True):
            lines.append(f"  notebook  {rel(notebook)}  ({self.seconds[notebook.stem]:.0f} s; export {rel(html)})")
        lines += [f"  report    {rel(p)}" for p in self.reports]
        lines += [f"  video     {rel(p)}" for p in self.videos]
        lines.append("Open them in JupyterLab:  make lab")
        return "\n".join(lines)


def _parameters(name: str, out: Path) -> dict[str, Any]:
    common: dict[str, Any] = {"PROVIDER": "sandbox", "AUTOPILOT": True}
    if name == "02_batch":
        consents = {name: f"{name.title()} (demo)" for name in ("alice", "bob", "hopper", "collins")}
        return {**common, "OUT_DIR": str(out / "batch"), "CONSENTS": consents}
    return {**common, "OUT_DIR": str(out / name.split("_", 1)[1]), "CONSENT_BY": "Alice (demo)"}


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables the notebooks' kernels inherit, and put the old ones back."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def run_demo(
    out: str | os.PathLike[str] = "build/demo",
    *,
    notebooks: str | os.PathLike[str] = "notebooks",
    sandbox: Sandbox | None = None,
    kernel_name: str = "python3",
    timeout: float = 600.0,
    log: TextIO | None = None,
) -> DemoResult:
    """Execute the three notebooks on the emulator into ``out``; return what they wrote.

    ``sandbox``: an emulator to use (default: the one at ``$REALAVATAR_SANDBOX_URL``, else one started
    here with 1 s asset checks and 3 s jobs).
    Raises ``DemoError`` naming the notebook and the error when a cell fails.
    """
    source = _notebook_folder(notebooks)
    target = Path(out).resolve()
    target.mkdir(parents=True, exist_ok=True)
    result = DemoResult(out=target)
    own = sandbox is None and not os.environ.get("REALAVATAR_SANDBOX_URL")
    url = sandbox.url if sandbox is not None else os.environ.get("REALAVATAR_SANDBOX_URL")
    if own:
        from .simulator import Sandbox

        sandbox = Sandbox(processing_seconds=1.0, job_seconds=3.0).start()
        url = sandbox.url
    env = {"REALAVATAR_SANDBOX_URL": str(url), "REALAVATAR_HOME": str(target / "home")}
    try:
        with _environment(env):
            for name in NOTEBOOKS:
                if log is not None:
                    log.write(f"running {name} ...\n")
                    log.flush()
                started = time.monotonic()
                executed = _execute(name, source, target, kernel_name=kernel_name, timeout=timeout)
                result.seconds[name] = time.monotonic() - started
                result.notebooks.append(executed)
                result.html.append(export_html(executed))
    finally:
        if own and sandbox is not None:
            sandbox.close()
    result.reports = sorted((target / "batch" / "report").glob("final.*"))
    result.videos = sorted(target.glob("*/videos/*.mp4"))
    return result


def _notebook_folder(notebooks: str | os.PathLike[str]) -> Path:
    """Return the folder holding the three notebooks, or say where to run from."""
    source = Path(notebooks).resolve()
    missing = [name for name in NOTEBOOKS if not (source / f"{name}.ipynb").is_file()]
    if missing:
        raise ConfigurationError(
            f"No {', '.join(missing)} in {source}: run the demo from the repository's root, or pass --notebooks."
        )
    return source


def _execute(name: str, source: Path, target: Path, *, kernel_name: str, timeout: float) -> Path:
    """Run one notebook with papermill into ``target``; a failed cell is a ``DemoError`` naming it."""
    try:
        import papermill
    except ImportError as exc:
        raise ConfigurationError("The demo runs notebooks with papermill: pip install 'realavatar-nb[lab]'.") from exc
    executed = target / f"{name}.ipynb"
    try:
        papermill.execute_notebook(
            str(source / f"{name}.ipynb"), str(executed), parameters=_parameters(name, target),
            kernel_name=kernel_name, cwd=str(source), progress_bar=False, execution_timeout=timeout,
        )  # fmt: skip
    except papermill.PapermillExecutionError as exc:
        raise DemoError(
            f"{name} stopped at cell {exc.exec_count}: {exc.ename}: {exc.evalue}. The executed notebook is {executed}."
        ) from None
    return executed


def export_html(notebook: str | os.PathLike[str]) -> Path:
    """Write ``<notebook>.html`` beside it, showing each widget's saved fallback (readable offline)."""
    import nbformat
    from nbconvert import HTMLExporter

    path = Path(notebook)
    book = nbformat.read(path, as_version=4)
    # A live widget view needs the widget manager's script from a CDN; the fallback needs nothing.
    book.metadata.pop("widgets", None)
    for cell in book.cells:
        for output in cell.get("outputs", []):
            output.get("data", {}).pop(_WIDGET_VIEW, None)
    body, _ = HTMLExporter().from_notebook_node(book)
    target = path.with_suffix(".html")
    target.write_text(body, encoding="utf-8")
    return target
