//! Progress bars for long decodes and imports (hidden in --json mode and off
//! a terminal).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::media::VideoInfo;

/// A bar over a count of files (`works import`).
pub struct CountProgress {
    bar: ProgressBar,
}

impl CountProgress {
    pub fn new(total: u64, hidden: bool) -> CountProgress {
        let bar = ProgressBar::with_draw_target(Some(total), draw_target(hidden));
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:32}] {pos}/{len} {elapsed} (eta {eta})")
                .expect("valid template")
                .progress_chars("=> "),
        );
        CountProgress { bar }
    }

    /// Names the item being worked on.
    pub fn working_on(&self, what: &str) {
        self.bar.set_message(what.to_string());
    }

    /// One more item done.
    pub fn done_one(&self) {
        self.bar.inc(1);
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

fn draw_target(hidden: bool) -> ProgressDrawTarget {
    if hidden {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    }
}

/// A bar over the video's duration, in tenths of a second.
pub struct DecodeProgress {
    bar: ProgressBar,
}

impl DecodeProgress {
    pub fn new(label: &str, hidden: bool) -> DecodeProgress {
        let bar = ProgressBar::with_draw_target(Some(0), draw_target(hidden));
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:32}] {percent:>3}% {elapsed} (eta {eta})")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_message(label.to_string());
        DecodeProgress { bar }
    }

    /// Callback for the decoder: position in seconds.
    pub fn update(&self, position_s: f64, info: &VideoInfo) {
        let total = (info.duration_s * 10.0).max(1.0) as u64;
        if self.bar.length() != Some(total) {
            self.bar.set_length(total);
        }
        self.bar
            .set_position(((position_s * 10.0) as u64).min(total));
    }

    /// A handle to update the bar from the decoding thread.
    pub fn clone_bar(&self) -> DecodeProgress {
        DecodeProgress {
            bar: self.bar.clone(),
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
