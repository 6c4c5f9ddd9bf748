"""`domrand generate`: options -> a typed run spec -> chunks rendered by a local pool or Ray -> writers.

| module | what |
| --- | --- |
| `options` | `GenerateOptions` (how to run), `Summary` (what it did), the chunk grid |
| `runner` | `RunSpec` and `ChunkRunner`: render, label and write one chunk |
| `pool` | the local process pool every chunked job uses (dataset chunks, grasp labels, grasp trials) |
| `ray` | the Ray backend |
| `progress` | the progress bar |
| `run` | `generate`: prepare the folder and manifest, run the chunks, finalize the formats |
"""

from domrand.generate.options import FORMATS, GenerateOptions, Summary
from domrand.generate.run import generate

__all__ = ["FORMATS", "GenerateOptions", "Summary", "generate"]
