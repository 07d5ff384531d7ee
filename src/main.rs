//! The `kiste` binary: parse the command line, run the verb, map errors to docker's exit
//! codes (125 kiste's own error, 126 cannot execute, 127 not found, else the container's).

use clap::FromArgMatches;
use kiste::cli::Cli;
use kiste::commands::{dispatch, Exit};

/// dlmalloc instead of musl's malloc: see `kiste::alloc`.
#[global_allocator]
static ALLOCATOR: kiste::alloc::Allocator = kiste::alloc::Allocator;

/// musl's `open` follows every `O_CLOEXEC` open with `fcntl(F_SETFD, FD_CLOEXEC)` for
/// kernels older than 2.6.23, which ignored the flag; Rust's std opens everything with
/// `O_CLOEXEC`, so that is one extra system call per file (78 in one `run --rm`). This
/// definition replaces musl's in the static link (its `open.o` is then not linked); it
/// makes the same system call without the emulation.
#[cfg(target_env = "musl")]
#[no_mangle]
pub unsafe extern "C" fn open(
    path: *const libc::c_char,
    flags: libc::c_int,
    mode: libc::c_uint,
) -> libc::c_int {
    // SAFETY: the caller's path is a C string, as for open(2); `syscall` sets errno.
    unsafe { libc::syscall(libc::SYS_open, path, flags | libc::O_LARGEFILE, mode) as libc::c_int }
}

fn main() {
    quiet_on_closed_stdout();
    // An OCI runtime's command line (runc's): as `kiste-oci` (a symlink that podman or
    // containerd call by path) or `kiste oci`, parsed by its own parser.
    let mut argv = std::env::args_os();
    let program = argv.next().unwrap_or_default();
    let name = std::path::Path::new(&program).file_name();
    if name.is_some_and(|n| n == "kiste-oci") {
        std::process::exit(kiste::oci::main(argv.collect()));
    }
    if argv.next().is_some_and(|a| a == "oci") {
        std::process::exit(kiste::oci::main(argv.collect()));
    }
    // At tab time the shell runs `COMPLETE=<shell> kiste -- words…`: answer and exit.
    clap_complete::CompleteEnv::with_factory(kiste::cli::command).complete();
    // Each verb's example is attached only when help is asked for: building it into every
    // verb's definition costs ~1 ms on every start.
    let help = std::env::args_os().any(|a| a == "--help" || a == "-h" || a == "help");
    let command = if help {
        kiste::cli::command()
    } else {
        <Cli as clap::CommandFactory>::command()
    };
    let parsed = command
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(c) => c,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => 125,
            };
            match kiste::cli::flag_error_line(&e) {
                Some(line) => eprintln!("Error: {line}"),
                None => {
                    let _ = e.print();
                }
            }
            std::process::exit(code);
        }
    };
    kiste::logging::set_level(cli.log_level);
    if let Err(e) = dispatch(cli) {
        let code = match e.downcast_ref::<Exit>() {
            Some(exit) => {
                if !exit.message.is_empty() {
                    eprintln!("Error: {}", exit.message);
                }
                exit.code
            }
            None => {
                eprintln!("Error: {e:#}");
                125
            }
        };
        std::process::exit(code);
    }
}

/// `kiste ps | head -1`: when the reader of stdout goes away, `println!` panics on the
/// broken pipe. End as a process killed by SIGPIPE looks to a shell (exit 141, docker's
/// CLI dies of the signal), without a panic message. SIGPIPE itself stays ignored: the
/// monitors and copy loops forked from this process must see EPIPE, not die of it.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to std") && message.contains("Broken pipe") {
            std::process::exit(128 + libc::SIGPIPE);
        }
        default(info);
    }));
}
