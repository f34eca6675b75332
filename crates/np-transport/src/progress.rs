//! Progress bars on standard error, drawn only with the `progress` feature, so that a library
//! user does not compile a terminal UI; without the feature every call is a no-op. Public so
//! that the crates built on this one (iontransport-model) draw their bars the same way.

/// A progress bar (hidden unless `progress` is on and the caller asked for one).
pub struct Progress {
    #[cfg(feature = "progress")]
    bar: indicatif::ProgressBar,
}

impl Progress {
    /// A bar of `len` steps with an indicatif template, shown when `show` is true.
    #[cfg_attr(not(feature = "progress"), allow(unused_variables))]
    pub fn new(show: bool, len: u64, template: &str) -> Self {
        #[cfg(feature = "progress")]
        {
            let bar = if show {
                let b = indicatif::ProgressBar::new(len);
                if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
                    b.set_style(style);
                }
                b
            } else {
                indicatif::ProgressBar::hidden()
            };
            Self { bar }
        }
        #[cfg(not(feature = "progress"))]
        Self {}
    }

    /// Advances by one step.
    pub fn inc(&self) {
        #[cfg(feature = "progress")]
        self.bar.inc(1);
    }

    /// Sets the position.
    #[cfg_attr(not(feature = "progress"), allow(unused_variables))]
    pub fn set_position(&self, pos: u64) {
        #[cfg(feature = "progress")]
        self.bar.set_position(pos);
    }

    /// Sets the message (computed only when drawn).
    #[cfg_attr(not(feature = "progress"), allow(unused_variables))]
    pub fn set_message(&self, message: impl FnOnce() -> String) {
        #[cfg(feature = "progress")]
        if !self.bar.is_hidden() {
            self.bar.set_message(message());
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        #[cfg(feature = "progress")]
        self.bar.finish_and_clear();
    }
}
