//! Render prefix sets as firewall and AWS rules. (Being written.)
#![no_std]
#![forbid(unsafe_code)]
extern crate alloc;
