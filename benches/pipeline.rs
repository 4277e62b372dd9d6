//! Criterion benches: one group per stage plus the whole pipeline, in MB/s
//! (`Throughput::Bytes` of the input text), on one thread.

// Tests and benches may panic on their own fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use textclean::config::PipelineConfig;
use textclean::corpus::CorpusProfile;
use textclean::document::Document;
use textclean::stage::{Pipeline, Stage};

const FIXTURE_BYTES: usize = 4 << 20;

fn docs(texts: &[String]) -> Vec<Document> {
    texts.iter().map(|t| Document::new("bench", t)).collect()
}

/// Documents as each stage sees them: after the stages before it.
fn prepared(p: &Pipeline, upto: usize, texts: &[String]) -> Vec<Document> {
    let mut ds = docs(texts);
    let mut scratch = textclean::stats::StageStats::default();
    for d in &mut ds {
        for stage in p.stages().iter().take(upto) {
            stage.apply(d, &mut scratch);
        }
    }
    ds
}

fn stages(c: &mut Criterion) {
    let texts = common::texts(FIXTURE_BYTES);
    let bytes = common::bytes(&texts);
    let config = PipelineConfig::default_config();
    let pipeline = config
        .build(&CorpusProfile::empty())
        .expect("default config builds");
    for (i, stage) in pipeline.stages().iter().enumerate() {
        let mut g = c.benchmark_group(format!("stage/{}", stage.name()));
        g.throughput(Throughput::Bytes(bytes));
        g.sample_size(10);
        let input = prepared(&pipeline, i, &texts);
        g.bench_function("default", |b| {
            b.iter_batched(
                || input.clone(),
                |mut ds| {
                    let mut st = textclean::stats::StageStats::default();
                    for d in &mut ds {
                        stage.apply(d, &mut st);
                    }
                    ds
                },
                BatchSize::LargeInput,
            )
        });
        g.finish();
    }
}

fn whole(c: &mut Criterion) {
    let texts = common::texts(FIXTURE_BYTES);
    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Bytes(common::bytes(&texts)));
    g.sample_size(10);
    let pipeline = PipelineConfig::default_config()
        .build(&CorpusProfile::empty())
        .expect("default config builds");
    g.bench_function("default_one_thread", |b| {
        b.iter(|| {
            let mut st = pipeline.new_stage_stats();
            for t in &texts {
                let mut d = Document::new("bench", t);
                pipeline.apply(&mut d, &mut st);
                std::hint::black_box(d.text());
            }
        })
    });
    g.finish();
}

criterion_group!(benches, stages, whole);
criterion_main!(benches);
