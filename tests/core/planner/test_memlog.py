"""MemoryLogParser on load logs as llama-server prints them at -lv 4."""

from __future__ import annotations

from tierdeck.core.servers.memlog import MemoryLogParser, device_of

MiB = 1024 * 1024

LOG = """\
0.01.234.567 I load_tensors:   CPU_Mapped model buffer size =     0.41 MiB
0.01.234.567 I load_tensors:        CUDA0 model buffer size = 20480.50 MiB
0.01.300.000 I llama_context:  CUDA_Host  output buffer size =     1.16 MiB
0.01.300.001 I llama_kv_cache:      CUDA0 KV buffer size =  5120.00 MiB
0.01.300.002 I llama_kv_cache: size = 5120.00 MiB ( 16384 cells,  40 layers,  2/2 seqs), K (f16): 2560.00 MiB, V (f16): 2560.00 MiB
0.01.300.003 I llama_memory_recurrent:      CUDA0 RS buffer size =   125.63 MiB
0.01.400.000 I sched_reserve:      CUDA0 compute buffer size =   307.00 MiB
0.01.400.000 I sched_reserve:  CUDA_Host compute buffer size =    42.01 MiB
srv  load_model: initializing, n_slots = 2, n_ctx_slot = 16384, kv_unified = 'false'
"""


def test_parse_full_load():
    p = MemoryLogParser()
    r = p.feed_text(LOG)
    assert r.model_bytes == {"CPU_Mapped": round(0.41 * MiB), "CUDA0": round(20480.5 * MiB)}
    assert r.kv_bytes == {"CUDA0": 5120 * MiB}
    assert r.recurrent_bytes == {"CUDA0": round(125.63 * MiB)}
    assert r.compute_bytes == {"CUDA0": 307 * MiB, "CUDA_Host": round(42.01 * MiB)}
    assert r.output_bytes == {"CUDA_Host": round(1.16 * MiB)}
    kv = r.kv_caches[0]
    assert (kv.cells, kv.layers, kv.seqs, kv.streams, kv.type_k, kv.type_v) == (16384, 40, 2, 2, "f16", "f16")
    assert kv.k_bytes == 2560 * MiB
    assert r.n_ctx_slot == 16384 and r.n_slots == 2
    dev = r.per_device()
    assert dev["CUDA0"] == round((20480.5 + 5120 + 125.63 + 307) * MiB)
    assert r.complete and r.total == sum(dev.values())
    d = r.to_dict()
    assert d["kv_total"] == 5120 * MiB and d["per_device"]["CPU"] == dev["CPU"]


def test_incremental_and_reload():
    p = MemoryLogParser()
    lines = LOG.splitlines()
    for ln in lines[:2]:
        p.feed(ln)
    assert not p.result.complete and p.result.model_total > 0
    for ln in lines[2:]:
        p.feed(ln)
    assert p.result.complete
    # a second load in the same log starts a fresh record
    p.feed("load_tensors:   CPU_Mapped model buffer size =     1.00 MiB")
    assert p.result.model_bytes == {"CPU_Mapped": MiB} and not p.result.kv_bytes


def test_ignores_noise_and_old_prefixes():
    p = MemoryLogParser()
    p.feed("llama_new_context_with_model:        CPU compute buffer size =     2.14 MiB")
    p.feed("garbage buffer size = lots")
    p.feed("")
    assert p.result.compute_bytes == {"CPU": round(2.14 * MiB)}
    assert device_of("CPU_REPACK") == "CPU" and device_of("Metal_Mapped") == "Metal"
    assert device_of("CUDA1") == "CUDA1"
