//! mdBook reports problems (an include it cannot read, unbalanced HTML) only
//! through `tracing`. This collects its warnings and errors so a build with
//! any of them fails.

use std::fmt::{self, Write};
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// The warnings and errors logged while it was the default subscriber.
#[derive(Clone, Default)]
pub struct Problems(Arc<Mutex<Vec<String>>>);

impl Problems {
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}

impl Subscriber for Problems {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= Level::WARN
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut message = Message(String::new());
        event.record(&mut message);
        let line = format!("mdBook {}: {}", event.metadata().level().as_str().to_lowercase(), message.0);
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(line);
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_warnings_and_errors_but_not_info() {
        let problems = Problems::default();
        tracing::subscriber::with_default(problems.clone(), || {
            tracing::info!("Running the html backend");
            tracing::warn!("unclosed HTML tag `<details>` found in `x.md`");
            tracing::error!("Error updating \"{}\", {}", "{{#include a.rs}}", "no such file");
        });
        let lines = problems.take();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(lines[0], "mdBook warn: unclosed HTML tag `<details>` found in `x.md`");
        assert!(lines[1].starts_with("mdBook error: Error updating"));
    }
}
