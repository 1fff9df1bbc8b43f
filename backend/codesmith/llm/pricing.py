"""The versioned price and context-window table of known hosted models.

A model missing here has no price: its usage records tokens and no cost, flagged as unpriced,
never a guessed cost. Update PRICE_TABLE_VERSION with every change of a price.
"""

from __future__ import annotations

from dataclasses import dataclass

PRICE_TABLE_VERSION = "2026-11-01"


@dataclass(frozen=True, slots=True)
class ModelPrice:
    context_window: int
    input_per_mtok: float  # USD per million prompt tokens
    output_per_mtok: float  # USD per million completion tokens


OPENAI_PRICES: dict[str, ModelPrice] = {
    "gpt-4o-mini": ModelPrice(128_000, 0.15, 0.60),
    "gpt-4o": ModelPrice(128_000, 2.50, 10.00),
    "gpt-4.1": ModelPrice(1_047_576, 2.00, 8.00),
    "gpt-4.1-mini": ModelPrice(1_047_576, 0.40, 1.60),
    "gpt-4.1-nano": ModelPrice(1_047_576, 0.10, 0.40),
    "o4-mini": ModelPrice(200_000, 1.10, 4.40),
    "o3": ModelPrice(200_000, 2.00, 8.00),
}

# Used for a model whose context window nobody told us: small enough to be safe almost anywhere.
DEFAULT_CONTEXT_WINDOW = 8192


def price_of(model: str) -> ModelPrice | None:
    return OPENAI_PRICES.get(model)


def cost_usd(
    prompt_tokens: int, completion_tokens: int, input_per_mtok: float | None, output_per_mtok: float | None
) -> float | None:
    """The cost of one call, or None for an unpriced model."""
    if input_per_mtok is None or output_per_mtok is None:
        return None
    return round((prompt_tokens * input_per_mtok + completion_tokens * output_per_mtok) / 1_000_000, 8)
