//! Root and rootless store locations.
