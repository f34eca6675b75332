//! The attention vector field's network: masked ion tokens -> single-head attention -> a
//! body (five tanh linear layers, the same per token, or convolutions over the ion slots)
//! -> the raw rate g, with hand-written vector-Jacobian products (checked against finite
//! differences in the tests; see docs/model.md for why not dfdx).
//!
//! One implementation serves every caller: the network runs on a batch of rows (states),
//! and a single point is a batch of one row.

mod body;
mod config;
pub mod conv;
mod pass;
mod tokens;
mod workspace;

pub use config::{
    Body, Conditioning, DESCRIPTORS, Layout, NetworkConfig, TOKEN_FEATURES, descriptors_of,
};
pub use pass::{Pass, backward, forward, restore};
pub(crate) use pass::{backward_simd, forward_simd, restore_simd};
pub use workspace::Workspace;
