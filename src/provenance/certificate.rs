//! The certificate of creation provenance: a one-document summary of a work's
//! creation stages, their SHA-256 hashes, their RFC 3161 timestamps and the
//! chain head that links them, in English and Chinese.
//!
//! Pure rendering: [`CertificateData`] in, an HTML page or a PDF out. No
//! network and no clock; the only I/O is reading font files for the PDF
//! (see [`render_pdf`]). The same content goes into both formats:
//! - [`qr_payload`]: the text of the QR code (chain head and how to verify it);
//! - [`render_html`]: a self-contained page (inline CSS, the QR code as inline SVG);
//! - [`render_pdf`]: an A4 PDF with the fonts embedded (subset).
//!
//! The submodules split the PDF work: `fonts` finds and measures the fonts,
//! `pdf` lays the pages out and draws them; `html` writes the page.

mod fonts;
mod html;
mod pdf;

use std::path::PathBuf;

use qrcode::{EcLevel, QrCode};

use super::{commands, package};

pub use fonts::CJK_FONT_ENV;

/// Everything a certificate shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateData {
    pub work_id: String,
    pub title: String,
    pub owner_name: Option<String>,
    /// Email or postal address, one line.
    pub owner_contact: Option<String>,
    /// Free text; may be long, may be Chinese; line breaks are kept.
    pub rights_statement: Option<String>,
    /// RFC 3339, UTC.
    pub registered_at: String,
    /// The creation stages in chain order.
    pub stages: Vec<CertificateStage>,
    /// SHA-256 of the chain head, 64 hex characters.
    pub chain_head_sha256: String,
    /// Time in the chain head's timestamp token, RFC 3339; `None` while pending.
    pub chain_head_time: Option<String>,
    /// Name of the TSA that stamped the chain head.
    pub chain_head_tsa: Option<String>,
    /// File name of the provenance package the certificate belongs to, as
    /// the printed `reelguard verify` command names it (see
    /// [`DEFAULT_PACKAGE_FILE`]).
    pub package_file: String,
    /// The dashboard page that shows this chain head and checks its tokens
    /// (`[http] public_url` + `/c/<head>`); the QR code opens it when set.
    pub check_url: Option<String>,
}

/// The package name a certificate made on its own (`works certificate`)
/// names: the one `works export WORK -o work.zip` writes in the README.
pub const DEFAULT_PACKAGE_FILE: &str = "work.zip";

/// One creation stage: a file, its hash and its timestamp.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateStage {
    pub seq: u32,
    /// One of `concept`, `script`, `storyboard`, `raw-footage`, `edit-log`,
    /// `music`, `subtitles`, `rights-statement`, `final-cut` (other names are
    /// shown as given, without a Chinese label).
    pub stage: String,
    /// May be long or non-ASCII.
    pub file_name: String,
    pub size_bytes: u64,
    /// SHA-256 of the file, 64 hex characters.
    pub sha256: String,
    /// Time in the stage's timestamp token, RFC 3339; `None` while pending.
    pub tsa_time: Option<String>,
    /// The TSA's subject, e.g. `CN=reelguard test TSA`.
    pub tsa_name: Option<String>,
    /// The token's serial number (hex or decimal, as the TSA gave it).
    pub tsa_serial: Option<String>,
}

/// Why a PDF certificate could not be rendered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// No font with Chinese glyphs at any of the known places.
    #[error(
        "no font with Chinese glyphs found: {CJK_FONT_ENV} is not set and none of {} exists; \
         install one with `apt-get install fonts-wqy-microhei` (or fonts-noto-cjk), \
         or set {CJK_FONT_ENV} to a .ttf, .otf or .ttc file",
        fonts::display_paths(.tried)
    )]
    NoCjkFont { tried: Vec<PathBuf> },
    /// A font file exists but cannot be read.
    #[error("cannot read font file {path}: {source}")]
    ReadFont {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A font file was read but is not a font, or has no Chinese glyphs.
    #[error("{path}: {reason}")]
    BadFont { path: PathBuf, reason: String },
    /// The QR payload does not fit in a QR code (an absurdly long work id).
    #[error("the QR code cannot hold the chain head payload ({len} bytes): {reason}")]
    QrCode { len: usize, reason: String },
    /// krilla refused to write the PDF.
    #[error("cannot write the certificate PDF: {0}")]
    Pdf(String),
}

/// The text the QR code carries: the chain head and how to verify it.
///
/// Four lines, no trailing newline: the last one holds the commands of
/// [`verify_commands`], separated by `  |  `. Line breaks inside the work id
/// are replaced by spaces so each field stays on its line.
///
/// With a [`CertificateData::check_url`], the QR code holds that address
/// alone, so a phone opens the page that checks the chain.
pub fn qr_payload(data: &CertificateData) -> String {
    if let Some(url) = &data.check_url {
        return url.clone();
    }
    let work_id = one_line(&data.work_id);
    let head = one_line(&data.chain_head_sha256);
    let verify = verify_commands(data).map(|c| one_line(&c)).join("  |  ");
    format!(
        "reelguard provenance v1\n\
         work: {work_id}\n\
         chain-head-sha256: {head}\n\
         verify: {verify}"
    )
}

/// Whether a certificate is a draft, and how it says so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draft {
    /// Stages without a timestamp.
    pub pending: usize,
    /// All stages.
    pub stages: usize,
    /// The chain head has no timestamp.
    pub head_pending: bool,
}

impl Draft {
    /// `None` when every stage and the chain head are timestamped.
    pub fn of(data: &CertificateData) -> Option<Draft> {
        Draft::counting(
            data.stages.iter().filter(|s| s.tsa_time.is_none()).count(),
            data.stages.len(),
            data.chain_head_time.is_none(),
        )
    }

    /// `None` when nothing is pending.
    pub fn counting(pending: usize, stages: usize, head_pending: bool) -> Option<Draft> {
        (pending > 0 || head_pending).then_some(Draft {
            pending,
            stages,
            head_pending,
        })
    }

    /// "DRAFT — 1 of 4 stages not yet timestamped".
    pub fn english(&self) -> String {
        if self.pending == 0 {
            "DRAFT — the chain head is not yet timestamped".to_string()
        } else {
            format!(
                "DRAFT — {} of {} stages not yet timestamped",
                self.pending, self.stages
            )
        }
    }

    /// "草稿 — 4 个阶段中有 1 个尚未加盖时间戳".
    pub fn chinese(&self) -> String {
        if self.pending == 0 {
            "草稿 — 存证链头尚未加盖时间戳".to_string()
        } else {
            format!(
                "草稿 — {} 个阶段中有 {} 个尚未加盖时间戳",
                self.stages, self.pending
            )
        }
    }

    /// What to do about it, in both languages.
    pub fn advice(&self) -> &'static str {
        "Run `reelguard works timestamp`, then make the certificate again. · \
         请运行 reelguard works timestamp 后重新生成证书。"
    }

    /// Both languages on one line, for warnings.
    pub fn both(&self) -> String {
        format!("{} / {}", self.english(), self.chinese())
    }
}

/// The commands of the "How to verify" paragraph (and the QR code), run in
/// the unpacked package: `reelguard verify` of the package, and `openssl ts
/// -verify` of the chain head's token.
pub fn verify_commands(data: &CertificateData) -> [String; 2] {
    [
        commands::reelguard_verify(&data.package_file),
        commands::openssl_verify_digest(
            package::HEAD_TOKEN,
            &data.chain_head_sha256,
            package::CA_FILE,
            package::TSA_CERTS_FILE,
        ),
    ]
}

/// A self-contained HTML page (inline CSS, the QR code as an inline SVG),
/// English and Chinese side by side. Every user string is HTML-escaped.
pub fn render_html(data: &CertificateData) -> String {
    html::render(data, QrModules::encode(&qr_payload(data)))
}

/// A PDF (A4) with the same content as [`render_html`] and the QR code, its
/// fonts embedded (subset).
///
/// Chinese text needs a font with CJK glyphs: the file named by
/// `REELGUARD_CJK_FONT` if set, else the first of the Debian fonts
/// (`fonts-wqy-microhei`, `fonts-noto-cjk`, `fonts-wqy-zenhei`) found.
/// Latin text and hashes use DejaVu Sans and DejaVu Sans Mono
/// (`fonts-dejavu-core`) when present, else the CJK font.
pub fn render_pdf(data: &CertificateData) -> Result<Vec<u8>, CertificateError> {
    let fonts = fonts::Fonts::locate()?;
    let payload = qr_payload(data);
    let qr = QrModules::encode(&payload).map_err(|reason| CertificateError::QrCode {
        len: payload.len(),
        reason,
    })?;
    pdf::render(data, &fonts, &qr)
}

/// The dark and light modules of a QR code, row by row, without the quiet
/// zone.
#[derive(Clone, Debug)]
struct QrModules {
    width: usize,
    dark: Vec<bool>,
}

impl QrModules {
    /// Light modules the renderers leave around the code on every side.
    const QUIET_ZONE: usize = 4;

    /// Error correction level M (15 % of the code may be damaged).
    fn encode(payload: &str) -> Result<QrModules, String> {
        let code = QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M)
            .map_err(|err| err.to_string())?;
        let dark = code
            .to_colors()
            .into_iter()
            .map(|color| color == qrcode::Color::Dark)
            .collect();
        Ok(QrModules {
            width: code.width(),
            dark,
        })
    }

    fn is_dark(&self, x: usize, y: usize) -> bool {
        self.dark[y * self.width + x]
    }

    /// Horizontal runs of dark modules as `(x, y, length)`, in module units
    /// without the quiet zone. Drawing runs instead of single modules keeps
    /// the SVG and the PDF path small.
    fn dark_runs(&self) -> Vec<(usize, usize, usize)> {
        let mut runs = Vec::new();
        for y in 0..self.width {
            let mut x = 0;
            while x < self.width {
                if self.is_dark(x, y) {
                    let start = x;
                    while x < self.width && self.is_dark(x, y) {
                        x += 1;
                    }
                    runs.push((start, y, x - start));
                } else {
                    x += 1;
                }
            }
        }
        runs
    }
}

/// English and Chinese names of a known stage.
fn stage_label(stage: &str) -> Option<(&'static str, &'static str)> {
    let label = match stage {
        "concept" => ("Concept", "创意构思"),
        "script" => ("Script", "脚本"),
        "storyboard" => ("Storyboard", "分镜"),
        "raw-footage" => ("Raw footage", "原始素材"),
        "edit-log" => ("Edit log", "剪辑记录"),
        "music" => ("Music", "音乐"),
        "subtitles" => ("Subtitles", "字幕"),
        "rights-statement" => ("Rights statement", "权利声明"),
        "final-cut" => ("Final cut", "成片"),
        _ => return None,
    };
    Some(label)
}

/// `1.5 MiB (1,572,864 bytes)`; below 1 KiB just the bytes.
fn format_size(bytes: u64) -> String {
    let exact = format!("{} bytes", group_thousands(bytes));
    if bytes < 1024 {
        return exact;
    }
    let units = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {} ({exact})", units[unit])
}

fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Replaces line breaks and other control characters by spaces.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|ch| if ch.is_control() { ' ' } else { ch })
        .collect()
}

/// The fixed bilingual texts both renderers use.
mod text {
    pub const TITLE_EN: &str = "Certificate of creation provenance";
    pub const TITLE_ZH: &str = "作品创作存证证书";
    pub const SUBTITLE: &str =
        "Issued by reelguard from RFC 3161 trusted timestamps · 由 reelguard 依据 RFC 3161 可信时间戳出具";
    pub const NOT_STATED: &str = "not stated / 未填写";
    pub const PENDING_EN: &str = "pending timestamp";
    pub const PENDING_ZH: &str = "待加盖时间戳";
    pub const HEAD_NOTE: &str = "The chain head links every stage in order; see How to verify \
        below. · 链头按顺序串联全部阶段，验证方法见下文。";
    pub const VERIFY_EN: &str =
        "Each stage's SHA-256 above must match its file. The chain head links \
        all stages in order; its RFC 3161 token proves that the chain existed at the time shown. \
        Check the whole package where it is, or only the chain head's token with OpenSSL \
        in the directory the package was unpacked into:";
    pub const VERIFY_ZH: &str =
        "上表各阶段文件的 SHA-256 须与原文件一致。存证链头按顺序串联全部阶段，\
        其 RFC 3161 时间戳令牌证明该链在所示时间已经存在。可用 reelguard verify 校验整个存证包，\
        或在存证包解压后的目录中用上述 OpenSSL 命令单独校验链头时间戳。二维码包含相同的信息。";
    pub const CLOSING: &str = "This certificate summarises the provenance package; the package and \
        its timestamp tokens are the evidence. · 本证书为存证包的摘要，证据以存证包及其时间戳令牌为准。";
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};
    use std::path::Path;
    use std::process::Command;

    const STAGES: [&str; 9] = [
        "concept",
        "script",
        "storyboard",
        "raw-footage",
        "edit-log",
        "music",
        "subtitles",
        "rights-statement",
        "final-cut",
    ];

    fn sha256_hex(text: &str) -> String {
        hex::encode(Sha256::digest(text.as_bytes()))
    }

    fn sample(stage_count: usize) -> CertificateData {
        let stages = (0..stage_count)
            .map(|i| {
                let stage = STAGES[i % STAGES.len()];
                let pending = i % 7 == 6;
                CertificateStage {
                    seq: i as u32 + 1,
                    stage: stage.to_string(),
                    file_name: match i % 3 {
                        0 => format!("{stage}-v{i}.pdf"),
                        1 => format!("第{i}版_山间晨雾_{stage}_最终定稿.mov"),
                        _ => format!(
                            "a-very-long-file-name-without-any-spaces-that-must-wrap-inside-its-cell-{stage}-take{i}.mp4"
                        ),
                    },
                    size_bytes: 1_234_567 * (i as u64 + 1),
                    sha256: sha256_hex(&format!("stage {i}")),
                    tsa_time: (!pending).then(|| format!("2026-11-25T10:{:02}:07Z", i % 60)),
                    tsa_name: (!pending).then(|| "CN=reelguard test TSA,O=reelguard".to_string()),
                    tsa_serial: (!pending).then(|| format!("0x{:016X}", 0x5EED_0000 + i as u64)),
                }
            })
            .collect();
        CertificateData {
            work_id: "0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b".to_string(),
            title: "山间晨雾 Morning Mist in the Mountains".to_string(),
            owner_name: Some("李明 (Li Ming)".to_string()),
            owner_contact: Some("li.ming@example.com, 北京市海淀区中关村大街1号".to_string()),
            rights_statement: Some(
                "本作品的全部内容（包括脚本、分镜、原始素材、音乐与字幕）由李明独立创作，\
                 著作权归李明所有。未经书面许可，任何单位或个人不得转载、剪辑、搬运或用于商业用途。\n\
                 All rights reserved. No part of this work may be re-uploaded, edited or used \
                 commercially without written permission from the author."
                    .to_string(),
            ),
            registered_at: "2026-11-25T09:58:31Z".to_string(),
            stages,
            chain_head_sha256: sha256_hex("chain head"),
            chain_head_time: Some("2026-11-25T10:12:44Z".to_string()),
            chain_head_tsa: Some("CN=reelguard test TSA,O=reelguard".to_string()),
            package_file: DEFAULT_PACKAGE_FILE.to_string(),
            check_url: None,
        }
    }

    fn test_media_dir() -> PathBuf {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join("test-media");
        std::fs::create_dir_all(&dir).expect("create target/test-media");
        dir
    }

    fn tool_available(name: &str) -> bool {
        Command::new(name).arg("-v").output().is_ok()
    }

    #[test]
    fn qr_payload_has_the_documented_lines() {
        let mut data = sample(1);
        let head = data.chain_head_sha256.clone();
        let expected = format!(
            "reelguard provenance v1\nwork: 0193a1b2-7c4d-7e5f-8a9b-0c1d2e3f4a5b\n\
             chain-head-sha256: {head}\n\
             verify: reelguard verify work.zip  |  openssl ts -verify -token_in -in chain-head.tsr \
             -digest {head} -CAfile tsa/tsa-ca.pem -untrusted tsa/tsa-certs.pem"
        );
        assert_eq!(qr_payload(&data), expected);

        data.package_file = "my work.zip".into();
        assert!(qr_payload(&data).contains("verify: reelguard verify 'my work.zip'  |  "));
        // With the dashboard's public address, the code opens its page.
        data.check_url = Some(format!("https://rg.example/c/{}", data.chain_head_sha256));
        assert_eq!(
            qr_payload(&data),
            format!("https://rg.example/c/{}", data.chain_head_sha256)
        );
    }

    #[test]
    fn pdf_qr_code_decodes_to_the_payload() {
        let data = sample(3);
        let pdf = render_pdf(&data).expect("render the certificate PDF");
        assert!(pdf.starts_with(b"%PDF-"));
        let dir = test_media_dir();
        let pdf_path = dir.join("certificate.pdf");
        std::fs::write(&pdf_path, &pdf).expect("write certificate.pdf");

        if !tool_available("pdftoppm") {
            eprintln!("skipping the QR check: pdftoppm not found (apt-get install poppler-utils)");
            return;
        }
        let png_base = dir.join("certificate");
        let status = Command::new("pdftoppm")
            .args(["-png", "-r", "150", "-singlefile"])
            .arg(&pdf_path)
            .arg(&png_base)
            .status()
            .expect("run pdftoppm");
        assert!(
            status.success(),
            "pdftoppm failed on {}",
            pdf_path.display()
        );

        let png_path = dir.join("certificate.png");
        let page = image::open(&png_path)
            .unwrap_or_else(|err| panic!("open {}: {err}", png_path.display()))
            .to_luma8();
        let mut prepared = rqrr::PreparedImage::prepare(page);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1, "one QR code on page 1");
        let (_, content) = grids[0].decode().expect("decode the QR code");
        assert_eq!(content, qr_payload(&data));
    }

    #[test]
    fn many_stages_flow_onto_more_pages() {
        let data = sample(40);
        let fonts = fonts::Fonts::locate().expect("fonts");
        let pages = pdf::layout(&data, &fonts).len();
        assert!(pages > 1, "40 stages on {pages} page(s)");

        let pdf = render_pdf(&data).expect("render the certificate PDF");
        let pdf_path = test_media_dir().join("certificate-40-stages.pdf");
        std::fs::write(&pdf_path, &pdf).expect("write the PDF");
        if !tool_available("pdfinfo") {
            eprintln!(
                "skipping the pdfinfo check: pdfinfo not found (apt-get install poppler-utils)"
            );
            return;
        }
        let output = Command::new("pdfinfo")
            .arg(&pdf_path)
            .output()
            .expect("run pdfinfo");
        let info = String::from_utf8_lossy(&output.stdout);
        let page_line = info
            .lines()
            .find_map(|line| line.strip_prefix("Pages:"))
            .expect("pdfinfo prints Pages:");
        assert_eq!(page_line.trim().parse::<usize>(), Ok(pages));
    }

    #[test]
    fn pdf_is_the_same_for_the_same_data() {
        let data = sample(4);
        let first = render_pdf(&data).expect("render");
        let second = render_pdf(&data).expect("render");
        assert!(first == second, "two renders of one certificate differ");
    }

    #[test]
    fn long_text_stays_inside_the_page_body() {
        let mut data = sample(40);
        data.title = "山间晨雾 Morning Mist ".repeat(30);
        data.rights_statement = Some(
            "本作品的全部内容由李明独立创作，著作权归李明所有。All rights reserved, everywhere. "
                .repeat(60),
        );
        data.owner_contact = Some("x".repeat(500));
        data.stages[0].file_name = "长".repeat(400);
        data.stages[1].file_name = "f".repeat(1000);
        data.stages[2].stage = "colour-grading-notes".to_string();
        data.stages[3].tsa_name = Some("CN=a very long TSA name,".repeat(40));
        data.chain_head_time = None;
        data.chain_head_sha256 = "f".repeat(400);

        let fonts = fonts::Fonts::locate().expect("fonts");
        let pages = pdf::layout(&data, &fonts);
        assert!(pages.len() > 3, "{} pages", pages.len());
        for (index, marks) in pages.iter().enumerate() {
            for mark in marks {
                if let pdf::Mark::Text {
                    x,
                    baseline,
                    face,
                    size,
                    text,
                    ..
                } = mark
                {
                    let right = x + fonts.face(*face).width(text, *size);
                    let where_ = format!("page {}: {text:?}", index + 1);
                    assert!(
                        *x >= pdf::MARGIN - 0.01,
                        "{where_} starts left of the margin"
                    );
                    assert!(
                        right <= pdf::MARGIN + pdf::CONTENT_W + 0.01,
                        "{where_} runs off"
                    );
                    assert!(
                        *baseline <= pdf::BODY_BOTTOM,
                        "{where_} runs into the footer"
                    );
                }
            }
        }
        let pdf = render_pdf(&data).expect("render");
        std::fs::write(test_media_dir().join("certificate-long-text.pdf"), pdf).expect("write");
    }

    #[test]
    fn html_escapes_user_text_and_shows_head_and_qr() {
        let mut data = sample(3);
        data.title = "<script>alert('x')</script> & \"friends\"".to_string();
        data.stages[0].file_name = "<img src=x onerror=alert(1)>.mp4".to_string();
        let html = render_html(&data);
        assert!(!html.contains("<script>"));
        assert!(!html.contains("<img"));
        assert!(html
            .contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;friends&quot;"));
        assert!(html.contains(&data.chain_head_sha256));
        assert!(html.contains("<svg"), "inline SVG QR code");
        assert!(html.contains("作品创作存证证书"));
        assert!(html.contains("待加盖时间戳") || data.stages.iter().all(|s| s.tsa_time.is_some()));
        std::fs::write(test_media_dir().join("certificate.html"), &html).expect("write HTML");
    }

    #[test]
    fn a_certificate_with_pending_stages_is_a_draft_at_the_top() {
        let mut data = sample(4);
        for stage in &mut data.stages {
            stage.tsa_time = Some("2026-11-25T10:00:00Z".into());
        }
        assert_eq!(Draft::of(&data), None);
        let html = render_html(&data);
        assert!(
            !html.contains("DRAFT") && !html.contains("草稿"),
            "complete"
        );

        data.stages[1].tsa_time = None;
        let draft = Draft::of(&data).expect("a draft");
        assert_eq!(draft.english(), "DRAFT — 1 of 4 stages not yet timestamped");
        assert_eq!(draft.chinese(), "草稿 — 4 个阶段中有 1 个尚未加盖时间戳");
        let html = render_html(&data);
        let banner = html
            .find("DRAFT — 1 of 4 stages not yet timestamped")
            .expect("banner");
        assert!(html.contains("草稿 — 4 个阶段中有 1 个尚未加盖时间戳"));
        assert!(
            banner < html.find("<h1>").expect("title"),
            "above the title"
        );

        let fonts = fonts::Fonts::locate().expect("fonts");
        let pages = pdf::layout(&data, &fonts);
        let first_page: String = pages[0]
            .iter()
            .filter_map(|mark| match mark {
                pdf::Mark::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        assert!(
            first_page.starts_with(
                "DRAFT — 1 of 4 stages not yet timestamped草稿 — 4 个阶段中有 1 个尚未加盖时间戳"
            ),
            "{first_page}"
        );

        for stage in &mut data.stages {
            stage.tsa_time = Some("2026-11-25T10:00:00Z".into());
        }
        data.chain_head_time = None;
        let draft = Draft::of(&data).expect("the head is pending");
        assert_eq!(
            draft.english(),
            "DRAFT — the chain head is not yet timestamped"
        );
    }

    #[test]
    fn pending_timestamps_are_labelled_in_both_languages() {
        let mut data = sample(2);
        data.stages[1].tsa_time = None;
        data.chain_head_time = None;
        let html = render_html(&data);
        assert!(html.contains("pending timestamp"));
        assert!(html.contains("待加盖时间戳"));
    }

    #[test]
    fn missing_cjk_font_names_the_paths_and_the_package() {
        let err = fonts::Fonts::locate_from(None, &["/nonexistent/wqy-microhei.ttc"])
            .err()
            .expect("no font there");
        let message = err.to_string();
        assert!(
            message.contains("/nonexistent/wqy-microhei.ttc"),
            "{message}"
        );
        assert!(message.contains("fonts-wqy-microhei"), "{message}");

        let err = fonts::Fonts::locate_from(Some("/nonexistent/chosen.ttf".into()), &[])
            .err()
            .expect("no font there");
        assert!(err.to_string().contains("/nonexistent/chosen.ttf"), "{err}");

        let latin_only = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
        if Path::new(latin_only).is_file() {
            let err = fonts::Fonts::locate_from(Some(latin_only.into()), &[])
                .err()
                .expect("DejaVu Sans has no Chinese glyphs");
            assert!(err.to_string().contains("no Chinese glyphs"), "{err}");
        }
        let collection = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc";
        if Path::new(collection).is_file() {
            fonts::Fonts::locate_from(Some(collection.into()), &[]).expect("a .ttc collection");
        }
    }

    #[test]
    fn wrapped_lines_fit_their_width() {
        let fonts = fonts::Fonts::locate().expect("fonts");
        let text = format!(
            "{} {} {}",
            "a-very-long-file-name-without-any-spaces-that-must-wrap-inside-its-cell.mp4",
            "本作品的全部内容由李明独立创作，著作权归李明所有。未经书面许可，不得转载。",
            sha256_hex("x")
        );
        for style in [
            fonts::Style::Regular,
            fonts::Style::Bold,
            fonts::Style::Mono,
        ] {
            let lines = fonts.wrap(&text, style, 9.0, 120.0);
            assert!(lines.len() > 3, "{lines:?}");
            for line in &lines {
                assert!(fonts.width(line, style, 9.0) <= 120.0, "{line:?} too wide");
                assert!(
                    !line.starts_with('，') && !line.starts_with('。'),
                    "{line:?}"
                );
            }
            assert_eq!(lines.concat().replace(' ', ""), text.replace(' ', ""));
        }
    }

    #[test]
    fn sizes_are_human_and_exact() {
        assert_eq!(format_size(512), "512 bytes");
        assert_eq!(format_size(1_572_864), "1.5 MiB (1,572,864 bytes)");
        assert_eq!(group_thousands(1_000), "1,000");
        assert_eq!(group_thousands(999), "999");
    }
}
