//! `stats --html`: the report as one self-contained page (inline CSS and SVG; no script, no
//! font or image from elsewhere), readable in a browser and printable for a review meeting.
//!
//! Every name on the page (tags, paths, causes) comes from git, where anyone may write it, so
//! each one is escaped.

use std::fmt::Write;

use super::StatsJson;
use crate::commands::list::duration_text;

const STYLE: &str = r#"
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328;
       margin: 2rem auto; max-width: 60rem; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin: 0 0 .2rem; }
h2 { font-size: 1.15rem; margin: 2rem 0 .5rem; border-bottom: 1px solid #d0d7de; padding-bottom: .2rem; }
p.sub, p.note { color: #59636e; margin: .2rem 0; }
p.note { font-size: .85rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(11rem, 1fr)); gap: .75rem; margin: 1.2rem 0; }
.card { border: 1px solid #d0d7de; border-radius: 6px; padding: .6rem .8rem; }
.card b { display: block; font-size: 1.5rem; }
.card span { color: #59636e; font-size: .85rem; }
svg { display: block; max-width: 100%; height: auto; }
svg text { font: 11px system-ui, sans-serif; fill: #1f2328; }
svg .axis { stroke: #d0d7de; }
svg .bar { fill: #0969da; }
svg .bar2 { fill: #cf222e; }
svg .bar3 { fill: #8250df; }
svg .tick { stroke: #cf222e; stroke-width: 2; }
table { border-collapse: collapse; margin: .4rem 0; }
td, th { padding: .15rem .8rem .15rem 0; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
section { break-inside: avoid; page-break-inside: avoid; }
@media print { body { margin: 0; max-width: none; } .card { border-color: #999; } }
"#;

/// `text` safe inside HTML text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
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

fn percent(share: Option<f64>) -> String {
    share.map_or_else(|| "–".into(), |s| format!("{:.1}%", s * 100.0))
}

/// A vertical bar chart: one labelled bar per (label, value, text over the bar).
fn columns(items: &[(String, f64, String)], class: &str, title: &str) -> String {
    let n = items.len().max(1) as f64;
    let (width, height, top, bottom) = (900.0, 220.0, 18.0, 40.0);
    // a few months must not make bars half the page wide
    let slot = ((width - 40.0) / n).min(60.0);
    let max = items.iter().map(|i| i.1).fold(0.0_f64, f64::max);
    let mut svg = format!(
        r#"<svg viewBox="0 0 {width} {height}" role="img" aria-label="{}"><title>{}</title>"#,
        escape(title),
        escape(title)
    );
    let base = height - bottom;
    let _ = write!(
        svg,
        r#"<line class="axis" x1="30" y1="{base}" x2="{}" y2="{base}"/>"#,
        width - 10.0
    );
    // a label at most every few bars, so that labels (about 50 units wide) never run into
    // each other
    let every = (55.0 / slot).ceil().max(1.0) as usize;
    for (k, (label, value, over)) in items.iter().enumerate() {
        let x = 35.0 + k as f64 * slot;
        let h = if max > 0.0 {
            (value / max) * (base - top)
        } else {
            0.0
        };
        let w = (slot * 0.75).max(1.0);
        let _ = write!(
            svg,
            r#"<rect class="{class}" x="{x:.1}" y="{:.1}" width="{w:.1}" height="{h:.1}"><title>{}: {}</title></rect>"#,
            base - h,
            escape(label),
            escape(over)
        );
        if *value > 0.0 && items.len() <= 36 {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                x + w / 2.0,
                base - h - 4.0,
                escape(over)
            );
        }
        if k % every == 0 {
            // a label (about 50 units wide) centred near the right edge would be cut off there:
            // it ends at its bar instead
            let (at, anchor) = if x + w / 2.0 + 27.0 > width {
                (x + w, "end")
            } else {
                (x + w / 2.0, "middle")
            };
            let _ = write!(
                svg,
                r#"<text x="{at:.1}" y="{:.1}" text-anchor="{anchor}">{}</text>"#,
                base + 16.0,
                escape(label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// A horizontal bar chart: one row per (label, count).
fn rows(items: &[(String, usize)], class: &str, title: &str) -> String {
    if items.is_empty() {
        return r#"<p class="note">Nothing recorded yet.</p>"#.into();
    }
    let (width, row) = (900.0, 24.0);
    let height = row * items.len() as f64 + 8.0;
    let label_w = 330.0;
    let max = items.iter().map(|i| i.1).max().unwrap_or(0).max(1) as f64;
    let mut svg = format!(
        r#"<svg viewBox="0 0 {width} {height}" role="img" aria-label="{}"><title>{}</title>"#,
        escape(title),
        escape(title)
    );
    for (k, (label, count)) in items.iter().enumerate() {
        let y = 4.0 + k as f64 * row;
        let w = (*count as f64 / max) * (width - label_w - 60.0);
        let shown: String = if label.chars().count() > 48 {
            let tail: String = label
                .chars()
                .rev()
                .take(47)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            format!("…{tail}")
        } else {
            label.clone()
        };
        let _ = write!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text><rect class="{class}" x="{label_w}" y="{:.1}" width="{w:.1}" height="{:.1}"><title>{}: {count}</title></rect><text x="{:.1}" y="{:.1}">{count}</text>"#,
            label_w - 8.0,
            y + 15.0,
            escape(&shown),
            y + 3.0,
            row - 8.0,
            escape(label),
            label_w + w + 6.0,
            y + 15.0,
        );
    }
    svg.push_str("</svg>");
    svg
}

fn card(out: &mut String, value: &str, what: &str) {
    let _ = write!(
        out,
        r#"<div class="card"><b>{}</b><span>{}</span></div>"#,
        escape(value),
        escape(what)
    );
}

/// The whole page.
pub fn render(s: &StatsJson) -> String {
    let mut page = String::new();
    let since = s
        .since
        .as_ref()
        .map_or_else(String::new, |d| format!(" since {d}"));
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Hotfix report{}</title><style>{STYLE}</style></head><body>",
        escape(&since)
    );
    let _ = write!(
        page,
        "<h1>Hotfix report{}</h1><p class=\"sub\">Read from git: release tags and their records, \
         post-incident reviews, not-a-code-change records. Month of the report: {}.</p>",
        escape(&since),
        escape(&s.current_month)
    );

    page.push_str(r#"<div class="cards">"#);
    card(&mut page, &s.releases.to_string(), "hotfix releases");
    let cfr = &s.change_failure_rate;
    card(
        &mut page,
        &percent(cfr.rate),
        &format!(
            "change failure rate ({} of {} production releases)",
            cfr.hotfixes, cfr.releases
        ),
    );
    if let Some(t) = &s.time_to_restore {
        card(
            &mut page,
            &duration_text(t.median_seconds),
            "median time to restore",
        );
    }
    if let Some(l) = &s.lead_time {
        card(
            &mut page,
            &duration_text(l.median_seconds),
            "median start to deploy",
        );
    }
    if let Some(m) = &s.merge_back {
        card(
            &mut page,
            &percent(m.compliance),
            &format!("merged back into {}", m.development),
        );
    }
    card(
        &mut page,
        &s.retros.missing.to_string(),
        "post-incident reviews missing",
    );
    page.push_str("</div>");

    page.push_str("<section><h2>Hotfix releases per month</h2>");
    let months: Vec<(String, f64, String)> = s
        .months
        .iter()
        .map(|m| (m.month.clone(), m.releases as f64, m.releases.to_string()))
        .collect();
    page.push_str(&columns(&months, "bar", "Hotfix releases per month"));
    page.push_str(r#"<p class="note">By deploy date (UTC).</p></section>"#);

    page.push_str("<section><h2>Change failure rate</h2>");
    let _ = write!(
        page,
        "<p>{} of {} production releases were hotfixes ({}).</p>",
        cfr.hotfixes,
        cfr.releases,
        percent(cfr.rate)
    );
    let rates: Vec<(String, f64, String)> = cfr
        .months
        .iter()
        .map(|m| {
            (
                m.month.clone(),
                m.rate.unwrap_or(0.0) * 100.0,
                format!("{} of {}", m.hotfixes, m.releases),
            )
        })
        .collect();
    page.push_str(&columns(&rates, "bar2", "Change failure rate per month"));
    let _ = write!(
        page,
        r#"<p class="note">Production releases are the stable tags of release.tag_pattern; pre-releases are left out. {} release{} without a hotfix record {} dated by {} tag, which stands for the deploy date.</p></section>"#,
        cfr.dated_by_tag,
        if cfr.dated_by_tag == 1 { "" } else { "s" },
        if cfr.dated_by_tag == 1 { "is" } else { "are" },
        if cfr.dated_by_tag == 1 {
            "its"
        } else {
            "their"
        },
    );

    page.push_str("<section><h2>Time to restore</h2>");
    match &s.time_to_restore {
        Some(t) => {
            let _ = write!(
                page,
                "<p>From when the incident began to the verified deploy: median {}, worst {} ({}). \
                 {} of {} releases say when the incident was detected; the others count from \
                 <code>hotfix start</code>.</p>",
                duration_text(t.median_seconds),
                duration_text(t.worst_seconds),
                escape(&t.worst_tag),
                t.with_detected_time,
                s.releases
            );
            let per: Vec<(String, f64, String)> = t
                .months
                .iter()
                .map(|m| {
                    (
                        m.month.clone(),
                        m.median_seconds as f64,
                        duration_text(m.median_seconds),
                    )
                })
                .collect();
            page.push_str(&columns(&per, "bar3", "Median time to restore per month"));
            // the chart has every month; the table the last two years, which a meeting reads
            let recent = t.months.len().saturating_sub(24);
            if recent > 0 {
                let _ = write!(
                    page,
                    r#"<p class="note">The last 24 months with a release; the chart above has all {}.</p>"#,
                    t.months.len()
                );
            }
            page.push_str(
                "<table><tr><th>month</th><th>releases</th><th>median</th><th>worst</th></tr>",
            );
            for m in &t.months[recent..] {
                let _ = write!(
                    page,
                    r#"<tr><td>{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
                    escape(&m.month),
                    m.releases,
                    duration_text(m.median_seconds),
                    duration_text(m.worst_seconds)
                );
            }
            page.push_str("</table>");
        }
        None => page.push_str(r#"<p class="note">No hotfix releases yet.</p>"#),
    }
    if let Some(l) = &s.lead_time {
        let _ = write!(
            page,
            r#"<p class="note">Start to deploy (from <code>hotfix start</code>): median {}, worst {} ({}).</p>"#,
            duration_text(l.median_seconds),
            duration_text(l.worst_seconds),
            escape(&l.worst_tag)
        );
    }
    page.push_str("</section>");

    page.push_str("<section><h2>Root causes</h2>");
    let causes: Vec<(String, usize)> = s
        .root_causes
        .iter()
        .filter(|c| c.count > 0)
        .map(|c| (c.cause.clone(), c.count))
        .collect();
    page.push_str(&rows(&causes, "bar", "Root causes"));
    let _ = write!(
        page,
        r#"<p class="note">{} of {} releases reviewed.</p></section>"#,
        s.retros.done, s.releases
    );

    page.push_str("<section><h2>Hot spots</h2><h3>Releases hotfixed most</h3>");
    let hs = &s.hot_spots;
    let bases: Vec<(String, usize)> = hs
        .releases
        .iter()
        .map(|c| (c.name.clone(), c.hotfixes))
        .collect();
    page.push_str(&rows(&bases, "bar2", "Releases hotfixed most"));
    page.push_str("<h3>Where the bugs came from</h3>");
    let origins: Vec<(String, usize)> = hs
        .origins
        .iter()
        .map(|o| {
            (
                format!("{} ({} confirmed)", o.release, o.confirmed),
                o.hotfixes,
            )
        })
        .collect();
    page.push_str(&rows(
        &origins,
        "bar3",
        "Releases that first shipped the bugs",
    ));
    page.push_str(r#"<p class="note">From the post-incident reviews: the release that first shipped the commits that last touched the lines each fix changed.</p>"#);
    page.push_str("<h3>Files fixed most</h3>");
    let paths: Vec<(String, usize)> = hs
        .paths
        .iter()
        .map(|c| (c.name.clone(), c.hotfixes))
        .collect();
    page.push_str(&rows(&paths, "bar", "Files fixed most"));
    page.push_str("</section></body></html>\n");
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_git_are_escaped() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }

    #[test]
    fn charts_scale_and_label() {
        let svg = columns(
            &[
                ("2026-01".into(), 2.0, "2".into()),
                ("2026-02".into(), 0.0, "0".into()),
            ],
            "bar",
            "t",
        );
        assert!(svg.starts_with("<svg"));
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains(">2026-02<"));
        let rows = rows(&[("a<b".into(), 3)], "bar", "t");
        assert!(rows.contains("a&lt;b") && !rows.contains("a<b"));
    }
}
