"""What many test files share: the fast verifier settings and the `ns` marker.

Fixtures live in `conftest.py`; plain constants live here so test modules can use them at
import time (parametrisation, module-level helpers).
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from sre_agent.incidents import VerifySettings

# The verifier gate with short waits: the same rules (consecutive healthy probes, ground truth),
# fewer seconds per test.
FAST = VerifySettings(consecutive_successes=2, max_attempts=4, interval_s=0.3, probe_timeout_s=1.5)

BWRAP_INSTALL = "apt-get install -y bubblewrap"
DATA = Path(__file__).resolve().parent / "data"  # fixtures shared by test folders


@functools.cache
def ns_usable() -> tuple[bool, str]:
    from sre_agent.sandbox import check_backend

    return check_backend("ns")


# Tests that start real `ns` sandboxes. Without bubblewrap they are skipped with the reason
# and the install command, except under CI=true, where they run (and fail) instead: CI must
# never pass by skipping its sandboxes (see conftest.pytest_collection_modifyitems).
needs_ns = pytest.mark.ns
