"""The Ray Data recipe on a local Ray instance, bounded in time: records
equal to `textclean clean`'s on the same input (ids, text, sentences)."""

from __future__ import annotations

import json
import os
import signal

import pytest

from conftest import shared_path

ray = pytest.importorskip("ray")

# Ray's start-up and the run together; a hung cluster fails the test
# instead of holding CI.
RAY_TEST_SECONDS = 240


@pytest.fixture
def local_ray():
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

    def too_long(signum, frame):
        raise TimeoutError(f"the Ray recipe took over {RAY_TEST_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, too_long)
    signal.alarm(RAY_TEST_SECONDS)
    try:
        ray.init(
            # Logical CPUs: the two actors hold one each, and the read and
            # write tasks need their own, or the pipeline waits forever.
            num_cpus=4,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
        ray.data.DataContext.get_current().enable_progress_bars = False
        yield ray
    finally:
        ray.shutdown()
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_ray_recipe_gives_the_clis_records(
    local_ray, bench_prefix, bench_prefix_cli, bench_prefix_profile, tmp_path
):
    from textclean.ray import Cleaner

    out_dir = tmp_path / "ray-out"
    (
        ray.data.read_json(str(bench_prefix))
        .map_batches(
            Cleaner,
            fn_constructor_kwargs={"profile": bench_prefix_profile},
            concurrency=2,
            batch_size=64,
        )
        .write_json(str(out_dir))
    )
    got = {}
    for path in sorted(out_dir.glob("*.json*")):
        with open(path, encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                got[r["id"]] = (r["text"], list(r["sentences"]))
    want = {r["id"]: (r["text"], r["sentences"]) for r in bench_prefix_cli}
    assert len(got) == len(bench_prefix_cli)
    assert got == want
