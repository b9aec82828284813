"""Extraction settings, parsed once from `PIGEON_EXTRACT_*` variables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pigeon.extract.protocols import Extractor

BACKENDS = ("rules", "anthropic", "openai")
DEFAULT_ANTHROPIC_MODEL = "claude-haiku-4-5"


class ExtractConfigError(ValueError):
    """An extraction setting is missing or invalid; `variable` names it."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True, slots=True)
class ExtractSettings:
    backend: str = "rules"
    model: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    timeout_s: float = 10.0
    locale: str = "en"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ExtractSettings:
        backend = env.get("PIGEON_EXTRACT_BACKEND", "rules").strip().lower() or "rules"
        if backend not in BACKENDS:
            raise ExtractConfigError(
                "PIGEON_EXTRACT_BACKEND", f"must be one of {', '.join(BACKENDS)}, got {backend!r}"
            )
        timeout = _positive_float(env, "PIGEON_EXTRACT_TIMEOUT", 10.0)
        api_key = env.get("PIGEON_EXTRACT_API_KEY") or None
        if backend == "anthropic":
            api_key = api_key or env.get("ANTHROPIC_API_KEY") or None
            if not api_key:
                raise ExtractConfigError(
                    "PIGEON_EXTRACT_API_KEY",
                    "required for the anthropic backend (or ANTHROPIC_API_KEY)",
                )
        model = env.get("PIGEON_EXTRACT_MODEL") or None
        base_url = env.get("PIGEON_EXTRACT_BASE_URL") or None
        if backend == "openai":
            if not base_url:
                raise ExtractConfigError(
                    "PIGEON_EXTRACT_BASE_URL", "required for the openai backend"
                )
            if not model:
                raise ExtractConfigError("PIGEON_EXTRACT_MODEL", "required for the openai backend")
        if base_url and not base_url.startswith(("http://", "https://")):
            raise ExtractConfigError(
                "PIGEON_EXTRACT_BASE_URL", "must start with http:// or https://"
            )
        if backend == "anthropic":
            model = model or DEFAULT_ANTHROPIC_MODEL
        locale = env.get("PIGEON_EXTRACT_LOCALE", "en").strip() or "en"
        return cls(backend, model, base_url, api_key, timeout, locale)


def _positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ExtractConfigError(name, f"must be a number of seconds, got {raw!r}") from None
    if value <= 0:
        raise ExtractConfigError(name, "must be greater than zero")
    return value


def build_extractor(settings: ExtractSettings) -> Extractor:
    """The extractor the settings ask for; model backends fall back to rules."""
    from pigeon.extract.rules import RuleBasedExtractor

    rules = RuleBasedExtractor()
    if settings.backend == "rules":
        return rules
    from pigeon.extract import llm

    client: llm.ModelClient
    if settings.backend == "anthropic":
        client = llm.AnthropicClient(
            api_key=settings.api_key or "",
            model=settings.model or DEFAULT_ANTHROPIC_MODEL,
            base_url=settings.base_url,
            timeout_s=settings.timeout_s,
        )
    else:
        client = llm.OpenAICompatibleClient(
            base_url=settings.base_url or "",
            model=settings.model or "",
            api_key=settings.api_key,
            timeout_s=settings.timeout_s,
        )
    return llm.LLMExtractor(client, fallback=rules)
