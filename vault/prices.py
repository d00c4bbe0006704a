"""What an LLM call cost, from provider, model and token usage: the ``cost_usd`` metrics column.

Prices come from the ``genai-prices`` package's bundled data (maintained upstream; this module
never asks the network for an update) unless the tenant has a negotiated price for the model in
the config (``prices.tenants.<t>.models``), which wins. A model that neither knows gives no cost:
null, never a guess.

Token semantics follow the OTel GenAI conventions and genai-prices alike: ``input_tokens``
includes the cache-read and cache-write tokens, which are charged at their own rates.

Speed: genai-prices validates its unit registry on every call (about a millisecond). For a
model whose price is flat (no tiers by prompt length) the cost is linear in the four counts, so
the four per-token rates are taken from genai-prices once per (provider, model, day) and reused;
tiered prices go through genai-prices on every call. ``tests/vault/test_derived.py`` checks the
fast path against genai-prices itself.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from policies.config import ModelRate, PricesConfig

__all__ = ["Cost", "Pricer", "Usage", "genai_prices_version"]

GENAI_PRICES = "genai-prices"
OVERRIDE = "tenant-override"
_MILLION = 1_000_000
_PROVIDER_ALIASES = {"azure.ai.openai": "azure", "az.ai.openai": "azure", "gcp.gemini": "google", "gcp.vertex_ai": "google",
                     "gcp.gen_ai": "google", "aws.bedrock": "aws", "x_ai": "x-ai", "mistral_ai": "mistral"}  # fmt: skip


@dataclass(frozen=True)
class Usage:
    input_tokens: int | None
    output_tokens: int | None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None


@dataclass(frozen=True)
class Cost:
    usd: float
    source: str  # "genai-prices" or "tenant-override"
    version: str  # the genai-prices version, or the tenant's price-list label


@functools.cache
def genai_prices_version() -> str:
    from importlib.metadata import version

    return version("genai-prices")


@dataclass(frozen=True)
class _Rates:
    """USD per token: input (not cached), output, cache read, cache write."""

    input: Decimal
    output: Decimal
    cache_read: Decimal
    cache_write: Decimal

    def cost(self, usage: Usage) -> float:
        read, write = usage.cache_read_tokens or 0, usage.cache_write_tokens or 0
        plain = max(0, (usage.input_tokens or 0) - read - write)
        total = plain * self.input + (usage.output_tokens or 0) * self.output + read * self.cache_read + write * self.cache_write
        return float(total)


def _override_rates(rate: ModelRate) -> _Rates:
    per = Decimal(_MILLION)
    base = Decimal(str(rate.input_mtok)) / per
    return _Rates(
        input=base,
        output=Decimal(str(rate.output_mtok)) / per,
        cache_read=Decimal(str(rate.cache_read_mtok)) / per if rate.cache_read_mtok is not None else base,
        cache_write=Decimal(str(rate.cache_write_mtok)) / per if rate.cache_write_mtok is not None else base,
    )


def _has_tiers(model_price: Any) -> bool:
    from genai_prices.types import TieredPrices

    return any(isinstance(value, TieredPrices) for value in vars(model_price).values())


def _gp_usage(usage: Usage) -> Any:
    from genai_prices import Usage as GpUsage

    return GpUsage(
        input_tokens=usage.input_tokens or 0,
        output_tokens=usage.output_tokens or 0,
        cache_read_tokens=usage.cache_read_tokens or 0,
        cache_write_tokens=usage.cache_write_tokens or 0,
    )


class Pricer:
    """Costs per tenant: overrides first, then genai-prices. Safe to share between threads."""

    def __init__(self, config: PricesConfig | None = None) -> None:
        self._overrides: dict[str, tuple[str, dict[str, _Rates]]] = {}
        for tenant, prices in (config or PricesConfig()).tenants.items():
            self._overrides[tenant] = (prices.version, {m.lower(): _override_rates(r) for m, r in prices.models.items()})

    def cost(self, tenant: str, provider: str | None, models: tuple[str | None, ...], usage: Usage, day: date) -> Cost | None:
        """The cost of one call, or None when no model is priced or no tokens are known.

        ``models`` are tried in order (response model first, then request model)."""
        if usage.input_tokens is None and usage.output_tokens is None:
            return None
        names = [m for m in models if m]
        override = self._overrides.get(tenant)
        if override is not None:
            version, rates = override
            for name in names:
                if name.lower() in rates:
                    return Cost(rates[name.lower()].cost(usage), OVERRIDE, version)
        for name in names:
            priced = _genai_prices_cost(_provider_id(provider), name, usage, day)
            if priced is not None:
                return Cost(priced, GENAI_PRICES, genai_prices_version())
        return None


def _provider_id(provider: str | None) -> str | None:
    if not provider:
        return None
    lowered = provider.lower()
    return _PROVIDER_ALIASES.get(lowered, lowered)


def _genai_prices_cost(provider: str | None, model: str, usage: Usage, day: date) -> float | None:
    price = _model_price(provider, model.lower(), day)
    if price is None:
        return None
    model_price, rates = price
    if rates is not None:
        return rates.cost(usage)
    return float(model_price.calc_price(_gp_usage(usage))["total_price"])


@functools.lru_cache(maxsize=4096)
def _model_price(provider: str | None, model: str, day: date) -> tuple[Any, _Rates | None] | None:
    from genai_prices import data_snapshot

    snapshot = data_snapshot.get_snapshot()
    if provider is not None:
        try:
            snapshot.find_provider(None, provider, None)
        except LookupError:
            provider = None  # a provider genai-prices does not know: match on the model alone
    try:
        _, info = snapshot.find_provider_model(model, None, provider, None)
    except LookupError:
        return None  # a provider's unknown model is never priced as another's
    model_price = info.get_prices(datetime(day.year, day.month, day.day, 12, tzinfo=timezone.utc))
    if _has_tiers(model_price):
        return model_price, None
    return model_price, _linear_rates(model_price)


def _linear_rates(model_price: Any) -> _Rates:
    from genai_prices import Usage as GpUsage

    def total(**counts: int) -> Decimal:
        return Decimal(model_price.calc_price(GpUsage(**counts))["total_price"])

    million = _MILLION
    per = Decimal(million)
    return _Rates(
        input=total(input_tokens=million) / per,
        output=total(output_tokens=million) / per,
        cache_read=total(input_tokens=million, cache_read_tokens=million) / per,
        cache_write=total(input_tokens=million, cache_write_tokens=million) / per,
    )

