"""The YAML of a one-tier profile for a model the user just picked (Add model)."""

from __future__ import annotations

import re
from pathlib import Path

from ruamel.yaml import YAML

from tierdeck.core.fsutil import atomic_write_text
from tierdeck.core.paths import app_dirs, ensure_dir
from tierdeck.core.planner import Estimate
from tierdeck.core.profiles import Profile, ProfileError, profile_from_text


def profile_name_for(model_path: Path) -> str:
    stem = model_path.name.removesuffix(".gguf")
    stem = re.sub(r"-\d{5}-of-\d{5}$", "", stem)  # split GGUF parts
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-.").lower()
    return name or "my-model"


def new_profile_text(name: str, model_path: Path, tier: str, alias: str, estimate: Estimate | None,
                     thinking: bool | None = None, description: str = "") -> str:
    body: dict[str, str | int | bool] = {"model": str(model_path), "alias": alias}
    if thinking is not None:
        body["thinking"] = thinking
    if estimate is not None:
        body["parallel"] = int(estimate.parallel)
        body["ctx_per_slot"] = int(estimate.ctx_per_slot)
        if estimate.type_k == estimate.type_v:
            body["cache_type"] = estimate.type_k
        else:
            body["cache_type_k"], body["cache_type_v"] = estimate.type_k, estimate.type_v
        if estimate.n_cpu_moe:
            body["n_cpu_moe"] = int(estimate.n_cpu_moe)
    else:
        body["ctx_per_slot"] = "auto"
    body["port"] = "auto"
    doc = {"name": name, "description": description or f"{model_path.name}, added in TierDeck",
           "tiers": {tier: body}}
    import io  # noqa: PLC0415

    buf = io.StringIO()
    y = YAML()
    y.default_flow_style = False
    y.dump(doc, buf)
    return "# Made by TierDeck's Add model; edit freely, comments are kept.\n" + buf.getvalue()


def save_new_profile(text: str, name: str, overwrite: bool = False) -> Profile:
    """Validate, then write <profiles>/<name>.yaml; never replaces a file unless asked."""
    folder = ensure_dir(app_dirs().profiles)
    path = folder / f"{name}.yaml"
    if path.exists() and not overwrite:
        raise ProfileError(f"{path}: a profile file of that name exists; pick another name")
    prof = profile_from_text(text, path, "user")
    atomic_write_text(path, text, mode=0o600)
    return prof
