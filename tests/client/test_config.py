"""Settings: validation that names the setting, the environment, and no secret in any repr."""

from __future__ import annotations

import pytest

from forcelink import AsyncSalesforce, ConfigError, Salesforce
from forcelink.testing import Emulator

from ..conftest import point_env_at

TOKEN = "00D5e0000000001!SECRETtokenVALUE.for_tests"


@pytest.mark.parametrize(
    ("configure", "setting"),
    [
        (lambda b: b.access_token(TOKEN), "instance_url"),
        (lambda b: b.instance_url("http://acme.my.salesforce.com").access_token(TOKEN), "instance_url"),
        (lambda b: b.instance_url("ftp://acme.my.salesforce.com").access_token(TOKEN), "instance_url"),
        (lambda b: b.instance_url("https://acme.my.salesforce.com/path").access_token(TOKEN), "instance_url"),
        (
            lambda b: b.instance_url("https://x.my.salesforce.com").api_version("62").access_token(TOKEN),
            "api_version",
        ),
        (
            lambda b: b.instance_url("https://x.my.salesforce.com").api_version("v6x.0").access_token(TOKEN),
            "api_version",
        ),
        (lambda b: b.instance_url("https://x.my.salesforce.com").timeout(0).access_token(TOKEN), "timeout"),
        (lambda b: b.instance_url("https://x.my.salesforce.com").timeout(-5).access_token(TOKEN), "timeout"),
        (
            lambda b: (
                b.instance_url("https://x.my.salesforce.com")
                .login_url("http://login.example.com")
                .access_token(TOKEN)
            ),
            "login_url",
        ),
        (lambda b: b.instance_url("https://x.my.salesforce.com"), "credentials"),
        (
            lambda b: (
                b.instance_url("https://x.my.salesforce.com")
                .access_token(TOKEN)
                .ca_cert_file("/nonexistent/ca.pem")
            ),
            "ca_cert_file",
        ),
        (
            lambda b: (
                b.instance_url("https://x.my.salesforce.com").access_token(TOKEN).ca_cert_pem("not a pem")
            ),
            "ca_cert",
        ),
        (
            lambda b: b.instance_url("https://x.my.salesforce.com").access_token(TOKEN).retries(0),
            "retry.max_attempts",
        ),
    ],
)
def test_invalid_settings_name_the_setting(configure: object, setting: str) -> None:
    builder = Salesforce.builder()
    with pytest.raises(ConfigError) as caught:
        configure(builder).build()  # type: ignore[operator]
    assert caught.value.setting == setting
    assert isinstance(caught.value, ValueError)
    assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value)


def test_loopback_http_is_allowed() -> None:
    for url in ("http://127.0.0.1:1", "http://localhost:8080", "http://[::1]:9"):
        sf = Salesforce.builder().instance_url(url).access_token(TOKEN).build()
        assert sf.instance_url == url


def test_from_env(monkeypatch: pytest.MonkeyPatch, sf_emulator: Emulator) -> None:
    point_env_at(monkeypatch, sf_emulator)
    monkeypatch.setenv("SF_API_VERSION", "60.0")
    monkeypatch.setenv("SF_TIMEOUT_SECONDS", "5")
    sf = Salesforce.from_env()
    assert sf.api_version == "60.0"
    saved = sf.sobjects.create("Account", {"Name": "from env"})
    assert sf.sobjects.get("Account", saved.id)["attributes"]["url"].startswith("/services/data/v60.0/")
    assert AsyncSalesforce.from_env(api_version="61.0").api_version == "61.0"


@pytest.mark.parametrize(
    ("name", "value", "setting"),
    [
        ("SF_TIMEOUT_SECONDS", "soon", "SF_TIMEOUT_SECONDS"),
        ("SF_TIMEOUT_SECONDS", "0", "SF_TIMEOUT_SECONDS"),
        ("SF_TRACK_LIMITS", "maybe", "SF_TRACK_LIMITS"),
        ("SF_INSTANCE_URL", "http://acme.my.salesforce.com", "instance_url"),
        ("SF_PRIVATE_KEY_FILE", "/nonexistent/key.pem", "private_key_file"),
    ],
)
def test_from_env_errors_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, setting: str
) -> None:
    monkeypatch.setenv("SF_INSTANCE_URL", "https://acme.my.salesforce.com")
    monkeypatch.setenv("SF_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        Salesforce.from_env()
    assert caught.value.setting == setting


def test_missing_environment_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SF_INSTANCE_URL", "SF_ACCESS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="SF_INSTANCE_URL"):
        Salesforce.from_env()


def test_unknown_override_is_an_error() -> None:
    with pytest.raises(ConfigError) as caught:
        Salesforce.from_env(instance_urll="https://x.my.salesforce.com")
    assert caught.value.setting == "instance_urll"


def test_no_secret_in_reprs(sf_emulator: Emulator) -> None:
    token = sf_emulator.access_token
    builder = Salesforce.builder().instance_url(sf_emulator.instance_url).access_token(token)
    sf = builder.build()
    for text in (
        repr(builder),
        repr(sf),
        str(sf),
        repr(sf._engine),
        repr(sf_emulator),
        repr(sf.limits.usage),
    ):
        assert token not in text


def test_from_env_trusts_sf_ca_cert_file(monkeypatch: pytest.MonkeyPatch, tls_emulator: Emulator) -> None:
    assert tls_emulator.ca_cert_path is not None
    point_env_at(monkeypatch, tls_emulator)
    monkeypatch.setenv("SF_CA_CERT_FILE", tls_emulator.ca_cert_path)
    assert Salesforce.from_env().sobjects.create("Account", {"Name": "trusted"}).success
    monkeypatch.setenv("SF_CA_CERT_FILE", "/nonexistent/ca.pem")
    with pytest.raises(ConfigError) as caught:
        Salesforce.from_env()
    assert caught.value.setting == "ca_cert_file"


def clear_sf_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("SF_"):
            monkeypatch.delenv(name)


def test_sf_private_key_inline_signs_jwt_assertions(monkeypatch: pytest.MonkeyPatch) -> None:
    """SF_PRIVATE_KEY holds the PEM itself (a secret store's value), not a path."""
    from ..auth_keys import app_key

    user = "inline-key@example.com"
    with Emulator() as org:
        org.create_user(user)
        org.create_connected_app("jwt-app", certificate_pem=app_key().certificate)
        org.issue_refresh_token("jwt-app", user)
        clear_sf_environment(monkeypatch)
        monkeypatch.setenv("SF_LOGIN_URL", org.login_url)
        monkeypatch.setenv("SF_CLIENT_ID", "jwt-app")
        monkeypatch.setenv("SF_USERNAME", user)
        monkeypatch.setenv("SF_PRIVATE_KEY", app_key().private_pkcs8)
        grants_before = org.stats()["token_grants"].get("jwt_bearer", 0)
        sf = Salesforce.from_env()
        assert sf.sobjects.create("Account", {"Name": "Signed inline"}).success
        assert org.stats()["token_grants"]["jwt_bearer"] == grants_before + 1
        assert "BEGIN PRIVATE KEY" not in repr(sf) and "PRIVATE" not in repr(sf.auth.token())
        # A key that is neither a PEM nor a file is refused before anything is sent.
        monkeypatch.setenv("SF_PRIVATE_KEY", "not a key")
        with pytest.raises(ConfigError):
            Salesforce.from_env().limits.get()
        assert org.stats()["token_grants"]["jwt_bearer"] == grants_before + 1


def test_sf_track_limits_false_reads_no_limit_header(
    monkeypatch: pytest.MonkeyPatch, sf_emulator: Emulator
) -> None:
    clear_sf_environment(monkeypatch)
    point_env_at(monkeypatch, sf_emulator)
    monkeypatch.setenv("SF_TRACK_LIMITS", "false")
    untracked = Salesforce.from_env()
    untracked.sobjects.describe("Account")
    assert untracked.limits.usage is None
    monkeypatch.setenv("SF_TRACK_LIMITS", "true")
    tracked = Salesforce.from_env()
    tracked.sobjects.describe("Account")
    usage = tracked.limits.usage
    assert usage is not None and usage.used >= 1
