"""Where X-Road's conformance vectors are: ``../shared/conformance/xroad`` beside the project root.

CI lays the same copy there; the vectors are data and are never copied into the project.
The ``xroad`` fixture (``tests/conftest.py``) returns this path after checking it exists;
module-level tables that parametrize tests read it directly.
"""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
XROAD = PROJECT_ROOT.parent / "shared" / "conformance" / "xroad"
