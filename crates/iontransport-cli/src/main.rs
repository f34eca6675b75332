//! `iontransport`: generate data, train, predict (neural model or DSPM-DE), inspect attention,
//! evaluate, run the main job (`pipeline`) and the study (`reproduce`).

use clap::Parser;
use iontransport_cli::args::Cli;
use iontransport_cli::commands::run_cli;

fn main() {
    // SIGINT/SIGTERM: let a save in progress finish and start no other (so no temporary file
    // stays, and every saved file is complete), then exit holding that lock.
    let cli = Cli::parse();
    let hint = cli.command.resume_hint();
    let _ = ctrlc::set_handler(move || {
        let _no_more_writes = np_transport::data::stop_writes();
        eprintln!("interrupted; saved files are complete ({hint})");
        std::process::exit(130);
    });
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    if let Err(e) = run_cli(cli, &mut out, &mut err) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
