"""Docs: man pages, completions, README and docs/ in sync with the code, lint-clean, working.

The pages (man/) and completion scripts (completions/) are generated from the
click command tree by ``python tools/manpage.py``; these tests fail as soon as
an option, a command, an exit code or an AMI_* variable changes without the
committed files following.  Every `ami` command line shown in a help text, in
README.md or in docs/ must parse, and the README's quick start runs as
written.  Each completion script runs in its real shell (bash always; zsh
and fish when installed) against the real `ami`; the values a TAB offers are
checked in this process.

Debian packages for the optional tools: mandoc (mandoc -T lint), groff-base
(groff), man-db (man -l), zsh, fish; util-linux, iproute2 and jq (the README's
sessions run in a network namespace of their own, so port 5038 is free).
"""

from __future__ import annotations

import configparser
import functools
import importlib.util
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import click
import pytest
from click.testing import CliRunner
from util import ami_argv, ami_env, complete, run_ami

import amicli
from amicli.cli import COMMANDS, EPILOG, PLUGIN_COMMANDS, cli
from amicli.commands.completion import INSTALL_PATHS, SHELLS
from amicli.completion_values import (
    complete_event_names,
    complete_mask_classes,
    complete_profiles,
    complete_table_formats,
)
from amicli.config import PROFILE_KEYS
from amicli.errors import ExitCode

REPO = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("manpage_tool", REPO / "tools" / "manpage.py")
manpage = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(manpage)

#: Every file the generator writes; their contents are made by the first test that reads them
#: (every test worker collects this module, one of them runs it).
FILES = sorted(manpage.paths())
PAGES = [name for name in FILES if name.startswith("man/")]


@functools.cache
def generated() -> dict[str, str]:
    return manpage.generated()


SYNC_HINT = "run: python tools/manpage.py (and commit man/ and completions/)"
README = (REPO / "README.md").read_text(encoding="utf-8")
DOCS = {path.name: path.read_text(encoding="utf-8") for path in sorted((REPO / "docs").glob("*.md"))}


def walk(
    command: click.Command = cli, ctx: click.Context | None = None
) -> Iterator[tuple[click.Command, click.Context]]:
    """Every visible command of the tree with its context, depth first."""
    ctx = ctx or click.Context(cli, info_name="ami", **cli.context_settings)
    yield command, ctx
    for sub, sub_ctx in manpage.subcommands(command, ctx):
        yield from walk(sub, sub_ctx)


def page_of(ctx: click.Context) -> str:
    parts = ctx.command_path.split()
    return "man/ami.1" if len(parts) == 1 else f"man/ami-{parts[1]}.1"


def declared(name: str, attr: str) -> object:
    return manpage.declared(cli.get_command(click.Context(cli), name), attr)


# ---------------------------------------------------------------------------
# The committed files are exactly what the code generates
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("rel", FILES)
def test_committed_file_matches_generated(rel: str) -> None:
    path = REPO / rel
    assert path.is_file(), f"{rel} is missing; {SYNC_HINT}"
    assert path.read_text(encoding="utf-8") == generated()[rel], f"{rel} is out of date; {SYNC_HINT}"


def test_no_page_for_a_command_that_is_gone() -> None:
    committed = {f"man/{p.name}" for p in (REPO / "man").glob("*.1")}
    assert committed == set(PAGES), SYNC_HINT


def test_generation_is_deterministic() -> None:
    assert manpage.generated() == generated()


def test_check_mode_reports_a_stale_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for rel, text in generated().items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    check = ["--check", "--root", str(tmp_path)]
    assert manpage.main(check) == 0
    assert capsys.readouterr() == ("", "")
    page = tmp_path / "man" / "ami-raw.1"
    page.write_text(page.read_text(encoding="utf-8").replace("Ping", "Pong"), encoding="utf-8")
    assert manpage.main(check) == 1
    assert "man/ami-raw.1 is out of date" in capsys.readouterr().err


def test_the_installed_package_holds_no_page_generator() -> None:
    assert importlib.util.find_spec("amicli.manpage") is None
    assert not any(".TH " in p.read_text() for p in Path(amicli.__file__).parent.rglob("*.py"))


# ---------------------------------------------------------------------------
# What the pages say
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command,ctx", list(walk()), ids=lambda v: v.command_path if isinstance(v, click.Context) else ""
)
def test_page_lists_every_option(command: click.Command, ctx: click.Context) -> None:
    text = generated()[page_of(ctx)]
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record and isinstance(param, click.Option):
            assert manpage.bold(record[0]) in text, f"{page_of(ctx)} lacks {record[0]} of {ctx.command_path}"


def _code_tag(member: int) -> str:
    return f"\\fB{int(member)}\\fR ({member.name})"


def test_exit_codes_come_from_the_real_table() -> None:
    root = generated()["man/ami.1"]
    for member in ExitCode:
        assert _code_tag(member) in root
    own = {f"man/ami-{name}.1" for name in COMMANDS if declared(name, "OWN_EXIT_STATUSES")}
    for rel in PAGES:
        if rel not in own:
            for member in manpage.general_codes():
                assert _code_tag(member) in generated()[rel], rel


def test_every_command_specific_code_is_declared_by_a_command() -> None:
    declaring = {name: set(declared(name, "EXTRA_EXIT_CODES") or ()) for name in COMMANDS}
    for member in set(ExitCode) - manpage.general_codes():
        users = {f"man/ami-{name}.1" for name, codes in declaring.items() if member in codes}
        assert users, f"ExitCode.{member.name} is declared by no command (EXTRA_EXIT_CODES)"
        for rel in PAGES:
            assert (_code_tag(member) in generated()[rel]) == (rel in users or rel == "man/ami.1"), (rel, member.name)


def test_originate_declares_how_a_call_ended() -> None:
    codes = declared("originate", "EXTRA_EXIT_CODES")
    assert [int(code) for code in codes] == [10, 11, 12, 13, 14]
    epilog = cli.get_command(click.Context(cli), "originate").epilog
    for code in codes:
        assert re.search(rf"(?m)^\s*{int(code)}\b|\s{int(code)}\s", epilog), f"originate's help lacks {int(code)}"


def test_login_test_page_has_the_monitoring_plugins_codes() -> None:
    text = generated()["man/ami-login-test.1"]
    for code, name in ((0, "OK"), (1, "WARNING"), (2, "CRITICAL"), (3, "UNKNOWN")):
        assert f"\\fB{code}\\fR ({name})" in text
    assert "(CONNECT)" not in text
    help_text = cli.get_command(click.Context(cli), "login-test").help
    for member in declared("login-test", "OWN_EXIT_STATUSES"):
        assert f"{int(member)} {member.name}" in help_text


def test_plugin_commands_are_those_with_statuses_of_their_own() -> None:
    # The usage errors of PLUGIN_COMMANDS are mapped in amicli/cli.py; other commands with statuses of
    # their own (ami check) map them themselves.
    assert PLUGIN_COMMANDS <= {name for name in COMMANDS if declared(name, "OWN_EXIT_STATUSES")}


def test_ami_help_lists_every_exit_code() -> None:
    words = EPILOG.replace("\n", " ")
    for member in ExitCode:
        assert re.search(rf"\b{int(member)}\b", words), f"`ami --help` lacks exit code {int(member)}"


def test_every_ami_variable_in_the_source_is_documented() -> None:
    # Option envvars come from click; the others are written in a help text's Environment: block.
    source = "\n".join(p.read_text(encoding="utf-8") for p in Path(amicli.__file__).parent.rglob("*.py"))
    documented = set(re.findall(r"\\fB(AMI_\w+|XDG_\w+)\\fR\n", "".join(generated()[rel] for rel in PAGES)))
    used = set(re.findall(r"(?<![\w])AMI_[A-Z][A-Z0-9_]*", source)) | {"XDG_CONFIG_HOME"}
    assert used - documented == set(), "add these to an Environment: block of a help text"
    assert documented - used == set(), "documented, but the source no longer reads them"


def test_environment_lists_every_option_envvar() -> None:
    root = generated()["man/ami.1"]
    for param in cli.params:
        if param.envvar:
            assert f".TP\n\\fB{param.envvar}\\fR" in root


def test_files_section_names_every_profile_key() -> None:
    files = generated()["man/ami.1"].split(".SH FILES")[1].split(".SH ")[0]
    for key in PROFILE_KEYS:
        assert re.search(rf"\b{key}\b", files.replace("\\_", "_")), key


def test_pages_carry_no_date_of_the_day() -> None:
    for rel in PAGES:
        assert f".TH {Path(rel).stem.upper()} 1 {manpage.PAGE_DATE} " in generated()[rel]


# ---------------------------------------------------------------------------
# Every `ami` command line shown anywhere names real commands and options
# ---------------------------------------------------------------------------


def shell_invocations(code: str) -> list[list[str]]:
    """The argument lists of every `ami` run in a piece of shell code."""
    found: list[list[str]] = []
    for line in code.replace("\\\n", " ").splitlines():
        line = re.sub(r"(?<![^\s])\d+(?=[<>])", "", line)  # `2> file`: the 2 belongs to the redirection
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()<>")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        try:
            tokens = list(lexer)
        except ValueError:
            continue
        for index, token in enumerate(tokens):
            if token.rsplit("/", 1)[-1] == "ami":
                args = []
                for word in tokens[index + 1 :]:
                    if set(word) <= set(";&|()<>"):
                        break
                    args.append(word)
                found.append(args)
    return found


def doc_blocks() -> list[tuple[str, str, str]]:
    """(where, language, code) of every shell example: help texts' Examples, README.md's and docs/*.md's blocks."""
    out = []
    for command, ctx in walk():
        for kind, lines in manpage.blocks(command.help) + manpage.blocks(command.epilog):
            if kind == "Examples":
                out.append((f"{ctx.command_path} --help", "sh", "\n".join(lines)))
    for name, text in {"README.md": README, **{f"docs/{k}": v for k, v in DOCS.items()}}.items():
        blocks = re.findall(r"```(sh|bash|shell|cron)\n(.*?)```", text, re.S)
        out += [(name, language, code) for language, code in blocks]
    return out


def doc_examples() -> list[tuple[str, list[str]]]:
    """(where, argv) of every `ami` run in help texts' Examples, README.md and docs/*.md."""
    return [(where, args) for where, _, code in doc_blocks() for args in shell_invocations(code)]


BASH_BLOCKS = [(where, code) for where, language, code in doc_blocks() if language != "cron"]


@pytest.mark.parametrize("where, code", BASH_BLOCKS, ids=lambda v: v if "\n" not in v else "")
def test_examples_are_valid_bash(where: str, code: str) -> None:
    # Parentheses in an unquoted word (Variable=CDR(dst)) are a bash syntax error.
    proc = subprocess.run(["bash", "-n"], input=code, capture_output=True, text=True, timeout=20)
    assert proc.returncode == 0, f"{where}: {proc.stderr}"


@pytest.mark.parametrize("where,args", doc_examples(), ids=lambda v: shlex.join(v) if isinstance(v, list) else v)
def test_example_names_real_commands_and_options(where: str, args: list[str]) -> None:
    # --help is eager: click parses the whole line (unknown options and
    # commands fail) but converts no value, so placeholders such as $port pass.
    result = CliRunner().invoke(cli, [*args, "--help"], prog_name="ami", env={"AMI_CONFIG": os.devnull})
    assert result.exit_code == 0, f"{where}: ami {shlex.join(args)}: {result.output.strip().splitlines()[-1:]}"


# ---------------------------------------------------------------------------
# README.md: the front door
# ---------------------------------------------------------------------------


def test_readme_is_short() -> None:
    assert README.count("\n") <= 300


def test_readme_has_one_line_per_command() -> None:
    listed = re.findall(r"^- `ami ([\w-]+)`.*`man ami-\1`", README, re.M)
    assert listed == list(COMMANDS), "README's command list differs from amicli/cli.py COMMANDS"


def test_readme_exit_code_table_is_the_real_one() -> None:
    rows = re.findall(r"^\| (\d+) \| `(\w+)` \|", README, re.M)
    assert [(int(code), name) for code, name in rows] == [(int(m), m.name) for m in sorted(ExitCode)]


def test_readme_configuration_table_is_the_real_one() -> None:
    table = README.split("## Configuration", 1)[1].split("\n\n", 3)[2]
    for param in cli.params:
        if isinstance(param, click.Option) and param.envvar:
            assert re.search(rf"`(-\w, )?{param.opts[-1]}\b", table) and f"`{param.envvar}`" in table, param.opts
    for key in PROFILE_KEYS:
        assert f"| `{key}` |" in table, key


def test_readme_names_where_pip_installs_the_completions() -> None:
    for directory, name in INSTALL_PATHS.values():
        assert f"<prefix>/{directory}/{name}" in README


def test_readme_links_resolve() -> None:
    for target in re.findall(r"\]\(((?!https?:|#)[^)#]+)", README + "".join(DOCS.values())):
        assert (REPO / target).exists() or (REPO / "docs" / target).exists(), target


def _quick_start() -> str:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, re.S)[0]


def _sim_sessions() -> list[str]:
    """The README's shell blocks that start a simulator: each runs as written."""
    return [block for block in re.findall(r"```sh\n(.*?)```", README, re.S) if block.startswith("ami sim")]


@pytest.mark.parametrize("block", _sim_sessions(), ids=lambda block: block.splitlines()[0].split("#")[0].strip())
def test_readme_session_runs_as_written(block: str, tmp_path: Path) -> None:
    # In a network namespace of its own, where 127.0.0.1:5038 is free whatever else runs.
    if not (shutil.which("unshare") and shutil.which("ip")):
        pytest.skip("unshare (util-linux) and ip (iproute2) are needed")
    if "jq " in block and not shutil.which("jq"):
        pytest.skip("jq is not installed")
    probe = subprocess.run(["unshare", "-rn", "ip", "link", "set", "lo", "up"], capture_output=True, timeout=10)
    if probe.returncode != 0:
        pytest.skip(f"no network namespace here: {probe.stderr.decode().strip()}")
    env = ami_env(AMI_CONFIG=os.devnull)
    env["PATH"] = f"{Path(ami_argv()[0]).parent}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    for name in ("AMI_USER", "AMI_SECRET", "AMI_PORT", "AMI_HOST"):
        env.pop(name, None)
    script = f"ip link set lo up\nset -e\n{block}wait\n"
    proc = subprocess.run(
        ["unshare", "-rn", "bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "ami: error" not in proc.stderr
    assert "ami sim: listening on 127.0.0.1:5038" in proc.stderr


def test_quick_start_talks_to_the_simulator() -> None:
    assert _sim_sessions()[0] == _quick_start()
    for line in ("ami login-test", "kill %1"):
        assert line in _quick_start()


def test_quick_start_shows_the_error_when_5038_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        proc = run_ami(["sim", "--port", str(port)], user=None)
    assert proc.returncode == ExitCode.CONFIG
    assert proc.stderr.startswith(f"ami: error: cannot listen on 127.0.0.1:{port}: ")
    assert "kill %1" in _quick_start() and "2>/dev/null" not in _quick_start()


# ---------------------------------------------------------------------------
# Linters and rendering
# ---------------------------------------------------------------------------


def test_mandoc_lint_is_clean() -> None:
    mandoc = shutil.which("mandoc")
    if mandoc is None:
        pytest.skip("mandoc is not installed (Debian: apt-get install mandoc)")
    proc = subprocess.run(
        [mandoc, "-T", "lint", "-W", "warning", *(str(REPO / rel) for rel in PAGES)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (proc.returncode, proc.stdout + proc.stderr) == (0, "")


def test_groff_warnings_are_clean() -> None:
    groff = shutil.which("groff")
    if groff is None:
        pytest.skip("groff is not installed (Debian: apt-get install groff-base)")
    for rel in PAGES:
        proc = subprocess.run([groff, "-ww", "-z", "-man", str(REPO / rel)], capture_output=True, text=True, timeout=30)
        assert (proc.returncode, proc.stderr) == (0, ""), rel


def _render(rel: str) -> str:
    if shutil.which("man"):
        env = {**os.environ, "MANWIDTH": "200", "MAN_KEEP_FORMATTING": "", "MANROFFSEQ": "", "LC_ALL": "C.UTF-8"}
        proc = subprocess.run(["man", "-l", str(REPO / rel)], capture_output=True, text=True, env=env, timeout=30)
    elif shutil.which("mandoc"):
        proc = subprocess.run(
            ["mandoc", "-T", "utf8", "-O", "width=200", str(REPO / rel)], capture_output=True, text=True, timeout=30
        )
    else:
        pytest.skip("neither man nor mandoc is installed")
    assert proc.returncode == 0, proc.stderr
    return re.sub(r".\x08", "", proc.stdout)


def test_originate_page_renders_every_option_and_exit_code() -> None:
    command = cli.get_command(click.Context(cli), "originate")
    shown = _render("man/ami-originate.1")
    for param in command.params:
        for name in param.opts if isinstance(param, click.Option) else ():
            assert name in shown
    for member in manpage.general_codes() | set(declared("originate", "EXTRA_EXIT_CODES")):
        assert f"{int(member)} ({member.name})" in shown


@pytest.mark.parametrize("rel", PAGES)
def test_every_page_renders(rel: str) -> None:
    shown = _render(rel)
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "SEE ALSO"):
        assert f"\n{section}\n" in shown, f"{rel}: no {section}"


# ---------------------------------------------------------------------------
# Packaging: pip install . puts the files where man and the shells look
# ---------------------------------------------------------------------------


def test_setup_cfg_installs_every_generated_file() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(REPO / "setup.cfg")
    installed: dict[str, str] = {}
    for target, sources in cfg.items("options.data_files"):
        for pattern in sources.split(","):
            for path in REPO.glob(pattern.strip()):
                installed[str(path.relative_to(REPO))] = target
    for rel in PAGES:
        assert installed.get(rel) == "share/man/man1", rel
    for shell in SHELLS:
        directory, name = INSTALL_PATHS[shell]
        assert installed.get(f"completions/{name}") == directory


# ---------------------------------------------------------------------------
# `ami completion SHELL` prints the committed script
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("shell", SHELLS)
def test_completion_command_prints_the_committed_script(shell: str) -> None:
    proc = run_ami(["completion", shell], user=None)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout == (REPO / "completions" / INSTALL_PATHS[shell][1]).read_text(encoding="utf-8")


def test_completion_of_an_unknown_shell_is_a_usage_error() -> None:
    proc = run_ami(["completion", "tcsh"], user=None)
    assert proc.returncode == ExitCode.USAGE
    assert proc.stdout == ""
    assert proc.stderr.startswith("ami: error: ") and proc.stderr.count("\n") == 1


# ---------------------------------------------------------------------------
# Real shells completing with the committed scripts
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ami_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding an `ami` to put on PATH: the installed one, or a wrapper."""
    argv = ami_argv()
    if len(argv) == 1:
        return Path(argv[0]).parent
    bindir = tmp_path_factory.mktemp("bin")
    wrapper = bindir / "ami"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m amicli "$@"\n')
    wrapper.chmod(0o755)
    return bindir


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cfg") / "config"
    path.write_text("[default]\nhost = 127.0.0.1\n\n[pbx1]\nhost = 10.0.0.1\n\n[pbx2]\nhost = 10.0.0.2\n")
    path.chmod(0o600)
    return path


def _shell_env(ami_bin: Path, config: Path, **extra: str) -> dict[str, str]:
    env = ami_env(AMI_CONFIG=str(config), **extra)
    env["PATH"] = f"{ami_bin}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    return env


def bash_complete(lines: list[str], env: dict[str, str]) -> tuple[list[list[str]], str]:
    """Complete each command line (the last word is the one being completed)
    in one non-interactive bash that sourced completions/ami."""
    script = [
        "source completions/ami",
        'comp() { COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMPREPLY=(); '
        '_ami_completion ami; printf "%s\\x1f" "${COMPREPLY[@]}"; printf "\\n"; }',
    ]
    for line in lines:
        words = line.split(" ")
        script.append("comp " + " ".join(f"'{w}'" for w in words))
    proc = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", "\n".join(script)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    results = [[item for item in out.split("\x1f") if item] for out in proc.stdout.split("\n")[: len(lines)]]
    return results, proc.stderr


def complete_values(line: str, config: Path) -> list[str]:
    """The values bash would offer at a TAB after ``line``, with ``config`` as the profile file."""
    answer = complete(line, env={"AMI_CONFIG": str(config)})
    return [value for kind, _, value in (out.partition(",") for out in answer) if kind == "plain"]


def test_bash_script_completes(ami_bin: Path, config_file: Path) -> None:
    # A command, an option's values from its callback, and profile names from
    # the profile file: each TAB runs the real `ami` (the values themselves
    # are checked in this process, below).
    lines = ["ami qu", "ami channels --state ri", "ami --profile pbx"]
    results, stderr = bash_complete(lines, _shell_env(ami_bin, config_file))
    assert results == [["queues"], ["ring", "ringing"], ["pbx1", "pbx2"]]
    assert stderr == ""


def test_completes_commands_options_and_values(config_file: Path) -> None:
    lines = {
        "ami qu": ["queues"],
        "ami queues --js": ["--json"],
        "ami login-test --js": ["--json"],
        "ami --profile ": ["default", "pbx1", "pbx2"],
        "ami --profile pbx": ["pbx1", "pbx2"],
        "ami --auth ": ["md5", "plain"],
        "ami queues --fmt git": ["github"],
        "ami completion ": ["bash", "zsh", "fish"],
    }
    for line, wanted in lines.items():
        assert complete_values(line, config_file) == wanted, line
    assert set(complete_values("ami ", config_file)) >= set(COMMANDS)


def test_completion_survives_a_broken_profile_file(tmp_path: Path) -> None:
    broken = tmp_path / "config"
    broken.write_text("this is [not an INI file\n")
    assert complete_values("ami --profile ", broken) == []
    assert complete_values("ami qu", broken) == ["queues"]


def _events_option(name: str) -> click.Option | None:
    for command, ctx in walk():
        for param in command.get_params(ctx):
            if ctx.command_path.startswith("ami events") and isinstance(param, click.Option) and name in param.opts:
                return param
    return None


def test_completes_event_names_and_classes(config_file: Path) -> None:
    assert getattr(_events_option("--event"), "_custom_shell_complete", None) is complete_event_names
    assert getattr(_events_option("--mask"), "_custom_shell_complete", None) is complete_mask_classes
    assert complete_values("ami events --event Hangu", config_file) == [
        "Hangup",
        "HangupHandlerPop",
        "HangupHandlerPush",
        "HangupHandlerRun",
        "HangupRequest",
    ]
    assert complete_values("ami events --mask call,sys", config_file) == ["call,system"]


def test_tab_never_opens_a_connection(config_file: Path) -> None:
    # A listener where the PBX would be: after completing at every kind of
    # position of every command, nobody may have connected to it.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    lines = ["ami --profile ", "ami login-test ", "ami raw ", "ami raw Ping ", "ami command core ", "ami sim --listen "]
    # Every command's arguments, and the value of every option with a
    # completion callback of its own (click's built-in types complete locally).
    for command, ctx in list(walk())[1:]:
        lines.append(f"{ctx.command_path} ")
        for param in command.get_params(ctx):
            if isinstance(param, click.Option) and getattr(param, "_custom_shell_complete", None):
                lines.append(f"{ctx.command_path} {param.opts[-1]} ")
    # What the bash script runs at each TAB, run here (the shells themselves are tested above).
    user = {"AMI_USER": "admin", "AMI_SECRET": "s3cret-Admin"}
    env = {"AMI_CONFIG": str(config_file), "AMI_HOST": "127.0.0.1", "_AMI_COMPLETE": "bash_complete"}
    stderr = ""
    completed = {}
    try:
        for line in lines:
            words = {"COMP_WORDS": line, "COMP_CWORD": str(len(line.split(" ")) - 1)}
            proc = run_ami([], port=port, user=user, env={**env, **words})
            assert proc.returncode == 0, (line, proc)
            completed[line] = proc.stdout
            stderr += proc.stderr
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            conn, _ = listener.accept()
            conn.close()
    finally:
        listener.close()
    assert stderr == ""
    assert "plain,pbx1" in completed["ami --profile "]  # the runs completed for real


def test_zsh_script_completes(ami_bin: Path, config_file: Path) -> None:
    zsh = shutil.which("zsh")
    if zsh is None:
        pytest.skip("zsh is not installed (Debian: apt-get install zsh)")
    # The completion system's builtins replaced by stubs that print what
    # they were given; the script and its call back into `ami` are real.
    script = "\n".join(
        [
            "compdef() { : }",
            "source completions/_ami",
            '_describe() { print -rl -- "${completions_with_descriptions[@]}" }',
            'compadd() { print -rl -- "${completions[@]}" }',
            "words=(ami qu); CURRENT=2; _ami_completion; print -- ---",
            "words=(ami --profile pb); CURRENT=3; _ami_completion",
        ]
    )
    proc = subprocess.run(
        [zsh, "-f", "-c", script],
        cwd=REPO,
        env=_shell_env(ami_bin, config_file),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    qu, profiles = proc.stdout.split("---\n")
    assert qu.startswith("queues:")
    assert profiles.split() == ["pbx1", "pbx2"]
    assert (REPO / "completions" / "_ami").read_text().startswith("#compdef ami\n")


def test_fish_script_completes(ami_bin: Path, config_file: Path) -> None:
    fish = shutil.which("fish")
    if fish is None:
        pytest.skip("fish is not installed (Debian: apt-get install fish)")
    script = "source completions/ami.fish; complete -C 'ami qu'; echo ---; complete -C 'ami channels --state ri'"
    proc = subprocess.run(
        [fish, "--no-config", "-c", script],
        cwd=REPO,
        env=_shell_env(ami_bin, config_file),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    qu, states = proc.stdout.split("---\n")
    assert qu.split("\t")[0] == "queues"
    assert [line.split("\t")[0] for line in states.splitlines()] == ["ring", "ringing"]


# ---------------------------------------------------------------------------
# The value callbacks themselves
# ---------------------------------------------------------------------------


def test_profile_values_come_from_the_profile_file(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMI_CONFIG", str(config_file))
    assert complete_profiles(None, None, "") == ["default", "pbx1", "pbx2"]  # type: ignore[arg-type]
    monkeypatch.setenv("AMI_CONFIG", str(config_file.parent / "missing"))
    assert complete_profiles(None, None, "") == []  # type: ignore[arg-type]


def test_event_names_match_without_case() -> None:
    assert complete_event_names(None, None, "originater") == ["OriginateResponse"]  # type: ignore[arg-type]
    assert "FullyBooted" in complete_event_names(None, None, "")  # type: ignore[arg-type]


def test_mask_classes_complete_the_last_item_of_a_list() -> None:
    assert complete_mask_classes(None, None, "")[-1] == "all"  # type: ignore[arg-type]
    assert complete_mask_classes(None, None, "call,sy") == ["call,system"]  # type: ignore[arg-type]
    assert complete_mask_classes(None, None, "call,c") == ["call,command", "call,config", "call,cdr", "call,cc"]  # type: ignore[arg-type]
    assert complete_mask_classes(None, None, "call,a") == ["call,agent", "call,agi", "call,aoc"]  # type: ignore[arg-type]


def test_table_formats_complete() -> None:
    assert "github" in complete_table_formats(None, None, "gi")  # type: ignore[arg-type]
