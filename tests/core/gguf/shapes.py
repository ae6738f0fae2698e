"""Metadata-only GGUFs with the published shapes of real models (no tensors, no weights)."""

from __future__ import annotations

from tierdeck.core.gguf.synth import SynthModel


def qwen3_14b() -> SynthModel:
    a = "qwen3"
    return SynthModel(a, {
        "general.name": "Qwen3-14B", f"{a}.block_count": 40, f"{a}.context_length": 40960,
        f"{a}.embedding_length": 5120, f"{a}.feed_forward_length": 17408,
        f"{a}.attention.head_count": 40, f"{a}.attention.head_count_kv": 8,
        f"{a}.attention.key_length": 128, f"{a}.attention.value_length": 128,
    }, vocab=1000)


def qwen36_35b_a3b(nextn: bool = False) -> SynthModel:
    a = "qwen35moe"
    kv = {
        "general.name": "Qwen3.6-35B-A3B", f"{a}.block_count": 41 if nextn else 40,
        f"{a}.context_length": 262144, f"{a}.embedding_length": 2048,
        f"{a}.attention.head_count": 16, f"{a}.attention.head_count_kv": 2,
        f"{a}.attention.key_length": 256, f"{a}.attention.value_length": 256,
        f"{a}.full_attention_interval": 4, f"{a}.expert_count": 256, f"{a}.expert_used_count": 8,
        f"{a}.expert_feed_forward_length": 512, f"{a}.expert_shared_feed_forward_length": 512,
        f"{a}.ssm.conv_kernel": 4, f"{a}.ssm.inner_size": 4096, f"{a}.ssm.state_size": 128,
        f"{a}.ssm.group_count": 16, f"{a}.ssm.time_step_rank": 32,
    }
    if nextn:
        kv[f"{a}.nextn_predict_layers"] = 1
    return SynthModel(a, kv, vocab=1000)


def gpt_oss_120b() -> SynthModel:
    a = "gpt-oss"
    return SynthModel(a, {
        "general.name": "gpt-oss-120b", f"{a}.block_count": 36, f"{a}.context_length": 131072,
        f"{a}.embedding_length": 2880, f"{a}.attention.head_count": 64,
        f"{a}.attention.head_count_kv": 8, f"{a}.attention.key_length": 64,
        f"{a}.attention.value_length": 64, f"{a}.attention.sliding_window": 128,
        f"{a}.expert_count": 128, f"{a}.expert_used_count": 4,
        f"{a}.expert_feed_forward_length": 2880,
    }, vocab=1000)


def gemma3_27b() -> SynthModel:
    a = "gemma3"
    return SynthModel(a, {
        "general.name": "gemma-3-27b-it", f"{a}.block_count": 62, f"{a}.context_length": 131072,
        f"{a}.embedding_length": 5376, f"{a}.feed_forward_length": 21504,
        f"{a}.attention.head_count": 32, f"{a}.attention.head_count_kv": 16,
        f"{a}.attention.key_length": 128, f"{a}.attention.value_length": 128,
        f"{a}.attention.sliding_window": 1024,
    }, vocab=1000)


def glm47_flash() -> SynthModel:
    a = "deepseek2"
    return SynthModel(a, {
        "general.name": "GLM-4.7-Flash", f"{a}.block_count": 48, f"{a}.nextn_predict_layers": 1,
        f"{a}.context_length": 202752, f"{a}.embedding_length": 2048,
        f"{a}.attention.head_count": 20, f"{a}.attention.head_count_kv": 1,
        f"{a}.attention.key_length": 576, f"{a}.attention.value_length": 512,
        f"{a}.attention.key_length_mla": 256, f"{a}.attention.value_length_mla": 256,
        f"{a}.attention.kv_lora_rank": 512, f"{a}.attention.q_lora_rank": 768,
        f"{a}.expert_count": 64, f"{a}.expert_used_count": 4, f"{a}.expert_shared_count": 1,
        f"{a}.expert_feed_forward_length": 1536, f"{a}.leading_dense_block_count": 1,
    }, vocab=1000)
