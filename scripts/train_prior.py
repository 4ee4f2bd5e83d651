"""Train (or continue training) the built-in N2I prior: one command, resumable, seeded.

    python scripts/train_prior.py --data ../shared/data --stage-minutes 30

Each call trains for at most ``--stage-minutes`` (or to ``--total-steps``), saves the training
state (weights + Adam moments, safetensors) to ``--state`` and writes the shippable model and its
card into the package (``src/napari_noise2inpaint/priors/``). Calling it again continues where it
stopped; the batch of step n depends only on (seed, n), so stages give the same model as one run.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
from pathlib import Path

import torch

from napari_noise2inpaint import save_model
from napari_noise2inpaint.model import uses_bfloat16
from napari_noise2inpaint.prior_state import load_training_state, save_training_state
from napari_noise2inpaint.prior_training import (
    PHOTON_RANGE,
    PRIOR_CONFIG,
    READ_NOISE_RANGE,
    SIGMA_RANGE,
    PriorRecipe,
    iter_train_prior,
    load_clean_images,
    prior_model,
)

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "napari_noise2inpaint" / "priors"


def main() -> None:
    """Train one stage, save the state, the model and its card."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the shared data folder")
    parser.add_argument("--state", default="prior_state.safetensors", help="resumable state")
    parser.add_argument("--out", default=str(PACKAGE / "n2i_prior.safetensors"))
    parser.add_argument("--total-steps", type=int, default=PriorRecipe.total_steps)
    parser.add_argument("--stage-minutes", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images, sources = load_clean_images(args.data)
    recipe = PriorRecipe(total_steps=args.total_steps, seed=args.seed, sources=tuple(sources))
    state = load_training_state(args.state, recipe) if Path(args.state).exists() else None
    generator = iter_train_prior(images, recipe, state, args.stage_minutes * 60)
    while True:
        try:
            event = next(generator)
        except StopIteration as done:
            state = done.value
            break
        if event.step % 500 == 0:
            print(
                f"step {event.step}/{recipe.total_steps} loss {event.loss:.4f} "
                f"mu {event.mu:.3f} {event.elapsed_s:.0f} s",
                flush=True,
            )
    save_training_state(state, recipe, args.state)
    model = prior_model(state, recipe, provenance(recipe, state, args.threads))
    save_model(model, args.out)
    Path(args.out).with_suffix(".md").write_text(card(model.history["prior"]))
    print(f"saved step {state['step']} to {args.state} and {args.out}")


def provenance(recipe: PriorRecipe, state: dict, threads: int) -> dict:
    """Describe the data, noise, schedule, arithmetic, machine and commit of this prior."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    bf16 = uses_bfloat16(torch.device("cpu"), PRIOR_CONFIG.precision)
    return {
        "training": "supervised: clean images + synthetic noise (blind: no noise level given)",
        "data": list(recipe.sources),
        "evaluation_data_excluded": "bsd68, set12, microscopy_pairs/fmd, sample seeds < 10000",
        "noise": f"white Gaussian sigma U{SIGMA_RANGE} (8-bit scale) or Poisson-Gaussian "
        f"peak photons logU{PHOTON_RANGE}, read noise U{READ_NOISE_RANGE} photons; "
        "random gamma 0.6-1.6; per-region mean/std normalisation; every other step hides 1/20 "
        "of the pixels from the input and the data consistency (N2I's training input)",
        "architecture": f"N2I K={PRIOR_CONFIG.unrolls}, {PRIOR_CONFIG.features} features, "
        f"depth {PRIOR_CONFIG.depth}, shared U-Net",
        "steps": state["step"],
        "total_steps": recipe.total_steps,
        "schedule": state["schedule"],
        "batch": f"{PRIOR_CONFIG.batch_size} x {PRIOR_CONFIG.patch_size}^2",
        "seed": recipe.seed,
        "seconds": round(state["seconds"]),
        "arithmetic": "bfloat16 autocast" if bf16 else "float32",
        "machine": f"{platform.processor() or platform.machine()}, {threads} thread(s)",
        "commit": commit,
        "torch": torch.__version__,
    }


def card(prov: dict) -> str:
    """Write the model card in markdown."""
    lines = [
        "# Built-in Noise2Inpaint prior",
        "",
        'Loaded with `load_model("builtin")`; used by the widget\'s *Denoise now* and as the',
        "default start of training. Trained by `scripts/train_prior.py`.",
        "",
    ]
    for key, value in prov.items():
        if isinstance(value, list):
            lines.append(f"- **{key}**:")
            lines.extend(f"  - {item}" for item in value)
        else:
            lines.append(f"- **{key}**: {value}")
    lines += [
        "",
        "Licences: the BSD images are offered for non-commercial research and "
        "education; weights derived from them carry that caveat.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
