//! ipset output. (Being written.)
