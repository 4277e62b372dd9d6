"""Shared fixtures: ../shared (skipped when absent, a failure under CI=true),
the installed `textclean` command, and a prefix of the bench corpus."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"

# Documents of the bench corpus the corpus-level tests use: enough for
# hundreds of batches' worth of sentences, few enough to keep CI short.
BENCH_PREFIX_DOCS = int(os.environ.get("TEXTCLEAN_BENCH_PREFIX_DOCS", "200"))


def shared_path(rel: str) -> Path:
    """A path under ../shared; skips the test when it is absent (fails under CI=true)."""
    path = SHARED / rel
    if not path.exists():
        message = f"{path} is absent: these tests read ../shared in place"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def cli_command() -> list:
    """The `textclean` console script installed with the package."""
    script = Path(sys.executable).with_name("textclean")
    assert script.exists(), f"{script}: the wheel must install the textclean command"
    return [str(script)]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*cli_command(), *args], capture_output=True, text=True, timeout=600
    )


def read_jsonl(path: Path) -> list:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope="session")
def bench_prefix(tmp_path_factory) -> Path:
    """The first BENCH_PREFIX_DOCS records of the bench corpus, as plain JSONL."""
    src = shared_path("bench/gutenberg_en.jsonl.gz")
    out = tmp_path_factory.mktemp("bench") / "prefix.jsonl"
    with gzip.open(src, "rt", encoding="utf-8") as f, open(out, "w", encoding="utf-8") as o:
        for i, line in enumerate(f):
            if i >= BENCH_PREFIX_DOCS:
                break
            o.write(line)
    return out


@pytest.fixture(scope="session")
def bench_prefix_cli(bench_prefix, tmp_path_factory) -> list:
    """`textclean clean` of the bench prefix: the records to match."""
    out = tmp_path_factory.mktemp("bench-cli") / "cli.jsonl"
    done = run_cli("clean", "--quiet", "-o", str(out), str(bench_prefix))
    assert done.returncode == 0, done.stderr
    return read_jsonl(out)


@pytest.fixture(scope="session")
def bench_prefix_profile(bench_prefix, tmp_path_factory) -> str:
    import textclean

    return textclean.build_profile(
        [bench_prefix], tmp_path_factory.mktemp("profile") / "profile.bin"
    )
