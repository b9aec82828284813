"""Follow-up extraction: time mentions, due time, summary and action from a message.

The default extractor is rule-based, offline and pure (`RuleBasedExtractor`);
`llm.LLMExtractor` asks a model and falls back to it. Build one from settings
with `build_extractor(ExtractSettings.from_env(environ))`.
"""

from __future__ import annotations

from pigeon.extract.protocols import (
    REASON_TEXT,
    Action,
    Extraction,
    Extractor,
    ExtractRequest,
    Grain,
    PreferredHours,
    Reason,
    TimeMention,
)
from pigeon.extract.rules import RuleBasedExtractor
from pigeon.extract.settings import ExtractConfigError, ExtractSettings, build_extractor

__all__ = [
    "REASON_TEXT",
    "Action",
    "ExtractConfigError",
    "ExtractRequest",
    "ExtractSettings",
    "Extraction",
    "Extractor",
    "Grain",
    "PreferredHours",
    "Reason",
    "RuleBasedExtractor",
    "TimeMention",
    "build_extractor",
]
