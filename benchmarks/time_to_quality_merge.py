"""Merge time-to-quality results of several runs into one table and plot.

Runs that did not fit one process or one session (e.g. N2I in one process and the Noise2Void
baselines in another, or one device call per session) are merged when they used the same test
set, noise, seed, patch, batch and features:

    python benchmarks/time_to_quality_merge.py a.json b.json \
        --out benchmarks/results/time_to_quality --name ttq
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import common
import time_to_quality

SHARED = (
    "sigma",
    "seed",
    "test_images",
    "patch_size",
    "batch_size",
    "features",
    "target_db",
    "mode",
)


def merge(payloads: list[dict]) -> dict:
    """One payload whose runs are those of ``payloads`` (method keys must not repeat)."""
    first = payloads[0]
    for other in payloads[1:]:
        for key in SHARED:
            if other["args"][key] != first["args"][key]:
                raise ValueError(
                    f"cannot merge: {key} differs ({first['args'][key]} vs {other['args'][key]})"
                )
        repeated = set(first["runs"]) & set(other["runs"])
        if repeated:
            raise ValueError(f"cannot merge: method {sorted(repeated)} appears twice")
    merged = json.loads(json.dumps(first))
    merged["runs"] = {m: r for p in payloads for m, r in p["runs"].items()}
    merged["time_to_target"] = {m: t for p in payloads for m, t in p["time_to_target"].items()}
    merged["args"]["checkpoints"] = sorted({b for p in payloads for b in p["args"]["checkpoints"]})
    # the table's header names N2I's unrolls and CAREamics' precision
    for method, key in (("n2i", "unrolls"), ("careamics", "careamics_precision")):
        sources = [p["args"] for p in payloads if method in p["runs"]]
        if sources:
            merged["args"][key] = sources[0].get(key)
    merged["sources"] = [
        {"methods": list(p["runs"]), "environment": p["environment"], "args": p["args"]}
        for p in payloads
    ]
    return merged


def markdown(merged: dict) -> str:
    args = argparse.Namespace(**merged["args"])
    lines = [time_to_quality.markdown(merged, args), "", "Merged from these runs:", ""]
    for source in merged["sources"]:
        methods = ", ".join(source["methods"])
        lines.append(
            f"- {methods}: `{source['environment']['command']}`; "
            f"{common.env_markdown(source['environment'])}"
        )
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="time_to_quality JSON files")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/time_to_quality"))
    parser.add_argument("--name", default="time_to_quality")
    args = parser.parse_args(argv)
    try:
        merged = merge([json.loads(path.read_text()) for path in args.runs])
    except (OSError, ValueError, KeyError) as error:
        parser.exit(2, f"error: {error}\n")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{args.name}.json"
    path.write_text(json.dumps(merged, indent=1) + "\n")
    (args.out / f"{args.name}.md").write_text(markdown(merged) + "\n")
    time_to_quality.plot(merged, args.out / f"{args.name}.png")
    return merged


if __name__ == "__main__":
    main()
