"""Fill generated tables into Markdown files between `<!-- NAME -->` and `<!-- /NAME -->` markers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def fill_markers(path: str | Path, bodies: dict[str, str]) -> list[str]:
    """Replace the text between each `<!-- NAME -->` / `<!-- /NAME -->` pair in `path` with `bodies[NAME]`.

    Returns the names filled; a name without both markers is left out and the file is untouched for it.

    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "R.md"
    >>> _ = f.write_text("a\\n<!-- T -->\\nold\\n<!-- /T -->\\nb\\n")
    >>> fill_markers(f, {"T": "| x |", "U": "no markers"})
    ['T']
    >>> f.read_text()
    'a\\n<!-- T -->\\n| x |\\n<!-- /T -->\\nb\\n'
    """
    path = Path(path)
    text, filled = path.read_text(), []
    for name, body in bodies.items():
        start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
        if start in text and end in text:
            text = text[: text.index(start) + len(start)] + "\n" + body + "\n" + text[text.index(end) :]
            filled.append(name)
    path.write_text(text)
    return filled


def write_results(
    rows: list[dict[str, Any]], table: str, marker: str, json_out: str | None = None, readme: str | None = None
) -> None:
    """A benchmark's outputs: the Markdown `table` printed, the rows to `json_out` and the table into
    `readme` between its `marker` markers (each when asked for)."""
    print(table)
    if json_out:
        Path(json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(json_out).write_text(json.dumps(rows, indent=2) + "\n")
    if readme:
        fill_markers(readme, {marker: table})
