"""Merge runs of benchmarks/prior.py into one summary table, the goals and a bar chart.

python benchmarks/prior_report.py benchmarks/results/prior_[ab].json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import common
import numpy as np

COLUMNS = [
    ("noisy", "noisy input"),
    ("BM3D est.", "BM3D (estimated noise)"),
    ("BM3D oracle", "BM3D (oracle noise)"),
    ("prior", "prior alone"),
    ("prior+60 s", "prior + 60 s"),
    ("prior+120 s", "prior + 120 s (snapshot of the 300-s run)"),
    ("prior+300 s", "prior + 300 s"),
    ("scratch 60 s", "N2I scratch 60 s"),
    ("scratch 120 s", "N2I scratch 120 s (snapshot of the 300-s run)"),
    ("scratch 300 s", "N2I scratch 300 s"),
    ("N2V 60 s", "N2V scratch 60 s"),
]


def load(paths: list[Path]) -> tuple[dict, list[dict], list[dict]]:
    """Cases (name -> {method: row}), the set12 sweep rows and the environments of the runs."""
    cases, sweep, environments = {}, [], []
    for path in paths:
        payload = json.loads(Path(path).read_text())
        environments.append(payload["environment"])
        sweep += payload.get("sweep", [])
        for name, rows in payload["cases"].items():
            cases.setdefault(name, {}).update({row["method"]: row for row in rows})
    return cases, sweep, environments


def sweep_table(sweep: list[dict]) -> list[str]:
    """The prior against BM3D over several set12 images, when a run measured it."""
    if not sweep:
        return []
    rows = [
        [r["sigma"], r["prior"], r["bm3d_estimated"], r["prior"] - r["bm3d_estimated"]]
        for r in sweep
    ]
    header = ["sigma", "prior", "BM3D estimated", "difference"]
    return [
        "## Prior alone vs BM3D (estimated sigma), mean over set12 01-07",
        "",
        common.md_table(header, rows),
        "",
    ]


def summary_table(cases: dict) -> str:
    rows = []
    for name, methods in cases.items():
        cells = [methods[label]["psnr"] if label in methods else "" for _, label in COLUMNS]
        rows.append([name, *cells])
    return common.md_table(["case", *[short for short, _ in COLUMNS]], rows)


def goals(cases: dict) -> list[str]:
    """One line per case and goal: met or missed, by how much."""
    lines = []
    checks = [
        ("prior alone >= BM3D (estimated noise)", "prior alone", "BM3D (estimated noise)"),
        ("prior + 60 s >= BM3D (oracle noise)", "prior + 60 s", "BM3D (oracle noise)"),
    ]
    for goal, ours, theirs in checks:
        for name, methods in cases.items():
            if ours in methods and theirs in methods:
                diff = methods[ours]["psnr"] - methods[theirs]["psnr"]
                verdict = "met" if diff >= 0 else "MISSED"
                lines.append(f"- {goal}, {name}: {verdict} ({diff:+.2f} dB)")
    return lines


def times(cases: dict) -> str:
    rows = []
    for name, methods in cases.items():
        cells = []
        for label in ("BM3D (estimated noise)", "prior alone", "prior + 60 s", "N2I scratch 60 s"):
            row = methods.get(label)
            cells.append(f"{row['seconds']:.1f}" if row else "")
        rows.append([name, *cells])
    return common.md_table(["case", "BM3D s", "prior s", "prior+60 s: s", "scratch 60: s"], rows)


def bar_chart(cases: dict, out: Path) -> None:
    labels = [
        "BM3D (estimated noise)",
        "BM3D (oracle noise)",
        "prior alone",
        "prior + 60 s",
        "N2I scratch 60 s",
    ]
    plt = common.figure()
    fig, axis = plt.subplots(figsize=(10, 4))
    names = list(cases)
    width = 0.8 / len(labels)
    for index, label in enumerate(labels):
        gains = [
            cases[n][label]["psnr"] - cases[n]["noisy input"]["psnr"]
            if label in cases[n]
            else np.nan
            for n in names
        ]
        axis.bar(np.arange(len(names)) + index * width, gains, width, label=label)
    axis.set_xticks(np.arange(len(names)) + 0.4 - width / 2, names, fontsize=8)
    axis.set_ylabel("PSNR gain over the noisy input (dB)")
    axis.set_title("Built-in prior vs BM3D and training from scratch (CPU, float32)")
    axis.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/prior"))
    args = parser.parse_args()
    cases, sweep, environments = load(args.runs)
    bar_chart(cases, args.out / "prior.png")
    env = "\n".join(f"- {common.env_markdown(e)}" for e in environments)
    text = "\n".join(
        [
            "# The built-in prior: a good image at once, then adaptation (CPU, float32)",
            "",
            "PSNR in dB. Every run is end to end (set-up, training, denoising) on one float32 "
            "torch thread; two runs shared the 2-core machine at a time. The 120-s numbers are "
            "snapshots of the 300-s runs (learning rate not yet annealed). Per-case details, "
            "steps and seconds: " + ", ".join(f"`{p.name}`" for p in args.runs) + ".",
            "",
            summary_table(cases),
            "",
            "## Goals",
            "",
            *goals(cases),
            "",
            *sweep_table(sweep),
            "## Seconds",
            "",
            times(cases),
            "",
            "![gains](prior.png)",
            "",
            "## Runs",
            "",
            env,
            "",
        ]
    )
    (args.out / "prior.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
