//! HTML building blocks: escaping, the page frame with its navigation, tables and forms.
//!
//! Every text that comes from a broker, a client or the request goes through [`esc`] before it
//! reaches a page: message bodies, keys, topic and group names are user data.

use std::fmt::Write;

/// The style sheet and script, compiled into the binary (no CDN, no build step).
pub const STYLE: &str = include_str!("../assets/dashboard.css");
/// See [`STYLE`].
pub const SCRIPT: &str = include_str!("../assets/dashboard.js");

/// `s` with `& < > " '` replaced by entities, safe in element text and in quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `s` percent-encoded for a query-string value.
pub fn url(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// The pages of the navigation bar: (path, title).
pub const NAV: &[(&str, &str)] = &[
    ("/", "Overview"),
    ("/topics", "Topics"),
    ("/groups", "Consumer groups"),
    ("/producers", "Producers"),
    ("/messages", "Messages"),
    ("/dlq", "Dead letters"),
    ("/config", "Config"),
];

/// A whole page: head with the embedded style, the navigation (`active` marked), `body`.
pub fn layout(title: &str, active: &str, body: &str) -> String {
    let mut nav = String::new();
    for (path, name) in NAV {
        let class = if *path == active {
            " class=\"active\""
        } else {
            ""
        };
        let _ = write!(nav, "<a href=\"{path}\"{class}>{name}</a>");
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · FerroMQ</title><style>{STYLE}</style></head>\
         <body><header><span class=\"brand\">FerroMQ</span><nav>{nav}</nav></header>\
         <main><h1>{title}</h1>{body}</main><script>{SCRIPT}</script></body></html>",
        title = esc(title)
    )
}

/// A table: `head` are column titles, each row's cells are already HTML (escape them first).
pub fn table(id: &str, head: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!("<table id=\"{}\"><thead><tr>", esc(id));
    for h in head {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    if rows.is_empty() {
        let _ = write!(
            out,
            "<tr><td colspan=\"{}\" class=\"empty\">none</td></tr>",
            head.len()
        );
    }
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

/// A form the script sends as JSON to `api` (POST) and whose answer it shows under it;
/// `fields` is the inner HTML (inputs named as the API's fields). With `reload` the page
/// reloads after a success.
pub fn api_form(id: &str, api: &str, fields: &str, button: &str, reload: bool) -> String {
    format!(
        "<form class=\"api\" id=\"{id}\" data-api=\"{api}\"{reload}>{fields}\
         <button type=\"submit\">{button}</button><pre class=\"result\"></pre></form>",
        id = esc(id),
        api = esc(api),
        reload = if reload { " data-reload=\"1\"" } else { "" },
        button = esc(button),
    )
}

/// A labelled text input.
pub fn input(name: &str, label: &str, value: &str) -> String {
    format!(
        "<label>{label} <input name=\"{name}\" value=\"{value}\"></label>",
        label = esc(label),
        name = esc(name),
        value = esc(value)
    )
}

/// A hidden input.
pub fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        esc(name),
        esc(value)
    )
}

/// A link to `path?query` with text `text` (both escaped).
pub fn link(href: &str, text: &str) -> String {
    format!("<a href=\"{}\">{}</a>", esc(href), esc(text))
}

/// Epoch milliseconds as `yyyy-MM-dd HH:mm:ss.SSS` UTC; `-` for 0 or less.
pub fn time(ms: i64) -> String {
    if ms <= 0 {
        return "-".to_owned();
    }
    let days = ms.div_euclid(86_400_000);
    let rest = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{:03}",
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000
    )
}

/// Howard Hinnant's days-to-civil: (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// A chart the script draws from `src` (a JSON endpoint answering
/// `{"series": [{"name", "points": [[ms, value], ...]}]}`), refreshed every few seconds.
pub fn chart(id: &str, title: &str, src: &str, unit: &str) -> String {
    format!(
        "<figure class=\"chart\"><figcaption>{title}</figcaption>\
         <svg id=\"{id}\" data-src=\"{src}\" data-unit=\"{unit}\" viewBox=\"0 0 600 200\" \
         preserveAspectRatio=\"none\"></svg><div class=\"legend\"></div></figure>",
        title = esc(title),
        id = esc(id),
        src = esc(src),
        unit = esc(unit)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
        assert_eq!(url("%DLQ%g 1&x"), "%25DLQ%25g%201%26x");
    }

    #[test]
    fn times_are_utc() {
        assert_eq!(time(0), "-");
        assert_eq!(time(1_700_000_000_123), "2023-11-14 22:13:20.123");
        assert_eq!(time(951_782_400_000), "2000-02-29 00:00:00.000");
    }
}
