"""The whole local system in this process, as ``make run`` starts it: the merchant API (local stack), the
sandbox bank and the demo shop, each on a free port."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from local import LocalConfig, LocalStack
from local.sandbox import SandboxBankService, with_sandbox_and_shop
from shop import ShopService


@dataclass
class FullStack:
    stack: LocalStack
    sandbox: SandboxBankService
    shop: ShopService

    @property
    def api(self) -> str:
        return self.stack.base_url


@contextmanager
def full_stack(
    *,
    https: bool = False,
    schedule_interval_seconds: float | None = None,
    parameter_overrides: Mapping[str, str] | None = None,
) -> Iterator[FullStack]:
    """``schedule_interval_seconds``: None turns the scheduled functions (and ``POST /_local/sweep``) off;
    ``parameter_overrides``: template parameters (``ShopWebhookUrl`` and its token: another shop's webhook)."""
    # A local stack is a cold start: it builds its functions' dependencies, clients bound to its own moto.
    config = LocalConfig(
        port=0,
        quiet=True,
        schedule_interval_seconds=schedule_interval_seconds,
        parameter_overrides=dict(parameter_overrides or {}),
    )
    config, services = with_sandbox_and_shop(config, https=https)
    sandbox, shop = services
    assert isinstance(sandbox, SandboxBankService)
    assert isinstance(shop, ShopService)
    with LocalStack(config, services=services) as stack:
        yield FullStack(stack, sandbox, shop)
