"""The ``train`` options, derived from the config's fields: a new field is an option at once.

Flags, types, choices, help (the first sentence of the field's description in the config's
docstring) and the default shown all come from :class:`Noise2InpaintConfig`.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re

from napari_noise2inpaint.cli.values import finite_float, integer
from napari_noise2inpaint.config import CHOICES, CPU_START, Noise2InpaintConfig
from napari_noise2inpaint.config_rules import LIMITS, limit_text

# short flags kept from earlier versions; the long form (the field's name) works as well
SHORT_FLAGS = {
    "patch_size": "--patch",
    "spatial_dims": "--dims",
    "batch_size": "--batch",
    "learning_rate": "--lr",
    "noise_gain": "--gain",
    "noise_offset": "--offset",
}
# fields with options of their own shape: a kernel file and four numbers
OWN_OPTIONS = ("noise_kernel", "noise_region")
LENGTH_FIELDS = ("steps", "epochs", "time_limit")
NOTES = dict.fromkeys(LENGTH_FIELDS, "a training length given alone unsets the others")
TYPES = {"int": integer, "float": finite_float, "str": str}


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """Add one option for every config field (except the kernel and region) to ``parser``."""
    group = parser.add_argument_group(
        "training settings", "start values depend on the device (lighter without a GPU)"
    )
    descriptions = field_descriptions()
    for field in dataclasses.fields(Noise2InpaintConfig):
        if field.name in OWN_OPTIONS:
            continue
        parts = (
            descriptions.get(field.name, ""),
            NOTES.get(field.name),
            _default(field),
            f"at most {limit_text(field.name)}" if field.name in LIMITS else None,
        )
        text = "; ".join(part for part in parts if part)
        group.add_argument(
            *flags(field.name), dest=field.name, help=text.replace("%", "%%"), **_kind(field)
        )


def flags(name: str) -> list[str]:
    """Return the option strings of a config field, e.g. ``["--batch", "--batch-size"]``."""
    long = "--" + name.replace("_", "-")
    return [SHORT_FLAGS[name], long] if name in SHORT_FLAGS else [long]


def given_values(args: argparse.Namespace) -> dict:
    """Return the config fields given (a training length given unsets the other lengths)."""
    names = [f.name for f in dataclasses.fields(Noise2InpaintConfig) if f.name not in OWN_OPTIONS]
    given = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    if given.keys() & set(LENGTH_FIELDS):
        given = {**dict.fromkeys(LENGTH_FIELDS), **given}
    return given


def field_descriptions() -> dict[str, str]:
    """Return the first sentence of every field's description in the config's docstring."""
    doc = inspect.getdoc(Noise2InpaintConfig) or ""
    section = doc.split("Parameters\n----------\n", 1)[-1]
    descriptions = {}
    for entry in re.split(r"\n(?=\S)", section):
        head, _, body = entry.partition("\n")
        names = head.split(" : ")[0]
        text = " ".join(body.split()).replace("``", "")
        sentence = re.split(r"(?<=\.)\s", text, maxsplit=1)[0].rstrip(".")
        for name in names.split(", "):
            descriptions[name.strip()] = sentence
    return descriptions


def _kind(field: dataclasses.Field) -> dict:
    if field.name in CHOICES:
        choices = CHOICES[field.name]
        return {"choices": choices, "type": type(choices[0])}
    base = str(field.type).split(" | ")[0]
    if base == "bool":
        return {"action": argparse.BooleanOptionalAction}
    return {"type": TYPES[base], "metavar": flags(field.name)[0][2:].upper().replace("-", "_")}


def _default(field: dataclasses.Field) -> str:
    default = field.default
    text = f"default {'unset' if default is None else default}"
    cpu = CPU_START.get(field.name, default)
    return text if cpu == default else f"{text} with a GPU, {cpu} on a CPU"
