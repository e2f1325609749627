//! Differences between two versions of a source.
