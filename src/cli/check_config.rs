//! `check-config`: validate a config and print the resolved pipeline.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::load_config;

pub(super) fn run(file: Option<PathBuf>) -> Result<ExitCode> {
    let config = load_config(file.as_ref())?;
    config.build(&crate::corpus::CorpusProfile::empty())?;
    println!("# {}: valid; {} stages", config.origin, config.stages.len());
    for (i, s) in config.stages.iter().enumerate() {
        println!("#   stages[{i}] {}", s.type_name());
    }
    print!("{}", config.to_toml()?);
    Ok(ExitCode::SUCCESS)
}
