"""``posestack actions``: the command line over :mod:`posestack.actions`."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import PosestackError


def add_parser(sub) -> None:
    """Add ``actions`` and its subcommands to the main parser's subparsers."""
    ac = sub.add_parser("actions", help="skeleton action recognition: datasets, training, "
                                        "prediction over videos",
                        description="Skeleton action recognition: build a PYSKL annotation "
                        "pickle from processed videos and a labels CSV, train ST-GCN++ or "
                        "SkateFormer on it, evaluate, and label long videos.")
    acs = ac.add_subparsers(dest="actions_command", required=True, metavar="COMMAND",
                            help="dataset: a PYSKL annotation pickle from a labels CSV; "
                                 "train: a model on it; evaluate: accuracy of models; "
                                 "predict: actions over a processed video; define: count "
                                 "actions defined in words")
    ad = acs.add_parser("dataset", help="a PYSKL annotation pickle from a labels CSV",
                        description="Build a PYSKL/MMAction2 annotation pickle from a CSV of "
                        "labelled stretches of processed videos: columns bundle, person, "
                        "start, end (seconds), label, and optionally split. Bundle paths are "
                        "relative to the CSV. Rows without a split are divided per class into "
                        "train and val.")
    ad.add_argument("labels", type=Path, help="the labels CSV")
    ad.add_argument("-o", "--output", type=Path, required=True, help="the .pkl to write")
    ad.add_argument("--layout", choices=("coco", "ntu25"), default="coco",
                    help="the model's skeleton layout (default coco; ntu25 is 3D)")
    ad.add_argument("--dim", type=int, choices=(2, 3), default=2,
                    help="2D image keypoints or 3D (default 2)")
    ad.add_argument("--val-fraction", type=float, default=0.2,
                    help="share of each class's clips kept for validation (default 0.2)")
    ad.add_argument("--seed", type=int, default=0, help="seed of the train/val split")
    ad.set_defaults(func=_cmd_actions_dataset)
    at = acs.add_parser("train", help="train ST-GCN++ or SkateFormer on a PYSKL dataset "
                                      "(CPU or GPU)",
                        description="Train an action model on the train split of a PYSKL "
                        "annotation pickle and keep the best model on its val split "
                        "(OUT/best.pt), with its validation confusion matrix "
                        "(OUT/confusion.csv, .png). OUT/last.pt after every epoch lets a "
                        "killed run resume with the same command.")
    at.add_argument("data", type=Path, help="the dataset (.pkl)")
    at.add_argument("-o", "--output", type=Path, required=True, help="folder for the model")
    at.add_argument("--model", choices=("stgcnpp", "skateformer"), default="stgcnpp",
                    help="architecture (default stgcnpp)")
    at.add_argument("--modality", choices=("j", "b", "jm", "bm"), default="j",
                    help="joints, bones, joint motion or bone motion (default j); train one "
                         "model per modality and predict with all of them for an ensemble")
    at.add_argument("--part", choices=("body", "arms", "legs"), default="body",
                    help="a PSUMNet-style part stream: the joints of one part only "
                         "(default body, all joints)")
    at.add_argument("--epochs", type=int, default=30, help="epochs (default 30)")
    at.add_argument("--batch-size", type=int, default=16, help="clips per step (default 16)")
    at.add_argument("--clip-len", type=int, default=48,
                    help="frames each clip is resampled to (default 48)")
    at.add_argument("--base-channels", type=int,
                    help="width of the first blocks (default: the published 64 for stgcnpp, "
                         "96 for skateformer; skateformer needs a multiple of 32)")
    at.add_argument("--lr", type=float,
                    help="learning rate (default: 0.1 x batch / 128 for stgcnpp, 1e-3 for "
                         "skateformer)")
    at.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    at.add_argument("--onnx", action="store_true",
                    help="also export OUT/model.onnx, which 'actions predict' runs with ONNX "
                         "Runtime (no torch needed)")
    at.add_argument("-q", "--quiet", action="store_true", help="no per-epoch line")
    at.set_defaults(func=_cmd_actions_train)
    ap = acs.add_parser("predict", help="label what every tracked person does over a "
                                        "processed video",
                        description="Slide windows along each tracked person of a bundle, "
                        "classify them with a trained model (or an ensemble: several "
                        "--model), smooth the class probabilities over time and write "
                        "BUNDLE/actions.parquet (person, start, end, label, score) and "
                        "BUNDLE/actions.mp4 (each person's current action over the video, "
                        "with a timeline).")
    ap.add_argument("bundles", type=Path, nargs="+", metavar="BUNDLE",
                    help="bundle folder(s) from 'posestack run'")
    ap.add_argument("--model", type=Path, action="append", required=True,
                    help="a model folder from 'actions train' (model.onnx is used when "
                         "present); repeat for an ensemble")
    ap.add_argument("--weights", type=float, nargs="+",
                    help="one weight per --model for the ensemble (default equal)")
    ap.add_argument("--window", type=float, default=2.0,
                    help="seconds per window (default 2, the synthetic clips' length; set "
                         "it to about your training clips' length)")
    ap.add_argument("--stride", type=float, default=0.25,
                    help="seconds between windows (default 0.25)")
    ap.add_argument("--smooth", type=float, default=0.5,
                    help="seconds of moving average on the probabilities (default 0.5)")
    ap.add_argument("--min-score", type=float, default=0.3,
                    help="least probability for a label (default 0.3; below it a frame has "
                         "no label)")
    ap.add_argument("--min-duration", type=float, default=0.5,
                    help="shorter segments merge into a neighbour (seconds, default 0.5)")
    ap.add_argument("--no-video", action="store_true", help="no actions.mp4")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    ap.set_defaults(func=_cmd_actions_predict)
    adf = acs.add_parser("define", help="count actions defined in words (no training)",
                         description="Recognise and count actions defined as sequences of "
                         "poses in the vocabulary of 'posestack find' (a TOML file: "
                         "[squat] phases = [\"both knees deeply bent\", \"standing\"]), in "
                         "each bundle's 3D; writes BUNDLE/actions_defined.parquet (person, "
                         "action, start, end, repetitions). Without --definitions: squat, "
                         "jumping jack, lunge, bow, raise the right or left hand.")
    adf.add_argument("bundles", type=Path, nargs="*", metavar="BUNDLE",
                     help="bundle folder(s) with 3D (see 'posestack describe')")
    adf.add_argument("--definitions", type=Path,
                     help="a TOML file of definitions (default: the six that ship)")
    adf.add_argument("--list", action="store_true", help="print the definitions and stop")
    adf.set_defaults(func=_cmd_actions_define)
    ae = acs.add_parser("evaluate", help="top-1 accuracy of models and their ensemble on a "
                                         "dataset split",
                        description="Top-1 accuracy of each --model and of their ensemble "
                        "(mean class probabilities) on a split of a PYSKL pickle; -o writes "
                        "the ensemble's confusion matrix.")
    ae.add_argument("data", type=Path, help="the dataset (.pkl)")
    ae.add_argument("--model", type=Path, action="append", required=True,
                    help="a model folder from 'actions train'; repeat for an ensemble")
    ae.add_argument("--weights", type=float, nargs="+",
                    help="one weight per --model (default equal)")
    ae.add_argument("--split", default="val", help="which split (default val)")
    ae.add_argument("-o", "--output", type=Path,
                    help="folder for confusion.csv and confusion.png")
    ae.set_defaults(func=_cmd_actions_evaluate)


def _cmd_actions_dataset(args: argparse.Namespace) -> int:
    from collections import Counter

    from .data import dataset_from_labels, write_pyskl

    data = dataset_from_labels(args.labels, layout=args.layout, dim=args.dim,
                               val_fraction=args.val_fraction, seed=args.seed)
    out = write_pyskl(args.output, data)
    counts = Counter(a["label"] for a in data.annotations)
    per = ", ".join(f"{data.label_names[k]}: {counts[k]}" for k in sorted(counts))
    sizes = ", ".join(f"{k} {len(v)}" for k, v in sorted(data.split.items()))
    print(f"{len(data.annotations)} clips ({per}); splits: {sizes}; layout {args.layout}, "
          f"{args.dim}D -> {out}")
    return 0


def _cmd_actions_train(args: argparse.Namespace) -> int:
    from .data import read_pyskl
    from .train import TrainConfig, train

    data = read_pyskl(args.data)
    cfg = TrainConfig(model=args.model, modality=args.modality, part=args.part,
                      epochs=args.epochs, batch_size=args.batch_size, clip_len=args.clip_len,
                      base_channels=args.base_channels, seed=args.seed, lr=args.lr)
    h = train(data, args.output, cfg, progress=not args.quiet)   # checks cfg before work
    import math

    if math.isfinite(h["best_accuracy"]):
        print(f"best validation accuracy {h['best_accuracy']:.1%} (epoch "
              f"{h['best_epoch'] + 1}) -> {args.output / 'best.pt'}")
    else:
        print(f"no validation clips: accuracy not measured -> {args.output / 'best.pt'}")
    if args.onnx:
        from .model import export_onnx

        print(f"exported -> {export_onnx(args.output)}")
    return 0


def _cmd_actions_predict(args: argparse.Namespace) -> int:
    from .predict import predict_bundle

    for bundle in args.bundles:   # every bundle checked before any work
        if not (Path(bundle).expanduser() / "manifest.json").is_file():
            raise PosestackError(f"{bundle} is not a finished posestack bundle (no "
                                 "manifest.json): run 'posestack run' on the video first")
    for bundle in args.bundles:
        rec, written = predict_bundle(bundle, args.model, window=args.window,
                                      stride=args.stride, smooth=args.smooth,
                                      min_score=args.min_score,
                                      min_duration=args.min_duration, weights=args.weights,
                                      video=not args.no_video, progress=not args.quiet)
        print(f"{bundle}: {len(rec.segments)} segments")
        for g in rec.segments:
            print(f"  person {g.person}  {g.start:7.2f}-{g.end:7.2f} s  {g.label}  "
                  f"({g.score:.0%})")
        for w in written:
            print(f"  -> {w}")
    return 0


def _cmd_actions_define(args: argparse.Namespace) -> int:
    from .words import WORDS_FILE, bundle_bouts, read_definitions

    defs = read_definitions(args.definitions)
    if args.list:
        for d in defs:
            print(f"{d.name}: {d.description or ' -> '.join(q.text for q in d.phases)}")
        return 0
    if not args.bundles:
        raise PosestackError("give one or more bundles (or --list to show the definitions)")
    for bundle in args.bundles:
        bouts = bundle_bouts(bundle, args.definitions)
        print(f"{bundle}: {len(bouts)} bouts")
        for b in bouts:
            print(f"  person {b.person}  {b.start:7.2f}-{b.end:7.2f} s  {b.action}  x"
                  f"{b.repetitions}")
        print(f"  -> {Path(bundle) / WORDS_FILE}")
    return 0


def _cmd_actions_evaluate(args: argparse.Namespace) -> int:
    from .data import read_pyskl
    from .model import load_model
    from .predict import evaluate_models

    data = read_pyskl(args.data)
    models = [load_model(m) for m in args.model]
    res = evaluate_models(data, models, split=args.split, weights=args.weights)
    for m, acc in zip(args.model, res["per_model"], strict=True):
        print(f"{m}: {acc:.1%}")
    if len(models) > 1:
        print(f"ensemble: {res['accuracy']:.1%}")
    if args.output:
        from .train import write_confusion

        args.output.mkdir(parents=True, exist_ok=True)
        for p in write_confusion(args.output, res["confusion"], res["label_names"]):
            print(f"-> {p}")
    return 0
