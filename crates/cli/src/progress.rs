//! A progress bar on stderr for long hunts: shown only when stderr is a terminal and the
//! input is large, never when piped. It follows the catalog's count of bytes read.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Inputs smaller than this finish before a bar would help.
const MIN_BYTES: u64 = 64 << 20;

pub struct Progress {
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    pub fn start(read: Arc<AtomicU64>, total: u64, quiet: bool) -> Progress {
        let done = Arc::new(AtomicBool::new(false));
        let thread = (!quiet && total >= MIN_BYTES && std::io::stderr().is_terminal()).then(|| {
            let done = done.clone();
            std::thread::spawn(move || {
                let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
                if let Ok(style) = ProgressStyle::with_template(
                    "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}",
                ) {
                    bar.set_style(style);
                }
                while !done.load(Ordering::Relaxed) {
                    bar.set_position(read.load(Ordering::Relaxed).min(total));
                    std::thread::sleep(Duration::from_millis(100));
                }
                bar.finish_and_clear();
            })
        });
        Progress { done, thread }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
