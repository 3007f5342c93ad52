//! The offline subcommands: the whole engine from the command line, no database or server.

pub mod assign;
pub mod cluster;
pub mod sample_data;
