"""The tier gateway: one local endpoint (Anthropic + OpenAI APIs) in front of every tier.

It maps a request's model name to a tier, applies the tier's per-request settings, starts
or swaps in the tier's engine on demand, queues by the tier's concurrency and the engine's
KV pool, and passes bodies and streams through to llama-server (or a remote API).
"""
