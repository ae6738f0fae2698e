"""TierDeck: plan, run and watch llama-server tiers on your own GPU."""

__version__ = "0.1.0"
