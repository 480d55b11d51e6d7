//! `attrib`: the engine on the command line (see `attrib --help`). Native only.
use std::process::ExitCode;

#[cfg(not(target_arch = "wasm32"))]
fn main() -> ExitCode {
    keep_freed_memory();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match attribution_explorer::cli::run(&args, &mut std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// glibc gives the top of its heap back to the kernel whenever more than 128 KB of it is
/// free, so a job that frees its results (a `--repeat` run, a refit) has the next one
/// fault in fresh, zeroed pages: the scoring of every breast-cancer pair took 0.5 ms
/// instead of 0.2. glibc raises this threshold by itself only after a single freed
/// block of over 128 KB (NumPy's large arrays), never for many small vectors like ours.
/// Keeping up to 64 MB of freed heap in the process is what a warm job needs.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    // SAFETY: mallopt only sets a glibc threshold; it is called before any other thread
    // exists and touches no memory of ours.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
    }
}

/// Other allocators keep freed memory by themselves.
#[cfg(not(any(all(target_os = "linux", target_env = "gnu"), target_arch = "wasm32")))]
fn keep_freed_memory() {}

#[cfg(target_arch = "wasm32")]
fn main() -> ExitCode {
    ExitCode::FAILURE
}
