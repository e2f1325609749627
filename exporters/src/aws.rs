//! aws output. (Being written.)
