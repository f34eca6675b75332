//! # iontransport-cli
//!
//! The application on top of the iontransport library crates: the `iontransport` command line,
//! the study that reproduces the paper's experiments (`reproduce`) and its figures. Library users
//! depend on `iontransport-model` (or the lower crates) instead; nothing here is needed to train
//! or use a model, and plotting and argument parsing stay out of their dependency trees.
//!
//! Units: SI inside (mol/m^3, m/s, Pa, m); the command line accepts units on every value
//! (parsed by [`np_transport::quantities`]).
//!
//! ```
//! use clap::Parser;
//! use iontransport_cli::{args::Cli, commands::run_cli};
//!
//! // DSPM-DE rejections of 20 mM NaCl at 10 and 20 L/m2/h, with the NF270-like membrane.
//! let cli = Cli::try_parse_from([
//!     "iontransport", "dspmde", "--feed", "Na+=20 mM, Cl-=20 mM", "--flux-max", "20 LMH",
//!     "--points", "2", "--csv",
//! ]).unwrap();
//! let (mut out, mut err) = (Vec::new(), Vec::new());
//! run_cli(cli, &mut out, &mut err).unwrap();
//! let text = String::from_utf8(out).unwrap();
//! assert!(text.starts_with("Jv [m/s],Jv [L/m2/h],rejection:Na+ [-],rejection:Cl- [-]"));
//! ```

pub mod args;
pub mod commands;
mod error;
pub mod figures;
pub mod ions;
pub mod paths;
pub mod report;
pub mod reproduce;
pub mod validate;

pub use error::{CliError, Result};

/// The source this binary was built from: the version and, in a git checkout, the commit
/// (`+changes` when tracked files differed from it). `iontransport --version` prints it and
/// each unit of a sharded study records it (build.rs).
pub const BUILD: &str = env!("IONTRANSPORT_BUILD");

/// The README's examples, run as doctests (so that what it promises compiles and runs).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
