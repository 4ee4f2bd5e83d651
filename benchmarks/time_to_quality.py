"""Time to quality: bsd68 PSNR after 1, 2, 4 and 8 minutes of training (meant for one GPU).

One training run per method, with its cosine schedule spread over the longest budget; whenever
the training clock passes a checkpoint, the network as it is at that moment is tested on bsd68 +
sigma 25 noise. Testing time is kept out of the training clock (and so out of the time limit
and the learning-rate schedule). Methods: Noise2Inpaint (``n2i``) and Noise2Void (``n2v``) with
our engine, and optionally CAREamics' Noise2Void (``--careamics``, CAREamics 0.3.x).

    python benchmarks/time_to_quality.py --data /work/shared/data --checkpoints 60 120 240 480

``--mode separate`` trains once per budget instead (each with its own full schedule, public API
only): the honest "what a user gets with this time limit" number, at the sum of the budgets.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import bsd68
import common
import torch

from napari_noise2inpaint import Snapshot, iter_train

TARGET_DB = 27.7
LABELS = {
    "n2i": "Noise2Inpaint (ours)",
    "n2v": "Noise2Void (our engine)",
    "careamics": "Noise2Void (CAREamics)",
}


def build_parser():
    parser = common.base_parser(__doc__.splitlines()[0], "time_to_quality")
    common.add_model_args(parser)
    parser.set_defaults(batch_size=None)
    parser.add_argument(
        "--checkpoints",
        type=float,
        nargs="+",
        default=[60, 120, 240, 480],
        help="training seconds at which the model is tested",
    )
    parser.add_argument(
        "--methods",
        nargs="*",
        default=["n2i", "n2v"],
        choices=["n2i", "n2v"],
        help="methods of our engine (none: only CAREamics, with --careamics)",
    )
    parser.add_argument(
        "--careamics",
        action="store_true",
        help="also train CAREamics' Noise2Void (imported only then)",
    )
    parser.add_argument(
        "--careamics-precision",
        default=None,
        help="Lightning precision of CAREamics, e.g. bf16-mixed (default: its own)",
    )
    parser.add_argument(
        "--careamics-tile",
        type=int,
        default=256,
        help="CAREamics prediction tile (overlap 48; it refuses sides not /4)",
    )
    parser.add_argument("--mode", choices=["snapshot", "separate"], default="snapshot")
    parser.add_argument("--device", choices=["auto", "cuda", "cpu"], default="auto")
    parser.add_argument("--learning-rate", type=float, default=None, help="default: the config's")
    parser.add_argument(
        "--keep-weights",
        choices=["last", "best"],
        default="last",
        help="weights tested when training ends (snapshots are always the current)",
    )
    parser.add_argument("--sigma", type=float, default=25.0)
    parser.add_argument("--train-images", type=int, default=None, help="limit train400 images")
    parser.add_argument("--test-images", type=int, default=68, help="limit bsd68 images")
    parser.add_argument("--target-db", type=float, default=TARGET_DB)
    return parser


def main(argv=None) -> dict:
    args = common.parse(build_parser(), argv)
    args.checkpoints = sorted(set(args.checkpoints))
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.batch_size is None:
        args.batch_size = 128 if args.device == "cuda" else 16
    name = args.name or "time_to_quality"
    env = common.environment()
    env["device"] = device_description(args.device)
    train_clean = common.load_folder(args.data / "train400", args.train_images)
    train_noisy = common.add_noise(train_clean, args.sigma, args.seed)
    test_clean = common.load_folder(args.data / "bsd68", args.test_images)
    test_noisy = common.add_noise(test_clean, args.sigma, args.seed + 1)
    payload = {
        "environment": env,
        "args": vars(args),
        "n_train": len(train_clean),
        "n_test": len(test_clean),
        "target_db": args.target_db,
        "noisy_psnr": common.scores(test_noisy, test_clean, False)["psnr"],
        "published": dict(bsd68.PUBLISHED),
        "runs": {},
    }

    def save():
        payload["time_to_target"] = {
            m: time_to_target(run["checkpoints"], args.target_db)
            for m, run in payload["runs"].items()
        }
        common.write_results(args.out, name, payload, markdown(payload, args))
        plot(payload, args.out / f"{name}.png")

    for method in args.methods:
        run = payload["runs"][method] = {
            "label": LABELS[method],
            "mode": args.mode,
            "checkpoints": [],
        }
        trainer = train_snapshots if args.mode == "snapshot" else train_separately
        trainer(args, method, train_noisy, (test_noisy, test_clean), run, save)
    if args.careamics:
        run = payload["runs"]["careamics"] = {
            "label": LABELS["careamics"],
            "mode": "snapshot",
            "checkpoints": [],
        }
        train_careamics(args, train_noisy, (test_noisy, test_clean), run, save)
    save()
    return payload


def device_description(device: str) -> str:
    if device == "cuda":
        return f"cuda: {torch.cuda.get_device_name(0)}"
    return f"cpu: {common.cpu_model()}"


# ----------------------------------------------------------------------------- our engine
def config_for(args, method, budget):
    changes = {
        "steps": None,
        "time_limit": budget,
        "device": args.device,
        "keep_weights": args.keep_weights,
    }
    if args.learning_rate:
        changes["learning_rate"] = args.learning_rate
    return common.model_config(args, method, **changes)


def evaluate(model, test, device: str = "keep") -> tuple[dict, float]:
    """PSNR of ``model`` on the test pairs, and the seconds it took (network mode restored)."""
    noisy, clean = test
    was_training = model.network.training
    start = time.perf_counter()
    try:
        denoised = [model.denoise(image, device=device) for image in noisy]
    finally:
        model.network.train(was_training)
    seconds = time.perf_counter() - start
    return common.scores(denoised, clean, with_ssim=False), seconds


def record(run, budget, train_s, steps, scores, eval_s, **extra) -> None:
    entry = {
        "budget_s": budget,
        "train_s": round(train_s, 2),
        "steps": steps,
        "psnr": scores["psnr"],
        "psnr_per_image": scores["psnr_per_image"],
        "eval_s": round(eval_s, 2),
        **extra,
    }
    run["checkpoints"].append(entry)
    print(
        f"{run['label']}: {budget:g} s ({train_s:.1f} s, {steps} steps) "
        f"PSNR {scores['psnr']:.2f} dB",
        flush=True,
    )


def train_snapshots(args, method, train_noisy, test, run, save) -> None:
    """One training over the longest budget; the current network is tested at checkpoints."""
    config = config_for(args, method, args.checkpoints[-1])
    run["config"] = json.loads(config.to_json())
    pending = list(args.checkpoints)
    wall = time.perf_counter()
    generator = iter_train(train_noisy, config, snapshot_at_s=args.checkpoints)
    try:
        while True:
            event = next(generator)
            if not isinstance(event, Snapshot):
                continue
            # testing and writing happen while training is paused: not counted as training
            scores, eval_s = evaluate(event.model, test)
            while pending and event.elapsed_s >= pending[0]:
                record(
                    run,
                    pending.pop(0),
                    event.elapsed_s,
                    event.step,
                    scores,
                    eval_s,
                    mu=event.model.mu,
                    weights="current",
                )
            save()  # partial results survive a timeout
    except StopIteration as done:
        model = done.value
    history = model.history
    if pending:  # the time limit ended training before a step passed the last checkpoint
        scores, eval_s = evaluate(model, test, device=args.device)
        for budget in pending:
            record(
                run,
                budget,
                history["seconds"],
                history["steps"],
                scores,
                eval_s,
                mu=model.mu,
                weights=history["kept_weights"],
            )
    run.update(
        steps=history["steps"],
        train_seconds=round(history["seconds"], 2),
        steps_per_s=round(history["steps"] / max(history["seconds"], 1e-9), 3),
        wall_seconds_incl_setup_and_tests=round(time.perf_counter() - wall, 2),
        mu=model.mu,
        kept_weights=history["kept_weights"],
    )
    save()


def train_separately(args, method, train_noisy, test, run, save) -> None:
    """One full training per budget (public API only)."""
    for budget in args.checkpoints:
        config = config_for(args, method, budget)
        model, summary = common.timed_train(train_noisy, config)
        scores, eval_s = evaluate(model, test, device=args.device)
        record(
            run,
            budget,
            summary["train_seconds"],
            summary["steps"],
            scores,
            eval_s,
            mu=model.mu,
            weights=model.history["kept_weights"],
            wall_s=summary["wall_seconds_incl_setup"],
        )
        run["config"] = summary["config"]
        save()


# ----------------------------------------------------------------------------- CAREamics
def train_careamics(args, train_noisy, test, run, save) -> None:
    """CAREamics' Noise2Void, tested at each checkpoint its clock passed (careamics_n2v.py)."""
    import careamics_n2v

    for checkpoint in careamics_n2v.train_and_predict(args, train_noisy, test[0], run):
        scores = common.scores(checkpoint.denoised, test[1], with_ssim=False)
        for budget in checkpoint.budgets:
            record(
                run,
                budget,
                checkpoint.train_s,
                checkpoint.steps,
                scores,
                checkpoint.eval_s,
                weights="current",
            )
        save()


# ----------------------------------------------------------------------------- output
def time_to_target(checkpoints: list[dict], target: float) -> float | None:
    """The first budget whose PSNR reaches ``target`` (None: not within the budgets)."""
    return next((c["budget_s"] for c in checkpoints if c["psnr"] >= target), None)


def plot(payload: dict, path: Path) -> None:
    plt = common.figure()
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for run in payload["runs"].values():
        points = [(c["train_s"] / 60, c["psnr"]) for c in run["checkpoints"]]
        if points:
            ax.plot(*zip(*points, strict=True), marker="o", label=run["label"])
    ax.axhline(
        payload["target_db"],
        color="grey",
        ls="--",
        lw=1,
        label=f"target {payload['target_db']:g} dB",
    )
    ax.set_xlabel("training time (minutes, testing excluded)")
    ax.set_ylabel(f"mean PSNR (dB), {payload['n_test']} BSD68 images")
    precision = payload["args"].get("precision", "float32")
    ax.set_title(f"{payload['environment']['device']}, our engine in {precision}", fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def markdown(payload: dict, args) -> str:
    budgets = args.checkpoints
    rows = []
    for method, run in payload["runs"].items():
        by_budget = {c["budget_s"]: c for c in run["checkpoints"]}
        cells = [
            f"{by_budget[b]['psnr']:.2f} ({by_budget[b]['steps']})" if b in by_budget else "-"
            for b in budgets
        ]
        reached = payload["time_to_target"].get(method)
        rows.append([run["label"], *cells, "not within" if reached is None else f"{reached:g} s"])
    headers = ["method", *[f"{b:g} s" for b in budgets], f"first >= {args.target_db:g} dB"]
    mode = (
        "one training per method, cosine schedule over the longest budget, the current "
        "weights tested at each checkpoint"
        if args.mode == "snapshot"
        else "one training per budget (each with its full schedule)"
    )
    published = ", ".join(f"{k} {v}" for k, v in payload["published"].items())
    precision = getattr(args, "precision", "float32")  # runs before the option were float32
    careamics = getattr(args, "careamics_precision", None) or "32 (float32, its default)"
    return "\n".join(
        [
            f"# Time to quality, BSD68 sigma {args.sigma:g} ({payload['environment']['device']})",
            "",
            f"Mean PSNR (dB) on {payload['n_test']} bsd68 images (steps in brackets) after the "
            f"given training time; {mode}; testing excluded from the clock. Trained on "
            f"{payload['n_train']} train400 images + noise; batch {args.batch_size} of "
            f"{args.patch_size}x{args.patch_size}, {args.features} features, N2I "
            f"K={args.unrolls}; our engine's precision {precision}, CAREamics' {careamics}. "
            f"Noisy input {payload['noisy_psnr']:.2f} dB. Published (longer "
            f"training): {published}.",
            "",
            common.md_table(headers, rows),
        ]
    )


if __name__ == "__main__":
    main()
