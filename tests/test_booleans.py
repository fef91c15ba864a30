"""One reading of yes and no for every input: profiles, batch files, the PBX's own values."""

from __future__ import annotations

from pathlib import Path

import pytest

from amicli.booleans import parse_bool
from amicli.config import resolve
from amicli.errors import ConfigError
from amicli.originate import CallSpec, spec_from_fields


@pytest.mark.parametrize("word", ["1", "yes", "Y", "true", "On", " yes "])
def test_yes_words(word: str) -> None:
    assert parse_bool(word) is True


@pytest.mark.parametrize("word", ["0", "no", "N", "false", "OFF"])
def test_no_words(word: str) -> None:
    assert parse_bool(word) is False


@pytest.mark.parametrize("word", ["", "maybe", "t", "2", "yess"])
def test_other_text_is_neither(word: str) -> None:
    assert parse_bool(word) is None


def _profile(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config"
    path.write_text("[default]\nhost = pbx.example.com\n" + text)
    return path


def test_a_profile_reads_y_and_n_as_the_batch_reader_does(tmp_path: Path) -> None:
    settings = resolve({}, path=_profile(tmp_path, "tls = y\ninsecure = n\n"))
    assert settings.tls is True and settings.insecure is False
    spec = spec_from_fields({"channel": "Local/1@default", "app": "Wait", "early_media": "y"}, CallSpec(""), 1)
    assert spec.early_media is True


def test_a_profile_refuses_what_is_not_yes_or_no(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="tls in profile: expected yes or no, got 'maybe'"):
        resolve({}, path=_profile(tmp_path, "tls = maybe\n"))
