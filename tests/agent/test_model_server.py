"""The local chat-completions server: HTTP contract, session isolation, and the real SDK on it.

The end-to-end test drives a real OpenHands `Agent` + `Conversation`, but its scripted model
only thinks and finishes: no command runs outside a sandbox.
"""

from __future__ import annotations

import json
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from sre_agent.agent.chat import finish, text, tool_call
from sre_agent.agent.llm import build_llm, runbook_config
from sre_agent.agent.model_server import ModelServer, estimate_tokens
from sre_agent.agent.runbook import RunbookModel
from sre_agent.errors import UsageError
from sre_agent.testing import ScriptedModel, unreachable_base_url

MESSAGES = [{"role": "user", "content": "hi"}]
# litellm response types trip a pydantic UserWarning the first time their schema is built
# (order-dependent); pyproject turns warnings into errors. Not ours to fix.
LITELLM_READONLY_WARNING = "ignore:.*`ReadOnly` qualifier:UserWarning"


@pytest.fixture
def server():
    with ModelServer() as srv:
        yield srv


def post(url: str, body: object) -> httpx.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(url + "/chat/completions", content=raw,
                      headers={"Content-Type": "application/json"}, timeout=10)


def test_completion_has_the_openai_shape_and_estimated_usage(server):
    url = server.register("s1", ScriptedModel([finish("NOTHING_TO_FIX: ok")]))
    assert url == f"http://127.0.0.1:{server.port}/s/s1/v1"
    tools = [{"type": "function", "function": {"name": "finish", "parameters": {}}}]
    resp = post(url, {"model": "runbook", "messages": MESSAGES, "tools": tools})
    assert resp.status_code == 200
    body = resp.json()
    assert body["object"] == "chat.completion" and body["model"] == "runbook"
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    call = choice["message"]["tool_calls"][0]
    assert call["type"] == "function" and call["id"]
    assert json.loads(call["function"]["arguments"]) == {"message": "NOTHING_TO_FIX: ok"}
    usage = body["usage"]
    assert usage["prompt_tokens"] == estimate_tokens(MESSAGES) + estimate_tokens(tools)
    assert usage["completion_tokens"] == estimate_tokens(choice["message"])
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_text_reply_stops_and_model_route_reaches_the_session(server):
    server.register("s2", ScriptedModel([text("hello")]))
    resp = post(server.base_url, {"model": "runbook/s2", "messages": MESSAGES})
    assert resp.status_code == 200
    choice = resp.json()["choices"][0]
    assert choice == {"index": 0, "message": {"role": "assistant", "content": "hello"},
                      "finish_reason": "stop"}


@pytest.mark.parametrize(
    "body, fragment",
    [
        (b"{not json", "not valid JSON"),
        ([1, 2], "must be a JSON object"),
        ({"messages": MESSAGES}, "'model'"),
        ({"model": "runbook"}, "'messages'"),
        ({"model": "runbook", "messages": ["hi"]}, "'role'"),
        ({"model": "runbook", "messages": MESSAGES, "tools": "terminal"}, "'tools'"),
        ({"model": "runbook", "messages": MESSAGES, "stream": True}, "stream=true"),
    ],
)
def test_malformed_requests_get_400_with_a_json_error(server, body, fragment):
    url = server.register("s", ScriptedModel([text("unused")]))
    resp = post(url, body)
    assert resp.status_code == 400
    assert fragment in resp.json()["error"]["message"]


def test_unknown_session_and_path_get_404(server):
    resp = post(server.url_for("nobody"), {"model": "runbook", "messages": MESSAGES})
    assert resp.status_code == 404
    assert "unknown model session 'nobody'" in resp.json()["error"]["message"]
    assert post(server.base_url, {"model": "runbook", "messages": MESSAGES}).status_code == 404
    assert httpx.post(f"http://127.0.0.1:{server.port}/v1/embeddings", json={}).status_code == 404


def test_models_listing(server):
    resp = httpx.get(server.base_url + "/models")
    assert resp.status_code == 200
    assert resp.json()["data"][0]["id"] == "runbook"


def test_failing_policy_gets_500(server):
    url = server.register("s", ScriptedModel([text("once")]))
    assert post(url, {"model": "runbook", "messages": MESSAGES}).status_code == 200
    resp = post(url, {"model": "runbook", "messages": MESSAGES})
    assert resp.status_code == 500
    assert "exhausted" in resp.json()["error"]["message"]


def test_invalid_model_reply_gets_500(server):
    class Broken:
        def next_message(self, messages, tools):
            return "not a message"

    url = server.register("s", Broken())
    resp = post(url, {"model": "runbook", "messages": MESSAGES})
    assert resp.status_code == 500
    assert resp.json()["error"]["message"] == "model returned an invalid assistant message"


def test_invalid_session_ids_are_refused(server):
    with pytest.raises(UsageError, match="invalid model session id"):
        server.register("a/b", ScriptedModel([text("x")]))


def test_session_context_unregisters(server):
    with server.session("tmp", ScriptedModel([text("x")])) as url:
        assert server.sessions() == ["tmp"]
    assert server.sessions() == []
    assert post(url, {"model": "runbook", "messages": MESSAGES}).status_code == 404


def test_concurrent_sessions_are_isolated(server):
    n = 8
    policies = {f"c{i}": ScriptedModel([finish(f"FIXED: {i}")] * 3) for i in range(n)}
    urls = {sid: server.register(sid, p) for sid, p in policies.items()}
    barrier = threading.Barrier(n)

    def converse(sid: str) -> list[str]:
        barrier.wait()
        out = []
        for k in range(3):
            body = {"model": "runbook", "messages": [{"role": "user", "content": f"{sid}-{k}"}]}
            call = post(urls[sid], body).json()["choices"][0]["message"]["tool_calls"][0]
            out.append(json.loads(call["function"]["arguments"])["message"])
        return out

    with ThreadPoolExecutor(max_workers=n) as pool:
        results = dict(zip(policies, pool.map(converse, policies), strict=True))
    for i, sid in enumerate(policies):
        assert results[sid] == [f"FIXED: {i}"] * 3
        assert [r.messages[0]["content"] for r in policies[sid].requests] == [
            f"{sid}-{k}" for k in range(3)
        ]


def test_server_binds_loopback_and_stops_on_close():
    srv = ModelServer().start()
    url = srv.register("s", ScriptedModel([text("x")]))
    assert srv._httpd is not None and srv._httpd.server_address[0] == "127.0.0.1"
    srv.close()
    with pytest.raises(httpx.ConnectError):
        post(url, {"model": "runbook", "messages": MESSAGES})


# --- the real OpenHands SDK against the server ----------------------------------------------


@pytest.fixture
def sdk():
    """The SDK, imported only after `prepare_environment` (else litellm fetches prices online)."""
    from sre_agent.sdk import prepare_environment

    prepare_environment()
    import openhands.sdk

    return openhands.sdk


def _conversation(llm, workdir: str, events: list):
    from openhands.sdk import Agent, Conversation

    agent = Agent(llm=llm, tools=[])  # think and finish are built in; no terminal here
    return Conversation(agent=agent, workspace=workdir, callbacks=[events.append],
                        visualizer=None, max_iteration_per_run=6)


@pytest.mark.timeout(120)
@pytest.mark.filterwarnings(LITELLM_READONLY_WARNING)
def test_sdk_conversation_runs_against_the_server(server, sdk):
    from openhands.sdk.event import ActionEvent

    policy = ScriptedModel([
        tool_call("think", thought="The service looks healthy.", summary="think"),
        finish("NOTHING_TO_FIX: nothing to do"),
    ])
    url = server.register("e2e", policy)
    llm = build_llm(runbook_config("test"), usage_id="agent", base_url_override=url)
    events: list = []
    with tempfile.TemporaryDirectory() as workdir:
        conv = _conversation(llm, workdir, events)
        try:
            conv.send_message("Incident: check the service.")
            conv.run()
            status = str(conv.state.execution_status.value)
            metrics = conv.conversation_stats.get_combined_metrics()
        finally:
            conv.close()

    assert status == "finished"
    actions = [e for e in events if isinstance(e, ActionEvent)]
    assert [a.tool_name for a in actions] == ["think", "finish"]
    assert actions[1].action.message == "NOTHING_TO_FIX: nothing to do"
    assert actions[0].tool_call_id == "call-0-0"

    assert len(policy.requests) == 2
    first = policy.requests[0]
    assert {"think", "finish"} <= first.tool_names
    finish_schema = next(t for t in first.tools if t["function"]["name"] == "finish")
    assert finish_schema["function"]["parameters"]["required"] == ["message"]
    # The second request carries the think call and its result back.
    assert any(m.get("role") == "tool" and m.get("tool_call_id") == "call-0-0"
               for m in policy.requests[1].messages)

    usage = metrics.accumulated_token_usage
    expected_prompt = sum(estimate_tokens(r.messages) + estimate_tokens(r.tools)
                          for r in policy.requests)
    assert usage is not None and usage.prompt_tokens == expected_prompt
    assert usage.completion_tokens > 0
    assert metrics.accumulated_cost == 0


@pytest.mark.timeout(60)
@pytest.mark.filterwarnings(LITELLM_READONLY_WARNING)
def test_sdk_conversation_fails_fast_on_an_unreachable_model(sdk):
    from openhands.sdk.conversation.exceptions import ConversationRunError

    config = runbook_config("test").model_copy(update={"timeout_s": 5})
    llm = build_llm(config, usage_id="agent", base_url_override=unreachable_base_url())
    assert llm.num_retries == 0
    events: list = []
    with tempfile.TemporaryDirectory() as workdir:
        conv = _conversation(llm, workdir, events)
        try:
            conv.send_message("Incident")
            with pytest.raises(ConversationRunError):
                conv.run()
            assert str(conv.state.execution_status.value) == "error"
        finally:
            conv.close()


def test_runbook_arguments_fit_the_sdk_terminal_and_finish_schemas(sdk):
    """The runbook policy's tool arguments are fields the installed SDK tools accept."""
    from openhands.sdk.tool.builtins.finish import FinishAction
    from openhands.tools.terminal import TerminalAction

    policy = RunbookModel([{"name": "status", "run": "svc status"}], skill_id="x")
    call = policy.next_message(MESSAGES, [])["tool_calls"][0]
    args = json.loads(call["function"]["arguments"])
    # security_risk and summary are added to every tool schema by the SDK, not the action.
    action_args = {k: v for k, v in args.items() if k not in ("security_risk", "summary")}
    TerminalAction.model_validate(action_args)
    assert set(action_args) <= set(TerminalAction.model_fields)
    assert args["security_risk"] in ("UNKNOWN", "LOW", "MEDIUM", "HIGH")
    FinishAction.model_validate({"message": "FIXED: x"})
