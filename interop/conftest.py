"""pytest fixtures for the C++-client interop suite (process management lives in harness.py).

Binaries come from $FERROMQ_BIN_DIR (default $CARGO_TARGET_DIR/debug, else <repo>/target/debug):
  mqnamesrv -c namesrv.conf
  mqbroker -n 127.0.0.1:NSPORT -c broker.conf
  mqadmin <command> -n 127.0.0.1:NSPORT ...
Tests are skipped (not failed) when mqnamesrv or mqbroker is missing.
"""
import os
import shutil
import sys
import tempfile
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

# The C++ client writes its logs to $HOME/logs/rocketmq-cpp and broadcasting offsets to
# $HOME/.rocketmq_offsets: point HOME at a private directory before the library is loaded.
CLIENT_HOME = tempfile.mkdtemp(prefix="ferromq-interop-home-")
os.environ["HOME"] = CLIENT_HOME

from harness import Cluster, bin_dir, client_log_tail, find_bin  # noqa: E402

# The gRPC suite needs the v5 Python client, whose `rocketmq` module is not the C++ binding's:
# it runs on its own (interop/grpc/run.sh).
collect_ignore = ["grpc"]


@pytest.fixture(scope="session")
def bins():
    found = {n: find_bin(n) for n in ("mqnamesrv", "mqbroker", "mqadmin")}
    missing = [n for n in ("mqnamesrv", "mqbroker") if not found[n]]
    if missing and os.environ.get("FERROMQ_REQUIRE_BINS") == "1":
        pytest.fail(f"FerroMQ binaries {missing} not found in {bin_dir()} (FERROMQ_REQUIRE_BINS=1)")
    if missing:
        pytest.skip(f"FerroMQ binaries {missing} not found in {bin_dir()} "
                    f"(build them with `cargo build` or set FERROMQ_BIN_DIR)")
    return {k: v for k, v in found.items() if v}


@pytest.fixture
def namesrv_only(bins, tmp_path):
    c = Cluster(str(tmp_path), bins)
    c.start_namesrv()
    yield c
    c.stop_all()


@pytest.fixture
def cluster(namesrv_only):
    """Name server + one broker (broker-a), stopped at teardown."""
    namesrv_only.add_broker("broker-a")
    return namesrv_only


@pytest.fixture
def uniq():
    """A short unique suffix for topic / group / instance names."""
    return uuid.uuid4().hex[:8]


@pytest.fixture
def clients(namesrv_only):
    """Registry of C++ clients; everything registered is shut down at teardown, before the
    servers stop (this fixture depends on the cluster, so it is torn down first)."""
    from cpp_client import ClientRegistry
    reg = ClientRegistry()
    yield reg
    reg.shutdown_all()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed and rep.when in ("setup", "call", "teardown"):
        c = item.funcargs.get("namesrv_only") if hasattr(item, "funcargs") else None
        if c is not None:
            rep.sections.append(("FerroMQ process logs", c.logs()))
        rep.sections.append(("C++ client log (tail)", client_log_tail()))


_exit_status = {}


def pytest_sessionfinish(session, exitstatus):
    _exit_status["code"] = int(exitstatus)
    # The client's whole log is kept when something failed (the report holds only its tail).
    if int(exitstatus) == 0:
        shutil.rmtree(CLIENT_HOME, ignore_errors=True)
    else:
        print(f"\nC++ client logs kept in {CLIENT_HOME}/logs/rocketmq-cpp")


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """librocketmq's background threads and static destructors can crash the interpreter while it
    shuts down, after every test has passed. Leave at once with pytest's own exit status instead
    (set INTEROP_NO_HARD_EXIT=1 to get the normal interpreter shutdown)."""
    if os.environ.get("INTEROP_NO_HARD_EXIT") or "code" not in _exit_status:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_exit_status["code"])
