"""An in-process OpenAI-compatible chat-completions server on loopback, one model a session.

The OpenHands SDK `LLM` (litellm, OpenAI client) talks to it like to any OpenAI endpoint, so
the offline runbook model goes through the same conversation, tools, safety layer and
verifier as a real model, in this process or from a remote agent-server worker on this host.

Routing (many conversations at once): each conversation gets its own base URL,
``http://127.0.0.1:<port>/s/<session_id>/v1`` (from `register` or `url_for`), and the SDK LLM
is built with ``model="openai/runbook"`` and that base URL; litellm strips ``openai/`` and
POSTs ``<base>/chat/completions``. As a second form, ``POST /v1/chat/completions`` with
``model="runbook/<session_id>"`` (``openai/runbook/<session_id>`` in the SDK) reaches the same
session.

Protocol: non-streaming chat completions only (the SDK's default; ``stream: true`` gets 400).
`usage` token counts are *estimated* (characters / 4 of the request messages and tools, and of
the reply), because there is no tokenizer behind a runbook. Malformed requests get 400, an
unknown session 404, a failing model 500, each with an OpenAI-style JSON error body.

Simulated latency (`LlmLatency`, optional): each completion is answered after a delay drawn
per session (fixed, uniform, exponential or lognormal around `mean_s`, seeded by the session
id) plus `completion_tokens / tokens_per_s`, so the offline agent takes, in time, what a real
LLM would. What each session waited is kept until `take_latency(session)` (the trace row's
`extra.simulated_latency`).
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sre_agent.agent.chat import OfflineModel
from sre_agent.agent.latency import LlmLatency
from sre_agent.errors import UsageError

logger = logging.getLogger(__name__)

_SESSION_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_SESSION_PATH = re.compile(r"^/s/(?P<sid>[^/]+)/v1/(?P<route>[a-z/]+)$")
_MAX_BODY = 32 * 1024 * 1024


def estimate_tokens(payload: Any) -> int:
    """Estimated tokens: characters of the compact JSON / 4, rounded up (labelled estimated)."""
    if payload is None:
        return 0
    text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    return math.ceil(len(text) / 4)


@dataclass
class _Waited:
    rng: random.Random
    completions: int = 0
    total_s: float = 0.0
    max_s: float = 0.0


_KEPT_SESSIONS = 10_000  # latency records kept for sessions nobody asked about (oldest go)


class _HttpError(Exception):
    def __init__(self, status: int, message: str, kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind


class ModelServer:
    """A threaded chat-completions server on 127.0.0.1 serving registered policies.

    Use as a context manager (starts on enter, stops on exit) or call `start`/`close`.
    """

    def __init__(self, port: int = 0, latency: LlmLatency | None = None) -> None:
        self._port = port
        self.latency = latency
        self._models: dict[str, OfflineModel] = {}
        self._waited: dict[str, _Waited] = {}
        self._conns: dict[Any, list[Any]] = {}  # socket -> [session id, busy]
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # lifecycle --------------------------------------------------------------------------------

    def start(self) -> ModelServer:
        if self._httpd is not None:
            return self
        handler = type("_BoundHandler", (_Handler,), {"server_ref": self})
        try:
            httpd = _Server(("127.0.0.1", self._port), handler)
        except OSError as exc:
            raise UsageError(
                f"model server cannot listen on 127.0.0.1:{self._port}: {exc.strerror or exc}",
                hint="use port 0 to pick a free port",
            ) from exc
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="sre-agent-model-server",
            daemon=True,
        )
        self._thread.start()
        logger.debug("model server listening on %s", self.base_url)
        return self

    def close(self) -> None:
        self._closing.set()  # a simulated wait in progress ends now
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> ModelServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # addresses and sessions -----------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("model server is not running")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """The server's root OpenAI base URL (use with ``model="openai/runbook/<session>"``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def url_for(self, session_id: str) -> str:
        """The base URL of one session (use with ``model="openai/runbook"``)."""
        return f"http://127.0.0.1:{self.port}/s/{session_id}/v1"

    @staticmethod
    def is_session_url(url: str) -> bool:
        """Whether `url` is one session's base URL (`url_for`), used by one run only."""
        path = "/" + url.split("://", 1)[-1].partition("/")[2]
        return bool(_SESSION_PATH.match(path.rstrip("/") + "/models"))

    def register(self, session_id: str, model: OfflineModel) -> str:
        """Serve `model` for `session_id`; returns that session's base URL."""
        if not _SESSION_ID.match(session_id):
            raise UsageError(
                f"invalid model session id {session_id!r}",
                hint="use letters, digits, '.', '_' or '-' (at most 128)",
            )
        with self._lock:
            self._models[session_id] = model
        return self.url_for(session_id)

    def unregister(self, session_id: str) -> None:
        """Forget the session and close its idle keep-alive connections: a run's client is
        never closed by the SDK, and each open connection holds a server thread and a file
        descriptor (a 20-minute soak grew by one of each per incident)."""
        with self._lock:
            self._models.pop(session_id, None)
            idle = [sock for sock, (sid, busy) in self._conns.items()
                    if sid == session_id and not busy]
        for sock in idle:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # its handler reads EOF and ends

    def _conn_state(self, sock: Any, session_id: str | None, busy: bool | None) -> None:
        with self._lock:
            if busy is None:
                self._conns.pop(sock, None)
            elif session_id is not None:
                self._conns[sock] = [session_id, busy]

    def sessions(self) -> list[str]:
        with self._lock:
            return sorted(self._models)

    def model_for(self, session_id: str) -> OfflineModel | None:
        with self._lock:
            return self._models.get(session_id)

    def take_latency(self, session_id: str) -> dict[str, Any] | None:
        """What the session waited in simulated latency (once; None without latency)."""
        with self._lock:
            waited = self._waited.pop(session_id, None)
        if self.latency is None or waited is None:
            return None
        return {"completions": waited.completions, "total_s": round(waited.total_s, 3),
                "max_s": round(waited.max_s, 3), "settings": self.latency.model_dump()}

    def _wait(self, session_id: str, completion_tokens: int) -> None:
        if self.latency is None:
            return
        with self._lock:
            waited = self._waited.get(session_id)
            if waited is None:
                waited = self._waited[session_id] = _Waited(
                    random.Random(f"{self.latency.seed}:{session_id}"))
                while len(self._waited) > _KEPT_SESSIONS:
                    self._waited.pop(next(iter(self._waited)))
            delay = self.latency.draw(waited.rng, completion_tokens)
            waited.completions += 1
            waited.total_s += delay
            waited.max_s = max(waited.max_s, delay)
        self._closing.wait(delay)

    @contextmanager
    def session(self, session_id: str, model: OfflineModel) -> Iterator[str]:
        """Register for the duration of a block; yields the session's base URL."""
        url = self.register(session_id, model)
        try:
            yield url
        finally:
            self.unregister(session_id)

    # request handling (called from handler threads) -----------------------------------------

    def _complete(self, session_id: str | None, body: Any) -> dict:
        if not isinstance(body, dict):
            raise _HttpError(400, "request body must be a JSON object")
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise _HttpError(400, "'model' must be a non-empty string")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise _HttpError(400, "'messages' must be a non-empty list")
        for m in messages:
            if not isinstance(m, dict) or not isinstance(m.get("role"), str):
                raise _HttpError(400, "every message must be an object with a 'role'")
        tools = body.get("tools") or []
        if not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools):
            raise _HttpError(400, "'tools' must be a list of objects")
        if body.get("stream"):
            raise _HttpError(400, "stream=true is not supported by the local model server")
        if session_id is None:
            # Second routing form: model "runbook/<session>" on the root /v1 path.
            _, _, session_id = model.partition("/")
            if not session_id:
                raise _HttpError(
                    404, f"no session in model {model!r}: use /s/<session>/v1 or "
                    "model runbook/<session>", "not_found_error"
                )
        offline = self.model_for(session_id)
        if offline is None:
            raise _HttpError(404, f"unknown model session {session_id!r}", "not_found_error")
        try:
            reply = offline.next_message(messages, tools)
        except Exception as exc:  # a model bug must reach the client, not kill the thread
            logger.warning("model for session %s failed: %s", session_id, exc)
            raise _HttpError(500, f"model failed: {exc}", "server_error") from exc
        if (
            not isinstance(reply, dict)
            or not isinstance(reply.get("content"), str | None)
            or not isinstance(reply.get("tool_calls"), list | None)
        ):
            raise _HttpError(500, "model returned an invalid assistant message", "server_error")
        message = {"role": "assistant", "content": reply.get("content")}
        if reply.get("tool_calls"):
            message["tool_calls"] = reply["tool_calls"]
        prompt_tokens = estimate_tokens(messages) + estimate_tokens(tools)
        completion_tokens = estimate_tokens(message)
        self._wait(session_id, completion_tokens)
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The stdlib prints the traceback to stderr; the core never prints.
        logger.exception("model server: error while serving %s", client_address)


class _Handler(BaseHTTPRequestHandler):
    server_ref: ModelServer
    protocol_version = "HTTP/1.1"
    timeout = 300  # an idle keep-alive connection is dropped after this many seconds

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def _route(self) -> tuple[str | None, str]:
        path = self.path.split("?", 1)[0].rstrip("/")
        match = _SESSION_PATH.match(path)
        if match:
            return match.group("sid"), match.group("route")
        if path.startswith("/v1/"):
            return None, path[len("/v1/") :]
        return None, ""

    def do_GET(self) -> None:
        _, route = self._route()
        if route == "models":
            self._send(200, {"object": "list", "data": [
                {"id": "runbook", "object": "model", "created": 0, "owned_by": "sre-agent"}
            ]})
        else:
            self._error(_HttpError(404, f"no such path: {self.path}", "not_found_error"))

    def finish(self) -> None:
        self.server_ref._conn_state(self.connection, None, None)
        super().finish()

    def do_POST(self) -> None:
        session_id, route = self._route()
        self.server_ref._conn_state(self.connection, session_id, True)
        try:
            body = self._read_json()
            if route != "chat/completions":
                raise _HttpError(404, f"no such path: {self.path}", "not_found_error")
            self._send(200, self.server_ref._complete(session_id, body))
        except _HttpError as err:
            self._error(err)
        except Exception:
            logger.exception("model server: unexpected error on %s", self.path)
            self._error(_HttpError(500, "internal error in the model server", "server_error"))
        finally:
            self.server_ref._conn_state(self.connection, session_id, False)

    def _read_json(self) -> Any:
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self.close_connection = True
            raise _HttpError(411, "Content-Length required") from None
        if length < 0 or length > _MAX_BODY:
            self.close_connection = True
            raise _HttpError(413, "request body too large")
        raw = self.rfile.read(length)
        try:
            return json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _HttpError(400, f"body is not valid JSON: {exc}") from None

    def _error(self, err: _HttpError) -> None:
        self._send(err.status, {"error": {"message": err.message, "type": err.kind,
                                          "code": err.status}})

    def _send(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


_latency_servers: dict[LlmLatency, ModelServer] = {}
_latency_lock = threading.Lock()


def latency_server(latency: LlmLatency) -> ModelServer:
    """The process's model server with this simulated latency (started on first use)."""
    with _latency_lock:
        server = _latency_servers.get(latency)
        if server is None:
            server = _latency_servers[latency] = ModelServer(latency=latency).start()
        return server


def take_simulated_latency(server: Any, session_id: str) -> dict[str, Any] | None:
    """What a run's session waited on `server` (None: no server, or no simulated latency)."""
    take = getattr(server, "take_latency", None)
    return take(session_id) if callable(take) else None
