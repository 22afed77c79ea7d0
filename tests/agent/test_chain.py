"""The chained runbook policy on synthetic histories: play, look again, chain, stop."""

from __future__ import annotations

import json
from collections.abc import Callable

from sre_agent.agent.chain import ChainedRunbookModel
from sre_agent.agent.chat import parse_claim
from sre_agent.triage import Evidence, SkillFit, TriageReport, observation_text
from tests.agent.test_runbook import observation

TOOLS = [{"type": "function", "function": {"name": n, "parameters": {}}}
         for n in ("terminal", "file_editor", "triage", "finish")]

ENV = [
    {"name": "status", "run": "svc status", "expect": r"app\s+FATAL"},
    {"name": "append", "run": "echo APP_ENV=x >> etc/service.env", "mutates": True},
    {"name": "restart", "run": "svc restart app", "mutates": True, "expect": r"app\s+RUNNING"},
]
LOCK = [
    {"name": "status", "run": "svc status", "expect": r"app\s+FATAL"},
    {"name": "find", "run": "svc logs app", "capture": {"lock": r"lock file (\S+) is held"}},
    {"name": "remove", "run": "rm -f {lock}", "mutates": True},
    {"name": "restart", "run": "svc restart app", "mutates": True, "expect": r"app\s+RUNNING"},
]
RUNBOOKS = {"bad-env-config": ENV, "stale-lockfile": LOCK}


def _report(healthy: bool, *fitting: str) -> str:
    fits = [SkillFit(skill=s, score=1, checks=1,
                     supports=[Evidence(check="c", kind="supports", excerpt=s)])
            for s in fitting]
    return observation_text(TriageReport(healthy=healthy, ranked=fits))


class World:
    """A tiny system with an env fault and a lock fault, fixed by the right commands."""

    def __init__(self, env_missing: bool = True, lock: bool = True) -> None:
        self.env_missing, self.lock = env_missing, lock
        self.looks = 0

    def terminal(self, command: str) -> str:
        if command.startswith("echo APP_ENV"):
            self.env_missing = False
            return ""
        if command.startswith("rm -f "):
            self.lock = False
            return ""
        state = "FATAL" if self.env_missing or self.lock else "RUNNING"
        if command in ("svc status", "svc restart app"):
            return f"app   {state}"
        if command == "svc logs app":
            return "lock file run/app.lock is held by pid 4" if self.lock else "missing APP_ENV"
        raise AssertionError(f"unexpected command {command!r}")

    def triage(self) -> str:
        self.looks += 1
        fitting = [s for s, bad in (("bad-env-config", self.env_missing),
                                    ("stale-lockfile", self.lock)) if bad]
        return _report(not fitting, *fitting)


def play(policy: ChainedRunbookModel, world: World, limit: int = 40,
         reject: Callable[[str], bool] = lambda c: False) -> tuple[list[str], str]:
    history: list[dict] = [{"role": "user", "content": "incident"}]
    done: list[str] = []
    for _ in range(limit):
        msg = policy.next_message(history, TOOLS)
        call = msg["tool_calls"][0]
        name = call["function"]["name"]
        args = json.loads(call["function"]["arguments"])
        if name == "finish":
            return done, args["message"]
        if name == "triage":
            done.append("triage")
            content = [{"type": "text", "text": world.triage()}]
        elif reject(args["command"]):
            done.append(args["command"])
            content = [{"type": "text", "text": "Action rejected: BLOCKED by the policy"}]
        else:
            done.append(args["command"])
            content = observation(world.terminal(args["command"]))
        history.append({"role": "assistant", "tool_calls": [call]})
        history.append({"role": "tool", "tool_call_id": call["id"], "content": content})
    raise AssertionError("the policy did not finish")


def _decision(skill: str | None, outcome: str = "play") -> dict:
    return {"skill": skill, "outcome": outcome, "reason": "because"}


def test_compound_fault_chains_the_next_fitting_runbook() -> None:
    world = World()
    done, claim = play(ChainedRunbookModel(RUNBOOKS, _decision("bad-env-config")), world)
    assert parse_claim(claim)[0] == "FIXED"
    assert "bad-env-config (misfit), then stale-lockfile (done)" in claim
    assert done.count("triage") == 2 and not world.lock and not world.env_missing
    # the env runbook stopped at its restart (still FATAL because of the lock), then the lock
    assert done[:4] == ["svc status", "echo APP_ENV=x >> etc/service.env", "svc restart app",
                        "triage"]


def test_single_fault_ends_after_one_look_that_is_green() -> None:
    world = World(env_missing=False)
    done, claim = play(ChainedRunbookModel(RUNBOOKS, _decision("stale-lockfile")), world)
    assert claim.startswith("FIXED: applied runbooks stale-lockfile (done)")
    assert done[-1] == "triage" and done.count("triage") == 1


def test_a_green_look_with_evidence_for_an_untried_skill_plays_it() -> None:
    class Lagging(World):
        """The probes are green while the env fault is still there (they lag it)."""

        def triage(self) -> str:
            self.looks += 1
            fitting = [s for s, bad in (("bad-env-config", self.env_missing),
                                        ("stale-lockfile", self.lock)) if bad]
            return _report(True, *fitting)

    done, claim = play(ChainedRunbookModel(RUNBOOKS, _decision("stale-lockfile")),
                       Lagging(env_missing=True, lock=True))
    assert claim.startswith("FIXED: applied runbooks stale-lockfile"), claim
    assert "then bad-env-config (done)" in claim
    assert "echo APP_ENV=x >> etc/service.env" in done

    class Stale(World):  # green, and the evidence names only the runbook already played
        def triage(self) -> str:
            self.looks += 1
            return _report(True, "stale-lockfile")

    done, claim = play(ChainedRunbookModel(RUNBOOKS, _decision("stale-lockfile")),
                       Stale(env_missing=False))
    assert claim.startswith("FIXED: applied runbooks stale-lockfile (done)")
    assert done.count("triage") == 1


def test_nothing_to_fix_changes_nothing_and_escalate_plays_nothing() -> None:
    world = World(env_missing=False, lock=False)
    done, claim = play(ChainedRunbookModel(RUNBOOKS, _decision(None, "nothing_to_fix")), world)
    assert done == [] and claim.startswith("NOTHING_TO_FIX:")
    done, claim = play(ChainedRunbookModel(RUNBOOKS, _decision(None, "escalate")), World())
    assert done == [] and claim.startswith("ESCALATE: no runbook fits")


def test_a_runbook_that_ran_to_its_end_is_never_repeated() -> None:
    class Stubborn(World):
        def triage(self) -> str:  # still red, and still "supports" the lock runbook
            self.looks += 1
            return _report(False, "stale-lockfile")

        def terminal(self, command: str) -> str:  # the restart "works", the alert stays
            return {"svc status": "app   FATAL", "svc logs app": "lock file a is held",
                    "svc restart app": "app   RUNNING"}.get(command, "")

    world = Stubborn(env_missing=False)
    done, claim = play(ChainedRunbookModel(RUNBOOKS, _decision("stale-lockfile")), world)
    assert claim.startswith("ESCALATE: still red after stale-lockfile (done)")
    assert done.count("rm -f a") == 1


def test_a_misfit_that_changed_nothing_is_not_retried() -> None:
    class Stuck(World):
        def terminal(self, command: str) -> str:
            return "app   RUNNING"  # every runbook's first step misfits

        def triage(self) -> str:
            return _report(False, "stale-lockfile", "bad-env-config")

    done, claim = play(ChainedRunbookModel(RUNBOOKS, _decision("stale-lockfile")), Stuck())
    assert done == ["svc status", "triage", "svc status", "triage"]
    assert claim.startswith("ESCALATE: still red after stale-lockfile (misfit), then "
                            "bad-env-config (misfit)")


def test_a_blocked_step_escalates_at_once() -> None:
    done, claim = play(ChainedRunbookModel(RUNBOOKS, _decision("stale-lockfile")), World(),
                       reject=lambda c: c.startswith("rm "))
    assert "triage" not in done
    assert claim.startswith("ESCALATE: runbook step remove was blocked")


def test_at_most_max_runbooks_are_played() -> None:
    policy = ChainedRunbookModel(RUNBOOKS, _decision("bad-env-config"), max_runbooks=1)
    _done, claim = play(policy, World())
    assert claim.startswith("ESCALATE: still red after 1 runbooks")


def test_without_the_triage_tool_it_is_a_single_runbook() -> None:
    policy = ChainedRunbookModel(RUNBOOKS, _decision("stale-lockfile"))
    world = World(env_missing=False)
    history: list[dict] = [{"role": "user", "content": "x"}]
    tools = [t for t in TOOLS if t["function"]["name"] != "triage"]
    for _ in range(10):
        msg = policy.next_message(history, tools)
        call = msg["tool_calls"][0]
        args = json.loads(call["function"]["arguments"])
        if call["function"]["name"] == "finish":
            assert args["message"].startswith("FIXED: Applied runbook stale-lockfile")
            return
        history.append({"role": "assistant", "tool_calls": [call]})
        history.append({"role": "tool", "tool_call_id": call["id"],
                        "content": observation(world.terminal(args["command"]))})
    raise AssertionError("did not finish")
