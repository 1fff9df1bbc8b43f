"""The README's configuration table names every setting the code reads."""

from __future__ import annotations

from pathlib import Path

from codesmith.config import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_setting_is_in_the_readme() -> None:
    text = README.read_text()
    missing = [f"CODESMITH_{name.upper()}" for name in Settings.model_fields if f"CODESMITH_{name.upper()}" not in text]
    assert missing == []
