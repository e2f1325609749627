//! Fit a set into a budget of prefixes.
