"""Qt widgets only: every decision they show is made in tierdeck.core."""
