//! What the instructor sees of the room: a page that reloads itself, and the same rows as JSON.

use serde::Serialize;

use crate::workbook::room::{Record, Room, Seen};

/// How often the page reloads itself.
pub const REFRESH_SECONDS: u32 = 5;

/// `/status.json`: every learner, stuck longest first.
#[derive(Debug, Serialize)]
pub struct Status<'a> {
    pub schema: u32,
    /// Records accepted since the server started.
    pub received: u64,
    pub learners: Vec<Learner<'a>>,
}

#[derive(Debug, Serialize)]
pub struct Learner<'a> {
    #[serde(flatten)]
    pub record: &'a Record,
    /// Minutes on the current state now (the record's count plus the time since it came).
    pub minutes_now: u64,
    pub seconds_since_record: u64,
    /// The row's text on the page.
    pub summary: String,
}

pub fn status(room: &Room, now: u64) -> Status<'_> {
    let learners = room
        .stuck_first(now)
        .into_iter()
        .map(|seen: &Seen| Learner {
            record: &seen.record,
            minutes_now: seen.minutes_at(now),
            seconds_since_record: now.saturating_sub(seen.received_at),
            summary: seen.record.describe(),
        })
        .collect();
    Status { schema: 1, received: room.received, learners }
}

/// The instructor's page. `token` goes into the JSON link; the page is only served to whoever holds it.
pub fn page(room: &Room, now: u64, token: &str) -> String {
    let status = status(room, now);
    let stuck = status.learners.iter().filter(|l| !l.record.passed() && l.record.lesson.is_some()).count();
    let mut rows = String::new();
    for learner in &status.learners {
        let r = learner.record;
        let class = if r.passed() {
            "passed"
        } else if r.lesson.is_some() {
            "stuck"
        } else {
            "joined"
        };
        let minutes = if class == "stuck" { learner.minutes_now.to_string() } else { String::new() };
        let attempts = if r.lesson.is_some() { r.attempts.to_string() } else { String::new() };
        rows.push_str(&format!(
            "<tr class=\"{class}\"><td>{}</td><td>{}</td><td>{minutes}</td><td>{attempts}</td><td>{}</td></tr>\n",
            escape(&r.name),
            escape(&learner.summary),
            ago(learner.seconds_since_record),
        ));
    }
    if rows.is_empty() {
        rows = "<tr><td colspan=\"5\">nobody has joined yet</td></tr>\n".into();
    }
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="{REFRESH_SECONDS}">
<title>Room · {stuck} stuck</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; }}
td, th {{ padding: .3em .8em; text-align: left; border-bottom: 1px solid #ddd; }}
tr.stuck td:first-child {{ border-left: .4em solid #c33; }}
tr.passed td:first-child {{ border-left: .4em solid #3a3; }}
tr.joined td:first-child {{ border-left: .4em solid #999; }}
</style></head>
<body>
<h1>The room</h1>
<p id="summary">{learners} learners, {stuck} stuck; {received} records received. This page reloads every {REFRESH_SECONDS} s.</p>
<table>
<thead><tr><th>learner</th><th>where</th><th>minutes on it</th><th>checks on it</th><th>last check</th></tr></thead>
<tbody>
{rows}</tbody>
</table>
<p><a href="/status.json?token={token}">the same as JSON</a></p>
</body></html>
"#,
        learners = status.learners.len(),
        received = status.received,
        token = escape(token),
    )
}

/// The page for anyone without the token.
pub fn refused() -> String {
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Room</title></head>\
     <body><p>This page needs the room's token: open the address <code>cargo xtask room serve</code> printed.</p></body></html>\n"
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

    #[test]
    fn names_are_escaped_and_rows_follow_the_room_order() {
        let mut room = Room::default();
        room.accept(Record { lesson: Some("01".into()), state: "passed".into(), ..Record::joined("<b>bo</b>") }, 100);
        room.accept(
            Record {
                lesson: Some("02".into()),
                state: "failing".into(),
                layer: Some(1),
                layer_name: Some("wrong target".into()),
                layers: 3,
                minutes: 7,
                attempts: 4,
                ..Record::joined("ada")
            },
            100,
        );
        let page = page(&room, 160, "tok");
        assert!(page.contains("&lt;b&gt;bo&lt;/b&gt;") && !page.contains("<b>bo"));
        let (ada, bo) = (page.find(">ada<").unwrap(), page.find("bo&lt;").unwrap());
        assert!(ada < bo, "the stuck learner comes first");
        assert!(page.contains("<td>02 layer 1 of 3: wrong target</td><td>8</td><td>4</td><td>1 min ago</td>"), "{page}");
        let json = serde_json::to_value(status(&room, 160)).unwrap();
        assert_eq!(json["learners"][0]["name"], "ada");
        assert_eq!(json["learners"][0]["minutes_now"], 8);
        assert_eq!(json["received"], 2);
    }
}
