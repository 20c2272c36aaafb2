"""The package surface: light to import, one sorted __all__, every public name resolves."""

from __future__ import annotations

import subprocess
import sys

import realavatar_nb as ra

HEAVY = ("pandas", "av", "PIL", "ipywidgets", "numpy", "starlette", "uvicorn")


def test_import_does_not_load_heavy_libraries() -> None:
    code = f"import sys, realavatar_nb; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == ""


def test_lazy_names_resolve_to_their_module_objects_and_are_listed_by_dir() -> None:
    from realavatar_nb.media.validate import validate_folder

    assert ra.validate_folder is validate_folder
    assert {"validate", "validate_folder", "fix", "checks_frame"} <= set(dir(ra))


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert ra.__all__ == sorted(ra.__all__, key=lambda n: (not n.isupper(), n))
    for name in ra.__all__:
        assert getattr(ra, name) is not None, name


def test_unknown_attribute_raises_attribute_error() -> None:
    try:
        ra.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
