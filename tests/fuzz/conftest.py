"""Hypothesis profiles of the fuzz tests: a short budget in every test run, a long one in ``make fuzz``.

``SILD_FUZZ=long`` picks the long profile (``make fuzz`` sets it). Neither keeps Hypothesis's
example database (``database=None``): a failure is reproduced from the seed Hypothesis prints
and kept as an explicit ``@example`` or regression test, not as a file in the work tree.
"""

from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import HealthCheck, settings

# a deadline far above one parse (milliseconds), so a hang or a quadratic blow-up fails and a
# loaded CI machine does not
settings.register_profile(
    "short", max_examples=60, deadline=timedelta(seconds=5), database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "long", max_examples=4000, deadline=timedelta(seconds=5), database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("SILD_FUZZ", "short"))
