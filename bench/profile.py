"""Summarize py-spy's collapsed stacks (``BENCH_PROFILE=<phase,...> make bench`` writes them, one
file per worker, into the kept log folder):

    .venv/bin/python bench/profile.py /tmp/octeth_bench_XXXX/profile-get-*.txt [--top 25] [--match TEXT]

Prints the share of on-CPU samples that each function is on the stack of (inclusive) and at the
top of (self), and the self time grouped by package. ``--match`` keeps only stacks through a frame
containing TEXT (e.g. ``dispatch``: the request path without gunicorn's own loop).
"""
from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]*)(?::\d+)?\)$")


def _package(file: str) -> str:
    path = file.split("site-packages/")[-1]
    if path.startswith("octeth_domains/"):
        return "/".join(path.split("/")[:2])
    head = path.split("/")[0]
    return head[:-3] if head.endswith(".py") else head


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("files", nargs="+")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--match", default="")
    options = parser.parse_args()

    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = 0
    for name in options.files:
        for line in Path(name).read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            if options.match and options.match not in stack:
                continue
            n = int(count)
            total += n
            frames = []
            for frame in stack.split(";"):
                match = _FRAME.match(frame)
                func, file = (match["func"], match["file"]) if match else (frame, "?")
                frames.append((f"{func} ({file.split('site-packages/')[-1]})", file))
            for label in {label for label, _ in frames}:
                inclusive[label] += n
            own[frames[-1][0]] += n
            packages[_package(frames[-1][1])] += n
    if not total:
        print("no samples")
        return
    print(f"{total} samples")
    print("\ninclusive (on the stack):")
    for label, n in inclusive.most_common(options.top):
        print(f"  {100 * n / total:5.1f}%  {label}")
    print("\nself (on top of the stack):")
    for label, n in own.most_common(options.top):
        print(f"  {100 * n / total:5.1f}%  {label}")
    print("\nself by package:")
    for label, n in packages.most_common(options.top):
        print(f"  {100 * n / total:5.1f}%  {label}")


if __name__ == "__main__":
    main()
