"""The rule registry: every command name has one rule; patterns and the fallback after."""

from __future__ import annotations

import pytest

import sre_agent.safety.rules as rules
from sre_agent.safety.registry import lookup, names, rule
from sre_agent.safety.rules import (
    files,
    host,
    interpreters,
    net,
    proc,
    readonly,
    sqlite,
    stores,
    unknown,
)


@pytest.mark.parametrize(("name", "expected"), [
    ("rm", files.rule_rm), ("unlink", files.rule_rm), ("cat", readonly.rule_read),
    ("echo", readonly.rule_no_files), ("kill", proc.rule_kill), ("curl", net.rule_curl),
    ("iptables", host.rule_iptables), ("bash", interpreters.judge_interpreter),
    ("python3.12", interpreters.judge_interpreter), ("perl5.36", interpreters.judge_interpreter),
    ("mkfs.ext4", host.rule_mkfs), ("mkswap", host.rule_mkfs), ("source", interpreters.rule_source),
    ("sqlite3", sqlite.rule_sqlite), ("redis-cli", stores.rule_redis),
    ("valkey-cli", stores.rule_redis), ("psql", stores.rule_data_store), ("nginx", proc.rule_nginx),
    ("no-such-command", unknown.rule_unknown), ("redirect", unknown.rule_unknown),
])
def test_lookup(name: str, expected: object) -> None:
    assert lookup(name) is expected


def test_every_module_registers_and_names_are_unique() -> None:
    assert len(rules.MODULES) == 13
    assert len(names()) >= 490
    registered = {lookup(n).__module__ for n in names()}
    assert registered == {m.__name__ for m in rules.MODULES} - {unknown.__name__}


def test_a_second_rule_for_a_name_is_refused() -> None:
    with pytest.raises(ValueError, match="two rules for 'rm'"):
        rule("rm")(lambda call: None)
    assert lookup("rm") is files.rule_rm
