"""The import contracts of pyproject.toml (also run by `make lint`): the core imports no feature app, the feature
apps do not import each other, only the programme package reads from all of them."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

PACKAGES = ("vielfalt", "partnerships", "trainings", "surveys")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    # A fresh interpreter in `cwd`: the packages are found there (the project is not installed), and the
    # import graph is that of the files in `cwd`, not of the modules this test process has loaded.
    return subprocess.run(
        [Path(sys.executable).with_name("lint-imports"), "--no-cache", "--no-logo"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_import_contracts_are_kept():
    result = lint_imports(settings.BASE_DIR)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.fixture
def copy_of_the_code(tmp_path):
    for package in PACKAGES:
        shutil.copytree(
            settings.BASE_DIR / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(settings.BASE_DIR / "pyproject.toml", tmp_path)
    return tmp_path


def append(path: Path, line: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("vielfalt/models.py", "import trainings.models", "The core imports no feature app"),
        (
            "vielfalt/views.py",
            "from vielfalt.programme import figures",
            "does not import the programme package",
        ),
        ("vielfalt/permissions.py", "from surveys.models import Campaign", "The core imports no feature app"),
        (
            "partnerships/services.py",
            "from trainings.models import Course",
            "Feature apps do not import each other",
        ),
        (
            "surveys/views.py",
            "from vielfalt.programme.figures import programme",
            "do not import the programme",
        ),
    ],
)
def test_a_forbidden_import_breaks_a_contract(copy_of_the_code, module, line, contract):
    append(copy_of_the_code / module, line)
    result = lint_imports(copy_of_the_code)
    assert result.returncode == 1, result.stdout + result.stderr
    broken = [row for row in result.stdout.splitlines() if " BROKEN" in row]
    assert any(contract in row for row in broken), result.stdout
