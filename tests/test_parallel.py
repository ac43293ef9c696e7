"""The executor interface on the local backend: every task's result once, the run's state."""

from __future__ import annotations

import threading

import pytest

from ballistics.parallel import LocalExecutor, run_with_state, worker_state


def _square_with_state(task: int) -> tuple[int, int, object]:
    return task, task * task, worker_state()


def test_the_pool_returns_every_result_once_with_the_state():
    with LocalExecutor(2, state="settings") as executor:
        results = list(executor.map_unordered(_square_with_state, iter(range(40)), count=40))
    assert sorted(results) == [(task, task * task, "settings") for task in range(40)]
    assert executor.local_files


def test_one_worker_runs_inline_with_the_state_and_lets_it_go_on_close():
    executor = LocalExecutor(1, state={"cache": 3})
    assert executor.inline
    assert list(executor.map_unordered(_square_with_state, [2])) == [(2, 4, {"cache": 3})]
    executor.close()
    assert worker_state() is None


def test_no_workers_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        LocalExecutor(0)


def test_a_task_state_holds_in_its_own_thread_only():
    seen: dict[str, object] = {}
    ready, done = threading.Event(), threading.Event()

    def other_thread() -> None:
        ready.wait(5)
        seen["other"] = worker_state()
        done.set()

    def task(value: int) -> object:
        ready.set()
        done.wait(5)
        return worker_state(), value

    thread = threading.Thread(target=other_thread)
    thread.start()
    assert run_with_state("run A", task, 1) == ("run A", 1)
    thread.join()
    assert seen["other"] is None
    assert worker_state() is None  # restored after the task


def test_task_states_nest_and_are_restored():
    def outer(value: int) -> tuple[object, object, object]:
        inner = run_with_state("inner", lambda _: worker_state(), value)
        return worker_state(), inner, value

    assert run_with_state("outer", outer, 7) == ("outer", "inner", 7)
    assert worker_state() is None
