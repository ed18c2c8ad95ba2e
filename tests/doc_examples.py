"""The config examples of README.md, for tests that run them.

Each example is a YAML block whose first line is ``# example: NAME``; the
tests write it to a file and load it as the service would, so the README
shows exactly what is tested.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["example"]

_README = Path(__file__).parents[1] / "README.md"
_BLOCK = re.compile(r"```yaml\n# example: (\S+)\n(.*?)```", re.DOTALL)


def example(name: str, folder: Path) -> Path:
    """Write the example called ``name`` to ``folder`` and return its path."""
    found = {m.group(1): m.group(2) for m in _BLOCK.finditer(_README.read_text())}
    path = folder / f"{name}.yaml"
    path.write_text(found[name])
    return path
