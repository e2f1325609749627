//! pf output. (Being written.)
