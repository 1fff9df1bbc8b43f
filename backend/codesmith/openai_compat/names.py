"""Readable, stable model ids for OpenAI clients: a system model by its upstream name, a user's own by its
name; where several visible models share one, the first (system before the user's, then oldest) keeps it
and the others get `@` and the start of their Codesmith id. The Codesmith id itself is accepted too."""

from __future__ import annotations

from dataclasses import dataclass

from codesmith.models.tables import Model

SUFFIX_CHARS = 8


@dataclass(frozen=True, slots=True)
class Named:
    name: str  # the id OpenAI clients use
    model: Model


def base_name(model: Model) -> str:
    return model.model if model.owner_id is None else model.name


def named(models: list[Model]) -> list[Named]:
    """Every model with its OpenAI id, in the given (listing) order."""
    groups: dict[str, list[Model]] = {}
    for model in models:
        groups.setdefault(base_name(model), []).append(model)
    first = {name: min(group, key=_seniority) for name, group in groups.items()}
    return [
        Named(base_name(model) if first[base_name(model)] is model else _suffixed(model), model) for model in models
    ]


def find(models: list[Model], wanted: str) -> Model | None:
    """The model an OpenAI id names: its readable id, a suffixed one, or the Codesmith id."""
    for entry in named(models):
        if entry.name == wanted:
            return entry.model
    for model in models:
        if model.id == wanted or _suffixed(model) == wanted:
            return model
    return None


def name_of(models: list[Model], model_id: str) -> str:
    return next((entry.name for entry in named(models) if entry.model.id == model_id), model_id)


def _suffixed(model: Model) -> str:
    return f"{base_name(model)}@{model.id.replace('-', '')[:SUFFIX_CHARS]}"


def _seniority(model: Model) -> tuple[int, float, str]:
    # A new model never takes a name from one that had it: system models first, then the oldest.
    return (0 if model.owner_id is None else 1, model.created_at.timestamp(), model.id)
