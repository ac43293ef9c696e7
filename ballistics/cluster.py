"""A Dask distributed cluster as an :class:`~ballistics.parallel.Executor`, and who may reach it.

``ballistics ingest``, ``compare --pairs`` and ``recorrelate`` take ``--cluster ADDRESS`` (or
``$BALLISTICS_CLUSTER``): their tasks then go to the workers of a Dask distributed scheduler
[1]_ instead of the local process pool, through the same two methods. What stays with the caller
(the coordinator): reading the evidence files (their bytes travel with the tasks, so workers need
no shared folder), and every database write, each in its own transaction as the results come
back. A worker lost mid-run costs only its tasks: the scheduler runs them again elsewhere.

Dask workers run whatever they are sent (pickled functions), so a scheduler open to a network
lets anyone who reaches it run code on the hub's machines. Hence :func:`check_cluster_address`:
beyond loopback only ``tls://`` with certificates (mutual TLS: the scheduler and the workers
accept only peers whose certificates the hub's authority signed), from
``$BALLISTICS_CLUSTER_TLS_CA``, ``_CERT`` and ``_KEY`` or from Dask's own configuration
(``distributed.comm.tls`` in a Dask YAML file).

The package ``distributed`` is an optional extra (``pip install 'ballistics[cluster]'``); every
worker machine needs the same release of this package installed, since tasks name its functions.

References
----------
.. [1] M. Rocklin, "Dask: parallel computation with blocked algorithms and task scheduling",
   Proceedings of the 14th Python in Science Conference, 130-136 (2015).
"""

from __future__ import annotations

import errno
import ipaddress
import itertools
import logging
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ballistics.parallel import Executor, run_with_state

try:  # the optional extra: without it, addresses are still checked and --cluster explains
    from distributed import WorkerPlugin as _WorkerPlugin
except ImportError:  # pragma: no cover - the test extra installs distributed
    _WorkerPlugin = object  # type: ignore[misc,assignment]

logger = logging.getLogger(__name__)

TaskT = TypeVar("TaskT")
ResultT = TypeVar("ResultT")

#: the environment variable naming the scheduler when ``--cluster`` is not given
CLUSTER_VARIABLE = "BALLISTICS_CLUSTER"
#: the certificate authority, this client's certificate and its key, for ``tls://``
TLS_CA_VARIABLE = "BALLISTICS_CLUSTER_TLS_CA"
TLS_CERT_VARIABLE = "BALLISTICS_CLUSTER_TLS_CERT"
TLS_KEY_VARIABLE = "BALLISTICS_CLUSTER_TLS_KEY"
_SCHEMES = ("tcp", "tls")
_INSTALL = "install the cluster extra: pip install 'ballistics[cluster]'"

#: the start of the names of the runs' states on the scheduler (then the client's id, ~, a token)
_STATE_PREFIX = "ballistics~"
#: each run's state on this worker process, by the run's token (set by :class:`_RunState`)
_states: dict[str, Any] = {}


@dataclass(frozen=True)
class ClusterAddress:
    """A scheduler's address, checked: ``scheme://host:port``."""

    scheme: str
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def loopback(self) -> bool:
        """True when the scheduler is on this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
        return is_loopback(self.host)


@dataclass(frozen=True)
class ClusterTLS:
    """The files of mutual TLS: the hub's certificate authority, this client's certificate and
    its private key (PEM)."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def is_loopback(host: str) -> bool:
    """Return True when ``host`` names this machine only (no network can reach it)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it resolves to whatever the network says
        return False


def parse_cluster_address(address: str) -> ClusterAddress:
    """Return ``address`` (``tcp://host:port`` or ``tls://host:port``; no scheme: tcp, as Dask
    reads it) as a :class:`ClusterAddress`.

    Raises
    ------
    ValueError
        The address is not a scheduler's ``scheme://host:port`` of a scheme this engine uses.
    """
    text = address.strip()
    scheme, separator, rest = text.partition("://")
    if not separator:
        scheme, rest = "tcp", text
    scheme = scheme.lower()
    if scheme not in _SCHEMES:
        raise ValueError(
            f"cluster address {address!r}: the scheme must be tls:// (or tcp:// on this machine "
            f"only), got {scheme}://"
        )
    host, port_text = _split_host_port(rest, address)
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(
            f"cluster address {address!r}: the port must be a number, e.g. tls://hub:8786"
        ) from None
    if not 0 < port < 65536:
        raise ValueError(f"cluster address {address!r}: the port must be 1-65535, got {port}")
    return ClusterAddress(scheme=scheme, host=host, port=port)


def _split_host_port(rest: str, address: str) -> tuple[str, str]:
    if rest.startswith("["):  # an IPv6 literal
        host, bracket, tail = rest[1:].partition("]")
        if not bracket or not tail.startswith(":"):
            raise ValueError(f"cluster address {address!r}: write IPv6 as tls://[::1]:8786")
        return host, tail[1:]
    host, colon, port = rest.rpartition(":")
    if not colon or not host or "/" in port:
        raise ValueError(
            f"cluster address {address!r}: give the scheduler's host and port, e.g. "
            "tls://hub.example.org:8786 or tcp://127.0.0.1:8786"
        )
    return host, port


def check_cluster_address(address: str) -> ClusterAddress:
    """Return the parsed address, refusing plain ``tcp://`` to a host beyond loopback.

    Raises
    ------
    ValueError
        The address is malformed, or it is ``tcp://`` to another machine: one line saying why.
    """
    parsed = parse_cluster_address(address)
    if parsed.scheme == "tcp" and not parsed.loopback:
        raise ValueError(
            f"refusing the cluster {parsed}: beyond loopback use tls:// with certificates "
            f"({TLS_CA_VARIABLE}, {TLS_CERT_VARIABLE}, {TLS_KEY_VARIABLE}), because Dask "
            "workers run whatever code they are sent and plain tcp:// lets anyone who reaches "
            "the scheduler run code on the hub"
        )
    return parsed


def tls_from_environment(environment: Mapping[str, str] | None = None) -> ClusterTLS | None:
    """Return the TLS files named by ``$BALLISTICS_CLUSTER_TLS_CA``, ``_CERT`` and ``_KEY``
    (None when none is set), each checked to be a readable file.

    Raises
    ------
    ValueError
        Some but not all three are set, or one names no file.
    """
    environment = os.environ if environment is None else environment
    names = (TLS_CA_VARIABLE, TLS_CERT_VARIABLE, TLS_KEY_VARIABLE)
    values = [environment.get(name, "").strip() for name in names]
    if not any(values):
        return None
    missing = [name for name, value in zip(names, values, strict=True) if not value]
    if missing:
        raise ValueError(f"cluster TLS needs all three of {', '.join(names)}; set {missing[0]}")
    for name, value in zip(names, values, strict=True):
        if not Path(value).is_file():
            raise ValueError(f"{name}={value}: no such certificate file")
    return ClusterTLS(*(Path(value) for value in values))


def cluster_security(address: ClusterAddress, tls: ClusterTLS | None) -> Any:
    """Return the ``distributed.Security`` to reach ``address`` with: None for tcp://; for
    tls://, the files given, or else Dask's configuration (``distributed.comm.tls``).

    Raises
    ------
    ValueError
        A tls:// address with no certificate authority either way.
    """
    if address.scheme != "tls":
        return None
    security_class = _distributed().Security
    if tls is not None:
        return security_class(
            tls_ca_file=str(tls.ca_file),
            tls_client_cert=str(tls.cert_file),
            tls_client_key=str(tls.key_file),
            require_encryption=True,
        )
    security = security_class(require_encryption=True)
    if not security.tls_ca_file:
        raise ValueError(
            f"the cluster {address} needs certificates: set {TLS_CA_VARIABLE}, "
            f"{TLS_CERT_VARIABLE} and {TLS_KEY_VARIABLE}, or distributed.comm.tls in a Dask "
            "configuration file"
        )
    return security


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ValueError(f"--cluster needs the distributed package; {_INSTALL}") from None
    return distributed


class _RunState(_WorkerPlugin):
    """Gives one run's state to every worker of the cluster, those that join later included (a
    Dask worker plugin): sent once per worker, kept until the run ends."""

    def __init__(self, token: str, state: Any) -> None:
        self.token = token
        self.state = state

    def setup(self, worker: Any) -> None:
        del worker
        _states[self.token] = self.state
        # as in the local pool's workers: OpenCV's own threads change some results in the last
        # digit (a registration's sums taken in another order), so that a score would depend
        # on where it was computed; one thread each, and Dask's worker threads for parallelism
        import cv2

        cv2.setNumThreads(1)

    def teardown(self, worker: Any) -> None:
        del worker
        _states.pop(self.token, None)


def _run_task(function: Callable[[TaskT], ResultT], token: str, task: TaskT) -> ResultT:
    """Run one task on a worker with its run's state (what :func:`worker_state` returns)."""
    try:
        state = _states[token]
    except KeyError:  # the plugin reaches each worker before its tasks: this is a bug
        raise RuntimeError(f"this worker has no state for run {token}") from None
    return run_with_state(state, function, task)


class DaskExecutor(Executor):
    """Runs tasks on a Dask distributed cluster; the caller keeps the files and the database.

    Parameters
    ----------
    address
        The scheduler: ``tls://host:port``, or ``tcp://`` on loopback
        (:func:`check_cluster_address`).
    state
        What every task may read with :func:`~ballistics.parallel.worker_state`; sent to each
        worker once (and to workers that join later).
    tls
        The TLS files for ``tls://`` (default: from the environment, else Dask's configuration).
    timeout_s
        Seconds to wait for the scheduler to answer.
    """

    local_files = False

    def __init__(
        self,
        address: str,
        *,
        state: Any = None,
        tls: ClusterTLS | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        parsed = check_cluster_address(address)
        security = cluster_security(parsed, tls if tls is not None else tls_from_environment())
        distributed = _distributed()
        self.address = str(parsed)
        self.state = state
        try:
            self._client = distributed.Client(
                self.address, security=security, timeout=timeout_s, set_as_default=False
            )
        except OSError as error:  # refused, reset (tcp:// to a tls:// scheduler), or no answer
            raise ConnectionError(
                errno.ECONNREFUSED,
                f"cannot reach the Dask scheduler (is it up, on {parsed.scheme}://?): "
                f"{' '.join(str(error).split())}",
                self.address,
            ) from None
        self._token: str | None = None
        self.workers = self._threads()

    @property
    def inline(self) -> bool:
        """Never: tasks run on the cluster's workers."""
        return False

    def _threads(self) -> int:
        """Return the cluster's worker threads now (at least 1)."""
        return max(1, sum(self._client.nthreads().values()))

    def _registered(self) -> str:
        """Send the state to the workers once; return the token the tasks find it by."""
        if self._token is None:
            self._forget_orphans()
            # named after this client, so that a later run can tell when its owner is gone
            token = f"{_STATE_PREFIX}{self._client.id}~{uuid.uuid4().hex}"
            self._client.register_plugin(_RunState(token, self.state), name=token)
            self._token = token
        return self._token

    def _forget_orphans(self) -> None:
        """Take back from the workers the states of runs whose coordinator is gone without
        closing (killed): the scheduler keeps a plugin until it is unregistered."""

        # runs on the scheduler: self-contained (the scheduler need not have this package)
        def orphans(dask_scheduler: Any, prefix: str = _STATE_PREFIX) -> list[str]:
            live = set(dask_scheduler.clients)
            return [
                name
                for name in dask_scheduler.worker_plugins
                if name.startswith(prefix) and name[len(prefix) :].split("~")[0] not in live
            ]

        try:
            for name in self._client.run_on_scheduler(orphans):
                self._client.unregister_worker_plugin(name)
        except Exception as error:  # best effort: a scheduler may refuse to run code
            logger.warning("could not look for the states of stopped runs: %s", error)

    def map_unordered(
        self,
        function: Callable[[TaskT], ResultT],
        tasks: Iterable[TaskT],
        *,
        count: int | None = None,
    ) -> Iterator[ResultT]:
        del count  # tasks are handed out a window at a time, whatever their number
        return self._map(function, iter(tasks))

    def _map(
        self, function: Callable[[TaskT], ResultT], tasks: Iterator[TaskT]
    ) -> Iterator[ResultT]:
        distributed = _distributed()
        import dask

        token = self._registered()
        self.workers = self._threads()
        # a few tasks per thread in flight: the workers stay busy while the caller builds the
        # next tasks (reading files, fetching marks), and memory holds a window, not the run
        window = 2 * self.workers + 2
        prefix = getattr(function, "__name__", "task")

        def submit(task: TaskT) -> Any:
            # an item's files travel inside its task (tens of MB for a 3D scan): through the
            # scheduler, so that a task whose worker is lost can run elsewhere (data scattered
            # to a worker would be lost with it); Dask's warning about large tasks is expected
            with dask.config.set({"distributed.admin.large-graph-warning-threshold": "4GiB"}):
                return self._client.submit(
                    _run_task, function, token, task, key=f"{prefix}-{uuid.uuid4().hex}", pure=False
                )

        pending = distributed.as_completed(
            loop=self._client.loop,
            futures=[submit(task) for task in itertools.islice(tasks, window)],
        )
        outstanding = set(pending.futures)
        try:
            for future in pending:
                outstanding.discard(future)
                result = future.result()
                future.release()
                for task in itertools.islice(tasks, 1):
                    following = submit(task)
                    outstanding.add(following)
                    pending.add(following)
                yield result
        finally:  # the caller stopped early (or failed): leave nothing running for it
            for future in outstanding:
                future.cancel()

    def close(self) -> None:
        client = self._client
        if client is None:
            return
        try:
            if self._token is not None and client.status == "running":
                client.unregister_worker_plugin(self._token)
        except Exception:  # the cluster may be gone: the workers drop the state with it
            pass
        finally:
            self._token = None
            client.close()
            self._client = None
