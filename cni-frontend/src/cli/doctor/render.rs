//! The checklist as text (one line per check, a hint under each that is not ok, a summary) or as
//! one JSON object. Both print the same checks and the same [`Tally`].

use super::checks::{Checklist, Status, Tally};
use crate::cli::escape::{controls, json_string};

/// One line per check, its hint under it when it is not ok, then the tally.
pub fn plain(list: &Checklist, tally: &Tally) -> String {
    let mut out = String::new();
    for c in list.checks() {
        let (subject, message) = (controls(&c.subject), controls(&c.message));
        out.push_str(&format!("{:<8} {subject}: {message}\n", c.status.as_str()));
        if c.status != Status::Ok && !c.hint.is_empty() {
            out.push_str(&format!("{:<8} hint: {}\n", "", controls(&c.hint)));
        }
    }
    out.push_str(&format!("{} ok, {} warnings, {} failures\n", tally.ok, tally.warnings, tally.failures));
    out
}

/// `{"checks":[{"status","subject","message","hint"}, …],"ok":N,"warnings":N,"failures":N}`.
pub fn json(list: &Checklist, tally: &Tally) -> String {
    let mut out = String::from("{\"checks\":[");
    for (i, c) in list.checks().iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("\n  {\"status\":");
        json_string(&mut out, c.status.as_str());
        for (key, value) in [("subject", &c.subject), ("message", &c.message), ("hint", &c.hint)] {
            out.push_str(&format!(",\"{key}\":"));
            json_string(&mut out, value);
        }
        out.push('}');
    }
    out.push_str(&format!(
        "\n],\"ok\":{},\"warnings\":{},\"failures\":{}}}\n",
        tally.ok, tally.warnings, tally.failures
    ));
    out
}
