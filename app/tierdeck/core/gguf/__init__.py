"""GGUF model facts for the planner, read from headers only (tensor data is never touched)."""

from tierdeck.core.gguf.facts import LayerKV, ModelFacts, TensorEntry, read_facts
from tierdeck.core.gguf.reader import GGUFError

__all__ = ["GGUFError", "LayerKV", "ModelFacts", "TensorEntry", "read_facts"]
