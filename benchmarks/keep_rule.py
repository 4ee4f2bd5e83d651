"""Does adapting the built-in prior ever make the image worse? (CPU, one core, float32)

For each of the twenty cases of ``cases.keep_rule_cases`` (set12 02/04/05/07 at sigma
15/25/50, both FMD pairs, two synthetic Poisson-Gaussian scenes, set12 02/05 with 3x3 and 1x5
correlated noise): the prior alone (*Denoise now*), then one adaptation run from it with the
widget's settings (``config_for_init``), scored at 60, 120 and 300 s of training with the
model the run would return then (the keep rule applied). Per score: PSNR, the gain over the
prior alone, whether the adapted weights were kept and the keep rule's estimated gain.

    python benchmarks/keep_rule.py --data ../shared/data --threads 1 --cases 0-9
"""

from __future__ import annotations

import time

import cases
import common
import numpy as np

from napari_noise2inpaint import (
    Noise2InpaintConfig,
    Snapshot,
    denoise,
    iter_train,
    load_model,
    run_to_end,
)
from napari_noise2inpaint.prior import config_for_init
from napari_noise2inpaint.prior.choice import choose_network

SCORES_S = (60.0, 120.0, 300.0)
TOLERANCE_DB = 0.05


def build_parser():
    parser = common.base_parser(__doc__.splitlines()[0], "keep_rule")
    parser.add_argument("--cases", default="0-19", help="index range of the cases, e.g. 0-9")
    parser.add_argument("--scores", default=",".join(f"{s:g}" for s in SCORES_S),
                        help="training seconds at which the kept model is scored")
    parser.add_argument("--steps", type=int, default=None,
                        help="training steps (default: the widget's; a large value lets the "
                             "last score time end the run)")
    return parser


def adapt_case(case: dict, prior, scores_s: list[float], seed: int, steps: int | None) -> dict:
    clean, value_range = case["clean"], case["range"]
    start = time.perf_counter()
    alone = denoise(prior, case["noisy"])
    prior_seconds = time.perf_counter() - start
    prior_psnr = common.psnr(alone, clean, value_range)
    config = config_for_init(Noise2InpaintConfig(), prior).replace(
        time_limit=max(scores_s), precision="float32", seed=seed
    )
    if steps is not None:
        config = config.replace(steps=steps)
    rows = []

    def on_event(event) -> None:
        if isinstance(event, Snapshot):
            rows.append(_score(event.model, event.elapsed_s, case, prior_psnr))

    generator = iter_train(case["noisy"], config, init=prior, snapshot_at_s=scores_s[:-1])
    final = run_to_end(generator, on_event=on_event)
    rows.append(_score(final, final.history["seconds"], case, prior_psnr))
    return {"prior_psnr": prior_psnr, "prior_seconds": prior_seconds,
            "prior_network": _network_name(prior, case["noisy"]), "runs": rows}


def _score(model, seconds: float, case: dict, prior_psnr: float) -> dict:
    psnr = common.psnr(denoise(model, case["noisy"]), case["clean"], case["range"])
    record = model.history.get("adaptation") or {}
    return {
        "training_s": round(seconds, 1),
        "steps": model.history.get("steps"),
        "psnr": psnr,
        "gain_db": psnr - prior_psnr,
        "kept": model.history.get("kept_weights"),
        "estimated_gain_db": record.get("estimated_gain_db"),
        "reason": record.get("reason"),
        "start_network": model.history.get("prior_network"),
    }


def _network_name(prior, noisy) -> str:
    return choose_network(prior, noisy).history["prior_network"]


def markdown(payload: dict) -> str:
    rows = []
    for name, result in payload["cases"].items():
        for run in result["runs"]:
            rows.append([name, result["prior_network"], round(result["prior_psnr"], 2),
                         run["training_s"], run["steps"], round(run["psnr"], 2),
                         round(run["gain_db"], 3), run["kept"], run["estimated_gain_db"]])
    lines = ["# Adapting the built-in prior: never worse than the prior? (CPU, float32)", "",
             common.env_markdown(payload["environment"]), "",
             common.md_table(["case", "prior network", "prior dB", "training s", "steps",
                              "result dB", "gain dB", "kept weights", "estimated gain dB"],
                             rows), ""]
    return "\n".join(lines + _summary(payload))


def _summary(payload: dict) -> list[str]:
    by_budget = {}
    for result in payload["cases"].values():
        for index, run in enumerate(result["runs"]):
            by_budget.setdefault(index, []).append(run)
    lines = ["## Summary per score time", ""]
    table = []
    for index, runs in sorted(by_budget.items()):
        gains = np.array([r["gain_db"] for r in runs])
        adapted = sum(r["kept"] != "start" for r in runs)
        table.append([payload["scores"][index] if index < len(payload["scores"]) else "final",
                      len(runs), adapted, round(float(gains.mean()), 3),
                      round(float(gains.max()), 3), round(float(gains.min()), 3),
                      int((gains < -TOLERANCE_DB).sum())])
    lines.append(common.md_table(["score at s", "cases", "adapted weights kept", "mean gain dB",
                                  "max gain dB", "min gain dB",
                                  f"cases below prior by > {TOLERANCE_DB} dB"], table))
    return lines + [""]


def main(argv=None) -> dict:
    args = common.parse(build_parser(), argv)
    first, _, last = args.cases.partition("-")
    selected = range(int(first), int(last or first) + 1)
    scores_s = [float(s) for s in args.scores.split(",")]
    prior = load_model("builtin").with_precision("float32")
    payload = {"environment": common.environment(), "scores": scores_s, "cases": {}}
    for index, case in enumerate(cases.keep_rule_cases(args.data, args.seed)):
        if index not in selected:
            continue
        payload["cases"][case["name"]] = adapt_case(
            case, prior, scores_s, args.seed, args.steps
        )
        print(case["name"], payload["cases"][case["name"]], flush=True)
        name = args.name or f"keep_rule_{args.cases}"
        common.write_results(args.out, name, payload, markdown(payload))
    return payload


if __name__ == "__main__":
    main()
