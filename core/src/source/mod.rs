//! Parsers for the published formats. (Being written: see the helper's brief.)
