"""Settings: the documented defaults, environment overrides, and one clear error naming each bad key."""

from __future__ import annotations

import pytest

import cli
from pipelines import config
from tests.conftest import ROOT


def write(tmp_path, text: str):
    path = tmp_path / "tenderwatch.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_settings_file_documents_exactly_the_defaults():
    assert config.load(ROOT / "tenderwatch.toml", environ={}) == config.Settings()


def test_no_file_means_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(config.CONFIG_ENV, raising=False)
    settings = config.load(environ={})
    assert settings == config.Settings()
    assert settings.origin is None
    assert (settings.schedule.cron, settings.schedule.timezone) == ("30 2 * * *", "Asia/Shanghai")


def test_file_values_then_environment_overrides(tmp_path):
    path = write(
        tmp_path,
        """
        data_dir = "/srv/tenderwatch"
        [sources]
        enabled = ["ccgp", "ggzy"]
        queries = ["A100", "算力租赁"]
        [schedule]
        cron = "0 3 * * 1-5"
        [delivery]
        backoff_seconds = 1
        [delivery.email]
        smtp_host = "mail.example.org"
        recipients = ["desk@example.org"]
        """,
    )
    environ = {
        "TENDERWATCH_DATA_DIR": "/mnt/data",
        "TENDERWATCH_WEBHOOK_URL": "https://hooks.example.org/T0/SECRET",
        "TENDERWATCH_SMTP_PORT": "2525",
        "TENDERWATCH_MAIL_TO": "a@example.org, b@example.org",
    }
    settings = config.load(path, environ=environ)
    assert settings.data_dir == "/mnt/data"
    assert settings.sources.enabled == ("ccgp", "ggzy")
    assert settings.sources.queries == ("A100", "算力租赁")
    assert (settings.schedule.cron, settings.schedule.timezone) == ("0 3 * * 1-5", "Asia/Shanghai")
    assert settings.delivery.backoff_seconds == 1.0
    assert settings.delivery.webhook.url == "https://hooks.example.org/T0/SECRET"
    assert settings.delivery.email.smtp_port == 2525
    assert settings.delivery.email.recipients == ("a@example.org", "b@example.org")
    assert settings.delivery.email.smtp_host == "mail.example.org"
    assert settings.origin == str(path)


@pytest.mark.parametrize(
    ("text", "environ", "named"),
    [
        ("colour = 'red'", {}, "colour: unknown setting"),
        ("[schedule]\nkron = '0 1 * * *'", {}, "schedule.kron: unknown setting"),
        ("[schedule]\ncron = '61 2 * * *'", {}, "schedule.cron: '61 2 * * *' is not valid"),
        ("[schedule]\ncron = 'every night'", {}, "schedule.cron: 'every night' is not valid"),
        ("[schedule]\ntimezone = 'Asia/Beijing'", {}, "schedule.timezone: 'Asia/Beijing' is not valid"),
        ("[delivery.webhook]\nurl = 'ftp://example.org/x'", {}, "delivery.webhook.url: 'ftp://example.org/…'"),
        ("[delivery.webhook]\nurl = 'javascript:alert(1)'", {}, "delivery.webhook.url: '<not a URL>'"),
        ("", {"TENDERWATCH_WEBHOOK_URL": "hooks.example.org"}, "delivery.webhook.url"),
        ("[delivery]\nattempts = '3'", {}, "delivery.attempts: expected an integer, got '3'"),
        ("[delivery]\nattempts = 0", {}, "delivery.attempts: between 1 and 10"),
        ("[delivery]\nsend_empty = 1", {}, "delivery.send_empty: expected true or false"),
        ("[sources]\nenabled = 'ccgp'", {}, "sources.enabled: expected a list of strings"),
        ("[sources]\nenabled = []", {}, "sources.enabled: name at least one source"),
        ("[sources]\nenabled = ['../etc']", {}, "sources.enabled: '../etc' is not a spider name"),
        ("sources = 'ccgp'", {}, "sources: expected a table"),
        ("[delivery.email]\nsmtp_host = 'mail.example.org'", {}, "delivery.email.recipients: name at least one"),
        ("", {"TENDERWATCH_SMTP_PORT": "twenty-five"}, "delivery.email.smtp_port (from $TENDERWATCH_SMTP_PORT)"),
        ("[outputs]\ntag_authority = 'Not A Domain'", {}, "outputs.tag_authority"),
        ("data_dir = = 'x'", {}, "not valid TOML"),
        ("[memory]\nsnapshot = 'lots'", {}, "memory.snapshot: 'lots' is not a size"),
        ("[memory]\nload = 512", {}, "memory.load: expected a string, got 512"),
        # The one setting whose text reaches SQL (SET memory_limit): nothing but a size passes.
        ("", {"TENDERWATCH_MEMORY_MATCH": "1GB'; DROP TABLE notices; --"}, "memory.match: \"1GB'; DROP"),
    ],
)
def test_a_bad_setting_is_one_error_naming_the_key(tmp_path, text, environ, named):
    path = write(tmp_path, text)
    with pytest.raises(config.ConfigError) as error:
        config.load(path, environ=environ)
    message = str(error.value)
    assert message.startswith(f"{path}: ")
    assert named in message
    assert "\n" not in message


def test_memory_caps_from_the_file_and_the_environment(tmp_path):
    path = write(tmp_path, "[memory]\nload = '2GB'\nmatch = ''\n")
    memory = config.load(path, environ={"TENDERWATCH_MEMORY_SNAPSHOT": "1.5 GiB"}).memory
    assert [memory.cap(name) for name in ("load", "match", "snapshot")] == ["2GB", None, "1.5 GiB"]


def test_the_memory_defaults_are_the_passes_own():
    """The defaults written in tenderwatch.toml are the caps the passes take when called without settings."""
    from pipelines.matching.pending import MATCH_MEMORY_LIMIT
    from pipelines.storage.snapshot import SNAPSHOT_MEMORY_LIMIT
    from pipelines.storage.store import LOAD_MEMORY_LIMIT

    memory = config.Memory()
    assert (memory.load, memory.match, memory.snapshot) == (
        LOAD_MEMORY_LIMIT,
        MATCH_MEMORY_LIMIT,
        SNAPSHOT_MEMORY_LIMIT,
    )


def test_every_bad_key_is_named_at_once(tmp_path):
    path = write(tmp_path, "colour = 1\n[schedule]\ncron = 'x'\n[delivery]\nattempts = 99\n")
    message = str(pytest.raises(config.ConfigError, config.load, path, environ={}).value)
    assert all(key in message for key in ("colour", "schedule.cron", "delivery.attempts"))


def test_a_missing_settings_file_is_an_error_not_silent_defaults(tmp_path):
    with pytest.raises(config.ConfigError, match="no such settings file"):
        config.load(tmp_path / "absent.toml", environ={})


def test_the_environment_names_the_file(tmp_path):
    path = write(tmp_path, "[schedule]\ncron = '15 1 * * *'\n")
    assert config.load(environ={config.CONFIG_ENV: str(path)}).schedule.cron == "15 1 * * *"


@pytest.mark.parametrize("command", ["nightly", "serve"])
def test_commands_stop_on_bad_settings_before_any_work(tmp_path, capsys, command):
    path = write(tmp_path, "[schedule]\ncron = '99 * * * *'\n")
    data = tmp_path / "data"
    assert cli.main([command, "--config", str(path), "--data-dir", str(data)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: settings: ")
    assert "schedule.cron: '99 * * * *' is not valid" in err
    assert not data.exists()


def test_serve_rejects_a_bad_cron_flag(tmp_path, capsys):
    assert cli.main(["serve", "--config", str(write(tmp_path, "")), "--cron", "0 25 * * *"]) == 2
    assert "schedule.cron: '0 25 * * *' is not valid" in capsys.readouterr().err


def test_redacted_urls_keep_no_secret():
    assert config.redact_url("https://hooks.example.org:8443/services/T0/SECRET?token=x") == (
        "https://hooks.example.org:8443/…"
    )
