//! The compiled longest-prefix-match matcher. (Being written.)
