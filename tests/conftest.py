"""Shared pytest fixtures.

Each area owns one section below; add new fixtures in a section of their own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import replay
from util import start_sim

from amicli import client
from amicli.sim.channels import populate_demo

# ===========================================================================
# The order test files run in
# ===========================================================================

#: The files that take longest (seconds of wall time each, on 2 cores), longest
#: first; the others follow in their usual order.  `pytest -n 5` deals whole
#: files to its workers (``--dist loadfile``, in the order of this list: see
#: ``--no-loadscope-reorder`` in pyproject.toml).  Long files first, short ones
#: last: no worker starts a long file while the others are ending.
LONGEST_FIRST = [
    "test_hostile.py",
    "test_events.py",
    "test_docs.py",
    "test_faults.py",
    "test_fleet.py",
    "test_protocol.py",
    "test_fuzz_sessions.py",
    "test_originate.py",
    "test_secrets.py",
    "test_cli.py",
    "test_contracts.py",
    "test_endpoints.py",
    "test_watch.py",
    "test_client_replay.py",
    "test_boot.py",
    "test_sim_shapes.py",
    "test_endpoints_sim.py",
    "test_output_contracts.py",
    "test_check.py",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: n for n, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # a stable sort: in-file order stays


# ===========================================================================
# Transcripts and the replay server (tests/replay.py)
# ===========================================================================


@pytest.fixture(scope="session")
def transcripts_dir() -> Path:
    """The ami-transcripts directory ($AMI_TRANSCRIPTS, else next to the repo)."""
    path = replay.find_transcripts_dir()
    if not (path / replay.VERSION_DIR).is_dir():
        pytest.skip(f"AMI transcripts not found at {path} (set AMI_TRANSCRIPTS)")
    return path


@pytest.fixture
def load_transcript(transcripts_dir: Path) -> Callable[[str], list[replay.Step]]:
    """``load_transcript("ping")`` -> the recorded steps, as (direction, bytes)."""

    def load(name: str) -> list[replay.Step]:
        return replay.load_transcript(name, transcripts_dir)

    return load


@pytest.fixture
def one_byte_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every client in this process reads one byte per recv, however many have arrived."""
    monkeypatch.setattr(client, "RECV_SIZE", 1)


@pytest.fixture(name="replay")
def replay_factory(
    transcripts_dir: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., replay.ReplayServer]]:
    """``replay("ping", chunking=1)`` -> a started ReplayServer, closed at teardown.

    Also takes a list of steps instead of a name (see replay.asterisk13_session).
    Its clients are in this process: with ``chunking=1`` they read one byte per
    recv (``one_byte_reads``), so the server sends the recorded chunks whole
    (how it splits its sends cannot change what a one-byte read takes).
    """
    servers: list[replay.ReplayServer] = []

    def start(script: str | replay.Script, **kwargs: Any) -> replay.ReplayServer:
        if kwargs.get("chunking") == 1:
            request.getfixturevalue("one_byte_reads")
            kwargs["chunking"] = "recorded"
        server = replay.ReplayServer(script, transcripts_dir=transcripts_dir, **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


# ===========================================================================
# `ami` against recorded sessions: chunkings and scripts
# ===========================================================================


@pytest.fixture(params=["recorded", 1], ids=["recorded-chunks", "one-byte-reads"])
def chunking(request: pytest.FixtureRequest) -> object:
    """Recorded TCP chunks, then one byte per read (see ``replay``)."""
    return request.param


@pytest.fixture
def recorded(load_transcript: Callable[[str], list[replay.Step]]) -> Callable[..., list[replay.Step]]:
    """``recorded("hangup-getvar", 4)``: banner, Login, the exchanges named, Logoff."""

    def build(name: str, *wanted: int) -> list[replay.Step]:
        parts = replay.exchanges(load_transcript(name))
        return parts[0] + parts[1] + [step for n in wanted for step in parts[n]] + parts[-1]

    return build


# ===========================================================================
# Simulated PBXs (amicli.sim)
# ===========================================================================


@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    """A sim shared by a module's tests, which leave it as they found it.

    A module whose tests change it defines its own ``sim``, one per test.
    """
    server = start_sim()
    yield server
    server.close()


@pytest.fixture(scope="module")
def busy() -> Iterator[Any]:
    """The recorded busy state (calls up, a caller waiting in 'support'); read-only tests only."""
    server = start_sim()
    populate_demo(server.pbx)
    yield server
    server.close()


@pytest.fixture
def demo() -> Iterator[Any]:
    """A fresh busy sim, for tests that change it (hang up, pause...)."""
    server = start_sim()
    populate_demo(server.pbx)
    yield server
    server.close()
