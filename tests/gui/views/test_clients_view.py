from __future__ import annotations

from PySide6.QtGui import QGuiApplication

from tierdeck.core.servers.events import ServerStatus


def test_copy_env_puts_the_tier_settings_on_the_clipboard(window, qtbot):
    window.tiers.select("haiku")
    view = window.clients
    st = ServerStatus("haiku", "demo", "ready", port=18123, base_url="http://127.0.0.1:18123")
    view.set_statuses({"haiku": st})
    with qtbot.waitSignal(view.copied, timeout=2000):
        view.buttons["env"].click()
    text = QGuiApplication.clipboard().text()
    assert "export ANTHROPIC_BASE_URL=http://127.0.0.1:18123" in text
    assert "export ANTHROPIC_DEFAULT_HAIKU_MODEL=demo-haiku" in text
    assert "export ANTHROPIC_AUTH_TOKEN=none" in text

    view.buttons["litellm"].click()
    text = QGuiApplication.clipboard().text()
    assert "model_name: demo-haiku" in text and "anthropic/demo-haiku" in text
    assert "api_base: http://127.0.0.1:18123" in text


def test_stopped_auto_port_tier_says_so(window):
    window.tiers.select("sonnet")
    view = window.clients
    view.set_statuses({})
    assert "PORT" in view.texts["env"]
    assert "not running" in view.hint.text()
