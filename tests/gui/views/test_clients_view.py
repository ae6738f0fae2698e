from __future__ import annotations

from PySide6.QtGui import QGuiApplication

from tests.core.servers.test_clients import gateway_record
from tierdeck.core.servers.events import ServerStatus


def test_copy_env_gives_the_gateway_for_every_slot(window, qtbot):
    window.tiers.select("haiku")
    view = window.clients
    view.set_gateway(gateway_record(url="http://127.0.0.1:4123"))
    with qtbot.waitSignal(view.copied, timeout=2000):
        view.buttons["env"].click()
    text = QGuiApplication.clipboard().text()
    assert "export ANTHROPIC_BASE_URL=http://127.0.0.1:4123" in text
    assert "export ANTHROPIC_DEFAULT_HAIKU_MODEL=demo-haiku" in text
    assert "export ANTHROPIC_DEFAULT_SONNET_MODEL=demo-sonnet" in text
    assert "export CLAUDE_CODE_SUBAGENT_MODEL=demo-haiku" in text
    assert "export ANTHROPIC_AUTH_TOKEN=none" in text
    assert "at the gateway http://127.0.0.1:4123" in view.hint.text()

    view.buttons["openai"].click()
    assert "OPENAI_BASE_URL=http://127.0.0.1:4123/v1" in QGuiApplication.clipboard().text()
    view.buttons["litellm"].click()
    text = QGuiApplication.clipboard().text()
    assert "model_name: demo-haiku" in text and "anthropic/demo-sonnet" in text
    assert text.count("api_base: http://127.0.0.1:4123") == len(window.profile.tiers)


def test_direct_url_of_a_tier_stays_available(window, qtbot):
    window.tiers.select("haiku")
    view = window.clients
    st = ServerStatus("haiku", "demo", "ready", port=18123, base_url="http://127.0.0.1:18123")
    view.set_statuses({"haiku": st})
    view.buttons["direct"].click()
    text = QGuiApplication.clipboard().text()
    assert "export ANTHROPIC_BASE_URL=http://127.0.0.1:18123" in text
    assert "directly: http://127.0.0.1:18123" in view.hint.text()


def test_stopped_gateway_and_auto_port_tier_say_so(window):
    window.tiers.select("sonnet")
    view = window.clients
    view.set_gateway(None)
    view.set_statuses({})
    assert "tierdeck gateway demo" in view.texts["env"]
    assert "PORT" in view.texts["direct"]
    assert "(not running)" in view.hint.text()


def test_token_gateway_shows_a_reference_not_a_secret(window):
    window.tiers.select("haiku")
    view = window.clients
    view.set_gateway(gateway_record(token_required=True, url="http://10.0.0.2:4000"))
    assert 'ANTHROPIC_AUTH_TOKEN="$TIERDECK_GATEWAY_TOKEN"' in view.texts["env"]
    assert 'OPENAI_API_KEY="$TIERDECK_GATEWAY_TOKEN"' in view.texts["openai"]
