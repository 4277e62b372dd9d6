//! The `textclean` binary: parse the command line, run, report errors.

use std::process::ExitCode;

fn main() -> ExitCode {
    match textclean::cli::main() {
        Ok(code) => code,
        Err(err) => {
            // A closed pipe (`textclean … | head`) is not an error.
            if err
                .chain()
                .filter_map(|e| e.downcast_ref::<std::io::Error>())
                .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            eprintln!("textclean: {err:#}");
            ExitCode::from(2)
        }
    }
}
