//! "Save report": one self-contained HTML file of the current view, for pasting into a
//! document or mailing: the settings and the link that reproduces them, each panel's
//! heading and text (numbers, ranked lists, tables as lines), and its charts as PNG
//! images inside the file (`data:` URLs). The file makes no request when opened: its
//! own Content-Security-Policy allows nothing but inline style and `data:` images.
//! Every text is escaped; an image that is not a PNG `data:` URL is left out. The
//! report's own words are in the page's language, like the panels it copies.

use crate::lang::Lang;
use crate::text::{filled, Text};

/// A chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// What it shows (its accessible name on the page).
    pub alt: String,
    /// `data:image/png;base64,…`.
    pub data_url: String,
}

/// A panel of the page.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Section {
    /// Its heading.
    pub heading: String,
    /// Its text, a line per paragraph, list item or table row.
    pub lines: Vec<String>,
    /// Its charts.
    pub images: Vec<Image>,
}

/// The report.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    /// The language of the page it was made from.
    pub lang: Lang,
    /// What the view shows (the dataset and model).
    pub title: String,
    /// When it was made (as the browser says it).
    pub made: String,
    /// The link to the view (without uploaded data).
    pub link: String,
    /// The panels.
    pub sections: Vec<Section>,
}

/// `s` as HTML text.
pub fn escape(s: &str) -> String {
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

const PNG: &str = "data:image/png;base64,";

impl Report {
    /// The report as one HTML file.
    pub fn to_html(&self) -> String {
        let mut body = String::new();
        for s in &self.sections {
            body.push_str(&format!("<section>\n<h2>{}</h2>\n", escape(&s.heading)));
            for image in s.images.iter().filter(|i| is_png_data(&i.data_url)) {
                body.push_str(&format!("<img src=\"{}\" alt=\"{}\">\n", image.data_url, escape(&image.alt)));
            }
            for line in s.lines.iter().filter(|l| !l.trim().is_empty()) {
                body.push_str(&format!("<p>{}</p>\n", escape(line.trim())));
            }
            body.push_str("</section>\n");
        }
        format!(
            "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">\n\
             <title>{title}</title>\n<style>\n\
             body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #1d1d1f; }}\n\
             section {{ border-top: 1px solid #d9d9de; margin-top: 1.5rem; }} img {{ max-width: 100%; display: block; margin: .5rem 0; }}\n\
             p {{ margin: .3rem 0; }} .meta {{ color: #5c5c66; font-size: .9rem; overflow-wrap: anywhere; }}\n\
             </style>\n</head>\n<body>\n<h1>{title}</h1>\n\
             <p class=\"meta\">{made}</p>\n<p class=\"meta\">{link}</p>\n{body}</body>\n</html>\n",
            lang = self.lang.id(),
            title = escape(&self.title),
            made = escape(&filled(self.lang, Text::ReportMade, &[("made", &self.made)])),
            link = escape(&filled(self.lang, Text::ReportSettings, &[("link", &self.link)])),
        )
    }
}

/// Whether `url` is a PNG `data:` URL with nothing but base64 after its header.
fn is_png_data(url: &str) -> bool {
    url.strip_prefix(PNG)
        .is_some_and(|b| b.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/' || c == b'='))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_only_png_data_images_are_kept() {
        let r = Report {
            lang: Lang::En,
            title: "<script>alert(1)</script> & co".into(),
            made: "today".into(),
            link: "?ds=moons&sel=t3".into(),
            sections: vec![Section {
                heading: "Why \"this\"?".into(),
                lines: vec!["Removing #3 would raise the loss by 0.0489".into(), "  ".into()],
                images: vec![
                    Image { alt: "plot".into(), data_url: format!("{PNG}iVBORw0KGgo=") },
                    Image { alt: "bad".into(), data_url: "https://example.com/x.png".into() },
                    Image { alt: "bad too".into(), data_url: format!("{PNG}\" onerror=\"alert(1)") },
                ],
            }],
        };
        let html = r.to_html();
        assert!(
            !html.contains("<script>") && html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; co")
        );
        assert!(html.contains("Why &quot;this&quot;?") && html.contains("?ds=moons&amp;sel=t3"));
        assert_eq!(html.matches("<img ").count(), 1, "only the PNG data URL");
        assert!(!html.contains("example.com") && !html.contains("onerror"));
        assert_eq!(html.matches("<p>").count(), 1, "blank lines are dropped");
        assert!(html.contains("default-src 'none'; img-src data:"), "the file can make no request");
        assert!(html.contains("<html lang=\"en\">") && html.contains("made today in the browser"));
    }

    #[test]
    fn a_report_from_the_japanese_page_is_in_japanese() {
        let r = Report {
            lang: Lang::Ja,
            made: "2026/11/29".into(),
            link: "?lang=ja".into(),
            ..Report::default()
        };
        let html = r.to_html();
        assert!(html.contains("<html lang=\"ja\">"), "{html}");
        assert!(html.contains("2026/11/29 にブラウザーの中で作成しました"), "{html}");
        assert!(html.contains("設定（このビューへのリンク）：?lang=ja"), "{html}");
    }
}
