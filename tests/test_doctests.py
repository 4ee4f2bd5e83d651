"""The examples in docstrings run (``>>>`` lines of every core module)."""

import doctest
import importlib
import pkgutil

import pytest

import napari_noise2inpaint

CORE_MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(napari_noise2inpaint.__path__, "napari_noise2inpaint.")
    if "._widgets" not in info.name and not info.name.endswith("__main__")
)


@pytest.mark.parametrize("name", ["napari_noise2inpaint", *CORE_MODULES])
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_the_package_and_masks_have_examples():
    masks = importlib.import_module("napari_noise2inpaint.engine.masks")
    for module in (napari_noise2inpaint, masks):
        assert doctest.testmod(module).attempted > 0
