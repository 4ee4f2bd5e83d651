"""The resumable state of the prior's training: weights, Adam's moments and the schedule.

Stored as safetensors (tensors) with JSON metadata (step, seconds, recipe, schedule); nothing is
unpickled when a stage continues.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from .prior_training import PriorRecipe


def save_training_state(state: dict, recipe: PriorRecipe, path: str | Path) -> None:
    """Write weights, Adam's moments and the step counter to a safetensors file."""
    tensors = {f"network.{k}": v.contiguous() for k, v in state["network"].items()}
    optim = state["optimizer"]
    for index, moments in optim["state"].items():
        for key, value in moments.items():
            tensors[f"optimizer.{index}.{key}"] = torch.as_tensor(value).contiguous()
    metadata = {
        "step": str(state["step"]),
        "seconds": str(state["seconds"]),
        "recipe": json.dumps(
            {
                "total_steps": recipe.total_steps,
                "learning_rate": recipe.learning_rate,
                "seed": recipe.seed,
            }
        ),
        "param_groups": json.dumps(optim["param_groups"]),
        "schedule": json.dumps(state.get("schedule", [[0, recipe.total_steps]])),
    }
    save_file(tensors, str(path), metadata=metadata)


def load_training_state(path: str | Path, recipe: PriorRecipe) -> dict:
    """Read a state written by :func:`save_training_state`.

    The seed and learning rate must match ``recipe``; a different ``total_steps`` changes the
    schedule from the saved step on, and the change is recorded in ``state["schedule"]`` as
    ``[step, total_steps]`` pairs (so that the stages can be repeated exactly).
    """
    from safetensors import safe_open

    with safe_open(str(path), "pt") as handle:
        metadata = handle.metadata()
    saved = json.loads(metadata["recipe"])
    wanted = {"learning_rate": recipe.learning_rate, "seed": recipe.seed}
    if {key: saved[key] for key in wanted} != wanted:
        raise ValueError(f"{path} was trained with {saved}, not {wanted}.")
    step = int(metadata["step"])
    schedule = json.loads(metadata.get("schedule", json.dumps([[0, saved["total_steps"]]])))
    if schedule[-1][1] != recipe.total_steps:
        schedule.append([step, recipe.total_steps])
    tensors = load_file(str(path))
    network = {k[len("network.") :]: v for k, v in tensors.items() if k.startswith("network.")}
    moments: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith("optimizer."):
            _, index, name = key.split(".", 2)
            moments.setdefault(int(index), {})[name] = value
    optimizer = {"state": moments, "param_groups": json.loads(metadata["param_groups"])}
    return {
        "network": network,
        "optimizer": optimizer,
        "step": step,
        "seconds": float(metadata["seconds"]),
        "schedule": schedule,
    }
