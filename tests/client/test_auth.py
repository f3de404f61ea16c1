"""The OAuth flows, their errors, the single-flight token manager, and secrets kept out of sight."""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from forcelink import (
    AsyncSalesforce,
    AuthError,
    ConfigError,
    InvalidClientError,
    InvalidGrantError,
    InvalidSessionError,
    Salesforce,
    SalesforceError,
)
from forcelink.testing import Emulator

from ..auth_keys import app_key, assertion

USER = "integration@example.com"
SECRET = "app-secret-Zq9"


@pytest.fixture
def auth_org() -> Iterator[Emulator]:
    with Emulator() as org:
        org.create_user(USER)
        org.create_connected_app("jwt-app", certificate_pem=app_key().certificate)
        org.create_connected_app("secret-app", client_secret=SECRET)
        org.create_connected_app("rotating-app", client_secret=SECRET, rotate_refresh_tokens=True)
        org.issue_refresh_token("jwt-app", USER)  # the user's approval of the app
        yield org


def jwt_client(org: Emulator, *, username: str = USER, key: str | None = None) -> Salesforce:
    return (
        Salesforce.builder()
        .login_url(org.login_url)
        .jwt_bearer("jwt-app", username, key or app_key().private_pkcs8)
        .build()
    )


def post_form(url: str, form: dict[str, str]) -> tuple[int, dict[str, str]]:
    data = urllib.parse.urlencode(form).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, method="POST")) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


# --- each flow -------------------------------------------------------------------------------


def test_jwt_bearer_adopts_the_instance_url(auth_org: Emulator) -> None:
    sf = jwt_client(auth_org)
    saved = sf.sobjects.create("Account", {"Name": "via JWT"})
    assert sf.sobjects.get("Account", saved.id)["Name"] == "via JWT"
    token = sf.auth.token()
    assert token.instance_url == auth_org.instance_url
    assert token.org_id == auth_org.org_id
    assert token.user_id is not None and token.user_id.startswith("005")
    assert token.access_token not in repr(token)
    assert auth_org.stats()["token_grants"] == {"jwt_bearer": 1}


def test_jwt_bearer_takes_pkcs1_keys_and_key_files(auth_org: Emulator, tmp_path: Path) -> None:
    jwt_client(auth_org, key=app_key().private_pkcs1).sobjects.describe_global()
    key_file = tmp_path / "key.pem"
    key_file.write_text(app_key().private_pkcs8)
    sf = (
        Salesforce.builder()
        .login_url(auth_org.login_url)
        .jwt_bearer("jwt-app", USER, private_key_file=key_file)
        .build()
    )
    sf.sobjects.describe_global()
    assert auth_org.stats()["token_grants"] == {"jwt_bearer": 2}


def test_refresh_token_flow_keeps_and_hands_over_rotated_tokens(auth_org: Emulator) -> None:
    first = auth_org.issue_refresh_token("rotating-app", USER)
    seen: list[str] = []
    sf = (
        Salesforce.builder()
        .login_url(auth_org.login_url)
        .refresh_token("rotating-app", first, SECRET, on_refresh_token=seen.append)
        .build()
    )
    sf.sobjects.describe_global()
    auth_org.expire_sessions()
    sf.sobjects.describe_global()
    assert len(seen) == 2 and len(set(seen)) == 2 and first not in seen
    # The first token was rotated away: using it again is refused.
    stale = (
        Salesforce.builder()
        .login_url(auth_org.login_url)
        .refresh_token("rotating-app", first, SECRET)
        .build()
    )
    with pytest.raises(InvalidGrantError) as caught:
        stale.sobjects.describe_global()
    assert caught.value.error == "invalid_grant"
    assert caught.value.error_description == "expired access/refresh token"
    assert first not in str(caught.value)


def test_client_credentials_flow(auth_org: Emulator) -> None:
    sf = (
        Salesforce.builder()
        .instance_url(auth_org.instance_url)
        .client_credentials("secret-app", SECRET)
        .build()
    )
    assert sf.sobjects.create("Contact", {"LastName": "cc"}).success
    assert auth_org.stats()["token_grants"] == {"client_credentials": 1}


def test_client_credentials_needs_the_my_domain_url() -> None:
    with pytest.raises(ConfigError) as caught:
        Salesforce.builder().client_credentials("secret-app", SECRET).build()
    assert caught.value.setting == "instance_url"


def test_static_token_and_revoke(auth_org: Emulator) -> None:
    sf = auth_org.client()
    sf.sobjects.describe_global()
    sf.auth.revoke()
    with pytest.raises(InvalidSessionError):
        sf.sobjects.describe_global()


def test_revoke_then_jwt_gets_a_new_token(auth_org: Emulator) -> None:
    sf = jwt_client(auth_org)
    before = sf.auth.token().access_token
    sf.auth.revoke()
    sf.sobjects.describe_global()
    assert sf.auth.token().access_token != before
    assert auth_org.stats()["token_grants"] == {"jwt_bearer": 2}


def test_a_custom_provider_token_is_revoked_at_the_instance_never_at_a_login_host(auth_org: Emulator) -> None:
    """A provider's bare token names no org: it is revoked at the configured instance. It used
    to be posted to the login host, which never issued it (here a server counting requests)."""
    login_hits: list[str] = []

    class CountingLogin(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            login_hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    token = auth_org.issue_session()
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), CountingLogin) as login:
        threading.Thread(target=login.serve_forever, daemon=True).start()
        sf = (
            Salesforce.builder()
            .instance_url(auth_org.instance_url)
            .login_url(f"http://127.0.0.1:{login.server_address[1]}")
            .auth_provider(lambda: token)
            .build()
        )
        sf.sobjects.describe_global()
        sf.auth.revoke()
        login.shutdown()
    assert login_hits == []
    with pytest.raises(InvalidSessionError):
        Salesforce.builder().instance_url(auth_org.instance_url).access_token(token).build().limits.get()


def test_sync_and_async_python_providers(auth_org: Emulator) -> None:
    calls: list[str] = []

    def provider() -> dict[str, str]:
        calls.append("sync")
        return {"access_token": auth_org.issue_session(), "instance_url": auth_org.instance_url}

    sf = Salesforce.builder().instance_url(auth_org.instance_url).auth_provider(provider).build()
    sf.sobjects.describe_global()
    auth_org.expire_sessions()
    sf.sobjects.describe_global()
    assert calls == ["sync", "sync"]

    async def async_provider() -> str:
        await asyncio.sleep(0)
        calls.append("async")
        return auth_org.issue_session()

    async def run() -> None:
        asf = (
            AsyncSalesforce.builder()
            .instance_url(auth_org.instance_url)
            .auth_provider(async_provider)
            .build()
        )
        await asf.sobjects.describe_global()

    asyncio.run(run())
    blocking = Salesforce.builder().instance_url(auth_org.instance_url).auth_provider(async_provider).build()
    blocking.sobjects.describe_global()
    assert calls.count("async") == 2


def test_a_failing_provider_is_an_auth_error(auth_org: Emulator) -> None:
    def provider() -> str:
        raise RuntimeError("vault is sealed")

    sf = Salesforce.builder().instance_url(auth_org.instance_url).auth_provider(provider).build()
    with pytest.raises(AuthError, match="vault is sealed"):
        sf.sobjects.describe_global()


# --- errors ----------------------------------------------------------------------------------


def test_bad_signature(auth_org: Emulator) -> None:
    with pytest.raises(InvalidGrantError) as caught:
        jwt_client(auth_org, key=app_key("other").private_pkcs8).sobjects.describe_global()
    assert caught.value.error_description == "invalid assertion"
    assert caught.value.status == 400


def test_wrong_audience(auth_org: Emulator) -> None:
    # localhost reaches the same server but is not the audience the org expects.
    login = auth_org.login_url.replace("127.0.0.1", "localhost")
    sf = Salesforce.builder().login_url(login).jwt_bearer("jwt-app", USER, app_key().private_pkcs8).build()
    with pytest.raises(InvalidGrantError) as caught:
        sf.sobjects.describe_global()
    assert caught.value.error_description == "audience is invalid"


@pytest.mark.parametrize(
    ("exp_offset", "description"),
    [(-10, "expired authorization code"), (3600, "invalid assertion")],
)
def test_exp_in_the_past_or_too_far(auth_org: Emulator, exp_offset: int, description: str) -> None:
    claims = {"iss": "jwt-app", "sub": USER, "aud": auth_org.login_url, "exp": int(time.time()) + exp_offset}
    status, body = post_form(
        f"{auth_org.login_url}/services/oauth2/token",
        {
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": assertion(app_key().key, claims),
        },
    )
    assert (status, body) == (400, {"error": "invalid_grant", "error_description": description})
    # A well-formed assertion is accepted by the same endpoint.
    claims["exp"] = int(time.time()) + 60
    status, body = post_form(
        f"{auth_org.login_url}/services/oauth2/token",
        {
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": assertion(app_key().key, claims),
        },
    )
    assert status == 200 and body["instance_url"] == auth_org.instance_url


@pytest.mark.parametrize("username", ["nobody@example.com", "unapproved@example.com"])
def test_unknown_or_unapproved_user(auth_org: Emulator, username: str) -> None:
    auth_org.create_user("unapproved@example.com")
    with pytest.raises(InvalidGrantError) as caught:
        jwt_client(auth_org, username=username).sobjects.describe_global()
    assert caught.value.error_description == "user hasn't approved this consumer"


def test_revoked_refresh_token(auth_org: Emulator) -> None:
    refresh = auth_org.issue_refresh_token("secret-app", USER)
    status, _ = post_form(f"{auth_org.login_url}/services/oauth2/revoke", {"token": refresh})
    assert status == 200
    sf = (
        Salesforce.builder()
        .login_url(auth_org.login_url)
        .refresh_token("secret-app", refresh, SECRET)
        .build()
    )
    with pytest.raises(InvalidGrantError) as caught:
        sf.sobjects.describe_global()
    assert refresh not in str(caught.value) and refresh not in repr(caught.value)


def test_wrong_secret_and_unknown_client(auth_org: Emulator) -> None:
    wrong = "not-the-secret-81"
    sf = (
        Salesforce.builder()
        .instance_url(auth_org.instance_url)
        .client_credentials("secret-app", wrong)
        .build()
    )
    with pytest.raises(InvalidClientError) as caught:
        sf.sobjects.describe_global()
    assert (caught.value.error, caught.value.error_description) == (
        "invalid_client",
        "invalid client credentials",
    )
    assert wrong not in str(caught.value)
    sf = (
        Salesforce.builder()
        .instance_url(auth_org.instance_url)
        .client_credentials("no-such-app", wrong)
        .build()
    )
    with pytest.raises(InvalidClientError) as caught:
        sf.sobjects.describe_global()
    assert caught.value.error == "invalid_client_id"


def test_bad_private_key_is_refused_before_sending(auth_org: Emulator) -> None:
    with pytest.raises(ConfigError) as caught:
        Salesforce.builder().login_url(auth_org.login_url).jwt_bearer("jwt-app", USER, "not a key").build()
    assert caught.value.setting == "private_key"
    assert auth_org.stats()["total_requests"] == 0
    assert auth_org.stats()["token_grants"] == {}


def test_userinfo_and_identity_url(auth_org: Emulator) -> None:
    token = jwt_client(auth_org).auth.token()
    assert token.id_url is not None
    for url in (f"{auth_org.login_url}/services/oauth2/userinfo", token.id_url):
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token.access_token}"})
        with urllib.request.urlopen(request) as answer:
            info = json.loads(answer.read())
        assert info["user_id"] == token.user_id
        assert info["organization_id"] == auth_org.org_id
        assert info["preferred_username"] == USER


# --- single flight ---------------------------------------------------------------------------


async def test_500_concurrent_requests_after_expiry_cause_one_grant(auth_org: Emulator) -> None:
    sf = (
        AsyncSalesforce.builder()
        .login_url(auth_org.login_url)
        .jwt_bearer("jwt-app", USER, app_key().private_pkcs8)
        .build()
    )
    saved = await sf.sobjects.create("Account", {"Name": "shared"})
    auth_org.expire_sessions()
    records = await asyncio.gather(*(sf.sobjects.get("Account", saved.id) for _ in range(500)))
    assert [r["Name"] for r in records] == ["shared"] * 500
    assert auth_org.stats()["token_grants"] == {"jwt_bearer": 2}


def test_50_threads_after_expiry_cause_one_grant(auth_org: Emulator) -> None:
    refresh = auth_org.issue_refresh_token("secret-app", USER)
    sf = (
        Salesforce.builder()
        .login_url(auth_org.login_url)
        .refresh_token("secret-app", refresh, SECRET)
        .build()
    )
    saved = sf.sobjects.create("Account", {"Name": "threads"})
    auth_org.expire_sessions()
    names: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(50)

    def work() -> None:
        start.wait()
        try:
            names.append(sf.sobjects.get("Account", saved.id)["Name"])
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert names == ["threads"] * 50
    assert auth_org.stats()["token_grants"] == {"refresh_token": 2}


def test_tokens_are_renewed_ahead_of_a_known_lifetime() -> None:
    with Emulator(token_lifetime=1.0) as org:
        org.create_connected_app("app", client_secret=SECRET)
        sf = (
            Salesforce.builder()
            .instance_url(org.instance_url)
            .client_credentials("app", SECRET)
            .token_lifetime(1.0)
            .build()
        )
        sf.sobjects.describe_global()
        time.sleep(1.0)
        sf.sobjects.describe_global()
        assert org.stats()["token_grants"] == {"client_credentials": 2}
        assert org.stats()["total_requests"] == 2, "no request was rejected and replayed"


# --- environment and secrets -----------------------------------------------------------------


def test_from_env_picks_the_flow(monkeypatch: pytest.MonkeyPatch, auth_org: Emulator, tmp_path: Path) -> None:
    for name in (
        "SF_ACCESS_TOKEN",
        "SF_INSTANCE_URL",
        "SF_REFRESH_TOKEN",
        "SF_CLIENT_SECRET",
        "SF_PRIVATE_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    key_file = tmp_path / "key.pem"
    key_file.write_text(app_key().private_pkcs8)
    monkeypatch.setenv("SF_LOGIN_URL", auth_org.login_url)
    monkeypatch.setenv("SF_CLIENT_ID", "jwt-app")
    monkeypatch.setenv("SF_USERNAME", USER)
    with pytest.raises(ConfigError) as caught:
        Salesforce.from_env()
    assert caught.value.setting == "private_key"
    assert "SF_PRIVATE_KEY" in caught.value.message
    monkeypatch.setenv("SF_PRIVATE_KEY_FILE", str(key_file))
    Salesforce.from_env().sobjects.describe_global()
    assert auth_org.stats()["token_grants"] == {"jwt_bearer": 1}


def test_from_env_names_what_a_flow_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "SF_ACCESS_TOKEN",
        "SF_PRIVATE_KEY",
        "SF_PRIVATE_KEY_FILE",
        "SF_USERNAME",
        "SF_CLIENT_SECRET",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("SF_CLIENT_ID", raising=False)
    monkeypatch.setenv("SF_REFRESH_TOKEN", "5Aep-some-refresh-token")
    with pytest.raises(ConfigError) as caught:
        Salesforce.from_env()
    assert caught.value.setting == "client_id"
    assert "SF_CLIENT_ID" in caught.value.message
    assert "5Aep-some-refresh-token" not in str(caught.value)


def test_no_secret_in_any_repr_or_str(auth_org: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    refresh = auth_org.issue_refresh_token("secret-app", USER)
    key = app_key().private_pkcs8
    builders = [
        Salesforce.builder().login_url(auth_org.login_url).refresh_token("secret-app", refresh, SECRET),
        Salesforce.builder().login_url(auth_org.login_url).jwt_bearer("jwt-app", USER, key),
        Salesforce.builder().instance_url(auth_org.instance_url).client_credentials("secret-app", SECRET),
    ]
    texts: list[str] = []
    tokens: list[str] = []
    for builder in builders:
        texts += [repr(builder), str(builder)]
        sf = builder.build()
        sf.sobjects.describe_global()
        info = sf.auth.token()
        tokens.append(info.access_token)
        texts += [repr(sf), str(sf), repr(sf._engine), repr(info), str(info), repr(sf.limits.usage)]
    errors: list[SalesforceError] = []
    for bad in (
        Salesforce.builder().login_url(auth_org.login_url).refresh_token("secret-app", refresh + "x", SECRET),
        Salesforce.builder()
        .instance_url(auth_org.instance_url)
        .client_credentials("secret-app", SECRET + "x"),
    ):
        with pytest.raises(SalesforceError) as caught:
            bad.build().sobjects.describe_global()
        errors.append(caught.value)
    texts += [repr(e) for e in errors] + [str(e) for e in errors]
    secrets = [refresh, SECRET, *tokens, "PRIVATE KEY", key.splitlines()[1]]
    for text in texts:
        for secret in secrets:
            assert secret not in text, f"{secret[:12]}... leaked in {text[:80]}"
