import pytest

from tierdeck.core.servers import binary
from tierdeck.core.servers.binary import LlamaServerNotFound, find_llama_server


def exe(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def nowhere(monkeypatch, tmp_path):
    """No package, no usual places: only what each test puts there."""
    monkeypatch.setattr(binary, "_from_package", lambda: None)
    monkeypatch.setattr(binary, "USUAL_PLACES", (str(tmp_path / "usual"),))
    return tmp_path


def test_order_setting_env_path(nowhere):
    a = exe(nowhere / "a/llama-server")
    b = exe(nowhere / "b/llama-server")
    c = exe(nowhere / "c/llama-server")
    env = {"LLAMA_SERVER": str(b), "PATH": str(c.parent)}
    assert find_llama_server(str(a), env) == binary.Found(a, "setting")
    assert find_llama_server(None, env) == binary.Found(b, "LLAMA_SERVER")
    assert find_llama_server(None, {"PATH": str(c.parent)}) == binary.Found(c, "PATH")


def test_usual_place_and_companion(nowhere):
    s = exe(nowhere / "usual/llama-server")
    found = find_llama_server(None, {"PATH": ""})
    assert found.how == "usual place" and found.path == s
    assert found.companion("llama-fit-params") is None
    fit = exe(nowhere / "usual/llama-fit-params")
    assert found.companion("llama-fit-params") == fit


def test_bad_setting_is_an_error_not_a_fallback(nowhere):
    exe(nowhere / "c/llama-server")
    with pytest.raises(LlamaServerNotFound, match="setting points to .*not an executable"):
        find_llama_server(str(nowhere / "missing"), {"PATH": str(nowhere / "c")})


def test_not_found_says_how_to_get_one(nowhere):
    with pytest.raises(LlamaServerNotFound) as e:
        find_llama_server(None, {"PATH": ""})
    assert "tierdeck[server]" in str(e.value) and "LLAMA_SERVER" in str(e.value)
