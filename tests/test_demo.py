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

    fixed = pd.read_parquet(tmp_path / "reports" / "fixed.parquet").set_index("name")
    fixable = {name for name in DEMO_EXPECTED if report.set_index("name").loc[name, "fixable"]}
    assert fixable  # the demo shows fixing, so something must need it
    for name, codes in DEMO_EXPECTED.items():
        stem = name.rsplit(".", 1)[0]
        rows = fixed[[n.rsplit(".", 1)[0] == stem for n in fixed.index]]
        assert len(rows) == 1, name
        row = rows.iloc[0]
        if not codes or name in fixable:
            assert bool(row["ok"]), (name, row["message"])
        else:
            assert not bool(row["ok"]) and str(row["action"]).startswith("not fixed"), name

    for name in ("validation", "fixed"):
        for fmt in ("csv", "parquet", "html"):
            path = tmp_path / "reports" / f"{name}.{fmt}"
            assert path.stat().st_size > 0 and str(path) in text
    assert f"Conforming copies: {tmp_path / 'fixed'}" in text
