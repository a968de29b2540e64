"""The inference worker: one thread, one-slot mailbox, stale jobs dropped, errors survived."""

import threading
import time

import pytest

from sky2ground_ros.localizer.worker import InferenceWorker


def test_slow_handler_drops_stale_jobs_and_processes_the_newest() -> None:
    release = threading.Event()
    started = threading.Event()
    done: list[int] = []
    threads: set[str] = set()

    def handler(job: int) -> int:
        threads.add(threading.current_thread().name)
        started.set()
        release.wait(5.0)
        return job

    worker = InferenceWorker(handler, done.append, lambda error: None, name="test-worker")
    try:
        assert worker.submit(0)
        assert started.wait(5.0)  # job 0 is running, the mailbox is empty
        accepted = [worker.submit(job) for job in range(1, 6)]
        assert accepted == [True, False, False, False, False]  # 1..4 replaced in the slot
        assert worker.dropped_stale == 4 and worker.busy
        release.set()
        assert worker.wait_idle(5.0)
    finally:
        worker.close()
    assert done == [0, 5]  # never a queue: the newest window is the next one processed
    assert threads == {"test-worker"} and threading.current_thread().name not in threads


def test_errors_are_reported_and_the_worker_keeps_running() -> None:
    errors: list[Exception] = []
    done: list[int] = []

    def handler(job: int) -> int:
        if job < 0:
            raise ValueError("bad window")
        return job * 2

    worker = InferenceWorker(handler, done.append, errors.append)
    try:
        worker.submit(-1)
        assert worker.wait_idle(5.0)
        worker.submit(21)
        assert worker.wait_idle(5.0)
    finally:
        worker.close()
    assert [str(e) for e in errors] == ["bad window"] and done == [42]


def test_close_finishes_the_running_job_and_refuses_new_ones() -> None:
    done: list[int] = []
    worker = InferenceWorker(lambda job: (time.sleep(0.2), job)[1], done.append, print)
    worker.submit(1)
    time.sleep(0.05)
    worker.close()
    assert done == [1]
    with pytest.raises(RuntimeError):
        worker.submit(2)
