"""``python -m tools.conformance --out DIR``: see :mod:`tools.conformance`."""

import sys

from tools.conformance import main

sys.exit(main(sys.argv[1:]))
