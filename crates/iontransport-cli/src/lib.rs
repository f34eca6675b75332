//! # iontransport-cli
//!
//! The application on top of the iontransport library crates: the `iontransport` command line,
//! the study that reproduces the paper's experiments (`reproduce`) and its figures. Library users
//! depend on `iontransport-model` (or the lower crates) instead; nothing here is needed to train
//! or use a model, and plotting and argument parsing stay out of their dependency trees.
//!
//! Units: SI inside (mol/m^3, m/s); the command line also accepts units on every value
//! ([`units`]).

pub mod figures;
pub mod reproduce;
