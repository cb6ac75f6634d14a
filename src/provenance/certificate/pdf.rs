//! The PDF certificate: the content laid out on A4 pages as positioned marks,
//! then drawn with krilla.
//!
//! Layout comes first so that the page count is known when each page's
//! frame, running header and "page 2 of 3" footer are drawn. Free text
//! (title, rights statement) flows line by line onto the next page; a stage
//! row never splits: when it does not fit, a new page starts and the table
//! header is repeated. Table cells show at most `CELL_MAX_CHARS` characters
//! per field (file names are at most 255 bytes on common file systems), so
//! a row always fits on a page; the HTML page shows every character.

use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Paint, Stroke};
use krilla::surface::Surface;
use krilla::text::TextDirection;
use krilla::Document;

use super::fonts::{FaceId, Fonts, Style};
use super::{
    format_size, stage_label, text, CertificateData, CertificateError, CertificateStage, QrModules,
};

/// A4 in points.
pub(super) const PAGE_W: f32 = 595.28;
pub(super) const PAGE_H: f32 = 841.89;
pub(super) const MARGIN: f32 = 50.0;
pub(super) const CONTENT_W: f32 = PAGE_W - 2.0 * MARGIN;
/// Where the body starts on the first page and on the following ones
/// (below the running header).
const FIRST_PAGE_TOP: f32 = 50.0;
const BODY_TOP: f32 = 72.0;
/// Where the body ends (above the footer).
pub(super) const BODY_BOTTOM: f32 = PAGE_H - 60.0;
/// Line height as a multiple of the font size.
const LINE: f32 = 1.38;
/// Width of the label column of the work's fields.
const LABEL_W: f32 = 112.0;
const FIELD_GAP: f32 = 6.0;
const QR_SIZE: f32 = 136.0;
const PANEL_PAD: f32 = 12.0;
const CELL_PAD: f32 = 5.0;
/// Widths of the stage table's columns: #, stage, file, timestamp.
const COLUMNS: [f32; 4] = [24.0, 80.0, 228.0, CONTENT_W - 24.0 - 80.0 - 228.0];
const CELL_MAX_CHARS: usize = 300;

type Color = (u8, u8, u8);
const NAVY: Color = (0x1d, 0x3a, 0x5f);
const INK: Color = (0x1f, 0x23, 0x28);
const MUTED: Color = (0x5f, 0x67, 0x70);
const RULE: Color = (0xd3, 0xda, 0xe3);
const PANEL: Color = (0xf3, 0xf6, 0xfa);
const HEADER_FILL: Color = (0xe4, 0xeb, 0xf3);
const STRIPE: Color = (0xf8, 0xf9, 0xfb);
const AMBER: Color = (0x9a, 0x58, 0x00);
const WHITE: Color = (0xff, 0xff, 0xff);
const BLACK: Color = (0x00, 0x00, 0x00);

/// Something drawn at a fixed place on a page; `y` is the top edge.
#[derive(Clone, Debug)]
pub(super) enum Mark {
    Text {
        x: f32,
        baseline: f32,
        face: FaceId,
        size: f32,
        color: Color,
        text: String,
        fake_bold: bool,
    },
    Fill {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        color: Color,
    },
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        width: f32,
        color: Color,
    },
    Frame {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        width: f32,
        color: Color,
    },
    /// The certificate's QR code, `size` points square with its quiet zone.
    Qr { x: f32, y: f32, size: f32 },
}

/// One line of text in one style.
#[derive(Clone, Debug)]
struct Span {
    text: String,
    style: Style,
    size: f32,
    color: Color,
}

impl Span {
    fn new(text: impl Into<String>, style: Style, size: f32, color: Color) -> Span {
        Span {
            text: text.into(),
            style,
            size,
            color,
        }
    }

    fn height(&self) -> f32 {
        self.size * LINE
    }
}

fn height(spans: &[Span]) -> f32 {
    spans.iter().map(Span::height).sum()
}

/// The marks that draw one line of text with its top at `top`.
fn text_marks(fonts: &Fonts, x: f32, top: f32, span: &Span) -> Vec<Mark> {
    let baseline = top + span.size * (LINE - 1.0) / 2.0 + span.size * 0.86;
    let mut x = x;
    let mut marks = Vec::new();
    for run in fonts.runs(&span.text, span.style) {
        let width = fonts.face(run.face).width(&run.text, span.size);
        marks.push(Mark::Text {
            x,
            baseline,
            face: run.face,
            size: span.size,
            color: span.color,
            text: run.text,
            fake_bold: run.fake_bold,
        });
        x += width;
    }
    marks
}

/// Keeps the start and the end of a very long field, with "…" between, so
/// that a table row or the chain head panel always fits on one page.
fn clip(text: &str, max_chars: usize) -> String {
    let count = text.chars().count();
    if count <= max_chars {
        return text.to_string();
    }
    let head: String = text.chars().take(max_chars / 2).collect();
    let tail: String = text.chars().skip(count - max_chars / 2).collect();
    format!("{head}…{tail}")
}

struct Layout<'a> {
    fonts: &'a Fonts,
    pages: Vec<Vec<Mark>>,
    /// Top of the free space on the last page.
    y: f32,
}

impl Layout<'_> {
    fn marks(&mut self) -> &mut Vec<Mark> {
        self.pages.last_mut().expect("layout always has a page")
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = BODY_TOP;
    }

    /// Starts a new page unless `h` points fit on this one; true if it did.
    fn ensure(&mut self, h: f32) -> bool {
        if self.y + h <= BODY_BOTTOM || self.y <= BODY_TOP {
            return false;
        }
        self.new_page();
        true
    }

    fn put(&mut self, x: f32, top: f32, span: &Span) {
        let marks = text_marks(self.fonts, x, top, span);
        self.marks().extend(marks);
    }

    fn wrap(&self, text: &str, style: Style, size: f32, color: Color, width: f32) -> Vec<Span> {
        self.fonts
            .wrap(text, style, size, width)
            .into_iter()
            .map(|line| Span::new(line, style, size, color))
            .collect()
    }

    /// A hash in even pieces (64, 32 or 16 characters a line) when they fit.
    fn hash(&self, hex: &str, size: f32, color: Color, width: f32) -> Vec<Span> {
        let chars: Vec<char> = hex.chars().collect();
        for per_line in [64, 32, 16] {
            let widest = chars
                .chunks(per_line)
                .map(|chunk| {
                    let line: String = chunk.iter().collect();
                    self.fonts.width(&line, Style::Mono, size)
                })
                .fold(0.0, f32::max);
            if widest <= width {
                return chars
                    .chunks(per_line)
                    .map(|chunk| {
                        Span::new(chunk.iter().collect::<String>(), Style::Mono, size, color)
                    })
                    .collect();
            }
        }
        self.wrap(hex, Style::Mono, size, color, width)
    }

    /// Draws lines at `x` from the current position, starting new pages as
    /// needed.
    fn flow(&mut self, x: f32, spans: &[Span]) {
        for span in spans {
            self.ensure(span.height());
            let top = self.y;
            self.put(x, top, span);
            self.y += span.height();
        }
    }

    /// The draft banner above the title, when a timestamp is pending.
    fn draft(&mut self, data: &CertificateData) {
        let Some(draft) = super::Draft::of(data) else {
            return;
        };
        let mut spans = vec![
            Span::new(draft.english(), Style::Bold, 13.0, AMBER),
            Span::new(draft.chinese(), Style::Bold, 12.0, AMBER),
        ];
        spans.extend(self.wrap(draft.advice(), Style::Regular, 8.0, AMBER, CONTENT_W));
        self.flow(MARGIN, &spans);
        self.y += 10.0;
    }

    fn title_block(&mut self) {
        let spans = [
            Span::new(text::TITLE_EN, Style::Bold, 21.0, NAVY),
            Span::new(text::TITLE_ZH, Style::Bold, 15.5, NAVY),
        ];
        self.flow(MARGIN, &spans);
        self.y += 3.0;
        let subtitle = self.wrap(text::SUBTITLE, Style::Regular, 8.0, MUTED, CONTENT_W);
        self.flow(MARGIN, &subtitle);
        self.y += 7.0;
        let y = self.y;
        self.marks().push(Mark::Line {
            x1: MARGIN,
            y1: y,
            x2: MARGIN + CONTENT_W,
            y2: y,
            width: 1.2,
            color: NAVY,
        });
        self.y += 14.0;
    }

    /// A labelled field: the label on the left (English over Chinese), the
    /// value's lines on the right, flowing onto new pages.
    fn field(&mut self, en: &str, zh: &str, value: Vec<Span>) {
        let label = [
            Span::new(en, Style::Regular, 8.0, MUTED),
            Span::new(zh, Style::Regular, 8.0, MUTED),
        ];
        let first = value.first().map_or(0.0, Span::height);
        self.ensure(height(&label).max(first));
        let page = self.pages.len();
        let label_bottom = self.y + height(&label);
        let mut top = self.y;
        for span in &label {
            self.put(MARGIN, top, span);
            top += span.height();
        }
        self.flow(MARGIN + LABEL_W, &value);
        if self.pages.len() == page {
            self.y = self.y.max(label_bottom);
        }
        self.y += FIELD_GAP;
    }

    fn optional(&self, value: Option<&str>, style: Style, size: f32) -> Vec<Span> {
        let width = CONTENT_W - LABEL_W;
        match value {
            Some(value) if !value.trim().is_empty() => self.wrap(value, style, size, INK, width),
            _ => self.wrap(text::NOT_STATED, Style::Regular, size, MUTED, width),
        }
    }

    fn fields(&mut self, data: &CertificateData) {
        let width = CONTENT_W - LABEL_W;
        let title = self.wrap(&data.title, Style::Bold, 12.5, INK, width);
        self.field("Work title", "作品名称", title);
        let id = self.wrap(&data.work_id, Style::Mono, 9.5, INK, width);
        self.field("Work ID", "作品编号", id);
        let owner = self.optional(data.owner_name.as_deref(), Style::Regular, 10.0);
        self.field("Owner", "权利人", owner);
        let contact = self.optional(data.owner_contact.as_deref(), Style::Regular, 10.0);
        self.field("Contact", "联系方式", contact);
        let registered = self.wrap(&data.registered_at, Style::Regular, 10.0, INK, width);
        self.field("Registered", "登记时间", registered);
        let rights = self.optional(data.rights_statement.as_deref(), Style::Regular, 9.5);
        self.field("Rights statement", "权利声明", rights);
        self.y += 6.0;
    }

    fn heading(&mut self, en_zh: &str, keep_with: f32) {
        let span = Span::new(en_zh, Style::Bold, 11.5, NAVY);
        self.ensure(span.height() + 4.0 + keep_with);
        let top = self.y;
        self.put(MARGIN, top, &span);
        self.y += span.height() + 4.0;
    }

    /// The chain head panel: the QR code on the left; the head hash, its
    /// timestamp and a summary of the stages on the right.
    fn chain_head(&mut self, data: &CertificateData) {
        let x_text = MARGIN + PANEL_PAD + QR_SIZE + 16.0;
        let width = MARGIN + CONTENT_W - PANEL_PAD - x_text;
        let mut right: Vec<(f32, Vec<Span>)> = Vec::new();
        let label = |en_zh: &str| vec![Span::new(en_zh, Style::Regular, 7.5, MUTED)];
        right.push((0.0, label("SHA-256")));
        let head = clip(&data.chain_head_sha256, CELL_MAX_CHARS);
        right.push((0.0, self.hash(&head, 10.5, INK, width)));
        right.push((5.0, label("Trusted timestamp / 可信时间戳")));
        match &data.chain_head_time {
            Some(time) => {
                let time = clip(time, CELL_MAX_CHARS);
                right.push((0.0, self.wrap(&time, Style::Regular, 9.5, INK, width)));
                if let Some(tsa) = &data.chain_head_tsa {
                    let tsa = clip(tsa, CELL_MAX_CHARS);
                    right.push((0.0, self.wrap(&tsa, Style::Regular, 8.0, MUTED, width)));
                }
            }
            None => {
                let pending = format!("{} / {}", text::PENDING_EN, text::PENDING_ZH);
                right.push((0.0, self.wrap(&pending, Style::Bold, 9.5, AMBER, width)));
            }
        }
        let timestamped = data.stages.iter().filter(|s| s.tsa_time.is_some()).count();
        let count = data.stages.len();
        let summary = format!(
            "{count} stages, {timestamped} timestamped · 共 {count} 个阶段，{timestamped} 个已加盖时间戳"
        );
        right.push((5.0, label("Stages / 创作阶段")));
        right.push((0.0, self.wrap(&summary, Style::Regular, 9.5, INK, width)));
        right.push((
            6.0,
            self.wrap(text::HEAD_NOTE, Style::Regular, 8.0, MUTED, width),
        ));
        let text_h: f32 = right.iter().map(|(gap, spans)| gap + height(spans)).sum();

        let captions = [
            Span::new("Chain head and how to verify", Style::Regular, 7.0, MUTED),
            Span::new("扫码查看链头与验证方法", Style::Regular, 7.0, MUTED),
        ];
        let qr_h = QR_SIZE + 4.0 + height(&captions);
        let panel_h = text_h.max(qr_h) + 2.0 * PANEL_PAD;

        self.heading("Chain head / 存证链头", panel_h);
        let top = self.y;
        self.marks().push(Mark::Fill {
            x: MARGIN,
            y: top,
            w: CONTENT_W,
            h: panel_h,
            color: PANEL,
        });
        self.marks().push(Mark::Frame {
            x: MARGIN,
            y: top,
            w: CONTENT_W,
            h: panel_h,
            width: 0.6,
            color: RULE,
        });
        let qr_x = MARGIN + PANEL_PAD;
        self.marks().push(Mark::Qr {
            x: qr_x,
            y: top + PANEL_PAD,
            size: QR_SIZE,
        });
        let mut y = top + PANEL_PAD + QR_SIZE + 4.0;
        for span in &captions {
            let w = self.fonts.width(&span.text, span.style, span.size);
            self.put(qr_x + (QR_SIZE - w) / 2.0, y, span);
            y += span.height();
        }
        let mut y = top + PANEL_PAD;
        for (gap, spans) in &right {
            y += gap;
            for span in spans {
                self.put(x_text, y, span);
                y += span.height();
            }
        }
        self.y = top + panel_h + 18.0;
    }

    fn table_header(&mut self) {
        let cells = [
            ("#", ""),
            ("Stage", "阶段"),
            ("File · size · SHA-256", "文件 · 大小 · 哈希值"),
            ("Trusted timestamp", "可信时间戳"),
        ];
        let h = 2.0 * CELL_PAD + 8.0 * LINE + 7.5 * LINE;
        let top = self.y;
        self.marks().push(Mark::Fill {
            x: MARGIN,
            y: top,
            w: CONTENT_W,
            h,
            color: HEADER_FILL,
        });
        let mut x = MARGIN;
        for ((en, zh), width) in cells.iter().zip(COLUMNS) {
            self.put(
                x + CELL_PAD,
                top + CELL_PAD,
                &Span::new(*en, Style::Bold, 8.0, NAVY),
            );
            let zh_top = top + CELL_PAD + 8.0 * LINE;
            self.put(
                x + CELL_PAD,
                zh_top,
                &Span::new(*zh, Style::Regular, 7.5, NAVY),
            );
            x += width;
        }
        self.y += h;
    }

    fn stage_cells(&self, stage: &CertificateStage) -> [Vec<Span>; 4] {
        let inner = |column: usize| COLUMNS[column] - 2.0 * CELL_PAD;
        let seq = vec![Span::new(stage.seq.to_string(), Style::Regular, 8.5, MUTED)];

        let name = clip(&stage.stage, 64);
        let mut stage_spans = Vec::new();
        match stage_label(&stage.stage) {
            Some((en, zh)) => {
                stage_spans.extend(self.wrap(en, Style::Bold, 8.5, INK, inner(1)));
                stage_spans.extend(self.wrap(zh, Style::Regular, 8.5, MUTED, inner(1)));
            }
            None => stage_spans.extend(self.wrap(&name, Style::Bold, 8.5, INK, inner(1))),
        }

        let file_name = clip(&stage.file_name, CELL_MAX_CHARS);
        let mut file = self.wrap(&file_name, Style::Regular, 8.5, INK, inner(2));
        file.extend(self.wrap(
            &format_size(stage.size_bytes),
            Style::Regular,
            7.5,
            MUTED,
            inner(2),
        ));
        file.extend(self.hash(&clip(&stage.sha256, CELL_MAX_CHARS), 7.2, INK, inner(2)));

        let mut stamp = Vec::new();
        match &stage.tsa_time {
            Some(time) => stamp.extend(self.wrap(
                &clip(time, CELL_MAX_CHARS),
                Style::Regular,
                8.5,
                INK,
                inner(3),
            )),
            None => {
                stamp.push(Span::new(text::PENDING_EN, Style::Bold, 8.5, AMBER));
                stamp.push(Span::new(text::PENDING_ZH, Style::Bold, 8.5, AMBER));
            }
        }
        if let Some(tsa) = &stage.tsa_name {
            let tsa = clip(tsa, CELL_MAX_CHARS);
            stamp.extend(self.wrap(&tsa, Style::Regular, 7.5, MUTED, inner(3)));
        }
        if let Some(serial) = &stage.tsa_serial {
            let serial = format!("Serial / 序列号 {}", clip(serial, CELL_MAX_CHARS));
            stamp.extend(self.wrap(&serial, Style::Regular, 7.5, MUTED, inner(3)));
        }
        [seq, stage_spans, file, stamp]
    }

    fn stages(&mut self, data: &CertificateData) {
        let header_h = 2.0 * CELL_PAD + 8.0 * LINE + 7.5 * LINE;
        let rows: Vec<[Vec<Span>; 4]> = data.stages.iter().map(|s| self.stage_cells(s)).collect();
        let row_h = |cells: &[Vec<Span>; 4]| {
            cells.iter().map(|c| height(c)).fold(0.0, f32::max) + 2.0 * CELL_PAD
        };
        let first_row = rows.first().map_or(0.0, row_h);
        let title = format!("Creation stages / 创作阶段 ({})", data.stages.len());
        self.heading(&title, header_h + first_row);
        self.table_header();
        for (i, cells) in rows.iter().enumerate() {
            let h = row_h(cells);
            if self.ensure(h) {
                let more = Span::new(
                    "Creation stages, continued / 创作阶段（续）",
                    Style::Bold,
                    9.0,
                    MUTED,
                );
                let top = self.y;
                self.put(MARGIN, top, &more);
                self.y += more.height() + 3.0;
                self.table_header();
            }
            let top = self.y;
            if !i.is_multiple_of(2) {
                self.marks().push(Mark::Fill {
                    x: MARGIN,
                    y: top,
                    w: CONTENT_W,
                    h,
                    color: STRIPE,
                });
            }
            let mut x = MARGIN;
            for (spans, width) in cells.iter().zip(COLUMNS) {
                let mut y = top + CELL_PAD;
                for span in spans {
                    self.put(x + CELL_PAD, y, span);
                    y += span.height();
                }
                x += width;
            }
            self.marks().push(Mark::Line {
                x1: MARGIN,
                y1: top + h,
                x2: MARGIN + CONTENT_W,
                y2: top + h,
                width: 0.5,
                color: RULE,
            });
            self.y += h;
        }
        self.y += 14.0;
    }

    /// The "How to verify" paragraph: English, the two commands, Chinese.
    fn verify(&mut self, data: &CertificateData) {
        let english = self.wrap(text::VERIFY_EN, Style::Regular, 8.5, INK, CONTENT_W);
        let first = english.first().map_or(0.0, Span::height);
        self.heading("How to verify / 如何验证", 2.0 * first);
        self.flow(MARGIN, &english);
        self.y += 3.0;
        for command in super::verify_commands(data) {
            let lines = self.wrap(&command, Style::Mono, 8.0, INK, CONTENT_W - 14.0);
            self.flow(MARGIN + 14.0, &lines);
            self.y += 2.0;
        }
        self.y += 2.0;
        let chinese = self.wrap(text::VERIFY_ZH, Style::Regular, 8.5, INK, CONTENT_W);
        self.flow(MARGIN, &chinese);
        self.y += 14.0;
    }

    fn closing(&mut self) {
        let spans = self.wrap(text::CLOSING, Style::Regular, 7.5, MUTED, CONTENT_W);
        self.flow(MARGIN, &spans);
    }
}

/// Lays the certificate out: one list of marks per page, without the page
/// chrome (frame, running header, footer).
pub(super) fn layout(data: &CertificateData, fonts: &Fonts) -> Vec<Vec<Mark>> {
    let mut layout = Layout {
        fonts,
        pages: vec![Vec::new()],
        y: FIRST_PAGE_TOP,
    };
    layout.draft(data);
    layout.title_block();
    layout.fields(data);
    layout.chain_head(data);
    layout.stages(data);
    layout.verify(data);
    layout.closing();
    layout.pages
}

/// The frame, the running header (from page 2 on) and the footer of page
/// `index` (0-based) of `count`.
fn chrome(data: &CertificateData, fonts: &Fonts, index: usize, count: usize) -> Vec<Mark> {
    let mut marks = vec![
        Mark::Frame {
            x: 20.0,
            y: 20.0,
            w: PAGE_W - 40.0,
            h: PAGE_H - 40.0,
            width: 1.0,
            color: NAVY,
        },
        Mark::Frame {
            x: 24.0,
            y: 24.0,
            w: PAGE_W - 48.0,
            h: PAGE_H - 48.0,
            width: 0.35,
            color: NAVY,
        },
    ];
    let right_aligned =
        |span: &Span| MARGIN + CONTENT_W - fonts.width(&span.text, span.style, span.size);
    if index > 0 {
        let left = Span::new(
            format!("{} / {}", text::TITLE_EN, text::TITLE_ZH),
            Style::Regular,
            7.5,
            MUTED,
        );
        let left_w = fonts.width(&left.text, left.style, left.size);
        let title = fonts.elide(&data.title, Style::Regular, 7.5, CONTENT_W - left_w - 24.0);
        let right = Span::new(title, Style::Regular, 7.5, MUTED);
        marks.extend(text_marks(fonts, MARGIN, 38.0, &left));
        marks.extend(text_marks(fonts, right_aligned(&right), 38.0, &right));
        marks.push(Mark::Line {
            x1: MARGIN,
            y1: 53.0,
            x2: MARGIN + CONTENT_W,
            y2: 53.0,
            width: 0.5,
            color: RULE,
        });
    }
    let footer_top = PAGE_H - 48.0;
    marks.push(Mark::Line {
        x1: MARGIN,
        y1: footer_top - 4.0,
        x2: MARGIN + CONTENT_W,
        y2: footer_top - 4.0,
        width: 0.5,
        color: RULE,
    });
    let page = format!(
        "Page {} of {count} · 第 {} 页，共 {count} 页",
        index + 1,
        index + 1
    );
    let page = Span::new(page, Style::Regular, 7.5, MUTED);
    let page_w = fonts.width(&page.text, page.style, page.size);
    let work = fonts.elide(
        &format!("reelguard · work {}", data.work_id),
        Style::Regular,
        7.5,
        CONTENT_W - page_w - 24.0,
    );
    marks.extend(text_marks(
        fonts,
        MARGIN,
        footer_top,
        &Span::new(work, Style::Regular, 7.5, MUTED),
    ));
    marks.extend(text_marks(fonts, right_aligned(&page), footer_top, &page));
    marks
}

fn paint(color: Color) -> Paint {
    rgb::Color::new(color.0, color.1, color.2).into()
}

fn rect_path(x: f32, y: f32, w: f32, h: f32) -> Option<krilla::geom::Path> {
    let mut builder = PathBuilder::new();
    builder.push_rect(Rect::from_xywh(x, y, w, h)?);
    builder.finish()
}

fn draw_mark(surface: &mut Surface<'_>, fonts: &Fonts, qr: &QrModules, mark: &Mark) {
    let fill = |color| Fill {
        paint: paint(color),
        ..Fill::default()
    };
    let stroke = |color, width| Stroke {
        paint: paint(color),
        width,
        ..Stroke::default()
    };
    match mark {
        Mark::Text {
            x,
            baseline,
            face,
            size,
            color,
            text,
            fake_bold,
        } => {
            surface.set_fill(Some(fill(*color)));
            surface.set_stroke(fake_bold.then(|| stroke(*color, size * 0.04)));
            surface.draw_text(
                Point::from_xy(*x, *baseline),
                fonts.face(*face).font.clone(),
                *size,
                text,
                false,
                TextDirection::Auto,
            );
        }
        Mark::Fill { x, y, w, h, color } => {
            if let Some(path) = rect_path(*x, *y, *w, *h) {
                surface.set_fill(Some(fill(*color)));
                surface.set_stroke(None);
                surface.draw_path(&path);
            }
        }
        Mark::Line {
            x1,
            y1,
            x2,
            y2,
            width,
            color,
        } => {
            let mut builder = PathBuilder::new();
            builder.move_to(*x1, *y1);
            builder.line_to(*x2, *y2);
            if let Some(path) = builder.finish() {
                surface.set_fill(None);
                surface.set_stroke(Some(stroke(*color, *width)));
                surface.draw_path(&path);
            }
        }
        Mark::Frame {
            x,
            y,
            w,
            h,
            width,
            color,
        } => {
            if let Some(path) = rect_path(*x, *y, *w, *h) {
                surface.set_fill(None);
                surface.set_stroke(Some(stroke(*color, *width)));
                surface.draw_path(&path);
            }
        }
        Mark::Qr { x, y, size } => {
            let modules = qr.width + 2 * QrModules::QUIET_ZONE;
            let module = size / modules as f32;
            if let Some(path) = rect_path(*x, *y, *size, *size) {
                surface.set_fill(Some(fill(WHITE)));
                surface.set_stroke(None);
                surface.draw_path(&path);
            }
            let mut builder = PathBuilder::new();
            for (mx, my, len) in qr.dark_runs() {
                let left = x + (mx + QrModules::QUIET_ZONE) as f32 * module;
                let top = y + (my + QrModules::QUIET_ZONE) as f32 * module;
                if let Some(rect) = Rect::from_xywh(left, top, len as f32 * module, module) {
                    builder.push_rect(rect);
                }
            }
            if let Some(path) = builder.finish() {
                surface.set_fill(Some(fill(BLACK)));
                surface.set_stroke(None);
                surface.draw_path(&path);
            }
        }
    }
}

/// Lays out and draws the whole certificate.
pub(super) fn render(
    data: &CertificateData,
    fonts: &Fonts,
    qr: &QrModules,
) -> Result<Vec<u8>, CertificateError> {
    let pages = layout(data, fonts);
    let mut document = Document::new();
    document.set_metadata(
        Metadata::new()
            .title(format!(
                "{} — {}",
                text::TITLE_EN,
                super::one_line(&data.title)
            ))
            .creator("reelguard".to_string()),
    );
    let count = pages.len();
    for (index, marks) in pages.iter().enumerate() {
        let settings = PageSettings::from_wh(PAGE_W, PAGE_H).expect("A4 is a valid page size");
        let mut page = document.start_page_with(settings);
        let mut surface = page.surface();
        for mark in chrome(data, fonts, index, count).iter().chain(marks) {
            draw_mark(&mut surface, fonts, qr, mark);
        }
        surface.finish();
        page.finish();
    }
    document
        .finish()
        .map_err(|err| CertificateError::Pdf(err.to_string()))
}
