"""Proxies and trust: REST and a Pub/Sub subscription pass through an HTTP CONNECT proxy (set
explicitly or from HTTPS_PROXY, bypassed by NO_PROXY), a refused CONNECT is a typed error that
does not show the proxy's password, and TLS trusts the file SSL_CERT_FILE names."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from forcelink import ConfigError, Salesforce, TransportError
from forcelink.testing import Emulator

from ..connect_proxy import ConnectProxy


@pytest.fixture
def tls_org() -> Iterator[Emulator]:
    with Emulator(tls=True) as org:
        org.define_event("Ping__e", {"Note__c": "text"})
        yield org


@pytest.fixture
def proxy() -> Iterator[ConnectProxy]:
    with ConnectProxy() as p:
        yield p


def authority(url: str) -> str:
    return urlsplit(url).netloc


def exercise(sf: Salesforce) -> None:
    """REST calls and one event through a subscription."""
    saved = sf.sobjects.create("Account", {"Name": "Through the proxy"})
    assert sf.sobjects.get("Account", saved.id, fields=["Name"])["Name"] == "Through the proxy"
    assert sf.query.query("SELECT Id FROM Account").total_size == 1
    with sf.events.subscribe("/event/Ping__e", replay="earliest", batch_size=1) as sub:
        sf.events.publish("Ping__e", {"Note__c": "hello"})
        event = next(iter(sub))
    assert event.payload["Note__c"] == "hello"


def test_rest_and_pubsub_go_through_an_explicit_proxy(tls_org: Emulator, proxy: ConnectProxy) -> None:
    sf = tls_org.client_builder().proxy(proxy.url).build()
    exercise(sf)
    assert proxy.tunnels[authority(tls_org.instance_url)] >= 1
    assert proxy.tunnels[tls_org.pubsub_endpoint] >= 1
    assert set(proxy.tunnels) == {authority(tls_org.instance_url), tls_org.pubsub_endpoint}
    # Every REST request the org saw came through those tunnels.
    assert tls_org.stats()["total_requests"] >= 3


def test_https_proxy_from_the_environment_and_no_proxy(
    tls_org: Emulator, proxy: ConnectProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    exercise(tls_org.client())
    assert proxy.tunnels[authority(tls_org.instance_url)] >= 1
    assert proxy.tunnels[tls_org.pubsub_endpoint] >= 1
    before = sum(proxy.tunnels.values())
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    tls_org.client().sobjects.create("Account", {"Name": "Direct"})
    assert sum(proxy.tunnels.values()) == before
    monkeypatch.delenv("NO_PROXY")
    # An explicit None ignores the environment.
    tls_org.client_builder().proxy(None).build().sobjects.create("Account", {"Name": "Direct too"})
    assert sum(proxy.tunnels.values()) == before


def test_a_proxy_that_refuses_is_a_transport_error_without_its_password(tls_org: Emulator) -> None:
    with ConnectProxy(credentials="alice:right") as guarded:
        wrong = f"http://alice:s3cret-wrong@127.0.0.1:{guarded.port}"
        sf = tls_org.client_builder().proxy(wrong).retries(1).circuit_breaker(0).build()
        with pytest.raises(TransportError) as raised:
            sf.sobjects.create("Account", {"Name": "Refused"})
        assert "s3cret-wrong" not in str(raised.value) and "s3cret-wrong" not in repr(raised.value)
        assert guarded.refused >= 1 and not guarded.tunnels
        right = f"http://alice:right@127.0.0.1:{guarded.port}"
        exercise(tls_org.client_builder().proxy(right).build())
        assert guarded.tunnels[tls_org.pubsub_endpoint] >= 1
    # The refused create never reached the org: one create and one publish did.
    assert tls_org.stats()["requests"].get("POST sobjects/{object}") == 2


@pytest.mark.parametrize("url", ["socks5://127.0.0.1:1080", "https://proxy.example:3128", "not a url"])
def test_a_proxy_that_is_not_an_http_url_is_refused_before_sending(tls_org: Emulator, url: str) -> None:
    with pytest.raises(ConfigError) as raised:
        tls_org.client_builder().proxy(url).build()
    assert raised.value.setting == "proxy"
    assert tls_org.stats()["total_requests"] == 0


def test_tls_trusts_the_file_ssl_cert_file_names(tls_org: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    bare = Salesforce.builder().instance_url(tls_org.instance_url).access_token(tls_org.access_token)
    bare.pubsub_endpoint(tls_org.pubsub_url).retries(1).circuit_breaker(0)
    with pytest.raises(TransportError):
        bare.build().sobjects.create("Account", {"Name": "Untrusted"})
    assert tls_org.ca_cert_path is not None
    monkeypatch.setenv("SSL_CERT_FILE", tls_org.ca_cert_path)
    exercise(bare.build())
