//! (cli: filled in by its owner)
