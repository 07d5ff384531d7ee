//! (storage: filled in by its owner)
