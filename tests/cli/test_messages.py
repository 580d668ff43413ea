"""The command line keeps its own words for the messages the API words its way (one
message, worded by who shows it)."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_cli import loadbay


def test_a_missing_column_is_mapped_with_map_on_the_command_line(
    env: dict[str, str], tmp_path: Path
) -> None:
    data = tmp_path / "companies.csv"
    data.write_text("nom\nAcme\n")
    done = loadbay(env, "import", str(data), "--mode", "create")
    assert done.returncode == 1, done.stdout + done.stderr
    said = " ".join((done.stdout + done.stderr).split())
    assert "(missing_column)" in said
    assert "map one with --map 'File Column=column'" in said, said
    assert "⟨" not in said
