"""environment.yml and pyproject.toml list the same dependencies with the same constraints, for the same Python."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[1]
CONDA_ONLY = {"python", "ffmpeg", "pip"}  # the interpreter, the system binary, the installer
CONDA_NAMES = {"dask[distributed]": "dask"}  # conda-forge's dask includes distributed


def _name(requirement: Requirement) -> str:
    extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
    name = re.sub(r"[-_.]+", "-", requirement.name).lower() + extras
    return CONDA_NAMES.get(name, name).split("[")[0]


def _pyproject() -> dict[str, SpecifierSet]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        lines += [line for line in extra if not line.startswith(project["name"])]
    wanted: dict[str, SpecifierSet] = {}
    for line in lines:
        requirement = Requirement(line)
        name = _name(requirement)
        wanted[name] = wanted.get(name, SpecifierSet()) & requirement.specifier
    return wanted


def _environment() -> dict[str, SpecifierSet]:
    listed: dict[str, SpecifierSet] = {}
    text = (ROOT / "environment.yml").read_text()
    for raw in text.split("dependencies:", 1)[1].splitlines():  # not the channels
        line = raw.split("#", 1)[0].strip()
        if not line.startswith("- ") or line.endswith(":") or line.startswith("- -e"):
            continue
        requirement = Requirement(
            line[2:].replace("=", "==", 1) if re.fullmatch(r"- [\w-]+=[\d.]+", line) else line[2:]
        )
        name = _name(requirement)
        if name not in CONDA_ONLY:
            listed[name] = requirement.specifier
    return listed


def _clauses(specifiers: SpecifierSet) -> set[str]:
    pins = {str(s) for s in specifiers if s.operator == "=="}
    return pins or {str(s) for s in specifiers}  # a pin decides; the looser bounds it meets add nothing


def test_both_files_list_the_same_packages() -> None:
    assert sorted(_environment()) == sorted(_pyproject())


def test_both_files_constrain_each_package_alike() -> None:
    wanted, listed = _pyproject(), _environment()
    for name, specifiers in wanted.items():
        assert _clauses(listed[name]) == _clauses(specifiers), name
        for pin in (s for s in specifiers if s.operator == "=="):
            assert specifiers.contains(pin.version), f"{name}: the pin {pin} breaks another bound in pyproject.toml"


def test_the_environment_installs_the_package_itself_with_its_test_extra() -> None:
    assert "      - -e .[test]" in (ROOT / "environment.yml").read_text().splitlines()


def _conda_python() -> str:
    text = (ROOT / "environment.yml").read_text()
    found = re.findall(r"^\s*- python=([\d.]+)\s*$", text, flags=re.MULTILINE)
    assert len(found) == 1, "environment.yml names one python"
    return found[0]


def test_requires_python_starts_at_the_python_the_environment_builds() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    claimed = SpecifierSet(project["requires-python"])
    floors = [s.version for s in claimed if s.operator == ">="]
    assert len(floors) == 1, "requires-python has one lower bound"
    # The oldest version the package claims is the one the conda environment builds and the tests run on.
    assert floors[0] == _conda_python()
    assert claimed.contains(_conda_python())


def test_classifiers_name_only_versions_requires_python_admits() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    claimed = SpecifierSet(project["requires-python"])
    versions = [
        c.rsplit(" :: ", 1)[1]
        for c in project["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    ]
    assert versions, "the classifiers name the Python versions the tests run on"
    assert all(claimed.contains(v) for v in versions), versions
    assert _conda_python() in versions


def test_requires_python_has_a_ceiling_and_the_classifiers_name_every_version_below_it() -> None:
    """A claim is a version the suite ran on: an open ``>=3.11`` would claim releases nobody has tested."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    claimed = SpecifierSet(project["requires-python"])
    assert not claimed.contains("3.99"), "requires-python names the first version it does not claim"
    admitted = [f"3.{minor}" for minor in range(0, 99) if claimed.contains(f"3.{minor}")]
    named = [
        c.rsplit(" :: ", 1)[1]
        for c in project["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    ]
    assert named == admitted
