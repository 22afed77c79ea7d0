"""The only door to the OpenHands SDK: sets the environment it needs, then imports it.

`import openhands.sdk` costs seconds (litellm); nothing on a fast path may call this.
"""

from __future__ import annotations

import os


def prepare_environment() -> None:
    """Must run before the SDK (or litellm) is imported anywhere in the process."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("OPENHANDS_SUPPRESS_BANNER", "1")
    os.environ.setdefault("LITELLM_LOG", "ERROR")
    os.environ.setdefault("LOG_LEVEL", "ERROR")  # the SDK logs INFO to stderr otherwise


def import_sdk() -> float:
    """Import the SDK and its tools now; returns the seconds it took (0 when already loaded).

    What the import built (modules, classes, pydantic schemas: millions of objects that live
    as long as the process) is then frozen out of the cyclic collector: otherwise every full
    collection walks all of it again, which measured ~12% of a fan-out's CPU.
    """
    import gc
    import sys
    import time

    if "openhands.tools.terminal" in sys.modules:
        return 0.0
    prepare_environment()
    t0 = time.perf_counter()
    import openhands.sdk  # noqa: F401
    import openhands.tools.file_editor  # noqa: F401
    import openhands.tools.terminal  # noqa: F401

    gc.collect()
    gc.freeze()
    return time.perf_counter() - t0
