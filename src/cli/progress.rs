//! Progress bars for long decodes (hidden in --json mode and off a terminal).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::media::VideoInfo;

/// A bar over the video's duration, in tenths of a second.
pub struct DecodeProgress {
    bar: ProgressBar,
}

impl DecodeProgress {
    pub fn new(label: &str, hidden: bool) -> DecodeProgress {
        let bar = ProgressBar::with_draw_target(
            Some(0),
            if hidden {
                ProgressDrawTarget::hidden()
            } else {
                ProgressDrawTarget::stderr()
            },
        );
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
