"""The bootstrap is pinned and idempotent: `make test` twice does not reinstall."""

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def requirement_names(path: Path) -> list[str]:
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


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


def test_environment_is_up_to_date_so_make_does_not_reinstall() -> None:
    # `make -q` exits 0 only when the stamp named after the bootstrap inputs' hash exists.
    result = subprocess.run(["make", "-q", "env"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, "make would re-run the bootstrap: " + result.stdout


def test_installed_torch_is_the_pinned_cpu_build() -> None:
    import torch

    assert torch.__version__.startswith("2.13.0")
