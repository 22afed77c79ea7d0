"""The runbook model on synthetic chat histories shaped like what the OpenHands SDK sends."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import SimpleNamespace

import httpx
import pytest

from sre_agent.agent.chat import command_output, finish, parse_claim, text, tool_call
from sre_agent.agent.runbook import RunbookModel, RunbookStep
from sre_agent.errors import UsageError
from sre_agent.testing import ScriptedModel, ScriptExhausted, unreachable_base_url

TOOLS = [
    {"type": "function", "function": {"name": n, "parameters": {}}}
    for n in ("terminal", "file_editor", "finish", "think")
]

STALE_LOCK = [
    {"name": "status", "run": "svc status", "expect": r"app\s+FATAL"},
    {
        "name": "find-lock",
        "run": "svc logs app -n 50",
        "capture": {"lock": r"lock file (\S+) is held by pid", "pid": r"held by pid (\d+)"},
    },
    {"name": "confirm-dead", "run": "kill -0 {pid} 2>/dev/null && echo ALIVE || echo DEAD",
     "expect": "^DEAD$"},
    {"name": "remove-lock", "run": "rm -f {lock}", "mutates": True},
    {"name": "restart", "run": "svc restart app", "mutates": True, "expect": r"app\s+RUNNING"},
]

FAULTY = {
    "svc status": "app  FATAL  pid=-  uptime=0s  exit=1\nkv   RUNNING pid=7",
    "svc logs app -n 50": "ERROR lock file /w/run/app.lock is held by pid 4242; refusing to start",
    "kill -0 4242 2>/dev/null && echo ALIVE || echo DEAD": "DEAD",
    "rm -f /w/run/app.lock": "",
    "svc restart app": "app  RUNNING  pid=99  uptime=1s",
}


def observation(output: str, exit_code: int = 0) -> list[dict]:
    """A terminal tool result as the SDK formats it: output plus metadata lines, as parts."""
    body = (
        f"{output}\n[The command completed with exit code {exit_code}.]\n"
        f"[Current working directory: /w]\n[Command finished with exit code {exit_code}]"
    )
    return [{"type": "text", "text": body}]


def play(policy, outputs: dict[str, str] | Callable[[str], str], limit: int = 20):
    """Drive a policy like the SDK would; returns (terminal calls, final message)."""
    history: list[dict] = [
        {"role": "system", "content": [{"type": "text", "text": "You are an SRE agent."}]},
        {"role": "user", "content": [{"type": "text", "text": "Incident: app is down"}]},
    ]
    calls = []
    for _ in range(limit):
        msg = policy.next_message(history, TOOLS)
        tc = (msg.get("tool_calls") or [None])[0]
        if tc is None or tc["function"]["name"] != "terminal":
            return calls, msg
        args = json.loads(tc["function"]["arguments"])
        calls.append(args)
        cmd = args["command"]
        out = outputs(cmd) if callable(outputs) else outputs[cmd]
        history.append({"role": "assistant", "tool_calls": [tc]})
        history.append({"role": "tool", "tool_call_id": tc["id"], "name": "terminal",
                        "content": observation(out)})
    raise AssertionError("policy did not finish")


def finish_message(msg: dict) -> str:
    tc = msg["tool_calls"][0]
    assert tc["function"]["name"] == "finish"
    return json.loads(tc["function"]["arguments"])["message"]


def test_runbook_that_fits_runs_every_step_then_claims_fixed():
    policy = RunbookModel(STALE_LOCK, skill_id="stale-lockfile")
    calls, final = play(policy, FAULTY)
    assert [c["command"] for c in calls] == list(FAULTY)
    assert [c["summary"] for c in calls] == [s["name"] for s in STALE_LOCK]
    assert [c["security_risk"] for c in calls] == ["LOW", "LOW", "LOW", "MEDIUM", "MEDIUM"]
    kind, rest = parse_claim(finish_message(final))
    assert kind == "FIXED"
    assert rest.startswith("Applied runbook stale-lockfile: ran 5 steps")
    assert "lock=/w/run/app.lock" in rest and "pid=4242" in rest
    assert rest.endswith("service should be healthy")


def test_expect_that_does_not_fit_escalates_and_stops():
    healthy = dict(FAULTY, **{"svc status": "app  RUNNING  pid=12\nkv  RUNNING pid=7"})
    calls, final = play(RunbookModel(STALE_LOCK, skill_id="stale-lockfile"), healthy)
    assert [c["command"] for c in calls] == ["svc status"]
    assert finish_message(final) == (
        r"ESCALATE: runbook step status did not fit: expected /app\s+FATAL/; escalating"
    )


def test_capture_without_match_escalates_naming_the_variable():
    other = dict(FAULTY, **{"svc logs app -n 50": "config parse error in etc/service.conf"})
    calls, final = play(RunbookModel(STALE_LOCK, skill_id="stale-lockfile"), other)
    assert len(calls) == 2
    message = finish_message(final)
    assert message.startswith("ESCALATE: runbook step find-lock did not fit: expected /")
    assert "to capture lock" in message


def test_expect_reads_the_output_not_the_terminal_metadata():
    # The metadata line "[Command finished with exit code 0]" must not satisfy `exit code 0`.
    steps = [{"name": "probe", "run": "true", "expect": "exit code 0"}]
    _, final = play(RunbookModel(steps, skill_id="x"), {"true": ""})
    assert finish_message(final).startswith("ESCALATE: runbook step probe did not fit")
    assert command_output(observation("hello")[0]["text"]) == "hello"


def test_output_of_the_subprocess_terminal_is_cleaned_of_control_sequences():
    # Verbatim from openhands-tools 1.58 with terminal_type=subprocess: bracketed-paste
    # toggles around the output would otherwise defeat `^DEAD$`.
    raw = (
        "\x1b[?2004lDEAD\n\x1b[?2004h\n[The command completed with exit code 0.]\n"
        "[Current working directory: /tmp/w]\n[Python interpreter: /usr/bin/python]\n"
        "[Command finished with exit code 0]"
    )
    assert command_output(raw) == "DEAD"
    steps = [{"name": "confirm-dead", "run": "check", "expect": "^DEAD$"}]
    policy = RunbookModel(steps, skill_id="x")
    first = policy.next_message([{"role": "user", "content": "x"}], TOOLS)["tool_calls"][0]
    history = [
        {"role": "user", "content": "x"},
        {"role": "assistant", "tool_calls": [first]},
        {"role": "tool", "tool_call_id": first["id"], "content": [{"type": "text", "text": raw}]},
    ]
    assert parse_claim(finish_message(policy.next_message(history, TOOLS)))[0] == "FIXED"


def test_blocked_action_escalates_with_the_reason():
    policy = RunbookModel(STALE_LOCK, skill_id="stale-lockfile")
    history = [{"role": "user", "content": "Incident"}]
    first = policy.next_message(history, TOOLS)
    tc = first["tool_calls"][0]
    history += [
        {"role": "assistant", "tool_calls": [tc]},
        {"role": "tool", "tool_call_id": tc["id"], "name": "terminal",
         "content": [{"type": "text", "text": "Action rejected: risk HIGH above max MEDIUM"}]},
    ]
    message = finish_message(policy.next_message(history, TOOLS))
    assert message == (
        "ESCALATE: runbook step status was blocked: risk HIGH above max MEDIUM; escalating"
    )


def test_unfinished_command_escalates():
    steps = [{"name": "tail", "run": "tail -f var/log/service.log"}, {"name": "next", "run": "ls"}]
    hung = "line\n[The command has no new output after 30 seconds. You may wait longer...]"
    _, final = play(RunbookModel(steps, skill_id="x"), {"tail -f var/log/service.log": hung})
    assert finish_message(final) == "ESCALATE: runbook step tail did not finish; escalating"


def test_same_history_gives_the_same_answer_and_ids_are_stable():
    policy = RunbookModel(STALE_LOCK, skill_id="stale-lockfile")
    history = [{"role": "user", "content": "Incident"}]
    a = policy.next_message(history, TOOLS)
    b = policy.next_message(list(history), TOOLS)
    assert a == b
    assert a["tool_calls"][0]["id"] == "rb-0"


def test_substitution_quotes_captured_values_and_leaves_shell_vars():
    steps = [
        {"name": "find", "run": "cat f", "capture": {"path": r"path=(.+)$"}},
        {"name": "use", "run": "ls {path} ${HOME} {path}"},
    ]
    calls, _ = play(RunbookModel(steps, skill_id="x"),
                    {"cat f": "path=/w/a b;rm -rf /", "ls '/w/a b;rm -rf /' ${HOME} "
                     "'/w/a b;rm -rf /'": ""})
    assert calls[1]["command"] == "ls '/w/a b;rm -rf /' ${HOME} '/w/a b;rm -rf /'"


def test_uncaptured_variable_escalates():
    steps = [{"name": "use", "run": "curl http://127.0.0.1:{port}/health"}]
    calls, final = play(RunbookModel(steps, skill_id="x"), {})
    assert calls == []
    assert "uses {port}, which no earlier step captured" in finish_message(final)


def test_preamble_steps_and_initial_variables_come_first():
    policy = RunbookModel(
        [{"name": "main", "run": "echo {who}"}],
        skill_id="x",
        preamble_steps=[{"name": "triage", "run": "svc status"}],
        variables={"who": "me"},
    )
    calls, final = play(policy, {"svc status": "ok", "echo me": "me"})
    assert [c["command"] for c in calls] == ["svc status", "echo me"]
    assert parse_claim(finish_message(final))[0] == "FIXED"


def test_no_skill_healthy_reports_nothing_to_fix():
    outputs = {
        "svc status": "app RUNNING pid=3",
        "cat etc/clients.conf": "[upstream]\nupstream = 127.0.0.1:18123\n",
        "curl -sS -m 3 http://127.0.0.1:18123/health": '{"instance": "i-1", "status": "ok"}',
    }
    calls, final = play(RunbookModel.no_skill(), outputs)
    assert [c["command"] for c in calls] == list(outputs)
    assert all(c["security_risk"] == "LOW" for c in calls)
    kind, rest = parse_claim(finish_message(final))
    assert kind == "NOTHING_TO_FIX" and "18123" in rest


def test_no_skill_unhealthy_escalates():
    outputs = {
        "svc status": "app RUNNING pid=3",
        "cat etc/clients.conf": "upstream = 127.0.0.1:18123",
        "curl -sS -m 3 http://127.0.0.1:18123/health":
            "curl: (7) Failed to connect to 127.0.0.1 port 18123: Connection refused",
    }
    _, final = play(RunbookModel.no_skill(), outputs)
    message = finish_message(final)
    assert message.startswith("ESCALATE: no runbook fits: escalating to a human")
    assert "Connection refused" in message


def test_no_skill_without_clients_conf_escalates():
    outputs = {"svc status": "app RUNNING", "cat etc/clients.conf": "cat: etc/clients.conf: none"}
    calls, final = play(RunbookModel.no_skill(), outputs)
    assert len(calls) == 2
    assert finish_message(final).startswith("ESCALATE: no runbook fits: escalating to a human (")


def test_without_terminal_tool_it_escalates_and_without_finish_it_answers_in_text():
    policy = RunbookModel(STALE_LOCK, skill_id="s")
    only_finish = [t for t in TOOLS if t["function"]["name"] == "finish"]
    msg = policy.next_message([{"role": "user", "content": "x"}], only_finish)
    assert finish_message(msg).startswith("ESCALATE: the terminal tool is not available")
    only_think = [t for t in TOOLS if t["function"]["name"] == "think"]
    msg = policy.next_message([{"role": "user", "content": "x"}], only_think)
    assert "tool_calls" not in msg and msg["content"].startswith("ESCALATE:")


@pytest.mark.parametrize(
    "steps, fragment",
    [
        ([], "has no steps"),
        ([{"name": "a", "run": "x", "expect": "("}], "invalid regex"),
        ([{"name": "a", "run": "x", "capture": {"v": r"(a)(b)"}}], "exactly one group"),
        ([{"name": "a", "run": "x", "risk": "extreme"}], "risk must be one of"),
        ([{"name": "a"}], "needs a non-empty 'name' and 'run'"),
    ],
)
def test_invalid_runbooks_are_usage_errors(steps, fragment):
    with pytest.raises(UsageError, match=fragment):
        RunbookModel(steps, skill_id="x")


def test_steps_coerce_from_objects_and_explicit_risk_wins():
    step = RunbookStep.coerce(SimpleNamespace(name="n", run="r", mutates=True, risk="high",
                                              expect=None, capture=None))
    assert step == RunbookStep(name="n", run="r", mutates=True, risk="HIGH")
    assert step.security_risk == "HIGH"
    assert RunbookStep(name="n", run="r", mutates=True).security_risk == "MEDIUM"


def test_parse_claim():
    assert parse_claim("FIXED: done") == ("FIXED", "done")
    assert parse_claim("  NOTHING_TO_FIX: fine") == ("NOTHING_TO_FIX", "fine")
    assert parse_claim("ESCALATE:why") == ("ESCALATE", "why")
    assert parse_claim("I fixed it") == (None, "I fixed it")


def test_scripted_policy_plays_in_order_fills_ids_and_records_requests():
    policy = ScriptedModel([tool_call("think", thought="hm"), text("hello"), finish("FIXED: x")])
    msgs = [policy.next_message([{"role": "user", "content": str(i)}], TOOLS) for i in range(3)]
    assert msgs[0]["tool_calls"][0]["id"] == "call-0-0"
    assert msgs[1] == {"role": "assistant", "content": "hello"}
    assert finish_message(msgs[2]) == "FIXED: x"
    assert [r.messages[0]["content"] for r in policy.requests] == ["0", "1", "2"]
    assert policy.requests[0].tool_names == {"terminal", "file_editor", "finish", "think"}
    with pytest.raises(ScriptExhausted, match="exhausted after 3 responses"):
        policy.next_message([{"role": "user", "content": "again"}], TOOLS)


def test_scripted_loop_repeats_the_same_command_with_fresh_ids():
    policy = ScriptedModel.loop("svc status")
    calls = [policy.next_message([{"role": "user", "content": "x"}], TOOLS)["tool_calls"][0]
             for _ in range(6)]
    assert {json.loads(c["function"]["arguments"])["command"] for c in calls} == {"svc status"}
    assert len({c["id"] for c in calls}) == 6


def test_unreachable_base_url_refuses_connections():
    url = unreachable_base_url()
    assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
    with pytest.raises(httpx.ConnectError):
        httpx.post(url + "/chat/completions", json={}, timeout=2)
