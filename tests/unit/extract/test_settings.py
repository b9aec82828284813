"""Settings from PIGEON_EXTRACT_* and the extractor factory."""

from __future__ import annotations

import pytest

from pigeon.extract import ExtractConfigError, ExtractSettings, RuleBasedExtractor, build_extractor
from pigeon.extract.llm import AnthropicClient, LLMExtractor, OpenAICompatibleClient


def test_defaults_to_rules() -> None:
    settings = ExtractSettings.from_env({})
    assert settings.backend == "rules"
    assert isinstance(build_extractor(settings), RuleBasedExtractor)


def test_anthropic_accepts_the_sdk_variable() -> None:
    settings = ExtractSettings.from_env(
        {
            "PIGEON_EXTRACT_BACKEND": "anthropic",
            "ANTHROPIC_API_KEY": "sk-test",
            "PIGEON_EXTRACT_TIMEOUT": "2.5",
        }
    )
    assert settings.api_key == "sk-test"
    assert settings.timeout_s == 2.5
    assert settings.model
    extractor = build_extractor(settings)
    assert isinstance(extractor, LLMExtractor)
    assert isinstance(extractor.client, AnthropicClient)


def test_openai_compatible() -> None:
    settings = ExtractSettings.from_env(
        {
            "PIGEON_EXTRACT_BACKEND": "openai",
            "PIGEON_EXTRACT_BASE_URL": "http://127.0.0.1:8080",
            "PIGEON_EXTRACT_MODEL": "llama3",
        }
    )
    extractor = build_extractor(settings)
    assert isinstance(extractor, LLMExtractor)
    assert isinstance(extractor.client, OpenAICompatibleClient)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"PIGEON_EXTRACT_BACKEND": "gpt"}, "PIGEON_EXTRACT_BACKEND"),
        ({"PIGEON_EXTRACT_TIMEOUT": "soon"}, "PIGEON_EXTRACT_TIMEOUT"),
        ({"PIGEON_EXTRACT_TIMEOUT": "0"}, "PIGEON_EXTRACT_TIMEOUT"),
        ({"PIGEON_EXTRACT_TIMEOUT": "100000"}, "PIGEON_EXTRACT_TIMEOUT"),  # at most an hour
        ({"PIGEON_EXTRACT_LOCALE": "fr"}, "PIGEON_EXTRACT_LOCALE"),  # English only
        ({"PIGEON_EXTRACT_BACKEND": "anthropic"}, "PIGEON_EXTRACT_API_KEY"),
        (
            {"PIGEON_EXTRACT_BACKEND": "openai", "PIGEON_EXTRACT_MODEL": "m"},
            "PIGEON_EXTRACT_BASE_URL",
        ),
        (
            {"PIGEON_EXTRACT_BACKEND": "openai", "PIGEON_EXTRACT_BASE_URL": "http://x"},
            "PIGEON_EXTRACT_MODEL",
        ),
        ({"PIGEON_EXTRACT_BASE_URL": "ftp://x"}, "PIGEON_EXTRACT_BASE_URL"),
    ],
)
def test_errors_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ExtractConfigError) as info:
        ExtractSettings.from_env(env)
    assert info.value.variable == variable
    assert variable in str(info.value)
    assert isinstance(info.value, ValueError)
