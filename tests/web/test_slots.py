"""The server-wide cap on incidents holding a sandbox (`slots.InFlightGate`): shared by every
job and alert, the others wait as `queued`, a queued incident can be cancelled."""

from __future__ import annotations

import inspect
import time
from pathlib import Path
from typing import Any

from sre_agent.cli import serve as serve_cli
from sre_agent.web import JobManager, limits
from tests.web.helpers import CountingRunner, alert, incidents, wait_for, wait_job, webhook


def test_incidents_in_flight_are_capped_across_jobs_and_alerts(serve: Any,
                                                                trace_log: Path) -> None:
    server = serve(CountingRunner(hold=True), max_in_flight=2)
    client, runner = server.client, server.runner
    job = client.post("/api/jobs", json={"simulate": True, "scenarios": ["port_mismatch"],
                                         "incidents": 3, "concurrency": 3}).get_json()
    firing = [alert(fingerprint=f"cap{i}", scenario="port_mismatch") for i in range(3)]
    out = client.post("/api/alerts", json=webhook(*firing)).get_json()
    assert out["started"] == 3
    wait_for(lambda: runner.now == 2, "two runs in flight")
    wait_for(lambda: sorted(i["state"] for i in incidents(client).values()).count("queued")
             == 4, "the four others to show as queued")
    time.sleep(0.3)  # a third run would have started by now if the cap leaked
    assert runner.now == 2 and len(runner.requests) == 2
    capacity = client.get("/api/state").get_json()["capacity"]
    assert capacity["in_flight"] == 2 and capacity["max_in_flight"] == 2
    assert capacity["waiting"] >= 2
    runner.release.set()
    for job_id in [job["id"]] + [d["job_id"] for d in out["decisions"]]:
        assert wait_job(client, job_id)["state"] == "finished"
    assert runner.peak == 2 and server.jobs.gate.counts()["peak_in_flight"] == 2
    assert len(trace_log.read_text().splitlines()) == 6
    assert {i["status"] for i in incidents(client).values()} == {"fixed"}


def test_an_incident_cancelled_while_queued_for_a_slot_never_runs(serve: Any,
                                                                   trace_log: Path) -> None:
    server = serve(CountingRunner(hold=True), max_in_flight=1)
    client, runner = server.client, server.runner
    first = client.post("/api/jobs", json={"simulate": True,
                                           "scenarios": ["port_mismatch"]}).get_json()
    wait_for(lambda: runner.now == 1, "the first run")
    second = client.post("/api/jobs", json={"simulate": True,
                                            "scenarios": ["port_mismatch"]}).get_json()
    wait_for(lambda: server.jobs.gate.counts()["waiting"] == 1, "the second run to wait")
    waiting = second["id"] + "-000"
    assert incidents(client)[waiting]["state"] == "queued"
    assert client.post(f"/api/incidents/{waiting}/cancel", json={}).get_json()["cancelled"]
    wait_job(client, second["id"])
    inc = incidents(client)[waiting]
    assert inc["status"] == "cancelled" and "never started" in inc["reason"]
    runner.release.set()
    wait_job(client, first["id"])
    assert len(runner.requests) == 1 and len(trace_log.read_text().splitlines()) == 1


def test_serve_caps_in_flight_at_the_library_default() -> None:
    option = inspect.signature(serve_cli.command).parameters["max_in_flight"].default
    assert option.default == limits.DEFAULT_MAX_IN_FLIGHT
    assert f"default {limits.DEFAULT_MAX_IN_FLIGHT}" in option.help
    assert JobManager(None).max_in_flight == limits.DEFAULT_MAX_IN_FLIGHT
