"""The Dask backend: who may be reached (TLS beyond loopback), and the executor interface on a
cluster in this process."""

from __future__ import annotations

from pathlib import Path

import pytest

from ballistics.cluster import (
    TLS_CA_VARIABLE,
    TLS_CERT_VARIABLE,
    TLS_KEY_VARIABLE,
    ClusterAddress,
    ClusterTLS,
    DaskExecutor,
    check_cluster_address,
    cluster_security,
    is_loopback,
    parse_cluster_address,
    tls_from_environment,
)
from ballistics.items import describe_error
from ballistics.parallel import worker_state


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("tcp://127.0.0.1:8786", ClusterAddress("tcp", "127.0.0.1", 8786)),
        ("127.0.0.1:8786", ClusterAddress("tcp", "127.0.0.1", 8786)),
        ("TLS://hub.example.org:8786", ClusterAddress("tls", "hub.example.org", 8786)),
        ("tls://[2001:db8::1]:9000", ClusterAddress("tls", "2001:db8::1", 9000)),
        (" tcp://localhost:1 ", ClusterAddress("tcp", "localhost", 1)),
    ],
)
def test_addresses_are_parsed_as_dask_reads_them(address, expected):
    assert parse_cluster_address(address) == expected


def test_an_address_prints_back_as_written():
    assert str(ClusterAddress("tls", "2001:db8::1", 9000)) == "tls://[2001:db8::1]:9000"
    assert str(parse_cluster_address("127.0.0.1:8786")) == "tcp://127.0.0.1:8786"


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("http://127.0.0.1:8786", "scheme must be tls://"),
        ("tcp://127.0.0.1", "host and port"),
        ("tcp://127.0.0.1:port", "port must be a number"),
        ("tcp://127.0.0.1:70000", "1-65535"),
        ("tls://[::1:8786", "IPv6"),
    ],
)
def test_malformed_addresses_are_refused_with_how_to_write_them(address, message):
    with pytest.raises(ValueError, match=message):
        parse_cluster_address(address)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "localhost", "LOCALHOST"])
def test_loopback_hosts(host):
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["10.0.0.5", "192.168.1.2", "0.0.0.0", "hub", "2001:db8::1"])
def test_hosts_beyond_loopback(host):
    assert not is_loopback(host)


@pytest.mark.parametrize(
    "address", ["tcp://10.0.0.5:8786", "10.0.0.5:8786", "tcp://hub.example.org:8786"]
)
def test_plain_tcp_beyond_loopback_is_refused_in_one_line_saying_why(address):
    with pytest.raises(ValueError, match="tls://") as refused:
        check_cluster_address(address)
    message = str(refused.value)
    assert "\n" not in message
    assert "run whatever code they are sent" in message
    assert TLS_CA_VARIABLE in message


@pytest.mark.parametrize(
    "address", ["tcp://127.0.0.1:8786", "tcp://[::1]:8786", "tls://10.0.0.5:8786"]
)
def test_loopback_tcp_and_tls_anywhere_are_accepted(address):
    assert check_cluster_address(address) == parse_cluster_address(address)


@pytest.fixture
def certificate_files(tmp_path: Path) -> dict[str, str]:
    names = {TLS_CA_VARIABLE: "ca.pem", TLS_CERT_VARIABLE: "me.pem", TLS_KEY_VARIABLE: "me.key"}
    for name in names.values():
        (tmp_path / name).write_text("-----BEGIN-----\n", encoding="utf-8")
    return {variable: str(tmp_path / name) for variable, name in names.items()}


def test_tls_files_come_from_the_environment(certificate_files):
    tls = tls_from_environment(certificate_files)
    assert tls == ClusterTLS(
        Path(certificate_files[TLS_CA_VARIABLE]),
        Path(certificate_files[TLS_CERT_VARIABLE]),
        Path(certificate_files[TLS_KEY_VARIABLE]),
    )
    assert tls_from_environment({}) is None


def test_tls_needs_all_three_files_and_names_the_missing_one(certificate_files):
    partial = {k: v for k, v in certificate_files.items() if k != TLS_KEY_VARIABLE}
    with pytest.raises(ValueError, match=f"set {TLS_KEY_VARIABLE}"):
        tls_from_environment(partial)
    absent = {**certificate_files, TLS_CA_VARIABLE: "/nowhere/ca.pem"}
    with pytest.raises(ValueError, match=f"{TLS_CA_VARIABLE}=/nowhere/ca.pem: no such"):
        tls_from_environment(absent)


def test_tls_without_certificates_is_refused():
    # no files given and no distributed.comm.tls in Dask's configuration
    import dask

    with (
        dask.config.set({"distributed.comm.tls.ca-file": None}),
        pytest.raises(ValueError, match="needs certificates"),
    ):
        cluster_security(parse_cluster_address("tls://hub:8786"), None)


def test_tls_security_requires_encryption_with_the_given_files(certificate_files):
    tls = tls_from_environment(certificate_files)
    security = cluster_security(parse_cluster_address("tls://hub:8786"), tls)
    assert security.require_encryption
    assert security.tls_ca_file == certificate_files[TLS_CA_VARIABLE]
    assert security.tls_client_cert == certificate_files[TLS_CERT_VARIABLE]
    assert cluster_security(parse_cluster_address("tcp://127.0.0.1:1"), tls) is None


def _square_with_state(task: int) -> tuple[int, int, object]:
    return task, task * task, worker_state()


@pytest.fixture(scope="module")
def local_cluster():
    """A scheduler and two worker threads in this process, on loopback."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=False,
        protocol="tcp://",
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    ) as cluster:
        yield cluster


def test_the_cluster_returns_every_result_once_with_the_run_state(local_cluster):
    with DaskExecutor(local_cluster.scheduler_address, state={"run": "A"}) as executor:
        assert not executor.local_files
        assert not executor.inline
        assert executor.workers == 2
        # a generator: the tasks are built as the cluster takes them, a window at a time
        results = list(executor.map_unordered(_square_with_state, (n for n in range(30))))
    assert sorted(results) == [(task, task * task, {"run": "A"}) for task in range(30)]


def test_two_runs_on_one_cluster_keep_their_own_state(local_cluster):
    address = local_cluster.scheduler_address
    with DaskExecutor(address, state="A") as first, DaskExecutor(address, state="B") as second:
        from_first = first.map_unordered(_square_with_state, range(10))
        from_second = list(second.map_unordered(_square_with_state, range(10)))
        assert {state for _, _, state in from_first} == {"A"}
    assert {state for _, _, state in from_second} == {"B"}


def test_an_unreachable_scheduler_is_one_error_naming_it():
    with pytest.raises(ConnectionError) as refused:
        DaskExecutor("tcp://127.0.0.1:9", timeout_s=1.0)
    message = describe_error(refused.value)
    assert message.startswith("tcp://127.0.0.1:9: cannot reach the Dask scheduler"), message
    assert "\n" not in message


def _length(task: bytes) -> int:
    return len(task)


def test_tasks_carry_a_scan_s_bytes_without_a_warning(local_cluster):
    # warnings are errors here: Dask's "large graph" warning would fail the test
    scans = [bytes(12_000_000), bytes(1)]
    with DaskExecutor(local_cluster.scheduler_address) as executor:
        assert sorted(executor.map_unordered(_length, scans)) == [1, 12_000_000]


def _run_states(dask_scheduler) -> list[str]:
    return sorted(name for name in dask_scheduler.worker_plugins if name.startswith("ballistics"))


def test_the_state_of_a_run_killed_before_its_close_is_taken_back(local_cluster):
    from distributed import Client

    address = local_cluster.scheduler_address
    abandoned = DaskExecutor(address, state="the killed run's marks")
    assert list(abandoned.map_unordered(_length, [b"ab"])) == [2]
    abandoned._client.close()  # its process killed: close() never runs, the state stays
    with Client(address, set_as_default=False) as observer:
        assert len(observer.run_on_scheduler(_run_states)) == 1
        with DaskExecutor(address, state="a new run") as executor:
            assert list(executor.map_unordered(_square_with_state, [3])) == [(3, 9, "a new run")]
            (left,) = observer.run_on_scheduler(_run_states)
            assert executor._client.id in left
        assert observer.run_on_scheduler(_run_states) == []
