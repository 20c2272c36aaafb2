"""environment.yml and pyproject.toml list the same dependencies with the same constraints."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib
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
