//! (cgroups: filled in by its owner)
