//! What the instructor sees of the room: a page that reloads itself, the
//! same as JSON, and a projector view with the counts and no names. The
//! counts end with each lesson's median time to pass, measured in the room.

use serde::Serialize;

use crate::record::Record;
use crate::state::{Learner as Seen, LessonCount, Room, Settings, Standing};

/// How often the pages reload themselves.
pub const REFRESH_SECONDS: u32 = 5;

/// `/status.json`: the counts, then every learner, stuck longest first.
#[derive(Debug, Serialize)]
pub struct Status<'a> {
    pub schema: u32,
    /// Distinct records accepted since the room first started.
    pub received: u64,
    pub settings: Settings,
    pub totals: Totals,
    pub lessons: Vec<LessonCount>,
    pub learners: Vec<Learner<'a>>,
}

/// How many learners stand where; `idle` overlaps the others.
#[derive(Debug, Default, Serialize)]
pub struct Totals {
    pub learners: usize,
    pub stuck: usize,
    pub blocked: usize,
    pub working: usize,
    pub joined: usize,
    pub passed: usize,
    pub idle: usize,
}

#[derive(Debug, Serialize)]
pub struct Learner<'a> {
    #[serde(flatten)]
    pub record: &'a Record,
    pub standing: Standing,
    pub idle: bool,
    /// What the machine lacks, when it blocks them.
    pub blocked_by: Option<&'a str>,
    /// Minutes on the current state now (the record's count plus the time since the check).
    pub minutes_now: u64,
    pub seconds_since_check: u64,
    /// The row's text on the page.
    pub summary: String,
}

pub fn status(room: &Room, now: u64) -> Status<'_> {
    let mut totals = Totals::default();
    let learners: Vec<Learner> = room
        .in_order(now)
        .into_iter()
        .map(|seen: &Seen| {
            let standing = seen.standing(now, &room.settings);
            let idle = seen.idle(now, &room.settings);
            totals.learners += 1;
            totals.idle += usize::from(idle);
            *match standing {
                Standing::Stuck => &mut totals.stuck,
                Standing::Blocked => &mut totals.blocked,
                Standing::Working => &mut totals.working,
                Standing::Joined => &mut totals.joined,
                Standing::Passed => &mut totals.passed,
            } += 1;
            Learner {
                record: &seen.latest,
                blocked_by: (standing == Standing::Blocked).then(|| seen.blocked_by()).flatten(),
                standing,
                idle,
                minutes_now: seen.minutes_at(now),
                seconds_since_check: now.saturating_sub(seen.checked_at),
                summary: seen.latest.describe(),
            }
        })
        .collect();
    Status { schema: 2, received: room.received, settings: room.settings, totals, lessons: room.counts(), learners }
}

/// `1 learner`, `2 learners`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// One line of totals, in words; what is zero is left out, except the learners.
fn totals_line(totals: &Totals) -> String {
    let mut parts = vec![count(totals.learners, "learner", "learners")];
    for (n, what) in [
        (totals.stuck, "stuck"),
        (totals.blocked, "blocked by the machine"),
        (totals.working, "working"),
        (totals.joined, "joined, no check yet"),
        (totals.passed, "passed their last check"),
        (totals.idle, "idle"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    parts.join(" · ")
}

/// The lesson-by-layer table both pages open with.
fn counts_table(lessons: &[LessonCount], big: bool) -> String {
    if lessons.is_empty() {
        return "<p>No check yet.</p>\n".into();
    }
    let mut rows = String::new();
    for lesson in lessons {
        let mut cells = String::new();
        for (k, (name, n)) in &lesson.at_layer {
            cells.push_str(&format!("<span class=\"layer\">layer {k} of {}, {}: <b>{n}</b></span> ", lesson.layers, escape(name)));
        }
        if lesson.at_no_known_layer > 0 {
            cells.push_str(&format!("<span class=\"layer\">no known layer: <b>{}</b></span> ", lesson.at_no_known_layer));
        }
        let median = match lesson.median_minutes_to_pass {
            Some(m) => format!("{} <small>({})</small>", count(m as usize, "min", "min"), count(lesson.solved, "learner", "learners")),
            None => String::new(),
        };
        rows.push_str(&format!(
            "<tr><th>{} <small>{}</small></th><td class=\"n\">{}</td><td class=\"n passed\">{}</td><td class=\"n blocked\">{}</td><td>{cells}</td><td class=\"n\">{median}</td></tr>\n",
            escape(&lesson.lesson),
            escape(&lesson.title),
            lesson.on_it,
            lesson.passed,
            lesson.blocked,
        ));
    }
    format!(
        "<table class=\"counts{}\">\n<thead><tr><th>lesson</th><th>on it now</th><th>passed</th><th>blocked by the machine</th><th>failing at</th><th>median to pass</th></tr></thead>\n<tbody>\n{rows}</tbody>\n</table>\n",
        if big { " big" } else { "" }
    )
}

const STYLE: &str = r#"<style>
body { font-family: "Noto Sans", "Noto Sans CJK SC", sans-serif; margin: 2em; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
td, th { padding: .3em .8em; text-align: left; border-bottom: 1px solid #ddd; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
td.passed { color: #272; } td.blocked { color: #a50; }
.layer { display: inline-block; margin-right: 1em; }
table.big { font-size: 1.6em; }
p.totals { font-size: 1.2em; }
p.big { font-size: 2em; }
tr.stuck td:first-child { border-left: .4em solid #c33; }
tr.blocked td:first-child { border-left: .4em solid #e80; }
tr.working td:first-child { border-left: .4em solid #48c; }
tr.passed td:first-child { border-left: .4em solid #3a3; }
tr.joined td:first-child { border-left: .4em solid #999; }
tr.idle td { color: #888; }
</style>"#;

/// The instructor's page. `token` goes into its links; the page is only served to whoever holds it.
pub fn page(room: &Room, now: u64, token: &str) -> String {
    let status = status(room, now);
    let shared = room.shared_names();
    let mut rows = String::new();
    for learner in &status.learners {
        let r = learner.record;
        let class = format!("{:?}", learner.standing).to_lowercase();
        let name = if shared.contains(&r.name) { format!("{} ({})", r.name, &r.id[..r.id.len().min(4)]) } else { r.name.clone() };
        let standing = if learner.idle { format!("{}, idle", learner.standing.label()) } else { learner.standing.label().to_string() };
        let minutes =
            if matches!(learner.standing, Standing::Stuck | Standing::Working) { learner.minutes_now.to_string() } else { String::new() };
        let attempts = if r.lesson.is_some() { r.attempts.to_string() } else { String::new() };
        rows.push_str(&format!(
            "<tr class=\"{class}{}\"><td>{}</td><td>{standing}</td><td>{}</td><td>{minutes}</td><td>{attempts}</td><td>{}</td></tr>\n",
            if learner.idle { " idle" } else { "" },
            escape(&name),
            escape(&learner.summary),
            ago(learner.seconds_since_check),
        ));
    }
    if rows.is_empty() {
        rows = "<tr><td colspan=\"6\">nobody has joined yet</td></tr>\n".into();
    }
    let settings = &status.settings;
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{REFRESH_SECONDS}">
<title>Room · {stuck} stuck</title>
{STYLE}</head>
<body>
<h1>The room</h1>
<p class="totals" id="summary">{totals}</p>
{counts}<table class="learners">
<thead><tr><th>learner</th><th>standing</th><th>where</th><th>minutes on it</th><th>checks on it</th><th>last check</th></tr></thead>
<tbody>
{rows}</tbody>
</table>
<p>Stuck: failing with no progress for {stuck_after}. Idle: no check for {idle_after}. Median to pass: from a learner's start of the lesson (their record before its first check) to their first pass with their own fix, not the solution. {received}; this page reloads every {REFRESH_SECONDS} s.
<a href="/projector?token={token}">projector view</a> · <a href="/status.json?token={token}">the same as JSON</a></p>
</body></html>
"#,
        stuck = status.totals.stuck,
        totals = escape(&totals_line(&status.totals)),
        counts = counts_table(&status.lessons, false),
        stuck_after = count(settings.stuck_after as usize, "minute", "minutes"),
        idle_after = count(settings.idle_after as usize, "minute", "minutes"),
        received = count(status.received as usize, "record received", "records received"),
        token = escape(token),
    )
}

/// The view for the projector: the counts, no names.
pub fn projector(room: &Room, now: u64) -> String {
    let status = status(room, now);
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{REFRESH_SECONDS}">
<title>Room</title>
{STYLE}</head>
<body>
<p class="big" id="summary">{totals}</p>
{counts}</body></html>
"#,
        totals = escape(&totals_line(&status.totals)),
        counts = counts_table(&status.lessons, true),
    )
}

/// The page for anyone without the instructor's token.
pub fn refused() -> String {
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Room</title></head>\
     <body><p>This page needs the instructor's token: open the address <code>room serve</code> printed.</p></body></html>\n"
        .to_string()
}

fn ago(seconds: u64) -> String {
    match seconds {
        0..=59 => format!("{seconds} s ago"),
        60..=3599 => format!("{} min ago", seconds / 60),
        _ => format!("{} h ago", seconds / 3600),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(room: &mut Room, record: Record, at: u64) {
        let key = format!("k{}", record.id);
        room.accept(record, &key, at).unwrap();
    }

    fn failing(name: &str, minutes: u64) -> Record {
        Record {
            id: format!("id-{name}"),
            seq: 1,
            lesson: Some("02".into()),
            title: Some("Attach".into()),
            state: "failing".into(),
            layer: Some(1),
            layer_name: Some("wrong target".into()),
            layers: 3,
            minutes,
            attempts: 4,
            ..Record::joined(name)
        }
    }

    #[test]
    fn names_are_escaped_and_rows_follow_the_room_order() {
        let mut room = Room::default();
        take(
            &mut room,
            Record { id: "b".into(), seq: 1, lesson: Some("01".into()), state: "passed".into(), ..Record::joined("<b>bo</b>") },
            100,
        );
        take(&mut room, failing("ada", 10), 100);
        let page = page(&room, 160, "tok");
        assert!(page.contains("&lt;b&gt;bo&lt;/b&gt;") && !page.contains("<b>bo"));
        let (ada, bo) = (page.find(">ada<").unwrap(), page.find("bo&lt;").unwrap());
        assert!(ada < bo, "the stuck learner comes first");
        assert!(page.contains("<td>stuck</td><td>02 layer 1 of 3: wrong target</td><td>11</td><td>4</td><td>1 min ago</td>"), "{page}");
        let json = serde_json::to_value(status(&room, 160)).unwrap();
        assert_eq!(json["learners"][0]["name"], "ada");
        assert_eq!(json["learners"][0]["minutes_now"], 11);
        assert_eq!(json["learners"][0]["standing"], "stuck");
        assert_eq!(json["totals"]["stuck"], 1);
        assert_eq!(json["received"], 2);
    }

    #[test]
    fn one_is_singular_and_zero_is_left_out() {
        let mut room = Room::default();
        take(&mut room, failing("ada", 0), 100);
        let page = page(&room, 100, "tok");
        assert!(page.contains("1 learner · 1 working</p>"), "{page}");
        assert!(page.contains("1 record received;"), "{page}");
        assert!(!page.contains("1 learners") && !page.contains("0 stuck ·"));
        take(&mut room, failing("bo", 0), 100);
        assert!(super::page(&room, 100, "tok").contains("2 learners · 2 working"));
    }

    #[test]
    fn the_projector_shows_counts_and_no_names() {
        let mut room = Room::default();
        take(&mut room, failing("ada", 30), 100);
        take(&mut room, Record { id: "x".into(), seq: 1, machine: vec!["no BTF".into()], ..Record::joined("Zhang Wei") }, 100);
        let view = projector(&room, 100);
        assert!(!view.contains("ada") && !view.contains("Zhang"), "{view}");
        assert!(view.contains("2 learners · 1 stuck · 1 blocked by the machine"), "{view}");
        assert!(view.contains("layer 1 of 3, wrong target: <b>1</b>"), "{view}");
    }

    #[test]
    fn a_repeated_name_shows_the_id_too() {
        let mut room = Room::default();
        take(&mut room, Record { id: "aaaa1111".into(), ..failing("alex", 0) }, 100);
        take(&mut room, Record { id: "bbbb2222".into(), ..failing("alex", 0) }, 100);
        let page = page(&room, 100, "tok");
        assert!(page.contains(">alex (aaaa)<") && page.contains(">alex (bbbb)<"), "{page}");
    }
}
