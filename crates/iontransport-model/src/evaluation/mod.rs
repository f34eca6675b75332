//! Evaluation: errors of a trained model on a set (`evaluate`), the paper's pipeline
//! (`pipeline`), and grouped cross-validation on measurements (`crossval`).

pub mod crossval;
pub mod evaluate;
pub mod pipeline;
