"""Text settings (a password, a token, a path) read from the config file as written: YAML
1.1 would turn `0123456` into the number 42798, `12:30` into 750, `yes` into True."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.config import Settings, load_settings
from etl.errors import ConfigError


def settings_from(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> Settings:
    (tmp_path / "konnect-etl.yaml").write_text(text, encoding="utf-8")
    return load_settings(inbox=tmp_path, environ=environ or {})


@pytest.mark.parametrize(
    ("key", "written"),
    [
        ("password", "0123456"),  # octal to YAML 1.1: 42798
        ("username", "12:30"),  # sexagesimal: 750
        ("token", "1.50"),  # 1.5
        ("smtp_password", "yes"),  # True
        ("smtp_username", "0x1F"),  # 31
        ("smtp_from", "2026-01-05"),  # a date
        ("trigger_suffix", "1e3"),  # 1000.0
        ("smtp_host", "0o17"),
        ("token_scope", "No"),  # False: refused below as a scope, by its own text
    ],
)
def test_a_text_setting_keeps_the_text_written_not_what_yaml_makes_of_it(
    tmp_path: Path, key: str, written: str
) -> None:
    if key == "token_scope":
        with pytest.raises(ConfigError, match="'token_scope': 'No'"):
            settings_from(tmp_path, f"{key}: {written}\n")
        return
    assert getattr(settings_from(tmp_path, f"{key}: {written}\n"), key) == written


def test_a_list_of_locations_keeps_its_codes_as_written(tmp_path: Path) -> None:
    settings = settings_from(tmp_path, "locations: [0123, 12:30, DEL-WH-01]\nmappings: 0010\n")
    assert settings.locations == ("0123", "12:30", "DEL-WH-01")
    assert settings.mappings_dir == (tmp_path / "0010").resolve()


def test_number_settings_and_the_environment_are_read_as_before(tmp_path: Path) -> None:
    settings = settings_from(
        tmp_path,
        "timeout_seconds: 1.50\nsmtp_starttls: yes\npassword: '0123456'\nkeep_days:\n",
        {"KONNECT_TOKEN": "0123", "KONNECT_USERNAME": "12:30"},
    )
    assert settings.timeout_seconds == 1.5 and settings.smtp_starttls is True
    assert settings.password == "0123456" and settings.keep_days is None
    assert (settings.token, settings.username) == ("0123", "12:30")


@pytest.mark.parametrize(
    "line",
    ["password: &p 0123456", "password: &pw-99", "password: !!int 0123456", "token: [abc]",
     "password:\n  user: x", "password: pw-99 #0123456"],  # ' #': the rest is a comment
)  # fmt: skip
def test_a_text_setting_yaml_would_change_is_refused_naming_the_line(
    tmp_path: Path, line: str
) -> None:
    key = line.split(":")[0]
    with pytest.raises(ConfigError) as caught:
        settings_from(tmp_path, f"base_url: http://k\n{line}\n")
    message = str(caught.value)
    assert f"line 2: '{key}' would not be read as the text written" in message, message
    assert f"in single quotes, as {key}: '...'" in message, message
    assert "0123456" not in message and "pw-99" not in message  # a secret is never echoed


def test_a_comment_after_a_text_setting_that_is_no_secret_stays_a_comment(
    tmp_path: Path,
) -> None:
    settings = settings_from(tmp_path, "base_url: http://k  # production\npassword: 'a #b'\n")
    assert (settings.base_url, settings.password) == ("http://k", "a #b")


def test_a_number_written_with_a_leading_zero_is_read_as_decimal_not_octal(
    tmp_path: Path,
) -> None:
    """YAML 1.1 reads `030` as octal 24: `keep_days: 030` kept 24 days, without a word."""
    settings = settings_from(
        tmp_path,
        "keep_days: 030\nconcurrency: 010\nretries: 00\nguards:\n  min_rows: 0100\n"
        "limits:\n  max_rows: 01_000\n",
    )
    assert (settings.keep_days, settings.concurrency, settings.retries) == (30, 10, 0)
    assert settings.guards.min_rows == 100 and settings.limits.max_rows == 1000
    assert settings_from(tmp_path, "settle_seconds: 0x1F\n").settle_seconds == 31  # hex: asked
