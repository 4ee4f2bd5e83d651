"""The trust and batch benchmarks end to end with tiny budgets (synthetic data only)."""

import json
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import batch  # noqa: E402
import trust  # noqa: E402


def test_trust_benchmark_writes_tables_and_figure(tmp_path):
    trust.main(
        ["--out", str(tmp_path), "--size", "64", "--steps", "2", "--features", "4",
         "--batch-size", "2", "--patch-size", "16", "--precision", "float32"]
    )  # fmt: skip
    payload = json.loads((tmp_path / "trust.json").read_text())
    assert [r["case"] for r in payload["results"]] == ["gaussian", "poisson_gaussian", "correlated"]
    assert len(payload["results"][0]["masks"]) == len(trust.MASK_COUNTS)
    text = (tmp_path / "trust.md").read_text()
    assert "## Residual check" in text and "## Noise report against the truth" in text
    assert (tmp_path / "trust.png").stat().st_size > 0


def test_batch_benchmark_resumes_to_identical_outputs(tmp_path):
    batch.main(
        ["--out", str(tmp_path), "--size", "32", "--counts", "2", "3", "--steps", "1",
         "--precision", "float32"]
    )  # fmt: skip
    payload = json.loads((tmp_path / "batch.json").read_text())
    assert [row[0] for row in payload["runs"]] == [2, 3]
    assert payload["resume"]["identical"] is True
    assert payload["resume"]["files"] == 3
