"""Naming a fleet: -H and --profile lists, groups of profiles, AMI_HOST and AMI_PROFILE."""

from __future__ import annotations

import pytest
from util import run_ami

from amicli.config import expand_profiles, parse_host, read_profiles, resolve_fleet
from amicli.errors import ConfigError, ExitCode


def write_config(tmp_path, text: str) -> str:
    path = tmp_path / "config"
    path.write_text(text)
    path.chmod(0o600)
    return str(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pbx1", ("pbx1", None)),
        ("pbx1:5039", ("pbx1", 5039)),
        ("10.0.0.1:5038", ("10.0.0.1", 5038)),
        ("[::1]:5038", ("::1", 5038)),
        ("[fe80::1]", ("fe80::1", None)),
        ("::1", ("::1", None)),
    ],
)
def test_host_forms(text, expected):
    assert parse_host(text) == expected


@pytest.mark.parametrize("text", ["pbx1:", ":5038", "pbx1:port", "pbx1:70000", "[::1", "[::1]5038", "[]:1"])
def test_bad_hosts_are_configuration_errors(text):
    with pytest.raises(ConfigError):
        parse_host(text)


GROUPS = """\
[pbx1]
host = 10.0.0.1
user = one
[pbx2]
host = 10.0.0.2
port = 6000
user = two
[pbx3]
host = 10.0.0.3
tls = yes
user = three
[callcentre]
include = pbx1, pbx2
[everything]
include = callcentre, pbx3, pbx1
[loop-a]
include = pbx1, loop-b
[loop-b]
include = loop-c
[loop-c]
include = loop-a
"""


def test_nested_groups_expand_in_order_once_each(tmp_path):
    path = tmp_path / "config"
    path.write_text(GROUPS)
    parser = read_profiles(path)
    assert expand_profiles(parser, ["everything"], path) == ["pbx1", "pbx2", "pbx3"]
    assert expand_profiles(parser, ["pbx3", "callcentre"], path) == ["pbx3", "pbx1", "pbx2"]


def test_group_loop_is_a_configuration_error(tmp_path):
    path = tmp_path / "config"
    path.write_text(GROUPS)
    with pytest.raises(ConfigError, match="loop: loop-a -> loop-b -> loop-c -> loop-a"):
        expand_profiles(read_profiles(path), ["loop-a"], path)
    cfg = write_config(tmp_path, GROUPS)
    proc = run_ami(["--profile", "loop-a", "queues"], env={"AMI_CONFIG": cfg})
    assert proc.returncode == ExitCode.CONFIG
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "loop-a -> loop-b -> loop-c -> loop-a" in proc.stderr


def test_members_keep_their_own_settings_and_options_apply_to_all(tmp_path):
    path = tmp_path / "config"
    path.write_text(GROUPS)
    fleet = resolve_fleet({"profile": "everything", "timeout": 3.0}, path=path)
    assert [(m.label, m.host, m.effective_port, m.user, m.tls) for m in fleet] == [
        ("pbx1", "10.0.0.1", 5038, "one", False),
        ("pbx2", "10.0.0.2", 6000, "two", False),
        ("pbx3", "10.0.0.3", 5039, "three", True),
    ]
    assert {m.timeout for m in fleet} == {3.0}
    # An option given on the command line beats every member's profile.
    fleet = resolve_fleet({"profile": "pbx1,pbx2", "user": "ops"}, path=path)
    assert [m.user for m in fleet] == ["ops", "ops"]


def test_host_list_labels_are_host_and_port(tmp_path):
    fleet = resolve_fleet({"host": "a,b:6000,[::1]:7000", "port": 5000}, path=tmp_path / "none")
    assert [m.label for m in fleet] == ["a:5000", "b:6000", "[::1]:7000"]
    # One host stays what it always was.
    (one,) = resolve_fleet({"host": "pbx.example.com"}, path=tmp_path / "none")
    assert (one.host, one.effective_port) == ("pbx.example.com", 5038)


def test_host_list_and_profile_list_together_are_refused(tmp_path):
    path = tmp_path / "config"
    path.write_text(GROUPS)
    with pytest.raises(ConfigError, match="not both"):
        resolve_fleet({"host": "a,b", "profile": "callcentre"}, path=path)


def test_unknown_member_of_a_group(tmp_path):
    path = tmp_path / "config"
    path.write_text("[g]\ninclude = nope\n")
    with pytest.raises(ConfigError, match="no profile 'nope' \\(included by 'g'\\)"):
        resolve_fleet({"profile": "g"}, path=path)


def test_environment_lists(tmp_path):
    cfg = write_config(tmp_path, GROUPS)
    # AMI_HOST and AMI_PROFILE take the same lists (the PBXs here do not exist:
    # every one fails to connect the same way, so the exit code is that one).
    proc = run_ami(["queues"], env={"AMI_HOST": "127.0.0.1:1,127.0.0.1:2", "AMI_CONFIG": cfg, "AMI_TIMEOUT": "2"})
    assert proc.returncode == ExitCode.CONNECT
    lines = proc.stderr.splitlines()
    assert sorted(line.split(": ")[1] for line in lines) == ["127.0.0.1:1", "127.0.0.1:2"]


def test_completion_offers_profiles_and_groups_in_a_list(tmp_path, monkeypatch):
    from amicli.completion_values import complete_profiles

    monkeypatch.setenv("AMI_CONFIG", write_config(tmp_path, GROUPS))
    assert complete_profiles(None, None, "call") == ["callcentre"]  # type: ignore[arg-type]
    assert complete_profiles(None, None, "pbx1,pbx") == ["pbx1,pbx2", "pbx1,pbx3"]  # type: ignore[arg-type]
    assert "pbx1,everything" in complete_profiles(None, None, "pbx1,")  # type: ignore[arg-type]


# -- the runner ------------------------------------------------------------------------


class Member:
    def __init__(self, label: str) -> None:
        self.label = label


def test_fanout_limits_how_many_pbxs_are_asked_at_once():
    import threading
    import time

    from amicli.fleet import FleetRun

    lock = threading.Lock()
    now = {"in": 0, "most": 0}

    def work(member):
        with lock:
            now["in"] += 1
            now["most"] = max(now["most"], now["in"])
        time.sleep(0.05)
        with lock:
            now["in"] -= 1
        return member.label

    members = [Member(f"pbx{n}") for n in range(8)]
    run = FleetRun(members, fanout=3, ordered=True)
    assert [value for _, value in run.answers(work)] == [m.label for m in members]
    assert now["most"] == 3
    assert run.exit_code() == 0


def test_exit_code_rule():
    from amicli.fleet import fleet_exit_code

    assert fleet_exit_code([4]) == 4  # one PBX: its own code
    assert fleet_exit_code([0, 0, 0]) == 0
    assert fleet_exit_code([0, 3, 0]) == 9
    assert fleet_exit_code([3, 3]) == 3  # all failed the same way
    assert fleet_exit_code([3, 5]) == 9
