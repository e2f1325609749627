//! Integration tests: the `ipfence` binary on real published data, and the library on
//! the same data. One binary; each area is a module.

mod util;

mod cli;
mod hostile;
mod oracles;
mod matcher;
mod firewall;
