"""Fill generated tables into Markdown files between `<!-- NAME -->` and `<!-- /NAME -->` markers."""

from __future__ import annotations

from pathlib import Path


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
