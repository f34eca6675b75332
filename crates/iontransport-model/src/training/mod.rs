//! Training: data sets of trajectories (`data`), the optimiser and phases, the training
//! loop and its gradients (`train`), and checkpoints (`checkpoint`).

mod adam;
pub mod checkpoint;
pub mod data;
mod phase;
pub mod train;
