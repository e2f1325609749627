//! nftables output. (Being written.)
