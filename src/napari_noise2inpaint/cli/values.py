"""Argument types of the command line: each value is checked once, where it is parsed.

Types check what a value is (a finite number, an integer, a scheduler address); ranges of
training settings are checked once more only by the config, which the Python API shares.
"""

from __future__ import annotations

import argparse
import math
import re

# dask.distributed addresses: [scheme://]host[:port][/path], host a name, an IPv4 or an [IPv6]
SCHEDULER_ADDRESS = re.compile(
    r"(?:(?:tcp|tls|ucx|ws|wss|inproc)://)?"
    r"(?:[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?(?:/[A-Za-z0-9_./-]*)?"
)


def finite_float(text: str) -> float:
    """Parse a finite number ("nan" and "inf" are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def integer(text: str) -> int:
    """Parse a whole number such as ``-1`` or ``400``."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def non_negative_integer(text: str) -> int:
    """Parse a whole number that is 0 or more."""
    value = integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {text!r}")
    return value


def noise_sigma(text: str) -> float | str:
    """Parse a positive noise level, or "estimate"."""
    if text == "estimate":
        return text
    try:
        value = finite_float(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected a positive number or 'estimate', got {text!r}"
        ) from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def sizes(text: str) -> tuple[int, ...]:
    """Parse positive sizes separated by commas, e.g. ``1,1024,1024``."""
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 1,1024,1024, got {text!r}") from None
    if any(size < 1 for size in values):
        raise argparse.ArgumentTypeError(f"sizes must be positive, got {text!r}")
    return values


def scheduler_address(text: str) -> str:
    """Check a dask.distributed scheduler address such as ``tcp://10.0.0.5:8786``."""
    if not SCHEDULER_ADDRESS.fullmatch(text):
        raise argparse.ArgumentTypeError(f"expected an address like tcp://host:8786, got {text!r}")
    return text
