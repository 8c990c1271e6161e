"""``posestack describe`` and ``posestack find``: the command line over
:mod:`posestack.describe`."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import PosestackError


def add_parser(sub) -> None:
    """Add ``describe`` and ``find`` to the main parser's subparsers."""
    de = sub.add_parser("describe", help="describe in words what the people of a bundle do",
                        description="Posecodes (codes.parquet) and descriptions of a "
                        "bundle's 3D: stable segments by default, or the pose --at a time, "
                        "or --every N seconds; --from/--to: how to go from one pose to "
                        "another. Writes BUNDLE/descriptions.parquet and descriptions.md.")
    de.add_argument("bundle", type=Path, help="a bundle folder with 3D keypoints")
    de.add_argument("--person", type=int, help="one person (default: everyone)")
    de.add_argument("--at", type=float, help="describe the pose at this time (s)")
    de.add_argument("--every", type=float, help="a description every N seconds")
    de.add_argument("--segments", action="store_true",
                    help="stable stretches of time, each described (the default)")
    de.add_argument("--from", dest="from_", type=float, metavar="T1",
                    help="with --to: instructions from the pose at T1 (s) ...")
    de.add_argument("--to", type=float, metavar="T2", help="... to the pose at T2 (s)")
    de.add_argument("--other", type=Path, help="with --from/--to: the bundle of --to's pose")
    de.add_argument("--seed", type=int, help="vary the phrasing (default: the same words "
                                              "every time)")
    de.add_argument("--detail", type=int,
                    help="at most this many details after the posture (default 7 for a "
                         "pose, 5 for a segment)")
    de.set_defaults(func=_cmd_describe)

    fi = sub.add_parser("find", help="find moments in bundles by a text query",
                        description='Search bundles (or folders of bundles) for moments '
                        'matching a query such as "left knee bent at a right angle and both '
                        'hands above the head", "hands less than 20 cm apart", "squatting '
                        'for at least 2 s", "when is the left knee most bent". A bundle '
                        'without an up-to-date codes.parquet gets one (written into it). '
                        'Needs DuckDB (posestack[query]).')
    fi.add_argument("bundles", type=Path, nargs="+", help="bundles or folders of bundles")
    fi.add_argument("query", help="the query, in quotes")
    fi.add_argument("--limit", type=int, default=10, help="at most N moments (default 10)")
    fi.add_argument("--sql", action="store_true", help="print the SQL that ran")
    fi.set_defaults(func=_cmd_find)


def _cmd_describe(args: argparse.Namespace) -> int:
    from .bundle import DESCRIPTIONS_MD, describe_bundle, difference_in_bundle

    if (args.from_ is None) != (args.to is None):
        raise PosestackError("--from and --to go together (two times, in seconds)")
    if args.from_ is not None:
        if args.at is not None or args.every is not None:
            raise PosestackError("--from/--to describe a change; drop --at/--every")
        print(difference_in_bundle(args.bundle, args.from_, args.to,
                                   person=args.person or 0, other=args.other))
        return 0
    if args.other is not None:
        raise PosestackError("--other is the bundle of --to's pose: give --from and --to")
    if args.segments and (args.at is not None or args.every is not None):
        raise PosestackError("--segments describes stretches of time; drop --at/--every "
                             "(or --segments)")
    rows = describe_bundle(args.bundle, person=args.person, at=args.at, every=args.every,
                           seed=args.seed, detail=args.detail)
    for r in rows:
        when = f"{r.start:.2f} s" if r.start == r.end else f"{r.start:.2f}-{r.end:.2f} s"
        print(f"person {r.person}, {when}: {r.text}")
    print(f"-> {args.bundle / DESCRIPTIONS_MD}")
    return 0


def _cmd_find(args: argparse.Namespace) -> int:
    from .find import find

    moments, sql = find(args.bundles, args.query, limit=args.limit)
    if args.sql:
        print(sql)
        print()
    if not moments:
        print(f"nothing matches {args.query!r}")
        return 0
    for m in moments:
        when = f"{m.start:.2f} s" if m.start == m.end else f"{m.start:.2f}-{m.end:.2f} s"
        extra = f", value {m.value:.1f}" if m.value is not None else ""
        print(f"{m.bundle}  person {m.person}  {when}  score {m.score:.2f}{extra}: "
              f"{m.description}")
    return 0
