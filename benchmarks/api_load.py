"""HTTP API under load: concurrent clients for a while, then SIGKILL, a restart, and nothing lost.

Starts ``ballistics serve`` as a subprocess on a store of its own (a temporary one unless
``--store``), with two labs in two countries and an examiner made by ``ballistics agency add``,
and writes a pool of synthetic casings once (X3P at 20 µm per pixel: small, quick to prepare).
Then ``--clients`` threads send requests for ``--duration-s`` seconds, each drawing its next
request by the weights: an upload of a new exhibit (a pool file under a fresh exhibit id, so
the same scan comes back as several exhibits, as a lab's duplicate submissions do), the
candidates of an exhibit already uploaded, one exhibit, or the list of links. It prints
requests per second and latency percentiles per kind of request, with the status codes.

With ``--kill-restart`` (the default) the server is then killed with SIGKILL while correlation
jobs are still queued, started again on the same store, and every upload that was answered 2xx
is looked up by id and followed until it is correlated: an acknowledged upload survives a crash,
because its exhibit and its job commit together before the answer.

    python benchmarks/api_load.py                                   # 20 clients, 60 s
    python benchmarks/api_load.py --clients 5 --duration-s 10 --workers 1

Exits 1 when the server answered a 5xx, a request failed or timed out, or an acknowledged upload
is missing or not correlated after the restart; the server's log is then kept beside
``--output`` (``api_load.server.log``) so that the error can be traced.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import REPOSITORY_ROOT, RESULTS_DIR, finish_run, format_table

#: rendering resolution of the pool's synthetic scans (µm per pixel): coarse, for speed
POOL_PIXEL_UM = 20.0
#: request kinds, in the order of the table
REQUEST_KINDS = ("upload", "candidates", "read", "links")
#: job statuses that mean work is left
UNFINISHED_JOBS = ("pending", "running")
#: the agencies of a load run: two labs in two countries upload, an examiner reads everything
LABS = (("Load Lab NL", "NL"), ("Load Lab BE", "BE"))
EXAMINER = ("Load Examiner", "NL")

ROUTE_COLUMNS = (
    ("kind", "request", "s"),
    ("requests", "requests", "d"),
    ("per_s", "per s", ".2f"),
    ("p50_ms", "p50 ms", ".0f"),
    ("p95_ms", "p95 ms", ".0f"),
    ("max_ms", "max ms", ".0f"),
    ("codes", "status codes", "s"),
    ("server_errors", "5xx", "d"),
    ("failed", "no answer", "d"),
)
RESTART_COLUMNS = (
    ("uploads_acknowledged", "acknowledged", "d"),
    ("jobs_unfinished_at_kill", "jobs left at kill", "d"),
    ("restart_s", "restart s", ".1f"),
    ("present_after_restart", "present", "d"),
    ("correlated_after_restart", "correlated", "d"),
    ("drain_s", "drain s", ".1f"),
    ("jobs_unfinished_after", "jobs left", "d"),
)


# --- the server and its agencies -----------------------------------------------------------------


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on ``host`` now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def server_environment(
    *,
    stale_after_s: float,
    lead_threshold: float | None,
    base: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Return the environment for ``ballistics`` subprocesses run from this source tree.

    ``stale_after_s`` is how long a killed server's running job waits before a new server
    takes it; ``lead_threshold`` the score from which a pair becomes a lead (15 keeps the
    synthetic consecutively made pistols, which share subclass marks, from making leads).
    """
    environment = dict(os.environ if base is None else base)
    environment["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(REPOSITORY_ROOT), environment.get("PYTHONPATH", "")) if part
    )
    environment["BALLISTICS_JOB_STALE_AFTER_S"] = repr(float(stale_after_s))
    if lead_threshold is None:
        environment.pop("BALLISTICS_LEAD_THRESHOLD", None)
    else:
        environment["BALLISTICS_LEAD_THRESHOLD"] = repr(float(lead_threshold))
    return environment


@dataclass(frozen=True)
class Agency:
    """An agency account made for a run, with its API key."""

    name: str
    country: str
    role: str
    api_key: str


def add_agency(
    store: Path, name: str, *, country: str, role: str, environment: Mapping[str, str]
) -> Agency:
    """Create an agency with ``ballistics agency add --json`` and return it with its key."""
    command = [sys.executable, "-m", "api.cli", "agency", "add", name, "--country", country]
    command += ["--role", role, "--store", str(store), "--json"]
    finished = subprocess.run(
        command,
        cwd=REPOSITORY_ROOT,
        env=dict(environment),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if finished.returncode != 0:
        raise RuntimeError(
            f"ballistics agency add {name!r} exited {finished.returncode}: "
            f"{finished.stderr.strip()}"
        )
    document = json.loads(finished.stdout)
    return Agency(
        name=document["agency"],
        country=document["country"],
        role=document["role"],
        api_key=document["api_key"],
    )


class ApiServer:
    """``ballistics serve`` in a subprocess on ``store``: start, kill -9, start again.

    Parameters
    ----------
    store
        The store folder.
    port
        Where to listen on 127.0.0.1 (0: a free port, chosen once and kept across restarts).
    workers
        ``--workers`` of the server (processes for comparison); None: every core.
    log_path
        Standard output and error of every start are appended here.
    environment
        The subprocess's environment (:func:`server_environment`).
    """

    def __init__(
        self,
        store: Path,
        *,
        port: int = 0,
        workers: int | None = None,
        log_path: Path,
        environment: Mapping[str, str],
    ) -> None:
        self.store = Path(store)
        self.port = port or free_port()
        self.workers = workers
        self.log_path = Path(log_path)
        self.environment = dict(environment)
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout_s: float = 120.0) -> float:
        """Start the server and wait until ``/v1/health`` answers; return the seconds taken."""
        if self.process is not None:
            raise RuntimeError("the server is already running; kill() or stop() it first.")
        command = [sys.executable, "-m", "api.cli", "serve", "--store", str(self.store)]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        if self.workers is not None:
            command += ["--workers", str(self.workers)]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        started = time.perf_counter()
        self.process = subprocess.Popen(
            command,
            cwd=REPOSITORY_ROOT,
            env=self.environment,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout_s
        while True:
            if self.process.poll() is not None:
                code = self.process.returncode
                self._release()
                raise RuntimeError(f"the server exited {code} while starting:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/v1/health", timeout=5.0).status_code == 200:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                pass  # not listening yet
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(
                    f"the server did not answer /v1/health within {timeout_s:.0f} s:\n"
                    f"{self.log_tail()}"
                )
            time.sleep(0.2)

    def kill(self) -> None:
        """Kill the server with SIGKILL (no shutdown, as a crash or a power cut) and reap it."""
        if self.process is None:
            return
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=60)
        self._release()

    def stop(self, *, timeout_s: float = 30.0) -> None:
        """Stop the server with SIGTERM (graceful shutdown), SIGKILL after ``timeout_s``."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=60)
        self._release()

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the server's log."""
        if not self.log_path.is_file():
            return "(no server log)"
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> ApiServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _release(self) -> None:
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None


# --- exhibits and requests -----------------------------------------------------------------------


@dataclass(frozen=True)
class PoolFile:
    """One synthetic casing scan: its bytes, its file name and the pistol that fired it."""

    name: str
    data: bytes
    exhibit_id: str
    firearm: str


def write_casing_pool(folder: Path, *, firearms: int, seed: int) -> list[PoolFile]:
    """Write ``firearms`` synthetic pistols x 2 casings as X3P files and return them, each
    pistol's two casings one after the other (so every scan has exactly one true mate)."""
    from ballistics.synthetic import make_casing_dataset, write_exhibit_files

    records = make_casing_dataset(
        firearm_count=firearms,
        firings_per_firearm=2,
        seed=seed,
        modality="topography",
        pixel_um=POOL_PIXEL_UM,
    )
    manifest = write_exhibit_files(records, folder, modality="topography")
    with manifest.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [
        PoolFile(
            name=row["path"],
            data=(folder / row["path"]).read_bytes(),
            exhibit_id=row["exhibit_id"],
            firearm=row["firearm"],
        )
        for row in rows
    ]


def upload_exhibit(
    client: httpx.Client,
    item: PoolFile,
    *,
    api_key: str,
    exhibit_id: str,
    case_id: str,
    caliber: str = "9mm",
) -> httpx.Response:
    """``POST /v1/exhibits`` one cartridge case; return the response as it came."""
    return client.post(
        "/v1/exhibits",
        headers={"X-API-Key": api_key},
        files={"file": (item.name, item.data, "application/octet-stream")},
        data={
            "exhibit_id": exhibit_id,
            "case_id": case_id,
            "kind": "cartridge_case",
            "caliber": caliber,
        },
    )


def job_counts(client: httpx.Client) -> dict[str, int]:
    """The server's correlation jobs per status (``GET /v1/health``)."""
    response = client.get("/v1/health")
    response.raise_for_status()
    return {str(key): int(value) for key, value in response.json()["jobs"].items()}


def unfinished_jobs(counts: Mapping[str, int]) -> int:
    """How many jobs of ``counts`` are pending or running."""
    return sum(counts.get(status, 0) for status in UNFINISHED_JOBS)


def wait_until_jobs_finished(
    client: httpx.Client, *, timeout_s: float, poll_s: float = 0.5
) -> dict[str, int]:
    """Poll ``GET /v1/health`` until no job is pending or running (or ``timeout_s`` passes);
    return the last job counts. A job is marked done just after its exhibit is marked
    correlated, so this also waits out that moment."""
    deadline = time.monotonic() + timeout_s
    counts = job_counts(client)
    while unfinished_jobs(counts) and time.monotonic() < deadline:
        time.sleep(poll_s)
        counts = job_counts(client)
    return counts


def wait_until_settled(
    client: httpx.Client,
    public_ids: Sequence[str],
    *,
    api_key: str,
    timeout_s: float,
    poll_s: float = 0.5,
) -> dict[str, str]:
    """Follow exhibits until each is ``correlated`` or ``failed`` (or ``timeout_s`` passes);
    return each one's last status (``missing`` for a 404).

    While jobs are queued only ``/v1/health`` is polled: every exhibit read is audited (a
    write), and reading hundreds of exhibits each round would slow the jobs it waits for.
    """
    statuses: dict[str, str] = {}
    open_ids = list(dict.fromkeys(public_ids))
    deadline = time.monotonic() + timeout_s
    while True:
        if unfinished_jobs(job_counts(client)) and time.monotonic() < deadline:
            time.sleep(poll_s)
            continue
        still_open = []
        for public_id in open_ids:
            response = client.get(f"/v1/exhibits/{public_id}", headers={"X-API-Key": api_key})
            if response.status_code == 404:
                statuses[public_id] = "missing"
                continue
            response.raise_for_status()
            statuses[public_id] = response.json()["status"]
            if statuses[public_id] not in ("correlated", "failed"):
                still_open.append(public_id)
        open_ids = still_open
        if not open_ids or time.monotonic() > deadline:
            return statuses
        time.sleep(poll_s)


# --- the load --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestMix:
    """Relative weights of the request kinds each client draws from."""

    upload: float = 0.1
    candidates: float = 0.35
    read: float = 0.35
    links: float = 0.2

    def __post_init__(self) -> None:
        weights = {kind: getattr(self, kind) for kind in REQUEST_KINDS}
        if min(weights.values()) < 0 or sum(weights.values()) <= 0:
            raise ValueError(
                f"request weights must be >= 0 and not all 0, got {weights}; give a positive "
                "weight to at least one kind."
            )


@dataclass(frozen=True)
class Outcome:
    """One request: its kind, status code (None when no answer came) and latency."""

    kind: str
    status: int | None
    latency_s: float
    error: str | None = None


@dataclass(frozen=True)
class Acknowledged:
    """An upload the server answered 2xx: it must never be lost."""

    public_id: str
    exhibit_id: str
    agency: str


@dataclass
class LoadState:
    """What the client threads share (guarded by ``lock``)."""

    tag: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    outcomes: list[Outcome] = field(default_factory=list)
    acknowledged: list[Acknowledged] = field(default_factory=list)
    next_upload: int = 0

    def upload_number(self) -> int:
        with self.lock:
            self.next_upload += 1
            return self.next_upload


def run_client(
    index: int,
    *,
    base_url: str,
    labs: Sequence[Agency],
    examiner: Agency,
    pool: Sequence[PoolFile],
    mix: RequestMix,
    deadline: float,
    state: LoadState,
    timeout_s: float,
    seed: int,
) -> None:
    """Send requests drawn from ``mix`` until ``deadline`` (time.monotonic), recording each."""
    rng = random.Random(seed * 1000 + index)
    weights = [getattr(mix, kind) for kind in REQUEST_KINDS]
    keys = {agency.name: agency.api_key for agency in labs}
    with httpx.Client(base_url=base_url, timeout=timeout_s) as client:
        while time.monotonic() < deadline:
            kind = rng.choices(REQUEST_KINDS, weights)[0]
            with state.lock:
                target = rng.choice(state.acknowledged) if state.acknowledged else None
            if kind in ("candidates", "read") and target is None:
                kind = "upload"  # nothing to read yet
            started = time.perf_counter()
            try:
                if kind == "upload":
                    number = state.upload_number()
                    lab = labs[number % len(labs)]
                    exhibit_id = f"{state.tag}-{number:06d}"
                    response = upload_exhibit(
                        client,
                        pool[number % len(pool)],
                        api_key=lab.api_key,
                        exhibit_id=exhibit_id,
                        case_id=f"{state.tag}-CASE-{number:06d}",
                    )
                    if response.is_success:
                        with state.lock:
                            state.acknowledged.append(
                                Acknowledged(response.json()["id"], exhibit_id, lab.name)
                            )
                elif kind == "links":
                    agency = rng.choice([*labs, examiner])
                    response = client.get("/v1/links", headers={"X-API-Key": agency.api_key})
                else:
                    assert target is not None
                    suffix = "/candidates" if kind == "candidates" else ""
                    response = client.get(
                        f"/v1/exhibits/{target.public_id}{suffix}",
                        headers={"X-API-Key": keys[target.agency]},
                    )
                outcome = Outcome(kind, response.status_code, time.perf_counter() - started)
            except httpx.HTTPError as error:
                outcome = Outcome(
                    kind, None, time.perf_counter() - started, f"{type(error).__name__}: {error}"
                )
            with state.lock:
                state.outcomes.append(outcome)


def summarise(outcomes: Sequence[Outcome], *, kind: str, elapsed_s: float) -> dict[str, Any]:
    """Return one table row: count, rate, latency percentiles and status codes of ``outcomes``."""
    latencies_ms = np.asarray([outcome.latency_s * 1000.0 for outcome in outcomes])
    codes = Counter(
        str(outcome.status) if outcome.status is not None else "none" for outcome in outcomes
    )
    errors = Counter(outcome.error for outcome in outcomes if outcome.error is not None)
    empty = latencies_ms.size == 0
    return {
        "phase": "load",
        "kind": kind,
        "requests": len(outcomes),
        "per_s": len(outcomes) / elapsed_s if elapsed_s > 0 else float("nan"),
        "p50_ms": float("nan") if empty else float(np.percentile(latencies_ms, 50)),
        "p95_ms": float("nan") if empty else float(np.percentile(latencies_ms, 95)),
        "max_ms": float("nan") if empty else float(latencies_ms.max()),
        "codes": " ".join(f"{code}:{count}" for code, count in sorted(codes.items())),
        "status_counts": dict(sorted(codes.items())),
        "server_errors": sum(
            1 for outcome in outcomes if outcome.status is not None and outcome.status >= 500
        ),
        "failed": sum(1 for outcome in outcomes if outcome.status is None),
        "errors": dict(errors.most_common(10)),
    }


def run_load(
    server: ApiServer,
    *,
    labs: Sequence[Agency],
    examiner: Agency,
    pool: Sequence[PoolFile],
    clients: int,
    duration_s: float,
    mix: RequestMix,
    timeout_s: float,
    seed: int,
) -> tuple[list[dict[str, Any]], LoadState, float]:
    """Run ``clients`` threads for ``duration_s``; return the rows per kind and overall, the
    shared state (acknowledged uploads) and the elapsed seconds (until the last answer)."""
    state = LoadState(tag=f"LOAD{seed}-{int(time.time())}")
    deadline = time.monotonic() + duration_s
    threads = [
        threading.Thread(
            target=run_client,
            args=(index,),
            kwargs={
                "base_url": server.url,
                "labs": labs,
                "examiner": examiner,
                "pool": pool,
                "mix": mix,
                "deadline": deadline,
                "state": state,
                "timeout_s": timeout_s,
                "seed": seed,
            },
            name=f"load-client-{index}",
            daemon=True,
        )
        for index in range(clients)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed_s = time.perf_counter() - started
    rows = [
        summarise(
            [outcome for outcome in state.outcomes if outcome.kind == kind],
            kind=kind,
            elapsed_s=elapsed_s,
        )
        for kind in REQUEST_KINDS
    ]
    rows.append(summarise(state.outcomes, kind="all", elapsed_s=elapsed_s))
    return rows, state, elapsed_s


def kill_restart_check(
    server: ApiServer,
    acknowledged: Sequence[Acknowledged],
    *,
    examiner: Agency,
    drain_timeout_s: float,
) -> dict[str, Any]:
    """Kill the server with SIGKILL, start it again, and follow every acknowledged upload until
    it is correlated; return the counts and timings."""
    with httpx.Client(base_url=server.url, timeout=60.0) as client:
        try:
            left_at_kill: int | None = unfinished_jobs(job_counts(client))
        except httpx.HTTPError:
            left_at_kill = None
    server.kill()
    restart_s = server.start()
    ids = [upload.public_id for upload in acknowledged]
    with httpx.Client(base_url=server.url, timeout=60.0) as client:
        present = [
            public_id
            for public_id in ids
            if client.get(
                f"/v1/exhibits/{public_id}", headers={"X-API-Key": examiner.api_key}
            ).status_code
            == 200
        ]
        drain_started = time.perf_counter()
        statuses = wait_until_settled(
            client, present, api_key=examiner.api_key, timeout_s=drain_timeout_s, poll_s=2.0
        )
        drain_s = time.perf_counter() - drain_started
        counts = wait_until_jobs_finished(client, timeout_s=30.0)
    missing = sorted(set(ids) - set(present))
    return {
        "phase": "kill_restart",
        "kind": "kill_restart",
        "uploads_acknowledged": len(ids),
        "jobs_unfinished_at_kill": left_at_kill,
        "restart_s": restart_s,
        "present_after_restart": len(present),
        "correlated_after_restart": sum(status == "correlated" for status in statuses.values()),
        "failed_after_restart": sum(status == "failed" for status in statuses.values()),
        "drain_s": drain_s,
        "jobs_after": counts,
        "jobs_unfinished_after": unfinished_jobs(counts),
        "missing": missing[:20],
    }


# --- the command line ----------------------------------------------------------------------------


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line (only ever called from :func:`main`)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients (threads)")
    parser.add_argument("--duration-s", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--port", type=int, default=0, help="server port (0: a free one)")
    parser.add_argument(
        "--workers", type=int, default=None, help="the server's --workers (default: every core)"
    )
    parser.add_argument(
        "--store", type=Path, default=None, help="store folder (default: a temporary one)"
    )
    parser.add_argument(
        "--output", type=Path, default=RESULTS_DIR / "api_load.json", help="JSON record"
    )
    for kind in REQUEST_KINDS:
        parser.add_argument(
            f"--{kind}-weight",
            type=float,
            default=getattr(RequestMix(), kind),
            help=f"relative weight of {kind} requests (default: %(default)s)",
        )
    parser.add_argument(
        "--kill-restart",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="after the load, SIGKILL the server, restart it and check every acknowledged upload",
    )
    parser.add_argument(
        "--pool-firearms", type=int, default=6, help="synthetic pistols in the pool (2 scans each)"
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the pool and of the clients")
    parser.add_argument(
        "--timeout-s", type=float, default=120.0, help="a request without answer by then fails"
    )
    parser.add_argument(
        "--drain-timeout-s",
        type=float,
        default=1800.0,
        help="longest wait for the correlation of every acknowledged upload after the restart",
    )
    parser.add_argument(
        "--stale-after-s",
        type=float,
        default=10.0,
        help="BALLISTICS_JOB_STALE_AFTER_S: when a killed server's running job is taken over",
    )
    parser.add_argument(
        "--lead-threshold",
        type=float,
        default=15.0,
        help="BALLISTICS_LEAD_THRESHOLD (15: no leads between synthetic consecutive pistols)",
    )
    arguments = parser.parse_args(argv)
    if arguments.clients < 1:
        parser.error("--clients must be at least 1")
    if arguments.duration_s <= 0:
        parser.error("--duration-s must be positive")
    if arguments.pool_firearms < 1:
        parser.error("--pool-firearms must be at least 1")
    if arguments.workers is not None and arguments.workers < 1:
        parser.error("--workers must be at least 1")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    """Run the load and the kill-restart check, print the tables and write the JSON record."""
    arguments = parse_arguments(argv)
    mix = RequestMix(**{kind: getattr(arguments, f"{kind}_weight") for kind in REQUEST_KINDS})
    environment = server_environment(
        stale_after_s=arguments.stale_after_s, lead_threshold=arguments.lead_threshold
    )
    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    scratch = Path(tempfile.mkdtemp(prefix="api-load-"))
    log_path = scratch / "server.log"
    try:
        store = arguments.store or scratch / "store"
        print(f"writing {2 * arguments.pool_firearms} synthetic casings", file=sys.stderr)
        pool = write_casing_pool(
            scratch / "pool", firearms=arguments.pool_firearms, seed=arguments.seed
        )
        labs = [
            add_agency(store, name, country=country, role="lab", environment=environment)
            for name, country in LABS
        ]
        examiner = add_agency(
            store, EXAMINER[0], country=EXAMINER[1], role="examiner", environment=environment
        )
        server = ApiServer(
            store,
            port=arguments.port,
            workers=arguments.workers,
            log_path=log_path,
            environment=environment,
        )
        with server:
            startup_s = server.start()
            print(
                f"server up at {server.url} in {startup_s:.1f} s; {arguments.clients} clients "
                f"for {arguments.duration_s:.0f} s",
                file=sys.stderr,
            )
            load_rows, state, elapsed_s = run_load(
                server,
                labs=labs,
                examiner=examiner,
                pool=pool,
                clients=arguments.clients,
                duration_s=arguments.duration_s,
                mix=mix,
                timeout_s=arguments.timeout_s,
                seed=arguments.seed,
            )
            rows += load_rows
            print(format_table(load_rows, ROUTE_COLUMNS))
            print(f"{elapsed_s:.1f} s, {len(state.acknowledged)} uploads acknowledged")
            overall = load_rows[-1]
            if overall["server_errors"]:
                failures.append(f"{overall['server_errors']} answers were 5xx")
            if overall["failed"]:
                failures.append(f"{overall['failed']} requests got no answer: {overall['errors']}")
            if arguments.kill_restart:
                print("killing the server (SIGKILL) and starting it again", file=sys.stderr)
                restart = kill_restart_check(
                    server,
                    state.acknowledged,
                    examiner=examiner,
                    drain_timeout_s=arguments.drain_timeout_s,
                )
                rows.append(restart)
                print(format_table([restart], RESTART_COLUMNS))
                lost = restart["uploads_acknowledged"] - restart["present_after_restart"]
                if lost:
                    failures.append(f"{lost} acknowledged uploads are missing after the restart")
                if restart["correlated_after_restart"] < restart["present_after_restart"]:
                    failures.append("some acknowledged uploads were not correlated after it")
                if restart["jobs_unfinished_after"]:
                    failures.append(f"jobs left after the drain: {restart['jobs_after']}")
        server_log = log_path.read_text(encoding="utf-8", errors="replace")
        if failures:
            kept = arguments.output.with_name(arguments.output.stem + ".server.log")
            kept.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(log_path, kept)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    # the comparison workers of the killed server die on a broken pipe: expected, not counted
    tracebacks = server_log.count("Traceback (most recent call last)")
    tracebacks -= server_log.count("BrokenPipeError: [Errno 32] Broken pipe")
    notes = [
        "uploads reuse the pool's scans under new exhibit ids, so the store holds duplicates "
        "that link to each other, as a lab's repeated submissions would",
        f"server log: {tracebacks} tracebacks besides the killed server's workers' broken pipes",
    ]
    if failures:
        notes.append(f"server log kept in {kept}")
    notes += [f"FAILED: {failure}" for failure in failures]
    finish_run(
        arguments.output,
        benchmark="api_load",
        arguments=vars(arguments),
        results=rows,
        notes=notes,
    )
    if failures:
        print("\n".join(server_log.splitlines()[-60:]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
