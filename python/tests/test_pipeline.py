"""The Python API against the CLI: seeds, thread counts, profiles, errors."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

import textclean
from conftest import cli_command, read_jsonl, run_cli, shared_path


def txt_documents(root: Path):
    """The documents of a .txt directory as the CLI reads them: id = path
    relative to the directory, source = its sub-directory, sorted by id."""
    docs = []
    for path in root.rglob("*.txt"):
        rel = path.relative_to(root).as_posix()
        if any(part.startswith(".") for part in rel.split("/")):
            continue
        source = rel.rsplit("/", 1)[0] if "/" in rel else None
        docs.append((rel, source, path.read_text(encoding="utf-8")))
    return sorted(docs)


def as_txt(cleaned: textclean.Cleaned) -> str:
    """A document as `--format txt` writes it."""
    return cleaned.text + "\n" if cleaned.text else ""


def test_seeds_through_clean_equal_the_expected_files(tmp_path):
    raw = shared_path("seeds/raw")
    expected = shared_path("seeds/expected")
    # The CLI counts corpus repeats over its inputs: the same profile here.
    pipeline = textclean.Pipeline(profile=textclean.build_profile([raw], tmp_path / "p.bin"))
    docs = txt_documents(raw)
    assert sorted(p.name for p in expected.glob("*.txt")) == [d[0] for d in docs]
    for doc_id, source, text in docs:
        got = as_txt(pipeline.clean(text, id=doc_id, source=source))
        want = (expected / doc_id).read_text(encoding="utf-8")
        assert got == want, f"seed {doc_id}"


def test_clean_batch_is_the_same_on_one_and_four_threads(bench_prefix, bench_prefix_profile):
    records = read_jsonl(bench_prefix)
    texts = [r["text"] for r in records]
    ids = [r["id"] for r in records]
    sources = [r.get("source") for r in records]
    pipeline = textclean.Pipeline(profile=bench_prefix_profile)

    def run(threads):
        out = pipeline.clean_batch(texts, ids=ids, sources=sources, threads=threads)
        return [(c.id, c.text, c.sentences, c.removed, c.stats) for c in out]

    one = run(1)
    assert len(one) == len(texts)
    assert run(4) == one
    # And one text at a time is the batch.
    singles = [pipeline.clean(t, id=i, source=s) for t, i, s in zip(texts, ids, sources)]
    assert [(c.text, c.sentences) for c in singles[:20]] == [
        (t, s) for _, t, s, _, _ in one[:20]
    ]


def clean_dir_like_the_cli(root: Path, tmp_path: Path):
    """`textclean clean DIR` and the same through a profile path."""
    cli_out = tmp_path / "cli.jsonl"
    done = run_cli("clean", "--quiet", "-o", str(cli_out), str(root))
    assert done.returncode == 0, done.stderr
    want = [(r["id"], r["source"], r["text"], r["sentences"]) for r in read_jsonl(cli_out)]
    docs = txt_documents(root)
    profile = textclean.build_profile([root], tmp_path / "profile.bin", threads=2)
    ids, sources, texts = zip(*docs)
    got = [
        (c.id, c.source, c.text, c.sentences)
        for c in textclean.Pipeline(profile=profile).clean_batch(
            texts, ids=ids, sources=sources, threads=2
        )
    ]
    return got, want, texts


def test_a_profile_path_gives_the_clis_output(tmp_path):
    got, want, _ = clean_dir_like_the_cli(shared_path("webdev/pages"), tmp_path)
    assert got == want


def test_the_profile_brings_the_corpus_repeats(tmp_path):
    # A masthead line on every page of one site, too plain for any rule.
    site = tmp_path / "pages" / "harbor-gazette"
    site.mkdir(parents=True)
    stories = [
        "The ferry schedule changes next week after the council vote on Tuesday evening.",
        "Fishermen reported the largest autumn catch in a decade along the northern banks.",
        "A new footbridge over the estuary opens to walkers and cyclists on Saturday morning.",
        "The lighthouse museum will close for repairs until the end of the winter season.",
        "Volunteers planted four hundred trees beside the old railway line this weekend.",
        "The harbour master warned sailors about strong gusts expected through Thursday.",
    ]
    for i, story in enumerate(stories):
        (site / f"{i}.txt").write_text(f"Harbor Gazette Weekend Edition\n{story}\n")
    got, want, texts = clean_dir_like_the_cli(tmp_path / "pages", tmp_path / "out")
    assert got == want
    assert [g[2] for g in got] == stories
    # Without the profile the masthead stays: the test can tell them apart.
    alone = [c.text for c in textclean.Pipeline().clean_batch(texts)]
    assert all(t.startswith("Harbor Gazette Weekend Edition\n\n") for t in alone)


def test_build_profile_is_the_same_for_any_thread_count(tmp_path):
    pages = shared_path("webdev/pages")
    one = textclean.build_profile([pages], tmp_path / "1.bin", threads=1)
    two = textclean.build_profile(pages, tmp_path / "2.bin", threads=2)
    assert Path(one).read_bytes() == Path(two).read_bytes()
    tmp = textclean.build_profile([pages])
    try:
        assert Path(tmp).read_bytes() == Path(one).read_bytes()
    finally:
        os.unlink(tmp)


def test_config_as_path_text_or_default(tmp_path):
    text = '[[stages]]\ntype = "normalize"\n\n[[stages]]\ntype = "sentences"\n'
    path = tmp_path / "two.toml"
    path.write_text(text)
    for config in (text, str(path), path):
        p = textclean.Pipeline(config)
        assert p.stages == ["normalize", "sentences"]
        # The splitter adds the corpus's word counts when it has them.
        assert p.needs_profile is True
        c = p.clean("Hide Ad\nMr. Smith left. He waved.")
        assert c.text == "Hide Ad\n\nMr. Smith left. He waved."
        assert c.sentences == ["Hide Ad", "Mr. Smith left.", "He waved."]
    own = textclean.Pipeline(text + "corpus_statistics = false\n")
    assert own.needs_profile is False
    assert own.clean("Mr. Smith left. He waved.").sentences == ["Mr. Smith left.", "He waved."]
    default = textclean.Pipeline()
    assert default.stages == ["normalize", "quotes", "boilerplate", "captions", "sentences"]
    assert textclean.Pipeline(default.config).config == default.config


def test_without_a_sentences_stage_sentences_is_none():
    c = textclean.Pipeline('[[stages]]\ntype = "normalize"\n').clean("a  b\n\nc")
    assert (c.text, c.sentences) == ("a b\n\nc", None)


def test_cleaned_records_every_removal():
    c = textclean.Pipeline().clean("Title of the story here\n\nHide Ad\nHe waved. Mr. Smith left.")
    assert c.removed == [(2, "normalize", "blank", ""), (3, "boilerplate", "ads/exact", "Hide Ad")]
    s = c.stats
    assert s["lines_in"] == s["lines_out"] + s["lines_removed"] == 4
    assert s["removed"] == {"boilerplate": {"ads/exact": 1}, "normalize": {"blank": 1}}
    assert s["bytes_out"] == len(c.text.encode())
    assert list(s["stages"]) == textclean.Pipeline().stages


def test_cleaning_is_idempotent(bench_prefix):
    pipeline = textclean.Pipeline()
    texts = [r["text"] for r in read_jsonl(bench_prefix)[:50]]
    once = [c.text for c in pipeline.clean_batch(texts)]
    assert [c.text for c in pipeline.clean_batch(once)] == once


def test_split_sentences_strings_and_code_point_spans():
    text = "Hé said “no.” Then Mr. Smith left. Ok."
    sentences = textclean.split_sentences(text)
    assert sentences == ["Hé said “no.”", "Then Mr. Smith left.", "Ok."]
    spans = textclean.split_sentences(text, spans=True)
    assert [text[a:b] for a, b in spans] == sentences
    assert textclean.split_sentences("") == []


def test_split_sentences_matches_the_cli():
    text = "Dr. Adams arrived at 9 a.m. on Jan. 5. She left at noon… Nobody noticed."
    out = subprocess.run(
        [*cli_command(), "split-sentences"],
        input=json.dumps({"id": 1, "text": text}) + "\n",
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert json.loads(out)["sentences"] == textclean.split_sentences(text)


@pytest.mark.parametrize("bad", [b"bytes", 3, None, ["list"]])
def test_non_str_text_raises_type_error(bad):
    with pytest.raises(TypeError, match="expected str"):
        textclean.Pipeline().clean(bad)
    with pytest.raises(TypeError, match="expected str"):
        textclean.split_sentences(bad)


def test_batch_type_errors_name_the_item():
    p = textclean.Pipeline()
    with pytest.raises(TypeError, match=r"texts\[1\]: expected str, got bytes"):
        p.clean_batch(["ok", b"no"])
    with pytest.raises(TypeError, match="got one str"):
        p.clean_batch("not a list")
    with pytest.raises(TypeError, match=r"ids\[0\]"):
        p.clean_batch(["a"], ids=[1.5])
    with pytest.raises(ValueError, match="ids has 1 items for 2 texts"):
        p.clean_batch(["a", "b"], ids=["x"])
    with pytest.raises(ValueError, match="threads"):
        p.clean_batch(["a"], threads=0)


def test_a_lone_surrogate_never_reaches_rust():
    with pytest.raises(UnicodeEncodeError):
        textclean.Pipeline().clean("half \ud800 a pair")


def test_invalid_config_names_the_stage_and_key(tmp_path):
    bad = '[[stages]]\ntype = "normalize"\n\n[[stages]]\ntype = "captions"\nwindoww = 3\n'
    with pytest.raises(ValueError, match=r"stages\[1\].*windoww"):
        textclean.Pipeline(bad)
    path = tmp_path / "bad.toml"
    path.write_text(bad)
    with pytest.raises(ValueError, match=r"bad\.toml: stages\[1\]"):
        textclean.Pipeline(path)
    with pytest.raises(ValueError, match=r"stages\[0\].*quote"):
        textclean.Pipeline('[[stages]]\ntype = "quote"\n')
    with pytest.raises(ValueError, match=r"stages\[0\].*nonzero"):
        textclean.Pipeline('[[stages]]\ntype = "captions"\nwindow = 0\n')
    with pytest.raises(OSError):
        textclean.Pipeline(tmp_path / "missing.toml")
    with pytest.raises(TypeError):
        textclean.Pipeline(3)


def test_bad_profile_files(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a profile at all")
    with pytest.raises(ValueError, match="not a textclean corpus profile"):
        textclean.Pipeline(profile=junk)
    with pytest.raises(OSError):
        textclean.Pipeline(profile=tmp_path / "missing.bin")
    with pytest.raises(OSError):
        textclean.build_profile([tmp_path / "missing.jsonl"], tmp_path / "p.bin")


def test_a_panic_becomes_runtime_error():
    with pytest.raises(RuntimeError, match="panicked: deliberate"):
        textclean._native._panic_for_tests("deliberate")
    # The interpreter and the module still work afterwards.
    assert textclean.split_sentences("One. Two.") == ["One.", "Two."]


def test_the_cli_is_in_the_wheel(tmp_path):
    done = run_cli("--version")
    assert done.returncode == 0 and done.stdout.startswith("textclean ")
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "a", "text": "Hide Ad\nHe waved."}) + "\n")
    done = run_cli("clean", "--quiet", "-o", "-", str(src))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["text"] == "He waved."
    done = run_cli("check-config", str(tmp_path / "missing.toml"))
    assert done.returncode == 2 and done.stderr.startswith("textclean: ")
    done = run_cli("clean", "--no-such-flag")
    assert done.returncode == 2


def test_pipelines_pickle_as_their_arguments(tmp_path):
    import pickle

    pages = shared_path("webdev/pages")
    profile = textclean.build_profile([pages], tmp_path / "p.bin")
    text = "Hide Ad\nHe waved. Mr. Smith left."
    config = tmp_path / "c.toml"
    config.write_text('[[stages]]\ntype = "normalize"\n')
    for p in (
        textclean.Pipeline(),
        textclean.Pipeline(profile=profile),
        textclean.Pipeline('[[stages]]\ntype = "quotes"\n'),
        textclean.Pipeline(config),
    ):
        q = pickle.loads(pickle.dumps(p))
        assert (q.stages, q.config, repr(q)) == (p.stages, p.config, repr(p))
        assert q.clean(text).text == p.clean(text).text
