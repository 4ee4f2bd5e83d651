"""The command line's start-up: nothing heavy is imported before ``main`` handles Ctrl-C."""

import subprocess
import sys


def test_importing_the_cli_loads_neither_torch_nor_the_engine():
    code = (
        "import sys, napari_noise2inpaint.cli; "
        "print('torch' in sys.modules, 'napari_noise2inpaint.engine.training' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]


def test_the_package_exports_resolve_lazily_and_completely():
    import napari_noise2inpaint as package

    for name in package.__all__:
        assert getattr(package, name) is not None, name
    assert set(package.__all__) <= set(dir(package))
