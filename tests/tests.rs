//! Integration tests: the `ipfence` binary on real published data, and the library on
//! the same data. One binary; each area is a module.

mod util;

mod alloc_free;
mod aws;
mod cli;
mod firewall;
mod grep;
mod hostile;
mod matcher;
mod oracles;
mod providers;
mod providers_lists;
mod readme;
mod sync;
mod sync_providers;
mod verify_bot;
mod webservers;
