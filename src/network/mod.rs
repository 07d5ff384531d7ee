//! (network: filled in by its owner)
