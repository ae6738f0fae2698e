"""The Plan tab: the plan view, the per-device bar, their Qt-free models, adding a model."""
