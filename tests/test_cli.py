"""The command line's own documentation: every subcommand described, every option
explained with its default, one spelling of each layout."""

from __future__ import annotations

import argparse

import pytest

from posestack.cli import build_parser


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    p = build_parser()
    sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


@pytest.mark.parametrize("command", sorted(_subparsers()))
def test_every_option_has_help_and_its_default(command):
    sp = _subparsers()[command]
    assert sp.description, f"{command} has no description"
    for a in sp._actions:
        if isinstance(a, argparse._HelpAction):
            continue
        assert a.help, f"{command} {a.option_strings or a.dest}: no help"
        if a.default not in (None, False):
            assert "default" in a.help, f"{command} {a.option_strings}: default not shown"


def test_one_spelling_of_the_wholebody_layout():
    subs = _subparsers()
    for command in ("run", "triangulate"):
        layout = next(a for a in subs[command]._actions if a.dest == "layout")
        assert "wholebody133" in layout.choices and "coco_wholebody133" not in layout.choices
    p = build_parser()
    for spelling in ("wholebody133", "coco_wholebody133"):
        args = p.parse_args(["run", "x.mp4", "-o", "o", "--layout", spelling])
        assert args.layout == "wholebody133"
        args = p.parse_args(["triangulate", "a", "b", "--calibration", "c.toml", "-o", "o",
                             "--layout", spelling])
        assert args.layout == "wholebody133"


def test_offset_help_states_the_convention():
    run = _subparsers()["run"]
    offset = next(a for a in run._actions if a.dest == "offset")
    assert "frame N shows the same instant as frame 0" in offset.help
    assert "Pose2Sim" in offset.help
