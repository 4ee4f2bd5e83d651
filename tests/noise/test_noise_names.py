"""Noise-model names are compared in the registry (``noise/``) only; elsewhere code asks it."""

import ast
from pathlib import Path

import pytest

import napari_noise2inpaint
from napari_noise2inpaint import Noise2InpaintConfig
from napari_noise2inpaint.config import NOISE_MODELS
from napari_noise2inpaint.errors import InputError
from napari_noise2inpaint.noise import AUTO, REGISTRY, PerImageNoise, noise_class

PACKAGE = Path(napari_noise2inpaint.__file__).parent
NAMES = frozenset(REGISTRY) | {AUTO}
CAPABILITIES = ("white", "signal_dependent", "background_region", "supports_3d")
EXPECTED = {  # name: the capabilities above, then estimated_per_image
    "gaussian": (True, False, False, True, False),
    "poisson_gaussian": (False, True, False, True, False),
    "correlated": (False, False, True, False, False),
    "auto": (False, False, False, True, True),
}


def _names(node) -> set[str]:
    """The names in a constant or a tuple, list or set literal (``x in ("gaussian", ...)``)."""
    elements = node.elts if isinstance(node, ast.Tuple | ast.List | ast.Set) else [node]
    return {e.value for e in elements if isinstance(e, ast.Constant) and e.value in NAMES}


def _table_names(node) -> set[str]:
    """The names keying a dict literal (a table looked up where it is written)."""
    if not isinstance(node, ast.Dict):
        return set()
    return set().union(*(_names(key) for key in node.keys if key is not None))


def _flagged(names: set[str], other) -> bool:
    """True for a registry name; for "auto" (also a device choice) only beside noise code."""
    beside_noise = other is not None and "noise" in ast.unparse(other).lower()
    return bool(names - {AUTO}) or (AUTO in names and beside_noise)


def _lookup(table, key) -> bool:
    """``table[key]`` or ``table.get(key)``: a name as the key, or a literal table of names."""
    return _flagged(_names(key), table) or _flagged(_table_names(table), key)


def _compare(node: ast.Compare) -> bool:
    operands = [node.left, *node.comparators]
    names = set().union(*map(_names, operands))
    others = [operand for operand in operands if not _names(operand)]
    return _flagged(names, ast.Tuple(others))


def _flagged_lines(node) -> list[int]:
    if isinstance(node, ast.Compare) and _compare(node):
        return [node.lineno]
    if isinstance(node, ast.Match):
        values = [n for case in node.cases for n in ast.walk(case.pattern)]
        values = [n for n in values if isinstance(n, ast.MatchValue)]
        return [n.lineno for n in values if _flagged(_names(n.value), node.subject)]
    if isinstance(node, ast.Subscript) and _lookup(node.value, node.slice):
        return [node.lineno]
    call = isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    if call and node.func.attr == "get" and node.args and _lookup(node.func.value, node.args[0]):
        return [node.lineno]
    return []


def name_comparisons(source: str) -> list[int]:
    """Return the lines of ``source`` that compare with or look up a noise-model name."""
    return sorted({line for node in ast.walk(ast.parse(source)) for line in _flagged_lines(node)})


def test_only_the_registry_compares_noise_model_names():
    found = [
        f"{path.relative_to(PACKAGE)}:{line}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).parts[0] != "noise"
        for line in name_comparisons(path.read_text(encoding="utf-8"))
    ]
    assert not found, f"ask napari_noise2inpaint.noise instead of comparing names: {found}"


@pytest.mark.parametrize(
    "source",
    [
        'x == "correlated"',
        'x != "gaussian"',
        'x in ("gaussian", "poisson_gaussian")',
        '"correlated" not in names',
        'match x:\n    case "poisson_gaussian" | "other":\n        pass',
        '{"gaussian": 1, "correlated": 2}[name]',
        '{"gaussian": 1}.get(name)',
        'table["correlated"]',
        'config.noise_model == "auto"',
        'self.noise.model.value != "auto"',
        'table.get("poisson_gaussian", 0)',
        'match config.noise_model:\n    case "auto":\n        pass',
    ],
)
def test_the_scan_finds_comparisons_and_lookups(source):
    assert name_comparisons(source) != []


@pytest.mark.parametrize(
    "source",
    [
        '"""Models: "gaussian" or "correlated"."""',
        'NOISE_MODELS = ("gaussian", "poisson_gaussian", "correlated", "auto")',
        'NOISE_NAMES = {"gaussian": "white Gaussian", "auto": "from the image"}',
        'def check(noise_model="poisson_gaussian"):\n    return noise_model',
        'ComboBox(choices=names, value="gaussian")',
        'x == "per_image" or y in ("dataset", "auto_x")',
        'device == "auto" or config.precision != "auto"',
        'match name:\n    case "auto":\n        pass',
        '{"auto": 0, "cpu": 1}[device]',
    ],
)
def test_the_scan_leaves_declarations_alone(source):
    assert name_comparisons(source) == []


@pytest.mark.parametrize("name", NOISE_MODELS)
def test_every_noise_model_answers_its_capabilities(name):
    kind = noise_class(name)
    normalisation = "per_image" if kind.estimated_per_image else "dataset"
    config = Noise2InpaintConfig(noise_model=name, normalisation=normalisation)
    answers = tuple(getattr(kind, capability) for capability in CAPABILITIES)
    assert kind.name == name
    assert (*answers, kind.estimated_per_image) == EXPECTED[name]
    assert kind.card_fields(config).get("sigma") is None
    assert kind.parameter_text(config) is None


def test_the_registry_and_auto_are_the_config_s_choices():
    assert set(NOISE_MODELS) == NAMES == set(EXPECTED)
    assert noise_class(AUTO) is PerImageNoise and AUTO not in REGISTRY
    with pytest.raises(InputError, match="Unknown noise model"):
        noise_class("speckle")


def test_known_parameters_reach_the_card_and_the_text():
    config = Noise2InpaintConfig(
        noise_model="poisson_gaussian", noise_gain=2.071, noise_offset=23.2, noise_sigma=3.0
    )
    kind = noise_class(config.noise_model)
    assert kind.card_fields(config) == {"gain": 2.071, "offset": 23.2, "sigma": 3.0}
    assert kind.parameter_text(config) == "gain 2.07, offset 23.2"
    kernel = [[0.0, 0.1, 0.0], [0.1, 0.5, 0.1], [0.0, 0.1, 0.0]]
    config = Noise2InpaintConfig(noise_model="correlated", noise_kernel=kernel)
    kind = noise_class(config.noise_model)
    assert list(kind.card_fields(config)) == ["kernel", "cg_iterations"]
    assert kind.parameter_text(config) == "kernel variance 0.5 (3x3)"
    config = Noise2InpaintConfig(noise_sigma=12.34)
    assert noise_class(config.noise_model).parameter_text(config) == "sigma 12.3"
