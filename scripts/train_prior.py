"""Train (or continue training) the built-in N2I prior: one command, resumable, seeded.

    python scripts/train_prior.py --data ../shared/data --stage-minutes 30

The prior is trained by the engine's own loop (``iter_train`` with the synthetic-noise
``source``, supervised on clean targets), every sample carrying its noise model into the data
consistency. Each call trains for at most ``--stage-minutes`` (or to ``--total-steps``), saves
the state (weights + Adam moments, safetensors) to ``--state``, measures PSNR on a fixed
validation set (held-out synthetic scenes, never trained on), appends it to the curve kept in
the state, and writes the shippable model and its card into the package. Calling it again
continues where it stopped; the batch of step n depends only on (seed, n). ``--init`` starts
the first stage from a saved model's weights (the previous prior).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from napari_noise2inpaint import load_model, save_model
from napari_noise2inpaint.engine.events import run_to_end
from napari_noise2inpaint.engine.training import iter_train
from napari_noise2inpaint.engine.training_state import TrainingState
from napari_noise2inpaint.prior.recipe import (
    PRIOR_CONFIG,
    card,
    load_clean_images,
    prior_model,
    provenance,
    validation_psnr,
)
from napari_noise2inpaint.prior.source import SyntheticNoiseSource

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "napari_noise2inpaint" / "priors"


def main() -> None:
    """Train one stage, save the state, the curve, the model and its card."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the shared data folder")
    parser.add_argument("--state", default="prior_state.safetensors", help="resumable state")
    parser.add_argument("--out", default=str(PACKAGE / "n2i_prior.safetensors"))
    parser.add_argument("--init", help="model whose weights start the first stage")
    parser.add_argument("--total-steps", type=int, default=8000)
    parser.add_argument("--learning-rate", type=float, default=5e-4)
    parser.add_argument("--stage-minutes", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images, sources = load_clean_images(args.data)
    state = TrainingState.load(args.state) if Path(args.state).exists() else TrainingState()
    config = PRIOR_CONFIG.replace(
        seed=args.seed,
        steps=args.total_steps,
        learning_rate=args.learning_rate,
        time_limit=args.stage_minutes * 60,
    )
    init = load_model(args.init) if args.init and not state.network else None
    if init is not None:
        state.record["init"] = args.init
    schedule = state.record.setdefault("schedule", [[state.step, args.total_steps]])
    if schedule[-1][1] != args.total_steps:
        schedule.append([state.step, args.total_steps])
    source = SyntheticNoiseSource(images, config.patch_size, args.seed)
    started = time.perf_counter()
    generator = iter_train(None, config, source=source, resume=state, init=init)
    model = run_to_end(generator, on_event=_printer(args.total_steps))
    psnr = validation_psnr(model)
    state.record.setdefault("curve", []).append({"step": state.step, **psnr})
    state.save(args.state)
    shipped = prior_model(model, provenance(state, sources, args.threads))
    save_model(shipped, args.out)
    Path(args.out).with_suffix(".md").write_text(card(shipped.history["prior"]))
    minutes = (time.perf_counter() - started) / 60
    print(f"step {state.step}: validation {psnr} ({minutes:.1f} min); saved {args.out}")


def _printer(total: int):
    def on_event(event) -> None:
        if getattr(event, "step", 0) % 250 == 0 and hasattr(event, "loss"):
            print(
                f"step {event.step}/{total} loss {event.loss:.4f} val {event.val_loss} "
                f"mu {event.mu:.3f} {event.elapsed_s:.0f} s",
                flush=True,
            )

    return on_event


if __name__ == "__main__":
    main()
