import json
import shlex
from pathlib import Path

from tierdeck.core.profiles import profile_from_text
from tierdeck.core.servers.cmdline import Features, build_command, parse_help

NEW_HELP = """
----- common params -----

-h,    --help, --usage                  print usage and exit
-t,    --threads N                      number of CPU threads to use during generation
-c,    --ctx-size N                     size of the prompt context (default: 4096, 0 = loaded
                                        from model)
-b,    --batch-size N                   logical maximum batch size (default: 2048)
-ub,   --ubatch-size N                  physical maximum batch size (default: 512)
-fa,   --flash-attn [on|off|auto]       set Flash Attention use ('on', 'off', or 'auto',
                                        default: 'auto')
-ctk,  --cache-type-k TYPE              KV cache data type for K
-ctv,  --cache-type-v TYPE              KV cache data type for V
-np,   --parallel N                     number of parallel sequences to decode (default: 1)
-kvu,  --kv-unified                     use single unified KV buffer
-ngl,  --gpu-layers, --n-gpu-layers N   max. number of layers to store in VRAM
-ncmoe, --n-cpu-moe N                   keep the MoE weights of the first N layers in the CPU
-fit,  --fit [on|off]                   whether to adjust unset arguments to fit in device memory
-lv,   --verbosity, --log-verbosity N   Set the verbosity threshold.
--alias STRING                          set alias for model name
--host HOST                             ip address to listen
--port PORT                             port to listen (default: 8080)
--api-key KEY                           API key to use for authentication
                                        (env: LLAMA_API_KEY)
--metrics                               enable prometheus compatible metrics endpoint
--jinja                                 use jinja template for chat (default: enabled)
-rea,  --reasoning [on|off|auto]        controls whether thinking is allowed
--reasoning-budget N                    controls the amount of thinking allowed
--chat-template-kwargs STRING           sets additional params for the json template parser
"""

OLD_HELP = """
-fa,   --flash-attn                     enable Flash Attention (default: disabled)
-c,    --ctx-size N                     size of the prompt context
-np,   --parallel N                     number of parallel sequences to decode
--alias STRING                          set alias for model name
--chat-template-kwargs STRING           sets additional params for the json template parser
--jinja                                 use jinja template for chat (default: disabled)
"""


def tier(text: str, tmp_path: Path, name: str = "t"):
    body = "tiers:\n  t:\n    model: builtin:demo\n" + "".join(f"    {x}\n" for x in text.splitlines())
    return profile_from_text(body, tmp_path / "p.yaml").tiers[name]


def test_parse_help_new_build():
    f = parse_help(NEW_HELP)
    assert f.reasoning and f.flash_attn_takes_value and f.api_key_env
    assert f.has("--fit") and f.has("-lv") and f.has("--n-cpu-moe") and f.has("-kvu")
    assert not f.has("-m")  # never guessed


def test_parse_help_old_build():
    f = parse_help(OLD_HELP)
    assert not f.reasoning and not f.flash_attn_takes_value and not f.has("--fit")
    assert f.has("--chat-template-kwargs")


def test_haiku_tier_argv(tmp_path):
    t = tier("alias: local-haiku\nthinking: false\nparallel: 2\nctx_per_slot: 32K\n"
             "cache_type: q4_0\nflash_attn: on\nngl: all\nn_cpu_moe: 4\nbatch: 4096\nubatch: 2048\n"
             "extra_args: [--temp, '0.7']", tmp_path)
    cmd = build_command(t, Path("/bin/llama-server"), 8081, parse_help(NEW_HELP))
    a = cmd.argv
    assert a[0] == "/bin/llama-server"

    def val(flag):
        return a[a.index(flag) + 1]

    assert val("-c") == "65536" and val("-np") == "2"  # -c is per slot x slots
    assert val("--alias") == "local-haiku" and val("--reasoning") == "off"
    assert (val("-ctk"), val("-ctv"), val("-fa")) == ("q4_0", "q4_0", "on")
    assert (val("-ngl"), val("--n-cpu-moe"), val("-b"), val("-ub")) == ("all", "4", "4096", "2048")
    assert (val("--host"), val("--port"), val("-lv"), val("--fit")) == ("127.0.0.1", "8081", "4", "off")
    assert "--metrics" in a and "--jinja" in a
    assert a[-2:] == ["--temp", "0.7"]
    assert cmd.planned
    assert shlex.split(cmd.display()) == a


def test_old_binary_gets_chat_template_kwargs_and_bare_fa(tmp_path):
    t = tier("thinking: true\nflash_attn: on", tmp_path)
    a = build_command(t, Path("llama-server"), 9000, parse_help(OLD_HELP)).argv
    assert json.loads(a[a.index("--chat-template-kwargs") + 1]) == {"enable_thinking": True}
    assert "--reasoning" not in a and "-fa" in a and "on" not in a
    assert "--fit" not in a and "-lv" not in a


def test_auto_ctx_leaves_fit_on_and_plan_overrides(tmp_path):
    t = tier("ctx_per_slot: auto\nparallel: 2", tmp_path)
    f = parse_help(NEW_HELP)
    a = build_command(t, Path("s"), 1, f).argv
    assert "-c" not in a and "--fit" not in a
    a = build_command(t, Path("s"), 1, f, ctx_per_slot=4096).argv
    assert a[a.index("-c") + 1] == "8192" and a[a.index("--fit") + 1] == "off"


def test_api_key_kept_out_of_argv_and_masked(tmp_path):
    t = tier("api_key: sekret", tmp_path)
    cmd = build_command(t, Path("s"), 1, parse_help(NEW_HELP))
    assert "sekret" not in cmd.argv and cmd.env["LLAMA_API_KEY"] == "sekret"
    assert "sekret" not in cmd.display() and "****" in cmd.display()
    cmd = build_command(t, Path("s"), 1, Features(frozenset({"--api-key"})))
    assert "sekret" in cmd.argv and "sekret" not in cmd.display()


def test_features_cached_per_binary_and_mtime(tmp_path, fake_bin):
    import os

    from tierdeck.core.paths import app_dirs
    from tierdeck.core.servers import cmdline

    f1 = cmdline.detect_features(fake_bin)
    assert f1.has("--port") and not f1.reasoning
    cache = json.loads((app_dirs().cache / cmdline.HELP_CACHE).read_text())
    assert str(fake_bin.resolve()) in cache
    # a rebuilt binary (new mtime) is asked again
    fake_bin.write_text(fake_bin.read_text().replace("--alias STRING", "-rea, --reasoning [on|off]"))
    st = fake_bin.stat()
    os.utime(fake_bin, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert cmdline.detect_features(fake_bin).reasoning
