"""The tier gateway: one local endpoint for every tier of a profile."""
