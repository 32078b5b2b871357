"""How a printed hint spells the ``sild`` command, so that it can be pasted as it is.

After ``make demo`` or ``pip install -e .`` into a virtual environment, ``sild`` is a
console script in ``.venv/bin`` and not on ``PATH`` until the environment is
activated: a hint that says ``sild sandbox down DIR`` fails in a fresh shell. So every
hint that shows a command asks :func:`sild_hint` for it: the console script beside
the running interpreter, as a path relative to the current directory when it lies
under it (``.venv/bin/sild`` in the project root), absolute otherwise; plain ``sild``
only when that is what ``PATH`` finds; the interpreter itself when there is no
console script at all (sild run from a source tree).
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path


def sild_program(*, cwd: Path | None = None, path: str | None = None) -> str:
    """The words that run ``sild`` when pasted into a shell in ``cwd`` (default: the current directory)."""
    here = Path(cwd or os.getcwd())
    beside = Path(sys.executable).parent / "sild"  # not resolved: a venv's python is a symlink
    found = shutil.which("sild", path=path)
    if beside.is_file() and os.access(beside, os.X_OK):
        if found and os.path.samefile(found, beside):
            return "sild"
        try:
            relative = str(beside.relative_to(here))
        except ValueError:
            return shlex.quote(str(beside))
        return shlex.quote(relative if "/" in relative else "./" + relative)  # a bare name would search PATH
    if found:
        return "sild"
    from gateway.node import sild_command

    return shlex.join(sild_command())


def sild_hint(*args: str | Path, cwd: Path | None = None) -> str:
    """A whole ``sild`` command line for a hint, its arguments quoted for the shell."""
    return " ".join([sild_program(cwd=cwd), *(shlex.quote(str(a)) for a in args)])
