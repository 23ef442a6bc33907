//! One module per subcommand, each a short composition of the layers below (report, workbook, machine).

pub mod book;
pub mod check;
pub mod corpus;
pub mod diagnose;
pub mod doctor;
pub mod hint;
pub mod kernels;
pub mod list;
pub mod matrix;
pub mod preflight;
pub mod reset;
pub mod restore;
pub mod room;
pub mod setup;
pub mod solution;
pub mod test;
pub mod verify;
pub mod verify_args;
pub mod vm_probes;
pub mod vmlinux;
pub mod watch;
