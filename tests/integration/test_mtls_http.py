"""Mutual TLS, CA bundles and verification against real TLS servers.

The certificates come from a CA generated for each test (tests/integration/
pki.py); the servers are aiohttp on 127.0.0.1 with their own SSL contexts.
"""

from __future__ import annotations

import shutil
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web

from omniout.config import load_settings
from omniout.deliver import Deliverer, OutboundRequest, RetryPolicy
from omniout.deliver.auth import open_credentials
from omniout.errors import ConfigError, DeliveryError
from omniout.routing import compile_routes
from tests.doc_examples import example
from tests.integration.pki import KEY_PASSWORD, Pki, make_pki

pytestmark = pytest.mark.integration

ONCE = RetryPolicy(max_attempts=1)
EVENT = {"EventUuid": "evt-1"}

Serve = Callable[[ssl.SSLContext], Awaitable[str]]


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    made = make_pki(tmp_path)
    shutil.copy(made.ca, tmp_path / "bank-ca.pem")
    return made


@pytest.fixture
async def serve() -> AsyncIterator[tuple[Serve, list[str]]]:
    """Start HTTPS servers; each records the client certificate's subject."""
    runners: list[web.AppRunner] = []
    peers: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        transport = request.transport
        peer = transport.get_extra_info("peercert") if transport else None
        subject = dict(pair[0] for pair in peer["subject"]) if peer else {}
        peers.append(subject.get("commonName", ""))
        return web.Response(text="ok")

    async def start(context: ssl.SSLContext) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        runners.append(runner)
        await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context).start()
        return f"https://127.0.0.1:{runner.addresses[0][1]}"

    yield start, peers
    for runner in runners:
        await runner.cleanup()


def config(tmp_path: Path, url: str, tls: str, extra: str = "") -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        f"""
credentials:
  bank:
    type: none
    tls:
{tls}
{extra}
routes:
  - name: payments
    topic: /event/Order_Completed__e
    endpoint: {{url: "{url}/payments", credential: bank}}
"""
    )
    return path


async def deliver_once(path: Path) -> int:
    settings = load_settings(path)
    credentials = open_credentials(settings.credentials, file=str(path))
    route = compile_routes(settings.routes, file=str(path))[0]
    async with Deliverer(credentials=credentials) as deliverer:
        request = route.request(EVENT, "evt-1")
        result = await deliverer.deliver(request, ONCE)
    return result.response.status


async def test_the_client_certificate_is_presented(
    pki: Pki,
    serve: tuple[Serve, list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    start, peers = serve
    url = await start(pki.server_context(require_client_cert=True))
    monkeypatch.setenv("TLS_DIR", str(tmp_path))
    monkeypatch.setenv("BANK_URL", url)
    monkeypatch.setenv("BANK_KEY_PASSWORD", KEY_PASSWORD)

    assert await deliver_once(example("mtls", tmp_path)) == 200
    assert peers == ["omniout"]


async def test_without_a_client_certificate_the_handshake_fails_retriably(
    pki: Pki, serve: tuple[Serve, list[str]], tmp_path: Path
) -> None:
    start, peers = serve
    url = await start(pki.server_context(require_client_cert=True))
    path = config(tmp_path, url, f"      ca_bundle: {pki.ca}")

    with pytest.raises(DeliveryError) as caught:
        await deliver_once(path)

    assert caught.value.retriable
    assert caught.value.status is None
    assert caught.value.reason.startswith("retry budget spent after 1 attempt: ")
    assert peers == []


@pytest.mark.parametrize("trust", ["system", "other"])
async def test_a_server_outside_the_ca_bundle_is_refused(
    pki: Pki, serve: tuple[Serve, list[str]], tmp_path: Path, trust: str
) -> None:
    start, peers = serve
    url = await start(pki.server_context(require_client_cert=False))
    tls = "      verify: true"
    if trust == "other":
        tls = f"      ca_bundle: {pki.other_ca}"
    path = config(tmp_path, url, tls)

    with pytest.raises(DeliveryError) as caught:
        await deliver_once(path)

    assert caught.value.retriable
    assert "certificate verify failed" in caught.value.reason
    assert peers == []


async def test_verify_false_accepts_an_untrusted_certificate(
    pki: Pki,
    serve: tuple[Serve, list[str]],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    start, _ = serve
    url = await start(pki.server_context(require_client_cert=False))
    path = config(tmp_path, url, "      verify: false")

    assert await deliver_once(path) == 200
    assert "TLS certificate verification is off for credentials.bank.tls" in caplog.text


async def test_routes_with_and_without_tls_settings_share_one_deliverer(
    pki: Pki, serve: tuple[Serve, list[str]], tmp_path: Path
) -> None:
    start, peers = serve
    mutual = await start(pki.server_context(require_client_cert=True))
    plain = await start(pki.server_context(require_client_cert=False))
    tls = f"""      client_cert: {pki.client_cert}
      client_key: {pki.client_key}
      key_password: {{env: KEY_PASS}}
      ca_bundle: {pki.ca}"""
    # A second credential with the same TLS block shares its context.
    twin = "  twin:\n    type: none\n    tls:\n" + tls
    path = config(tmp_path, mutual, tls, twin)
    settings = load_settings(path)
    credentials = open_credentials(
        settings.credentials, file=str(path), environ={"KEY_PASS": KEY_PASSWORD}
    )
    assert credentials["bank"].tls is credentials["twin"].tls

    requests = [
        OutboundRequest("POST", f"{mutual}/a", (), b"{}", 2.0, "bank"),
        OutboundRequest("POST", f"{mutual}/b", (), b"{}", 2.0, "twin"),
    ]
    async with Deliverer(credentials=credentials, verify=False) as deliverer:
        for request in requests:
            assert (await deliverer.deliver(request, ONCE)).response.status == 200
        # No credential: the default pool, which here does not verify.
        plain_request = OutboundRequest("POST", f"{plain}/c", (), b"{}", 2.0)
        assert (await deliverer.deliver(plain_request, ONCE)).response.status == 200

    assert peers == ["omniout", "omniout", ""]


@pytest.mark.parametrize(
    ("tls", "key", "reason"),
    [
        ("      client_cert: {missing}", "client_cert", "No such file"),
        ("      client_cert: {cert}\n      client_key: {key}\n"
         "      key_password: {{env: WRONG}}", "client_cert", "cannot be loaded"),
        ("      client_cert: {cert}\n      client_key: {key}", "client_cert",
         "cannot be loaded"),
        ("      ca_bundle: {missing}", "ca_bundle", "No such file"),
    ],
)
def test_unloadable_tls_files_are_config_errors(
    pki: Pki, tmp_path: Path, tls: str, key: str, reason: str
) -> None:
    block = tls.format(
        missing=tmp_path / "nope.pem", cert=pki.client_cert, key=pki.client_key
    )
    path = config(tmp_path, "https://127.0.0.1:1", block)
    settings = load_settings(path)

    with pytest.raises(ConfigError) as caught:
        open_credentials(settings.credentials, file=str(path), environ={"WRONG": "x"})

    assert caught.value.key == f"credentials.bank.tls.{key}"
    assert reason in caught.value.reason
    assert KEY_PASSWORD not in str(caught.value)
