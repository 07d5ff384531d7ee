//! (monitor: filled in by its owner)
