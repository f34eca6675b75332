//! Evaluation: errors of a trained model on a set (`evaluate`), the paper's pipeline
//! (`pipeline`), grouped cross-validation on measurements (`crossval`), how far its held-out
//! feeds lie beyond their training feeds (`beyond`) and prediction intervals of trained
//! models (`ensemble`).

pub mod beyond;
pub mod crossval;
pub mod ensemble;
pub mod evaluate;
pub mod pipeline;
