"""Which webhook targets are refused (settlement/webhooks/targets.py): every spelling of a
loopback, private, link-local, multicast, unspecified or reserved address, IPv4 and IPv6, and
names that resolve to one. No test here opens a connection; names go to an injected resolver."""

from __future__ import annotations

import pytest

from common.settings import EnvSettings
from settlement.webhooks.settings import WebhookSettings
from settlement.webhooks.targets import TargetPolicy, WebhookTargetRefusedError, resolve_target

PUBLIC = TargetPolicy()
PRODUCTION = TargetPolicy(require_https=True)
DEVELOPMENT = TargetPolicy(allow_private=True)


def no_dns(host: str, port: int) -> list[str]:
    raise AssertionError(f"{host} is a literal address: nothing may be resolved")


def dns(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError(f"{host}: no such name")
        return table[host]

    return resolve


REFUSED_LITERALS = [
    "http://127.0.0.1:5432/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:6379/",
    "http://10.0.0.1/",
    "http://172.16.5.4/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",  # shared address space (carrier NAT)
    "http://0.0.0.0/",
    "http://[::]/",
    "http://224.0.0.1/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[fec0::1]/",
    "http://[ff02::1]/",
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped
    "http://[::ffff:a9fe:a9fe]/",  # mapped, hex spelling of 169.254.169.254
    "http://[::127.0.0.1]/",  # IPv4-compatible
    "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "http://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",  # Teredo client 127.0.0.1
    "http://2130706433/",  # decimal 127.0.0.1
    "http://0x7f.1/",
    "http://0177.0.0.1/",  # octal
    "http://127.1/",
    "http://127.0.0.1./",  # trailing dot
]


@pytest.mark.parametrize("url", REFUSED_LITERALS)
def test_every_spelling_of_a_non_public_address_is_refused_without_resolving(url: str) -> None:
    with pytest.raises(WebhookTargetRefusedError):
        resolve_target(url, PUBLIC, no_dns)


@pytest.mark.parametrize("url", ["http://localhost/", "https://localhost./", "https://api.localhost/"])
def test_local_names_are_refused_without_resolving(url: str) -> None:
    with pytest.raises(WebhookTargetRefusedError, match="local"):
        resolve_target(url, PRODUCTION, no_dns)


def test_a_name_is_refused_if_any_address_it_resolves_to_is_not_public() -> None:
    resolver = dns(
        {
            "rebind.example": ["127.0.0.1"],
            "mixed.example": ["93.184.216.34", "10.1.2.3"],
            "v6.example": ["::ffff:169.254.169.254"],
            "shop.example": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
        }
    )
    for name in ("rebind.example", "mixed.example", "v6.example"):
        with pytest.raises(WebhookTargetRefusedError, match="resolves to"):
            resolve_target(f"https://{name}/hook", PRODUCTION, resolver)
    with pytest.raises(WebhookTargetRefusedError, match="does not resolve"):
        resolve_target("https://nowhere.example/hook", PRODUCTION, resolver)
    target = resolve_target("https://shop.example./hook", PRODUCTION, resolver)
    assert (target.host, target.address) == ("shop.example", "93.184.216.34")


def test_production_wants_https_and_development_admits_loopback_only_by_setting() -> None:
    with pytest.raises(WebhookTargetRefusedError, match="https"):
        resolve_target("http://93.184.216.34/hook", PRODUCTION, no_dns)
    assert resolve_target("http://93.184.216.34/hook", PUBLIC, no_dns).address == "93.184.216.34"
    assert resolve_target("http://127.0.0.1:9/hook", DEVELOPMENT, no_dns).address == "127.0.0.1"
    assert resolve_target("http://10.0.0.1/hook", DEVELOPMENT, no_dns).address == "10.0.0.1"
    for still_refused in ("http://169.254.169.254/", "http://0.0.0.0/", "http://224.0.0.1/"):
        with pytest.raises(WebhookTargetRefusedError):
            resolve_target(still_refused, DEVELOPMENT, no_dns)


def test_private_targets_setting_is_refused_in_production() -> None:
    environ = {"MSC_API_ENVIRONMENT": "production", "MSC_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true"}
    with pytest.raises(Exception, match="allow_private_targets"):
        WebhookSettings.from_env(environ)
    production = WebhookSettings.from_env({"MSC_API_ENVIRONMENT": "production"}).target_policy()
    assert production == PRODUCTION
    development = WebhookSettings.from_env({"MSC_WEBHOOK_ALLOW_PRIVATE_TARGETS": "1"}).target_policy()
    assert development == DEVELOPMENT
    assert EnvSettings.env_aliases == {}
