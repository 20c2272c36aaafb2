"""`make demo`'s main job: generate mixed media, validate it, fix it, say where the reports are."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from realavatar_nb.cli import main
from realavatar_nb.samples import DEMO_EXPECTED


def test_demo_validates_fixes_and_writes_every_report(tmp_path: Path) -> None:
    out = io.StringIO()
    assert main(["demo", "--out", str(tmp_path), "--quiet"], out=out) == 0
    text = out.getvalue()

    report = pd.read_parquet(tmp_path / "reports" / "validation.parquet")
    found = {row.name: tuple(filter(None, row.problems.split(";"))) for row in report.itertuples()}
    assert found == DEMO_EXPECTED

    fixed = pd.read_parquet(tmp_path / "reports" / "fixed.parquet").set_index("source")
    by_name = report.set_index("name")
    assert by_name["fixable"].any()  # the demo shows fixing, so something must need it
    for name, codes in DEMO_EXPECTED.items():
        row = fixed.loc[by_name.loc[name, "path"]]
        if not codes or by_name.loc[name, "fixable"]:
            assert bool(row["ok"]), (name, row["message"])
        else:
            assert not bool(row["ok"]) and str(row["action"]).startswith("not fixed"), name

    for name in ("validation", "fixed"):
        for fmt in ("csv", "parquet", "html"):
            path = tmp_path / "reports" / f"{name}.{fmt}"
            assert path.stat().st_size > 0 and str(path) in text
    assert f"Conforming copies: {tmp_path / 'fixed'}" in text
