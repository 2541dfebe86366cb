"""Settings: file < environment < command line; secrets never in repr; clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.config import load_settings
from etl.errors import ConfigError
from etl.guard_settings import Guards
from etl.limits import Limits


def test_precedence_file_then_environment_then_options(tmp_path: Path) -> None:
    (tmp_path / "konnect-etl.yaml").write_text(
        "base_url: ginesys-uat\nconcurrency: 2\nsettle_seconds: 9\nmappings: my-mappings\n"
    )
    settings = load_settings(
        inbox=tmp_path,
        environ={"KONNECT_TOKEN": "tok-from-env", "KONNECT_BASE_URL": "fyndkonnect-uat"},
        overrides={"settle_seconds": 1.5, "base_url": None},
    )
    assert settings.token == "tok-from-env"
    assert settings.resolved_base_url() == "https://fyndkonnect.konnect.uat.fyndx1.de/"
    assert settings.concurrency == 2 and settings.settle_seconds == 1.5
    assert settings.mappings_dir == (tmp_path / "my-mappings").resolve()


@pytest.mark.parametrize(("scope", "expected"), [("company", ("DEL-WH-01", "MUM-ST-02")),
                                                 ("location", ())])  # fmt: skip
def test_a_company_token_looks_orders_up_at_the_configured_locations(
    tmp_path: Path, scope: str, expected: tuple[str, ...]
) -> None:
    from etl.session import client_settings

    (tmp_path / "konnect-etl.yaml").write_text(
        f"token_scope: {scope}\nlocations: [DEL-WH-01, MUM-ST-02]\n"
    )
    settings = load_settings(inbox=tmp_path, environ={"KONNECT_TOKEN": "t",
                                                      "KONNECT_BASE_URL": "http://k"})  # fmt: skip
    assert client_settings(settings).lookup_locations == expected


def test_secrets_are_not_in_repr() -> None:
    settings = load_settings(
        environ={"KONNECT_TOKEN": "s3cr3t-token", "KONNECT_PASSWORD": "pw-123"}
    )
    assert "s3cr3t-token" not in repr(settings) and "pw-123" not in repr(settings)


def test_unknown_key_and_bad_value_name_the_key(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("concurency: 3\n")
    with pytest.raises(ConfigError, match="concurency"):
        load_settings(config_file=config, environ={})
    config.write_text("concurrency: lots\n")
    with pytest.raises(ConfigError, match="'concurrency'"):
        load_settings(config_file=config, environ={})


def test_a_bad_value_names_the_config_file_it_is_in_and_only_that(tmp_path: Path) -> None:
    """An outbox's konnect-etl.yaml beside the inbox's: the message must say which file (the
    watcher's pulls read the outbox's); a value from the environment names no file."""
    config = tmp_path / "konnect-etl.yaml"
    config.write_text("pull_page_size: 0\nretries: 2\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(config_file=config, environ={})
    assert str(caught.value).startswith(f"config file {config}: setting 'pull_page_size': 0 is")
    with pytest.raises(ConfigError, match=f"^config file {config}: "):  # an option not given
        load_settings(config_file=config, environ={}, overrides={"pull_page_size": None})
    with pytest.raises(ConfigError) as caught:
        load_settings(config_file=config, environ={"KONNECT_BASE_URL": "nonsense"},
                      overrides={"pull_page_size": 5})  # fmt: skip
    assert str(caught.value).startswith("setting 'base_url': base_url 'nonsense' is neither")


def test_token_ttl_seconds_is_read_and_reaches_the_client(tmp_path: Path) -> None:
    from etl.session import client_settings

    env = {"KONNECT_BASE_URL": "http://k", "KONNECT_USERNAME": "u", "KONNECT_PASSWORD": "p"}
    assert client_settings(load_settings(environ=env)).token_ttl == 55 * 60
    (tmp_path / "konnect-etl.yaml").write_text("token_ttl_seconds: 600\n")
    settings = load_settings(inbox=tmp_path, environ=env)
    assert settings.token_ttl_seconds == 600.0
    assert client_settings(settings).token_ttl == 600.0


@pytest.mark.parametrize("value", ["0", "-60", "soon", "true", ".inf", "''", "[60]"])
def test_token_ttl_seconds_must_be_seconds_above_zero(tmp_path: Path, value: str) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"token_ttl_seconds: {value}\n")
    with pytest.raises(
        ConfigError, match=r"'token_ttl_seconds': .* not a number of seconds above 0"
    ):
        load_settings(config_file=config, environ={})


@pytest.mark.parametrize(
    ("setting", "said"),
    [
        ("timeout_seconds: 0", "'timeout_seconds': 0 is not a number above 0: seconds to wait"),
        ("timeout_seconds: -1", "'timeout_seconds': -1 is not a number above 0"),
        ("concurrency: 0", "'concurrency': 0 is not a whole number 1 or more"),
        ("retries: -1", "'retries': -1 is not a whole number 0 or more"),
        ("retries: 1.5", "'retries': 1.5 is not a whole number 0 or more"),
        ("settle_seconds: -1", "'settle_seconds': -1 is not a number 0 or more"),
        ("pull_lookback_days: -5", "'pull_lookback_days': -5 is not a whole number 1 or more"),
        ("pull_page_size: 0", "'pull_page_size': 0 is not a whole number 1 or more"),
        ("pull_every_minutes: 0", "'pull_every_minutes': 0 is not a number above 0"),
        ("smtp_port: true", "'smtp_port': True is not a whole number 1 or more"),
    ],
)
def test_a_number_out_of_range_is_refused_saying_what_it_is(
    tmp_path: Path, setting: str, said: str
) -> None:
    """`timeout_seconds: 0` timed every request out and blamed the network; a negative
    look-back pulled nothing for good. Refused at start, with what the number is for."""
    config = tmp_path / "c.yaml"
    config.write_text(setting + "\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config_file=config, environ={})
    assert said in str(caught.value) and "(default " in str(caught.value)
    config.write_text("concurrency: 8\nretries: 0\ntimeout_seconds: 0.5\nsettle_seconds: 0\n")
    loaded = load_settings(config_file=config, environ={})
    assert (loaded.concurrency, loaded.retries, loaded.timeout_seconds) == (8, 0, 0.5)


@pytest.mark.parametrize("key", ["timeout_seconds", "retries", "concurrency", "token_ttl_seconds"])
def test_a_setting_left_blank_is_refused_not_taken_as_none(tmp_path: Path, key: str) -> None:
    """`timeout_seconds:` with the value deleted used to mean no timeout at all."""
    config = tmp_path / "c.yaml"
    config.write_text(f"{key}:\n")
    with pytest.raises(ConfigError, match=f"setting '{key}' has no value: give one"):
        load_settings(config_file=config, environ={})


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("mappings:\n", "'mappings' has no value: name your mappings folder"),
        ("guards:\n  min_rows:\n", "guards.min_rows has no value: give a number of rows"),
        ("guards:\n  out_of_order:\n", "guards.out_of_order has no value: give true or false"),
        ("limits:\n  max_rows:\n", "limits.max_rows has no value: give one (default: 2,000,000)"),
    ],
)
def test_a_blank_path_guard_or_limit_is_refused_saying_what_to_write(
    tmp_path: Path, text: str, said: str
) -> None:
    """`mappings:` blank read as a folder named "None"; a blank guard or limit said only that
    `{'min_rows': None}` was not a valid value."""
    config = tmp_path / "c.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_settings(config_file=config, environ={})
    assert said in str(caught.value) and "None" not in str(caught.value)


def test_a_block_with_every_line_commented_out_is_the_defaults(tmp_path: Path) -> None:
    """`guards:` with its only line commented out read as None, and every file then failed as
    an internal error (AttributeError)."""
    config = tmp_path / "c.yaml"
    config.write_text("guards:\n  # zero_share: 0.8\nlimits:\n  # max_rows: 10\n")
    settings = load_settings(config_file=config, environ={})
    assert settings.guards == Guards() and settings.limits == Limits()


def test_a_blank_optional_setting_is_simply_not_set(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("keep_days:\ntrigger_suffix:\n")
    settings = load_settings(config_file=config, environ={})
    assert settings.keep_days is None and settings.trigger_suffix is None


@pytest.mark.parametrize("url", ["fyndkonnect-uta", "127.0.0.1:28917", "ftp://k", "https://"])
def test_a_base_url_that_could_never_work_stops_at_start(url: str) -> None:
    with pytest.raises(ConfigError, match=r"neither a URL .* nor a named environment"):
        load_settings(environ={"KONNECT_BASE_URL": url, "KONNECT_TOKEN": "t"})


def test_an_env_file_with_windows_line_ends_still_works() -> None:
    settings = load_settings(
        environ={"KONNECT_BASE_URL": "http://127.0.0.1:8080\r", "KONNECT_TOKEN": "tok\r"}
    )
    assert settings.resolved_base_url() == "http://127.0.0.1:8080"
    assert settings.token == "tok"


def test_a_typo_inside_guards_or_limits_names_the_key(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("guards: {zero_shar: 0.9}\n")
    with pytest.raises(ConfigError, match=r"guards\.zero_shar is not a guard; known: "):
        load_settings(config_file=config, environ={})
    config.write_text("limits: {max_rowz: 10}\n")
    with pytest.raises(ConfigError, match=r"limits\.max_rowz is not a limit; known: "):
        load_settings(config_file=config, environ={})


def test_a_config_file_named_yml_is_read_and_never_taken_as_data(tmp_path: Path) -> None:
    from etl.sidefiles import is_ignored

    (tmp_path / "konnect-etl.yml").write_text("concurrency: 3\n")
    assert load_settings(inbox=tmp_path, environ={}).concurrency == 3
    assert is_ignored("konnect-etl.yml") and is_ignored("konnect-etl.yaml")


def test_a_key_written_twice_is_refused_not_the_last_one_taken(tmp_path: Path) -> None:
    """A README snippet pasted onto a file that had the key: `retries: 0` must not quietly
    win over `retries: 5`, at the top level or inside a block."""
    config = tmp_path / "konnect-etl.yaml"
    config.write_text("retries: 5\nconcurrency: 2\nretries: 0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"line 3: 'retries' is written twice"):
        load_settings(config_file=config, environ={})
    config.write_text("guards:\n  zero_share: 0.5\n  zero_share: 0.9\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"line 3: 'zero_share' is written twice"):
        load_settings(config_file=config, environ={})
    config.write_text("retries: 5\nguards: {zero_share: 0.8}\n", encoding="utf-8")
    assert load_settings(config_file=config, environ={}).retries == 5


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_a_config_saved_by_notepad_with_a_bom_is_read(tmp_path: Path, encoding: str) -> None:
    """Notepad's "UTF-8 with BOM" and "Unicode" (UTF-16 with a BOM), Windows line ends."""
    config = tmp_path / "konnect-etl.yaml"
    config.write_bytes("# Café – Bandra\r\nretries: 2\r\n".encode(encoding))
    assert load_settings(config_file=config, environ={}).retries == 2


def test_a_config_saved_by_notepad_as_ansi_stops_the_run_saying_how_to_save_it(
    tmp_path: Path,
) -> None:
    """One `é` in a comment, Notepad's ANSI: every run crashed with a traceback and exit 1
    (routine, to a scheduler), logged nothing, and `status` went on saying OK."""
    from typer.testing import CliRunner

    from etl.cli import app

    (tmp_path / "konnect-etl.yaml").write_bytes(b"retries: 2\r\n# Caf\xe9 Bandra\r\n")
    (tmp_path / "stock.csv").write_text("location_id,sku,quantity\nDEL-WH-01,TS-BLK-S,5\n")
    result = CliRunner().invoke(app, ["run", str(tmp_path), "--settle", "0", "--sandbox"])
    said = "line 2: byte 0xe9 is not UTF-8 (in Windows-1252 it is 'é'): save it as UTF-8"
    assert result.exit_code == 2 and said in result.output
    assert "(Notepad: Save as, Encoding UTF-8)" in result.output
    log = (tmp_path / ".konnect-etl" / "logs" / "konnect-etl.log").read_text(encoding="utf-8")
    assert f"stopped (exit 2): config file {tmp_path / 'konnect-etl.yaml'}, {said}" in log
    status = CliRunner().invoke(app, ["status", str(tmp_path)])
    assert status.exit_code == 1 and said in " ".join(status.output.split())
    assert (tmp_path / "stock.csv").is_file()  # waits for the next run


@pytest.mark.parametrize("name", ["konnect-etl.yaml.txt", "konnect-etl.yml.txt", "konnect-etl.txt"])
def test_notepads_konnect_etl_yaml_txt_is_named_and_never_taken_as_data(
    tmp_path: Path, name: str
) -> None:
    """Notepad adds .txt, Explorer hides it: the file with the token was filed as data into
    failed/ (a folder the shop browses), and its settings silently did not apply."""
    from typer.testing import CliRunner

    from etl.cli import app
    from etl.inbox import Inbox

    (tmp_path / name).write_text("token: s3cr3t-T0KEN\r\nretries: 2\r\n", encoding="utf-8")
    (tmp_path / "stock.csv").write_text("location_id,sku,quantity\nDEL-WH-01,TS-BLK-S,5\n")
    assert Inbox(tmp_path).candidates() == [tmp_path / "stock.csv"]
    result = CliRunner().invoke(app, ["run", str(tmp_path), "--settle", "0", "--sandbox"])
    meant = "konnect-etl.yml" if ".yml" in name else "konnect-etl.yaml"
    said = f"found {tmp_path / name}: rename it to {meant} (Explorer hides the .txt"
    assert result.exit_code == 2 and said in " ".join(result.output.split())
    assert (tmp_path / name).is_file() and not (tmp_path / "failed").exists()
    (tmp_path / "konnect-etl.yaml").write_text("retries: 3\n")  # the real one wins
    assert load_settings(inbox=tmp_path, environ={}).retries == 3
    export = tmp_path / "konnect-etl stock.txt"  # an export named for us is data
    export.write_text("location_id\tsku\tquantity\nDEL-WH-01\tTS-BLK-M\t4\n")
    assert export in Inbox(tmp_path).candidates()


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ('mappings: "D:\\Konnect\\maps"', "line 1: not valid YAML: found unknown escape"),
        ('mappings: "..\\new_maps"', "'mappings' holds a line break or tab"),
        ("retries:\t3", "line 1: not valid YAML: found character '\\t'"),
    ],
)
def test_yaml_slips_in_a_config_file_say_what_to_write(
    tmp_path: Path, line: str, said: str
) -> None:
    """A Windows path in double quotes (its backslashes read as escapes: an error, or a
    line break in the path) and a tab, as Notepad writes them."""
    config = tmp_path / "konnect-etl.yaml"
    config.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(config_file=config)
    message = str(caught.value)
    assert message.startswith(f"config file {config}") and said in message, message
    hint = "single quotes" if "mappings" in line else "indent with spaces, never tabs"
    assert hint in message, message
