"""Take Pose2Sim's published results for its demo trial out of its git history, once.

Writes ``benchmarks/data/pose2sim_demo/`` (read by ``bench_pose2sim_peer.py``):

* ``pose2d_body25b.json.gz``: Pose2Sim's OpenPose BODY_25B 2D, every per-frame json file
  of the four cameras, byte for byte: ``{"<camera>_json/<file name>": "<file text>"}``
  (cameras renamed ``cam1`` -> ``cam01``, as the calibration and later commits name them);
* the ``.trc`` (pose-3d) and ``.mot`` (OpenSim IK) files, as they are in the repository;
* ``files.json``: for each file, its path in the repository, git blob id and commit.

Usage (needs a git mirror of github.com/perfanalytics/pose2sim, e.g. from the ``fetch``
research tool, at ``/work/.mirror/perfanalytics+pose2sim/repo``)::

    python benchmarks/make_pose2sim_peer_data.py --repo /path/to/pose2sim.git

The data are BSD-3-Clause (Pose2Sim's LICENSE, copied beside them); ``SOURCE.md`` there says
where each file came from. Standard library only.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import subprocess
from pathlib import Path

COMMIT = "dde50b4f832974e4dfbd4d659b8fe8919de04002"  # 2023-12-17 "opensim okay"
SESSION = "Pose2Sim/Demo/S00_Demo_Session"
PARTICIPANT = f"{SESSION}/S00_P00_Participant"
TRIAL = f"{PARTICIPANT}/S00_P00_T01_BalancingTrial"
# (path in the repository, name under benchmarks/data/pose2sim_demo, commit)
FILES = [
    (f"{TRIAL}/pose-3d/S00_P00_T01_BalancingTrial_0-100.trc", "pose2sim_0-100.trc", COMMIT),
    (f"{TRIAL}/pose-3d/S00_P00_T01_BalancingTrial_filt_butterworth_0-100.trc",
     "pose2sim_filt_butterworth_0-100.trc", COMMIT),
    (f"{PARTICIPANT}/S00_P00_OpenSim/S00_P00_T01_BalancingTrial_filt_butterworth_0-100_body25b.mot",
     "pose2sim_filt_butterworth_0-100_body25b.mot", COMMIT),
    # A second OpenSim run of Pose2Sim on the same 2D (same json blobs), four months later:
    # how far two of Pose2Sim's own results are apart (the noise floor of the comparison).
    ("Pose2Sim/S00_Demo_BatchSession/S00_P00_SingleParticipant/S00_P00_OpenSim/"
     "S00_P00_T01_BalancingTrial_filt_butterworth_0-100_body25b.mot",
     "pose2sim_2024-04_filt_butterworth_0-100_body25b.mot",
     "df99cfcf2b9b9d73c062a8c0c2660428615b7f90"),  # 2024-04-15 "weekend commits"
    ("LICENSE", "LICENSE", COMMIT),
]


def git(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", "--git-dir", str(repo), *args], capture_output=True,
                          check=True).stdout


def resolve(repo: Path, commit: str) -> str:
    return git(repo, "rev-parse", "--verify", f"{commit}^{{commit}}").decode().strip()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", type=Path, default=Path("/work/.mirror/perfanalytics+pose2sim/repo"),
                    help="git directory of a pose2sim clone or mirror")
    ap.add_argument("--out", type=Path,
                    default=Path(__file__).resolve().parent / "data" / "pose2sim_demo")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    record = {"repository": "https://github.com/perfanalytics/pose2sim", "files": []}

    # 2D: every json of the four cameras at COMMIT
    listing = git(args.repo, "ls-tree", "-r", COMMIT, "--", f"{TRIAL}/pose/").decode()
    pose2d: dict[str, str] = {}
    blobs = []
    for line in listing.splitlines():
        meta, path = line.split("\t", 1)
        if not path.endswith(".json"):
            continue
        blob = meta.split()[2]
        folder, name = path.split("/")[-2:]
        folder = re.sub(r"^cam(\d)_json$", lambda m: f"cam{int(m.group(1)):02d}_json", folder)
        pose2d[f"{folder}/{name}"] = git(args.repo, "cat-file", "blob", blob).decode()
        blobs.append(f"{blob} {path}")
    with gzip.GzipFile(args.out / "pose2d_body25b.json.gz", "wb", mtime=0) as f:
        f.write(json.dumps(pose2d, sort_keys=True).encode())
    record["files"].append({
        "file": "pose2d_body25b.json.gz", "commit": COMMIT,
        "path": f"{TRIAL}/pose/cam{{1..4}}_json/",
        "json_files": len(pose2d),
        "sha1_of_blob_list": hashlib.sha1("\n".join(sorted(blobs)).encode()).hexdigest()})

    for path, name, commit in FILES:
        full = resolve(args.repo, commit)
        blob = git(args.repo, "rev-parse", f"{full}:{path}").decode().strip()
        (args.out / name).write_bytes(git(args.repo, "cat-file", "blob", blob))
        record["files"].append({"file": name, "commit": full, "path": path, "blob": blob})
    (args.out / "files.json").write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {len(pose2d)} json files and {len(FILES)} files into {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
