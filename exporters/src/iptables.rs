//! iptables output. (Being written.)
