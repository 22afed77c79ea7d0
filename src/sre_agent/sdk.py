"""The only door to the OpenHands SDK: sets the environment it needs, then imports it.

`import openhands.sdk` costs seconds (litellm); nothing on a fast path may call this.
"""

from __future__ import annotations

import json
import os
import threading
import weakref
from typing import Any


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
        memoize_tool_schemas()  # the SDK may have come in another way (idempotent, cheap)
        return 0.0
    prepare_environment()
    t0 = time.perf_counter()
    import openhands.sdk  # noqa: F401
    import openhands.tools.file_editor  # noqa: F401
    import openhands.tools.terminal  # noqa: F401

    memoize_tool_schemas()
    gc.collect()
    gc.freeze()
    return time.perf_counter() - t0


def memoize_tool_schemas() -> None:
    """Compute each tool action class's JSON schema once per process.

    The SDK rebuilds every tool's schema (pydantic `model_json_schema`) for every completion:
    at concurrency 32 that was ~11% of the orchestrator's CPU. A class's schema does not change
    once the class exists, so `Schema.to_mcp_schema` keeps it (as JSON text, by class, weakly)
    and hands each caller a fresh copy (the SDK edits what it gets). Idempotent.
    """
    from openhands.sdk.tool.schema import Schema

    original = Schema.__dict__["to_mcp_schema"].__func__
    if getattr(original, "memoized", False):
        return
    texts: weakref.WeakKeyDictionary[type, str] = weakref.WeakKeyDictionary()
    lock = threading.Lock()

    def to_mcp_schema(cls: type) -> dict[str, Any]:
        with lock:
            text = texts.get(cls)
        if text is None:
            text = json.dumps(original(cls))
            with lock:
                texts[cls] = text
        return json.loads(text)

    to_mcp_schema.memoized = True  # type: ignore[attr-defined]
    to_mcp_schema.original = original  # type: ignore[attr-defined]
    to_mcp_schema.__doc__ = original.__doc__
    Schema.to_mcp_schema = classmethod(to_mcp_schema)  # type: ignore[method-assign,assignment]
