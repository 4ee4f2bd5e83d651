"""BSD68 at sigma 25 (paper Sec. 4.2): N2I vs Noise2Void vs supervised at equal wall-clock time.

Trains each method with our engine (same U-Net) on train400 + Gaussian noise for ``--budget``
seconds, tests on bsd68 + noise, compares N2I's inference outputs (z, x, mask averaging) and
tests the sigma-25 models at other noise levels (paper Fig. 7).

    python benchmarks/bsd68.py --data /work/shared/data --budget 300
"""

from __future__ import annotations

import time

import common

PUBLISHED = [("Noise2Void (published)", 27.71), ("Noise2Same (published)", 27.95),
             ("DnCNN supervised (published)", 29.23)]
PUBLISHED_NOISY = 20.19


def build_parser():
    parser = common.base_parser(__doc__.splitlines()[0], "bsd68")
    common.add_model_args(parser)
    parser.add_argument("--budget", type=float, default=300.0, help="training seconds per method")
    parser.add_argument("--methods", nargs="+", default=["n2i", "n2v", "supervised"])
    parser.add_argument("--sigma", type=float, default=25.0)
    parser.add_argument("--train-images", type=int, default=None, help="limit train400 images")
    parser.add_argument("--test-images", type=int, default=None, help="limit bsd68 images")
    parser.add_argument("--mode-images", type=int, default=12)
    parser.add_argument("--masks", type=int, default=8, help="masks averaged in 'masks' mode")
    parser.add_argument("--gen-images", type=int, default=12)
    parser.add_argument("--gen-sigmas", type=float, nargs="+", default=[15, 25, 35, 50])
    return parser


def main(argv=None) -> dict:
    args = common.parse(build_parser(), argv)
    name = args.name or "bsd68"
    env = common.environment()
    train_clean = common.load_folder(args.data / "train400", args.train_images)
    train_noisy = common.add_noise(train_clean, args.sigma, args.seed)
    test_clean = common.load_folder(args.data / "bsd68", args.test_images)
    test_noisy = common.add_noise(test_clean, args.sigma, args.seed + 1)
    results = {"noisy": common.scores(test_noisy, test_clean),
               "gaussian_oracle": common.gaussian_scores(test_noisy, test_clean)}
    models, runs = {}, {}
    for method in args.methods:
        models[method], runs[method] = train_and_test(
            args, method, train_noisy, train_clean, test_noisy, test_clean)
        results[method] = runs[method].pop("scores")
    payload = {"environment": env, "args": vars(args), "n_train": len(train_clean),
               "n_test": len(test_clean), "results": results, "runs": runs,
               "published": dict(PUBLISHED, noisy=PUBLISHED_NOISY)}
    if "n2i" in models:
        payload["inference_modes"] = inference_modes(args, models["n2i"], test_noisy, test_clean)
    gen_models = {m: models[m] for m in ("n2i", "n2v") if m in models}
    if gen_models and args.gen_images:
        payload["generalisation"] = generalisation(args, gen_models, test_clean)
        plot_generalisation(payload["generalisation"], args.out / f"{name}_generalisation.png")
    common.write_results(args.out, name, payload, markdown(payload, args))
    return payload


def train_and_test(args, method, train_noisy, train_clean, test_noisy, test_clean):
    config = common.model_config(args, method, steps=None, time_limit=args.budget)
    targets = train_clean if method == "supervised" else None
    model, run = common.timed_train(train_noisy, config, targets=targets)
    denoised, seconds = common.timed_denoise(model, test_noisy)
    run["scores"] = common.scores(denoised, test_clean)
    run["inference_seconds_per_image"] = round(seconds / len(test_noisy), 3)
    print(f"{method}: {run['steps']} steps, PSNR {run['scores']['psnr']:.2f}", flush=True)
    model.z_outputs = denoised[: args.mode_images]  # reused by the inference-mode comparison
    return model, run


def inference_modes(args, model, test_noisy, test_clean) -> dict:
    model.config = model.config.replace(inference_masks=args.masks)
    n = min(args.mode_images, len(test_noisy))
    noisy, clean = test_noisy[:n], test_clean[:n]
    modes = {"n_images": n, "n_masks": args.masks}
    modes["z"] = common.scores(model.z_outputs[:n], clean)  # the main test's output
    modes["z"]["seconds_per_image"] = None
    for output in ("x", "masks"):
        denoised, seconds = common.timed_denoise(model, noisy, output=output)
        modes[output] = common.scores(denoised, clean)
        modes[output]["seconds_per_image"] = round(seconds / n, 3)
    ranked = sorted(("z", "x", "masks"), key=lambda o: -modes[o]["psnr"])
    modes["best"] = ranked[0]
    modes["margin_db_over_second"] = modes[ranked[0]]["psnr"] - modes[ranked[1]]["psnr"]
    return modes


def generalisation(args, models, test_clean) -> dict:
    clean = test_clean[: args.gen_images]
    table = {"n_images": len(clean), "sigmas": args.gen_sigmas, "psnr": {}}
    rows = {key: [] for key in ("noisy", "gaussian_oracle", *models)}
    for index, sigma in enumerate(args.gen_sigmas):
        noisy = common.add_noise(clean, sigma, args.seed + 100 + index)
        rows["noisy"].append(common.scores(noisy, clean, False)["psnr"])
        rows["gaussian_oracle"].append(common.gaussian_scores(noisy, clean, False)["psnr"])
        for method, model in models.items():
            rows[method].append(common.scores(common.timed_denoise(model, noisy)[0], clean,
                                              False)["psnr"])
    table["psnr"] = rows
    return table


def plot_generalisation(gen: dict, path) -> None:
    plt = common.figure()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    labels = {"noisy": "noisy", "gaussian_oracle": "Gaussian filter (oracle width)",
              "n2i": "N2I (trained at sigma 25)", "n2v": "N2V (trained at sigma 25)"}
    for key, values in gen["psnr"].items():
        ax.plot(gen["sigmas"], values, marker="o", label=labels.get(key, key))
    ax.set_xlabel("test noise sigma")
    ax.set_ylabel(f"mean PSNR (dB), {gen['n_images']} BSD68 images")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def markdown(payload: dict, args) -> str:
    res, runs = payload["results"], payload["runs"]
    rows = [["noisy input", res["noisy"]["psnr"], res["noisy"]["ssim"], "-", "-", "-"],
            ["Gaussian filter, width tuned on clean (oracle)", res["gaussian_oracle"]["psnr"],
             res["gaussian_oracle"]["ssim"], "-", "-", "-"]]
    for method, run in runs.items():
        rows.append([f"{method} (ours, {args.budget:g} s)", res[method]["psnr"],
                     res[method]["ssim"], run["steps"], run["train_seconds"],
                     run["inference_seconds_per_image"]])
    rows += [[label, value, "-", "-", "published, longer training", "-"]
             for label, value in PUBLISHED]
    text = [f"# BSD68, sigma {args.sigma:g}: equal wall-clock training ({args.budget:g} s each)",
            "", f"Trained on {payload['n_train']} train400 images + noise, tested on "
            f"{payload['n_test']} bsd68 images (published noisy: {PUBLISHED_NOISY} dB). "
            "PSNR on unclipped output, data range 255.", "",
            common.md_table(["method", "PSNR (dB)", "SSIM", "steps", "train s", "infer s/img"],
                            rows)]
    text += _modes_md(payload.get("inference_modes"), runs.get("n2i"))
    text += _gen_md(payload.get("generalisation"))
    return "\n".join(text)


def _modes_md(modes, run) -> list[str]:
    if not modes:
        return []
    rows = [[o, modes[o]["psnr"], modes[o]["ssim"], modes[o]["seconds_per_image"] or "as above"]
            for o in ("z", "x", "masks")]
    return ["", f"## N2I inference output ({modes['n_images']} images, mu = {run['mu']:.3f}, "
            f"{modes['n_masks']} masks averaged in 'masks')", "",
            common.md_table(["output", "PSNR (dB)", "SSIM", "s/img"], rows), "",
            f"Best: **{modes['best']}**, {modes['margin_db_over_second']:.2f} dB above the next."]


def _gen_md(gen) -> list[str]:
    if not gen:
        return []
    rows = [[key, *values] for key, values in gen["psnr"].items()]
    headers = ["method", *[f"sigma {s:g}" for s in gen["sigmas"]]]
    return ["", f"## Generalisation: models trained at sigma 25 ({gen['n_images']} images)", "",
            common.md_table(headers, rows)]


if __name__ == "__main__":
    t0 = time.perf_counter()
    main()
    print(f"done in {time.perf_counter() - t0:.0f} s")
