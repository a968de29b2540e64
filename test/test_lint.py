"""The code base stays ruff-clean (lint rules and formatting from ruff.toml)."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUFF = str(Path(sys.executable).with_name("ruff"))


def test_ruff_check_passes() -> None:
    result = subprocess.run([RUFF, "check", "."], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_ruff_format_is_applied() -> None:
    result = subprocess.run(
        [RUFF, "format", "--check", "."], cwd=REPO, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout
