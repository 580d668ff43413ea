"""The webhook settings from the environment."""

from __future__ import annotations

from loadbay.config import Settings


def test_webhook_settings_from_the_environment() -> None:
    found = Settings.from_env(
        {
            "LOADBAY_WEBHOOK_ALLOW_PRIVATE": "1",
            "LOADBAY_WEBHOOK_RETRY_SCHEDULE": "1, 2.5,10",
            "LOADBAY_WEBHOOK_TIMEOUT": "2",
            "LOADBAY_WEBHOOK_DISABLE_AFTER": "3600",
        }
    )
    assert found.webhook_allow_private is True
    assert found.webhook_retry_schedule == (1.0, 2.5, 10.0)
    assert found.webhook_timeout == 2.0 and found.webhook_disable_after == 3600.0


def test_webhook_defaults_refuse_private_addresses_and_retry_for_about_a_day() -> None:
    found = Settings.from_env({})
    assert found.webhook_allow_private is False
    assert found.webhook_retry_schedule == (5, 60, 300, 1800, 7200, 28800)
    assert Settings.from_env({"LOADBAY_WEBHOOK_ALLOW_PRIVATE": "0"}).webhook_allow_private is False
