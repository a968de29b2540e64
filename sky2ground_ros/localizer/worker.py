"""One background thread with a one-slot mailbox, so a slow model never builds a queue.

`submit` puts a job in the slot; a job still waiting there is replaced (and counted as
dropped-stale): when the model is slower than the cameras, the newest window is always the
next one processed and latency stays bounded by one inference.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

Job = TypeVar("Job")
Result = TypeVar("Result")


class InferenceWorker(Generic[Job, Result]):
    """Runs ``handler(job)`` off the caller's thread and passes the result to ``on_result``.

    An exception from either goes to ``on_error`` and the worker keeps running.
    """

    def __init__(
        self,
        handler: Callable[[Job], Result],
        on_result: Callable[[Result], None],
        on_error: Callable[[Exception], None],
        name: str = "inference",
    ) -> None:
        self._handler = handler
        self._on_result = on_result
        self._on_error = on_error
        self._condition = threading.Condition()
        self._pending: Job | None = None
        self._has_pending = False
        self._busy = False
        self._stopping = False
        self.submitted = 0
        self.dropped_stale = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Job) -> bool:
        """Queue a job; returns False when it replaced a job that was still waiting."""
        with self._condition:
            if self._stopping:
                raise RuntimeError("worker is closed")
            replaced = self._has_pending
            if replaced:
                self.dropped_stale += 1
            self._pending, self._has_pending = job, True
            self.submitted += 1
            self._condition.notify()
        return not replaced

    @property
    def busy(self) -> bool:
        """Whether a job is running or waiting."""
        with self._condition:
            return self._busy or self._has_pending

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no job is running or waiting; False on timeout."""
        with self._condition:
            return self._condition.wait_for(
                lambda: not (self._busy or self._has_pending), timeout=timeout
            )

    def close(self, timeout: float | None = 10.0) -> None:
        """Drop a waiting job, let a running one finish, and stop the thread."""
        with self._condition:
            self._stopping = True
            self._pending, self._has_pending = None, False
            self._condition.notify_all()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._condition:
                self._condition.wait_for(lambda: self._has_pending or self._stopping)
                if self._stopping:
                    return
                job = self._pending
                self._pending, self._has_pending, self._busy = None, False, True
            try:
                self._on_result(self._handler(job))  # type: ignore[arg-type]
            except Exception as error:  # the worker must outlive any bad window
                self._on_error(error)
            finally:
                with self._condition:
                    self._busy = False
                    self._condition.notify_all()
