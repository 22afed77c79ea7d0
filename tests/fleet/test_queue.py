"""The durable queue's contract, the same for both backends: SQLite in a temp dir and a REAL
redis-server started on 127.0.0.1 by the session fixture (one key prefix per test)."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from sre_agent.errors import UsageError
from sre_agent.fleet.queue import (
    DurableQueue,
    JobRecord,
    LeaseKeeper,
    NewItem,
    RedisQueue,
    SqliteQueue,
    holder_dead,
    open_queue,
    shown_url,
    worker_identity,
)


def put(q: DurableQueue, *ids: str, job: str = "job-1", priority: str = "medium",
        **payload: object) -> None:
    q.put_many([NewItem(i, job, dict(payload), priority) for i in ids])


def test_open_queue_urls(queue_url: str) -> None:
    q = open_queue(queue_url)
    assert isinstance(q, DurableQueue)
    assert isinstance(q, SqliteQueue if queue_url.startswith("sqlite") else RedisQueue)
    assert "***" in shown_url("redis://:secret@127.0.0.1:1/0")
    assert "secret" not in shown_url("redis://:secret@127.0.0.1:1/0")
    for bad in ("sqlite://", "amqp://127.0.0.1/", "sqlite:///x.db?colour=red"):
        with pytest.raises(UsageError):
            open_queue(bad)
    assert open_queue("sqlite://:memory:").url == "sqlite://:memory:"


def test_put_is_stored_and_idempotent(queue_url: str) -> None:
    q = open_queue(queue_url)
    q.put_many([NewItem("inc-1", "job-1", {"scenario": "disk_full"}, "high")])
    assert q.put_many([NewItem("inc-1", "job-1", {"scenario": "other"}),
                       NewItem("inc-2", "job-1", {"scenario": "x"})]) == 1
    fresh = open_queue(queue_url)  # another connection (a restarted process) sees it at once
    view = fresh.get("inc-1")
    assert view is not None
    assert (view.state, view.payload, view.priority, view.job_id, view.attempts) == (
        "queued", {"scenario": "disk_full"}, 0, "job-1", 0)
    assert [v.id for v in fresh.items("job-1")] == ["inc-1", "inc-2"]
    assert fresh.get("nope") is None


def test_severity_order_then_fifo_and_job_filter(queue_url: str) -> None:
    q = open_queue(queue_url)
    for item_id, prio in [("l1", "low"), ("m1", "medium"), ("h1", "high"), ("m2", "medium"),
                          ("h2", "high"), ("l2", "low")]:
        put(q, item_id, priority=prio)
    put(q, "other-h", job="job-2", priority="high")
    order = []
    while (c := q.claim("w", jobs=["job-1"])) is not None:
        order.append(c.id)
        assert q.complete(c, {})
    assert order == ["h1", "h2", "m1", "m2", "l1", "l2"]
    assert q.claim("w", jobs=[]) is None
    c = q.claim("w")  # any job
    assert c is not None and (c.id, c.job_id) == ("other-h", "job-2")


def test_stale_worker_cannot_record_a_second_result(queue_url: str) -> None:
    q = open_queue(queue_url, lease_s=0.3)
    put(q, "a")
    c1 = q.claim("w1")
    assert c1 is not None and (c1.id, c1.attempt, c1.token) == ("a", 1, 1)
    time.sleep(0.45)  # w1 hangs past its lease
    c2 = q.claim("w2")
    assert c2 is not None and (c2.id, c2.attempt, c2.token) == ("a", 2, 2)
    assert q.renew(c1) is False
    assert q.complete(c1, {"by": "w1"}) is False
    assert q.fail(c1, "boom") is False and q.release(c1) is False
    assert q.complete(c2, {"by": "w2"}) is True
    assert q.complete(c2, {"by": "w2"}) is True  # a retried call of the same claim
    view = q.get("a")
    assert view is not None
    assert (view.state, view.result, view.attempts, view.token) == ("done", {"by": "w2"}, 2, 2)
    assert q.claim("w3") is None


def test_renewed_lease_is_not_taken_and_shows_its_stage(queue_url: str) -> None:
    q = open_queue(queue_url, lease_s=0.6)
    put(q, "a")
    c = q.claim("w1")
    assert c is not None
    end = time.monotonic() + 1.5  # over two leases
    while time.monotonic() < end:
        assert q.renew(c, stage="agent")
        assert q.claim("w2") is None
        assert q.reclaim_expired() == []
        time.sleep(0.15)
    view = q.get("a")
    assert view is not None and (view.stage, view.owner) == ("agent", "w1")
    assert q.complete(c, {"ok": 1})


def test_fail_retries_release_does_not_count_expire_reclaims(queue_url: str) -> None:
    q = open_queue(queue_url, max_attempts=2)
    put(q, "a", "b")
    c = q.claim("w")
    assert c is not None and q.release(c)  # back at its place in line, not counted
    c = q.claim("w")
    assert c is not None and (c.id, c.attempt) == ("a", 1)
    assert q.fail(c, "sandbox crashed")
    view = q.get("a")
    assert view is not None and (view.state, view.attempts, view.error) == (
        "queued", 1, "sandbox crashed")
    c = q.claim("w")
    assert c is not None and (c.id, c.attempt) == ("a", 2)
    assert q.expire("a", c.token)  # its holder is dead, attempts used up: failed
    view = q.get("a")
    assert view is not None and view.state == "failed" and view.finished_at
    c = q.claim("w")
    assert c is not None and c.id == "b"
    assert q.expire("b", c.token) and q.get("b").state == "queued"  # type: ignore[union-attr]
    assert not q.expire("b", c.token)
    c = q.claim("w")
    assert c is not None and q.fail(c, "fatal", retry=False)
    assert q.get("b").state == "failed"  # type: ignore[union-attr]


def test_expired_leases_are_reclaimed_in_place_and_poison_fails(queue_url: str) -> None:
    q = open_queue(queue_url, lease_s=0.2, max_attempts=2)
    put(q, "a", "b")
    assert q.claim("w1").id == "a"  # type: ignore[union-attr]
    time.sleep(0.3)
    assert q.reclaim_expired() == ["a"]
    c = q.claim("w2")
    assert c is not None and (c.id, c.attempt) == ("a", 2)  # kept its place before b
    time.sleep(0.3)  # the second worker dies too
    assert q.reclaim_expired() == ["a"]
    view = q.get("a")
    assert view is not None and view.state == "failed" and "lease expired" in (view.error or "")
    assert q.complete(c, {}) is False
    assert q.claim("w3").id == "b"  # type: ignore[union-attr]


def test_cancel_queued_and_running(queue_url: str) -> None:
    q = open_queue(queue_url)
    put(q, "a", "b")
    assert q.cancel("a") and q.get("a").state == "cancelled"  # type: ignore[union-attr]
    c = q.claim("w")
    assert c is not None and c.id == "b" and not c.cancel_requested
    assert q.cancel("b") and q.renew(c) and c.cancel_requested
    assert q.complete(c, {"status": "cancelled"})
    assert not q.cancel("a") and not q.cancel("b") and not q.cancel("missing")


def test_exactly_one_final_result_under_racing_completes(queue_url: str) -> None:
    q = open_queue(queue_url, lease_s=0.05)
    wins: Counter[str] = Counter()
    for i in range(8):
        put(q, f"r{i}")
        old = q.claim("old")
        time.sleep(0.08)
        new = q.claim("new")
        assert old is not None and new is not None and new.id == old.id
        results: dict[str, bool] = {}

        def finish(c: object, results: dict[str, bool] = results) -> None:
            results[c.worker_id] = q.complete(c, {"w": c.worker_id})  # type: ignore[attr-defined]

        threads = [threading.Thread(target=finish, args=(c,)) for c in (old, new)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == {"old": False, "new": True}
        wins[q.get(old.id).result["w"]] += 1  # type: ignore[union-attr,index]
    assert wins == {"new": 8}


def test_unlogged_results_and_jobs_survive_a_fresh_instance(queue_url: str) -> None:
    q = open_queue(queue_url)
    assert q.put_job(JobRecord("job-1", "fanout", {"request": {"incidents": 3}}, owner="me"))
    assert not q.put_job(JobRecord("job-1", "fanout", {"other": 1}))
    put(q, "j1-0", "j1-1", "j1-2")
    put(q, "j2-0", job="job-2", priority="high")
    c = q.claim("w")
    assert c is not None and c.id == "j2-0" and q.renew(c, stage="verifying")
    done = q.claim("w2")
    assert done is not None and q.complete(done, {"row": {"status": "fixed"}})
    ui = open_queue(queue_url)  # e.g. the web server after a restart
    assert ui.counts() == {"job-1": {"queued": 2, "done": 1}, "job-2": {"running": 1}}
    assert [v.id for v in ui.unlogged("job-1")] == ["j1-0"]
    ui.mark_logged(["j1-0"])
    assert ui.unlogged("job-1") == [] and ui.get("j1-0").logged  # type: ignore[union-attr]
    running = ui.get("j2-0")
    assert running is not None and (running.state, running.owner, running.stage) == (
        "running", "w", "verifying")
    job = ui.get_job("job-1")
    assert job is not None and (job.spec, job.state, job.owner) == (
        {"request": {"incidents": 3}}, "running", "me")
    ui.update_job("job-1", state="finished", summary={"fixed": 3})
    assert ui.get_job("job-1").summary == {"fixed": 3}  # type: ignore[union-attr]
    assert [j.id for j in ui.jobs(states=["finished"])] == ["job-1"]
    assert ui.get_job("nope") is None


def test_lease_keeper_renews_then_reports_a_lost_lease(queue_url: str) -> None:
    q = open_queue(queue_url, lease_s=0.3)
    put(q, "a")
    c = q.claim("w1")
    assert c is not None
    stopped = threading.Event()
    keeper = LeaseKeeper(q)
    lease = keeper.hold(c, on_stop=stopped.set)
    lease.stage = "agent"
    time.sleep(0.8)  # past two leases: renewed, never taken
    assert q.claim("w2") is None and not lease.lost.is_set()
    assert q.get("a").stage == "agent"  # type: ignore[union-attr]
    assert q.cancel("a")
    assert stopped.wait(2) and lease.cancelled.is_set()
    keeper.drop(lease)
    time.sleep(0.45)  # no longer renewed: another worker takes it over
    c2 = q.claim("w2")
    assert c2 is not None and c2.token == 2
    stale = keeper.hold(c)
    assert stale.lost.wait(2)  # the keeper learns it lost the lease
    keeper.close()


def test_holder_identity() -> None:
    me = worker_identity(3)
    assert me.endswith("/3") and not holder_dead(me)
    host, pid, start, _slot = me.split("/")
    assert holder_dead(f"{host}/{pid}/{int(start) + 1}/0")  # a reused pid is not the holder
    assert not holder_dead(f"other-host/{pid}/1/0") and not holder_dead(None)


def test_renew_many_renews_in_one_go_and_refuses_stale_claims(queue_url: str) -> None:
    q = open_queue(queue_url)
    put(q, "a", "b", "c")
    a, b, c = q.claim("w1"), q.claim("w1"), q.claim("w1")
    assert a is not None and b is not None and c is not None
    assert q.cancel("c")
    assert q.expire("a", a.token)  # its holder died: another worker takes it
    a2 = q.claim("w2")
    assert a2 is not None and a2.id == "a" and a2.token == a.token + 1
    assert q.renew_many([(b, "agent"), (a, "agent"), (c, None)]) == [True, False, True]
    assert c.cancel_requested and q.get("b").stage == "agent"  # type: ignore[union-attr]
    assert q.get("a").owner == "w2"  # type: ignore[union-attr]
    assert q.renew_many([]) == []
