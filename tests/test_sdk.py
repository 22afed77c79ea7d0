"""sre_agent.sdk: the SDK's environment, its import, and the per-class tool schema memo."""

from __future__ import annotations

from typing import Any, ClassVar

from sre_agent.sdk import import_sdk, memoize_tool_schemas


def _schema_class() -> Any:
    import_sdk()
    from openhands.sdk.tool.schema import Schema

    return Schema


def test_tool_schemas_equal_the_sdk_own_and_each_caller_gets_a_fresh_copy() -> None:
    Schema = _schema_class()
    from openhands.tools.terminal import TerminalAction

    original = Schema.__dict__["to_mcp_schema"].__func__.original
    first = TerminalAction.to_mcp_schema()
    assert first == original(TerminalAction)
    first["properties"].clear()  # the SDK edits what it gets (field order, risk, summary)
    assert TerminalAction.to_mcp_schema() == original(TerminalAction)


def test_a_class_schema_is_built_once_and_subclasses_get_their_own() -> None:
    Schema = _schema_class()
    from openhands.sdk.tool import Action

    builds: list[str] = []

    class Probe(Action):
        calls: ClassVar[list[str]] = builds
        target: str

        @classmethod
        def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
            cls.calls.append(cls.__name__)
            return super().model_json_schema(*args, **kwargs)

    class WiderProbe(Probe):
        count: int = 1

    for _ in range(3):
        assert set(Probe.to_mcp_schema()["properties"]) == {"target"}
        assert set(WiderProbe.to_mcp_schema()["properties"]) == {"target", "count"}
    assert builds == ["Probe", "WiderProbe"]
    memoize_tool_schemas()  # idempotent: the memo is not wrapped twice
    assert not getattr(Schema.__dict__["to_mcp_schema"].__func__.original, "memoized", False)
