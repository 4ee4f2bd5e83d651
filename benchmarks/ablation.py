"""Ablation of the loss-set fraction rho and the number of unrolls K at equal training time.

Each configuration trains for ``--budget`` seconds on a subset of train400 + sigma 25 noise and
is tested on set12 + sigma 25 noise (mean PSNR). The rho sweep uses K = ``--unrolls``; the K
sweep uses rho = ``--rho``; their shared point is trained once.

    python benchmarks/ablation.py --data /work/shared/data --budget 60
"""

from __future__ import annotations

import common


def build_parser():
    parser = common.base_parser(__doc__.splitlines()[0], "ablation")
    common.add_model_args(parser)
    parser.add_argument("--rho", type=float, default=0.05, help="rho of the K sweep")
    parser.add_argument("--budget", type=float, default=60.0, help="training seconds per config")
    parser.add_argument("--rho-values", type=float, nargs="+", default=[0.05, 0.1, 0.2, 0.5])
    parser.add_argument("--k-values", type=int, nargs="+", default=[1, 3, 5, 8])
    parser.add_argument("--train-images", type=int, default=100)
    parser.add_argument("--test-images", type=int, default=None, help="limit set12 images")
    parser.add_argument("--sigma", type=float, default=25.0)
    return parser


def main(argv=None) -> dict:
    args = common.parse(build_parser(), argv)
    name = args.name or "ablation"
    env = common.environment()
    train_noisy = common.add_noise(common.load_folder(args.data / "train400", args.train_images),
                                   args.sigma, args.seed)
    test_clean = common.load_folder(args.data / "set12", args.test_images)
    test_noisy = common.add_noise(test_clean, args.sigma, args.seed + 1)
    points = [(rho, args.unrolls) for rho in args.rho_values]
    points += [(args.rho, k) for k in args.k_values if (args.rho, k) not in points]
    runs = [run_point(args, rho, k, train_noisy, test_noisy, test_clean) for rho, k in points]
    payload = {"environment": env, "args": vars(args), "n_train": len(train_noisy),
               "n_test": len(test_clean),
               "noisy_psnr": common.scores(test_noisy, test_clean, False)["psnr"],
               "gaussian_oracle_psnr": common.gaussian_scores(test_noisy, test_clean,
                                                              False)["psnr"],
               "runs": runs}
    rho_runs = sorted((r for r in runs if r["unrolls"] == args.unrolls
                       and r["rho"] in args.rho_values), key=lambda r: r["rho"])
    k_runs = sorted((r for r in runs if r["rho"] == args.rho and r["unrolls"] in args.k_values),
                    key=lambda r: r["unrolls"])
    plot(rho_runs, "rho", "loss-set fraction rho", payload, args.out / f"{name}_rho.png")
    plot(k_runs, "unrolls", "unrolls K", payload, args.out / f"{name}_unrolls.png")
    common.write_results(args.out, name, payload, markdown(payload, args, rho_runs, k_runs))
    return payload


def run_point(args, rho, unrolls, train_noisy, test_noisy, test_clean) -> dict:
    config = common.model_config(args, "n2i", rho=rho, unrolls=unrolls, steps=None,
                                 time_limit=args.budget)
    model, run = common.timed_train(train_noisy, config)
    denoised, seconds = common.timed_denoise(model, test_noisy)
    run.update(rho=rho, unrolls=unrolls, n_sets=config.n_sets,
               psnr=common.scores(denoised, test_clean, False)["psnr"],
               inference_seconds=round(seconds, 2))
    print(f"rho {rho}, K {unrolls}: {run['steps']} steps, {run['psnr']:.2f} dB", flush=True)
    return run


def plot(runs, key, xlabel, payload, path) -> None:
    plt = common.figure()
    fig, ax = plt.subplots(figsize=(4, 3))
    xs = [r[key] for r in runs]
    ax.plot(xs, [r["psnr"] for r in runs], marker="o", label="N2I")
    ax.axhline(payload["gaussian_oracle_psnr"], color="gray", ls="--",
               label="Gaussian filter (oracle width)")
    for r in runs:
        ax.annotate(f"{r['steps']} steps", (r[key], r["psnr"]), fontsize=7,
                    textcoords="offset points", xytext=(2, 4))
    if key == "rho":
        ax.set_xscale("log")
        ax.set_xticks(xs, [f"{x:g}" for x in xs])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"mean PSNR (dB), set12 ({payload['n_test']})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def markdown(payload, args, rho_runs, k_runs) -> str:
    def rows(runs):
        return [[r["rho"], r["n_sets"], r["unrolls"], r["psnr"], r["steps"], r["mu"],
                 r["train_seconds"]] for r in runs]

    headers = ["rho", "sets L", "K", "PSNR (dB)", "steps", "mu", "train s"]
    return "\n".join([
        f"# Ablation: rho and K at equal training time ({args.budget:g} s each)", "",
        f"Trained on {payload['n_train']} train400 images + sigma {args.sigma:g} noise, "
        f"{args.features} features, batch {args.batch_size}; tested on set12 "
        f"({payload['n_test']} images). Noisy: {payload['noisy_psnr']:.2f} dB; Gaussian filter "
        f"with oracle width: {payload['gaussian_oracle_psnr']:.2f} dB. Larger K means fewer "
        "steps in the same time.", "",
        f"## rho (K = {args.unrolls})", "", common.md_table(headers, rows(rho_runs)), "",
        f"## K (rho = {args.rho:g})", "", common.md_table(headers, rows(k_runs))])


if __name__ == "__main__":
    main()
