"""Extraction settings, parsed once from `PIGEON_EXTRACT_*` variables."""

from __future__ import annotations

import importlib.util
import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from pigeon.extract.protocols import Extraction, Extractor, ExtractRequest

BACKENDS = ("rules", "anthropic", "openai")
DEFAULT_ANTHROPIC_MODEL = "claude-haiku-4-5"
# The SDK each backend needs, from the `llm` extra; `openai` speaks HTTP through httpx.
SDKS = {"anthropic": "anthropic"}
LLM_EXTRA = "pip install 'pigeon[llm]'"
# A language, then perhaps a region: en, en_GB, en-us, en-001.
_LOCALE = re.compile(r"([A-Za-z]{2,3})(?:[_-]([A-Za-z]{2}|[0-9]{3}))?")


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
        sdk = SDKS.get(backend)
        if sdk is not None and not _installed(sdk):
            raise ExtractConfigError(
                "PIGEON_EXTRACT_BACKEND",
                f"the {backend} backend needs the {sdk} SDK, which is not installed: {LLM_EXTRA}",
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
        raw_locale = env.get("PIGEON_EXTRACT_LOCALE", "en").strip() or "en"
        locale = normalize_locale(raw_locale)
        if locale is None:
            raise ExtractConfigError(
                "PIGEON_EXTRACT_LOCALE",
                f"expected {LOCALE_HINT}, got {raw_locale!r}",
            )
        return cls(backend, model, base_url, api_key, timeout, locale)


def _installed(module: str) -> bool:
    """Whether `module` can be imported, without importing it (the SDKs are slow to load)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def normalize_locale(value: str) -> str | None:
    """`en-gb` -> `en_GB`; None for anything but English, the one language the resolver reads
    (an English region it has no table for reads dates day-first, as most of the world)."""
    found = _LOCALE.fullmatch(value.strip())
    if found is None or found.group(1).lower() != "en":
        return None
    region = found.group(2)
    return f"en_{region.upper()}" if region else "en"


LOCALE_HINT = "English, such as en, en_GB or en-US"


def _positive_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ExtractConfigError(name, f"must be a number of seconds, got {raw!r}") from None
    if not 0 < value <= 3600:  # a timeout of more than an hour is a slip of unit
        raise ExtractConfigError(name, "must be more than 0 and at most 3600 seconds")
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


class Deferred:
    """An extractor built on its first use, once, whichever thread asks first.

    The composition root makes one (`bootstrap.build`): building the rules extractor imports
    its grammar and holiday tables, and a model backend its SDK, which neither the API's
    start nor the CLI's quick commands should pay for.
    """

    def __init__(self, build: Callable[[], Extractor]) -> None:
        self._build = build
        self._built: Extractor | None = None
        self._lock = threading.Lock()

    @property
    def built(self) -> Extractor:
        if self._built is None:
            with self._lock:
                if self._built is None:
                    self._built = self._build()
        return self._built

    def extract(self, request: ExtractRequest) -> Extraction:
        return self.built.extract(request)
