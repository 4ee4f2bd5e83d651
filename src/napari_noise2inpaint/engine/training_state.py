"""The resumable state of a long training (the prior's stages): weights, Adam's moments, step.

Stored as safetensors (tensors) with JSON metadata; nothing is unpickled when a stage continues.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file


@dataclass
class TrainingState:
    """Where a training stopped, so that the next stage continues it exactly.

    :func:`napari_noise2inpaint.iter_train` with ``resume=state`` starts from it and updates it
    in place when the stage ends.

    Attributes
    ----------
    network : dict of torch.Tensor
        The network's state dict (empty before the first stage).
    optimizer : dict
        Adam's state dict (empty before the first stage).
    step : int
        Optimisation steps done.
    seconds : float
        Training time of all stages.
    record : dict
        Anything the caller keeps with the state (JSON-able): the schedule, a validation curve.
    """

    network: dict = field(default_factory=dict)
    optimizer: dict = field(default_factory=dict)
    step: int = 0
    seconds: float = 0.0
    record: dict = field(default_factory=dict)

    def save(self, path: str | Path) -> None:
        """Write the state to a safetensors file."""
        tensors = {f"network.{k}": v.detach().contiguous() for k, v in self.network.items()}
        for index, moments in self.optimizer.get("state", {}).items():
            for key, value in moments.items():
                tensors[f"optimizer.{index}.{key}"] = torch.as_tensor(value).contiguous()
        metadata = {
            "step": str(self.step),
            "seconds": str(self.seconds),
            "param_groups": json.dumps(self.optimizer.get("param_groups", [])),
            "record": json.dumps(self.record),
        }
        save_file(tensors, str(path), metadata=metadata)

    @classmethod
    def load(cls, path: str | Path) -> TrainingState:
        """Read a state written by :meth:`save`."""
        with safe_open(str(path), "pt") as handle:
            metadata = handle.metadata()
        tensors = load_file(str(path))
        network = {k[len("network.") :]: v for k, v in tensors.items() if k.startswith("network.")}
        moments: dict[int, dict] = {}
        for key, value in tensors.items():
            if key.startswith("optimizer."):
                _, index, name = key.split(".", 2)
                moments.setdefault(int(index), {})[name] = value
        groups = json.loads(metadata["param_groups"])
        return cls(
            network=network,
            optimizer={"state": moments, "param_groups": groups} if groups else {},
            step=int(metadata["step"]),
            seconds=float(metadata["seconds"]),
            record=json.loads(metadata.get("record", "{}")),
        )
