"""The bootstrap is pinned and idempotent: `make test` twice does not reinstall."""

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def requirement_names(path: Path) -> list[str]:
    """Requirement lines of a pip file, following ``-r other.txt`` includes."""
    names = []
    for line in (line.split("#")[0].strip() for line in path.read_text().splitlines()):
        if line.startswith("-r "):
            names += requirement_names(path.parent / line[3:].strip())
        elif line:
            names.append(line)
    return names


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_requirement_is_pinned_exactly() -> None:
    pins = {}
    for line in requirement_names(REPO / "constraints.txt"):
        name, _, version = line.partition("==")
        assert version, f"constraint without exact version: {line}"
        pins[normalise(name)] = version
    for requirement in requirement_names(REPO / "requirements.txt"):
        assert normalise(requirement) in pins, f"{requirement} is not pinned in constraints.txt"
    assert pins["torch"] == "2.13.0"
    assert "torch" not in map(normalise, requirement_names(REPO / "requirements.txt"))
    python_only = requirement_names(REPO / "requirements-python.txt")
    assert python_only and not [name for name in python_only if normalise(name).startswith("ros-")]


def test_environment_is_up_to_date_so_make_does_not_reinstall() -> None:
    # `make -q` exits 0 only when the stamp named after the bootstrap inputs' hash exists.
    result = subprocess.run(["make", "-q", "env"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, "make would re-run the bootstrap: " + result.stdout


def test_installed_torch_is_the_pinned_cpu_build() -> None:
    import torch

    assert torch.__version__.startswith("2.13.0")
