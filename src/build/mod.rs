//! (build: filled in by its owner)
