"""The job queue is fair across agencies: one lab's burst of uploads cannot starve the others."""

from __future__ import annotations

from api.store import repository
from api.store.database import Store
from api.store.models import Job
from tests.api.store.conftest import MakeExhibit

BUSY_LAB, OTHER_LAB, THIRD_LAB = "Port of Spain lab", "Georgetown lab", "San Fernando lab"


def _enqueue_for(store: Store, make_exhibit: MakeExhibit, agency: str, count: int) -> list[int]:
    """Store ``count`` exhibits of ``agency``, each with a correlate job; their job ids."""
    with store.transaction(write=True) as session:
        return [
            repository.enqueue_job(
                session,
                "correlate",
                exhibit=make_exhibit(session, agency, f"{agency}-case", f"E-{number}"),
            ).id
            for number in range(count)
        ]


def _claim(store: Store, worker: str = "worker") -> Job | None:
    with store.transaction(write=True) as session:
        return repository.claim_next_job(session, worker=worker, kinds=["correlate"])


def _finish(store: Store, job: Job) -> None:
    with store.transaction(write=True) as session:
        repository.finish_job(session, job)


def test_a_burst_of_one_lab_does_not_starve_another(
    store: Store, make_exhibit: MakeExhibit
) -> None:
    burst = _enqueue_for(store, make_exhibit, BUSY_LAB, 50)
    later = _enqueue_for(store, make_exhibit, OTHER_LAB, 2)
    claimed = [job.id for job in (_claim(store) for _ in range(4)) if job is not None]
    # the busy lab's oldest first (nobody was served yet), then the labs take turns
    assert claimed == [burst[0], later[0], burst[1], later[1]]
    rest = [job.id for job in iter(lambda: _claim(store), None)]
    assert rest == burst[2:]  # then the busy lab's jobs in the order they came


def test_labs_take_turns_when_each_job_is_finished_before_the_next_claim(
    store: Store, make_exhibit: MakeExhibit
) -> None:
    # a single worker: nothing is running at any claim, so fairness cannot come from the
    # running jobs alone; it comes from which agency was served last
    burst = _enqueue_for(store, make_exhibit, BUSY_LAB, 20)
    other = _enqueue_for(store, make_exhibit, OTHER_LAB, 3)
    third = _enqueue_for(store, make_exhibit, THIRD_LAB, 1)
    order = []
    for _ in range(8):
        job = _claim(store)
        assert job is not None
        order.append(job.id)
        _finish(store, job)
    assert order == [burst[0], other[0], third[0], burst[1], other[1], burst[2], other[2], burst[3]]


def test_jobs_of_no_exhibit_form_a_queue_of_their_own(
    store: Store, make_exhibit: MakeExhibit
) -> None:
    burst = _enqueue_for(store, make_exhibit, BUSY_LAB, 5)
    with store.transaction(write=True) as session:
        loose = repository.enqueue_job(session, "correlate", payload={"all": True}).id
    claimed = [job.id for job in (_claim(store) for _ in range(3)) if job is not None]
    assert claimed == [burst[0], loose, burst[1]]


def test_a_claim_skips_the_fairest_job_while_another_worker_holds_it(
    store: Store, make_exhibit: MakeExhibit
) -> None:
    burst = _enqueue_for(store, make_exhibit, BUSY_LAB, 3)
    other = _enqueue_for(store, make_exhibit, OTHER_LAB, 1)
    with store.transaction(write=True) as holder:
        held = repository.claim_next_job(holder, worker="holder")
        assert held is not None and held.id == burst[0]
        if store.backend == "postgresql":
            # uncommitted: the fairest choice of this claim is still burst[0] (the holder's
            # start is not visible), locked; it is skipped for the next fairest
            taken = _claim(store, "second")
            assert taken is not None and taken.id == other[0]
            taken = _claim(store, "third")
            assert taken is not None and taken.id == burst[1]
    if store.backend == "sqlite":  # the holder had the write lock: the next claims waited
        assert [_claim(store, name).id for name in ("second", "third")] == [other[0], burst[1]]
    assert _claim(store, "fourth").id == burst[2]
    assert _claim(store, "fifth") is None
